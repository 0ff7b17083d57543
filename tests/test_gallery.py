"""The gallery, headless: real widgets over real files saved by the store."""

from __future__ import annotations

import asyncio
import html
import io
import threading
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets import imaging
from imagewidgets.imaging import Thumbnail
from imagewidgets.results import GeneratedImage
from imagewidgets.storage.index import ImageIndex
from imagewidgets.storage.store import ImageStore, SavedImage
from imagewidgets.storage.thumbnail_cache import kept_thumbnails
from imagewidgets.ui import gallery as gallery_module
from imagewidgets.ui.gallery import Gallery, GalleryItem

from waiting import until

DAY = 24 * 3600
WHEN = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))


def _png(shade: int = 120, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, shade, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _save(folder: Path, prompt: str = "A lighthouse at dusk", *, model: str = "gpt-image-1",
          when: float = WHEN, cost: float | None = 0.011, quality: str = "low",
          size: tuple[int, int] = (64, 48), emulator: bool | None = None) -> SavedImage:
    params = {"model": model, "prompt": prompt, "quality": quality, "size": "1024x1024", "n": 1}
    image = GeneratedImage(data=_png(size=size), format="png", width=size[0], height=size[1],
                           params=params)
    record: dict[str, Any] = {"params": params, "cost": {"estimated": cost, "actual": cost}}
    if emulator is not None:
        record["server"] = {"host": "127.0.0.1", "emulator": emulator}
    return ImageStore(folder).save(image, record, when=when)


def _sent(widget: Any) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What ``widget`` sends to the browser from now on, as (content, buffers)."""
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    return sent


def _browser_says(gallery: Gallery, content: dict[str, Any]) -> None:
    """A message from the grid's view, as a click in the browser sends it."""
    gallery.grid._handle_custom_msg(content, [])


def _click(gallery: Gallery, number: int, action: str) -> None:
    _browser_says(gallery, {"event": action, "name": gallery.items[number].entry.name})


def _tick(gallery: Gallery, *numbers: int) -> None:
    """Tick these items' checkboxes (the browser sets ``selected``), the others unticked."""
    gallery.grid.selected = [gallery.items[number].entry.name for number in numbers]


def _drawn(sent: list[tuple[dict[str, Any], list[bytes]]]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """The items and the thumbnails (by key) the grid sent, in order."""
    items: list[dict[str, Any]] = []
    thumbnails: dict[str, bytes] = {}
    for content, buffers in sent:
        if content["event"] == "items":
            items = items[:content["start"]] + content["items"]
        elif content["event"] == "thumbnails":
            thumbnails.update(zip(content["keys"], buffers, strict=True))
    return items, thumbnails


def _zip_disabled(gallery: Gallery) -> bool:
    return bool(gallery.zip_button.disabled)


def _names(gallery: Gallery) -> list[str]:
    return [item.entry.path.name for item in gallery.items]


def test_newest_first_with_captions_and_counts(tmp_path: Path) -> None:
    saved = [_save(tmp_path, f"picture {number}", when=WHEN + number * 60) for number in range(3)]
    gallery = Gallery(tmp_path)
    assert _names(gallery) == [found.path.name for found in reversed(saved)]
    assert gallery.count_line.value == "3 images · shown 3"
    stamp = datetime.fromtimestamp(WHEN + 120).strftime("%Y-%m-%d %H:%M")
    assert gallery.items[0].caption == f"gpt-image-1 · low quality · 1024x1024 · {stamp} · $0.011 · picture 2"
    assert {"iw-gallery", "iw-root"} <= set(gallery._dom_classes)
    gallery.close()


def test_every_image_has_alt_text_and_its_caption_says_quality_and_size(tmp_path: Path) -> None:
    _save(tmp_path, "A lighthouse at dusk", model="dall-e-3", quality="hd", when=WHEN)
    _save(tmp_path, "A red fox", quality="high", when=WHEN + 60)
    _save(tmp_path, "", when=WHEN + 120)  # no prompt known: the alt names the file
    gallery = Gallery(tmp_path)
    sent = _sent(gallery.grid)
    _browser_says(gallery, {"event": "ready"})  # a view drawn: all of it sent again
    items, thumbnails = _drawn(sent)
    assert [item["name"] for item in items] == _names(gallery)
    assert set(thumbnails) == {item["key"] for item in items}  # every image shown has its picture
    stamp = datetime.fromtimestamp(WHEN).strftime("%Y-%m-%d %H:%M")
    unnamed, fox, lighthouse = (item["alt"] for item in items)
    assert lighthouse == f"A lighthouse at dusk — dall-e-3, hd quality, 1024x1024, saved {stamp}"
    assert fox.startswith("A red fox — gpt-image-1, high quality, 1024x1024, saved ")
    assert unnamed.startswith(f"image {gallery.items[0].entry.name} — gpt-image-1, low quality")
    assert "hd quality · 1024x1024" in items[2]["caption"]
    assert "high quality · 1024x1024" in items[1]["caption"]
    gallery.close()


async def test_thumbnails_are_made_off_the_event_loop_which_answers_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(3):
        _save(tmp_path, f"picture {number}", when=WHEN + number)
    loop_thread = threading.get_ident()
    decoded_on: list[int] = []
    listed_on: list[int] = []
    release = threading.Event()
    real_thumbnail, real_refresh = imaging.thumbnail, ImageIndex.refresh

    def decode(data: bytes, longest: int = 384) -> Thumbnail:
        decoded_on.append(threading.get_ident())
        assert release.wait(60), "the loop never answered"  # on the loop, this would never return
        return real_thumbnail(data, longest)

    def refresh(self: ImageIndex) -> list[Any]:
        listed_on.append(threading.get_ident())
        return real_refresh(self)

    monkeypatch.setattr(imaging, "thumbnail", decode)
    monkeypatch.setattr(ImageIndex, "refresh", refresh)
    gallery = Gallery(tmp_path)  # returns at once: the folder is read on a worker thread
    await until(lambda: decoded_on, "a thumbnail being made")
    assert gallery.items and all(item.thumbnail is None for item in gallery.items)  # drawn, loading
    await asyncio.sleep(0)  # the loop runs other work while the thumbnail is made
    release.set()
    await gallery.loaded()
    assert len(decoded_on) == 3 and loop_thread not in decoded_on and loop_thread not in listed_on
    assert all(item.thumbnail is not None for item in gallery.items)
    gallery.close()


async def test_a_page_of_kept_thumbnails_is_shown_with_no_decoding(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(6):
        _save(tmp_path, f"picture {number}", when=WHEN + number, size=(400, 300))
    first = Gallery(tmp_path, page_size=3)
    await first.loaded()
    first.show_more()
    await first.loaded()
    made = {item.entry.name: item.thumbnail for item in first.items}
    first.close()

    def never(_data: bytes, _longest: int = 384) -> Thumbnail:
        raise AssertionError("a kept thumbnail was decoded again")

    monkeypatch.setattr(imaging, "thumbnail", never)
    again = Gallery(tmp_path, page_size=3)
    sent = _sent(again.grid)
    await again.loaded()
    again.show_more()
    await again.loaded()
    assert {item.entry.name: item.thumbnail for item in again.items} == made and len(made) == 6
    # A page shown at once, its thumbnails with it: one items message, one thumbnails message.
    assert [content["event"] for content, _ in sent] == ["items", "thumbnails"] * 2
    assert "unreadable image" not in str(sent)
    again.close()


async def test_kept_thumbnails_past_the_loops_budget_are_read_on_a_worker_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A slow disk: the budget is spent before the first file, so the loop reads none of them.
    for number in range(4):
        _save(tmp_path, f"picture {number}", when=WHEN + number)
    first = Gallery(tmp_path)
    await first.loaded()
    made = {item.entry.name: item.thumbnail for item in first.items}
    first.close()
    monkeypatch.setattr(gallery_module, "READ_BUDGET", -1.0)
    monkeypatch.setattr(imaging, "thumbnail", lambda *_args: pytest.fail("a kept thumbnail was decoded"))
    loop_thread, read_on = threading.get_ident(), []
    real = ImageIndex.cached_thumbnails

    def cached(self: ImageIndex, entries: Any, size: int = 192, **deadline: Any) -> list[Any]:
        read_on.append(threading.get_ident())
        return real(self, entries, size, **deadline)

    monkeypatch.setattr(ImageIndex, "cached_thumbnails", cached)
    gallery = Gallery(tmp_path, page_size=2)
    await gallery.loaded()
    gallery.show_more()
    await gallery.loaded()
    assert {item.entry.name: item.thumbnail for item in gallery.items} == made and len(made) == 4
    # Each page: nothing read on the loop (the budget is spent), then every file on a worker thread.
    assert [thread == loop_thread for thread in read_on] == [True, False] * 2
    gallery.close()


def test_kept_thumbnails_stop_at_the_deadline(tmp_path: Path) -> None:
    saved = [_save(tmp_path, f"picture {number}", when=WHEN + number) for number in range(3)]
    Gallery(tmp_path).close()  # makes and keeps their thumbnails
    images = [(image.path.name, image.path.stat().st_mtime_ns) for image in saved]
    assert all(kept_thumbnails(tmp_path, images, 160, deadline=time.monotonic() + 3600))
    assert kept_thumbnails(tmp_path, images, 160, deadline=time.monotonic() - 1) == []


def test_a_replaced_image_gets_a_new_thumbnail(tmp_path: Path) -> None:
    saved = _save(tmp_path)
    gallery = Gallery(tmp_path)
    old = gallery.items[0].thumbnail
    assert old is not None
    image = GeneratedImage(data=_png(shade=250, size=(48, 64)), format="png", width=48, height=64)
    saved.path.write_bytes(image.data)
    gallery.refresh()
    new = gallery.items[0].thumbnail
    assert new is not None and new.data != old.data
    with Image.open(io.BytesIO(new.data)) as thumb:
        assert thumb.size == (48, 64)
    gallery.close()


def test_filters_change_what_is_shown(tmp_path: Path) -> None:
    fox = _save(tmp_path, "A red fox in snow", model="dall-e-3", when=WHEN - 2 * DAY, cost=0.12)
    house = _save(tmp_path, "A lighthouse at dusk", when=WHEN - DAY, cost=0.248)
    boat = _save(tmp_path, "A boat by the LIGHTHOUSE", when=WHEN, cost=0.011)
    gallery = Gallery(tmp_path)
    assert list(gallery.model.options) == ["all models", "dall-e-3", "gpt-image-1"]
    gallery.model.value = "dall-e-3"
    assert _names(gallery) == [fox.path.name]
    assert gallery.count_line.value == "1 image · shown 1 · 3 in the folder"
    gallery.model.value = "all models"
    gallery.text.value = "lighthouse"
    assert _names(gallery) == [boat.path.name, house.path.name]
    gallery.text.value = ""
    gallery.since.value = date(2026, 11, 24)
    assert _names(gallery) == [boat.path.name, house.path.name]
    gallery.until.value = date(2026, 11, 24)
    assert _names(gallery) == [house.path.name]
    gallery.since.value = gallery.until.value = None
    gallery.sort.value = "oldest"
    assert _names(gallery) == [fox.path.name, house.path.name, boat.path.name]
    gallery.sort.value = "cost high"
    assert _names(gallery) == [house.path.name, fox.path.name, boat.path.name]
    gallery.text.value = "nothing like this"
    assert gallery.items == [] and gallery.count_line.value == "0 images · shown 0 · 3 in the folder"
    gallery.close()


async def test_a_filter_changed_while_a_page_fills_shows_only_the_new_match(tmp_path: Path) -> None:
    _save(tmp_path, "A red fox", model="dall-e-3", when=WHEN)
    house = _save(tmp_path, "A lighthouse", when=WHEN + 60)
    gallery = Gallery(tmp_path)
    sent = _sent(gallery.grid)
    await until(lambda: gallery.items, "the folder listed")
    gallery.model.value = "gpt-image-1"  # before the first page's thumbnails are read
    await gallery.loaded()
    items, _ = _drawn(sent)
    assert [item["name"] for item in items] == [house.path.name] == _names(gallery)
    gallery.close()


def test_refresh_finds_new_images_and_keeps_the_filters(tmp_path: Path) -> None:
    _save(tmp_path, when=WHEN)
    gallery = Gallery(tmp_path)
    gallery.model.value = "gpt-image-1"
    newer = _save(tmp_path, "a new one", when=WHEN + 60)
    _save(tmp_path, model="dall-e-2", when=WHEN + 120)
    assert len(gallery.items) == 1
    gallery.refresh_button.click()
    assert gallery.model.value == "gpt-image-1" and "dall-e-2" in gallery.model.options
    assert _names(gallery)[0] == newer.path.name and len(gallery.items) == 2
    gallery.close()


def test_a_missing_folder_is_an_empty_gallery(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path / "not-yet")
    assert gallery.items == [] and gallery.count_line.value == "0 images · shown 0"
    assert _zip_disabled(gallery) and gallery.more_button.layout.display == "none"
    gallery.close()


def test_thumbnails_are_made_for_the_shown_page_only(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(10):
        _save(tmp_path, f"picture {number}", when=WHEN + number, size=(400, 300))
    made: list[Path] = []
    real = ImageIndex.thumbnail

    def counted(self: ImageIndex, entry: Any, size: int = 192) -> Thumbnail:
        made.append(entry.path)
        return real(self, entry, size)

    monkeypatch.setattr(ImageIndex, "thumbnail", counted)
    gallery = Gallery(tmp_path, page_size=4, thumbnail_size=100)
    assert len(made) == 4 and len(gallery.items) == 4
    assert gallery.count_line.value == "10 images · shown 4"
    for item in gallery.items:
        assert item.thumbnail is not None and item.thumbnail.format == "jpeg"  # an opaque PNG's
        with Image.open(io.BytesIO(item.thumbnail.data)) as thumb:
            assert max(thumb.size) <= 100
    assert gallery.more_button.layout.display != "none"
    gallery.more_button.click()
    assert len(made) == 8 and len(gallery.items) == 8
    assert [entry.path for entry in gallery._matches[:8]] == made
    gallery.show_more()
    assert len(made) == 10 and gallery.more_button.layout.display == "none"
    gallery.close()


def test_open_and_download_send_the_exact_file(tmp_path: Path) -> None:
    saved = _save(tmp_path)
    gallery = Gallery(tmp_path)
    assert gallery.opener.action == "enlarge" and gallery.downloader.action == "download"
    for action, button in (("open", gallery.opener), ("download", gallery.downloader)):
        sent = _sent(button)
        _click(gallery, 0, action)  # no loop running here: sent at once
        ((content, buffers),) = sent
        assert content["filename"] == saved.path.name and content["mime"] == "image/png"
        assert buffers[0] == saved.path.read_bytes()
    gallery.close()


async def test_download_off_the_loop_reports_a_vanished_file(tmp_path: Path) -> None:
    saved = _save(tmp_path)
    gallery = Gallery(tmp_path)
    await gallery.loaded()
    sent = _sent(gallery.downloader)
    saved.path.unlink()
    _click(gallery, 0, "download")
    assert gallery._sending is not None
    assert not await gallery._sending
    assert sent == [] and "FileNotFoundError" in gallery.message.value
    gallery.close()


def test_use_settings_gives_the_saved_params(tmp_path: Path) -> None:
    _save(tmp_path, "A lighthouse at dusk", model="dall-e-3", quality="hd")
    used: list[iw.ImageParams] = []
    gallery = Gallery(tmp_path, on_use=used.append)
    (item,) = gallery.items
    assert gallery.grid.can_use
    _click(gallery, 0, "use")
    ((params,),) = [used]
    assert (params.model, params.prompt, params.quality, params.size) == (
        "dall-e-3", "A lighthouse at dusk", "hd", "1024x1024")
    assert f"the settings of {item.entry.path.name} are in the controls" in gallery.message.value
    gallery.close()
    alone = Gallery(tmp_path)
    assert not alone.grid.can_use  # the browser hides the button
    alone.close()


def test_an_error_using_settings_is_shown_escaped(tmp_path: Path) -> None:
    _save(tmp_path)

    def refuse(_params: iw.ImageParams) -> None:
        raise ValueError("<b>no</b> panel")

    gallery = Gallery(tmp_path, on_use=refuse)
    gallery.click(gallery.items[0], "use")
    assert "&lt;b&gt;no&lt;/b&gt; panel" in gallery.message.value and "<b>no" not in gallery.message.value
    gallery.close()
    said = Gallery(tmp_path, on_use=lambda _params: "size <i>7x7</i> is not allowed")  # a panel's
    said.click(said.items[0], "use")
    assert "not loaded: size &lt;i&gt;7x7&lt;/i&gt; is not allowed" in said.message.value
    with pytest.raises(ValueError, match="one of 'open', 'download', 'use', 'delete', not 'x'"):
        said.click(said.items[0], "x")
    said.close()


def test_a_confirmed_delete_deletes_the_image_and_its_thumbnails(tmp_path: Path) -> None:
    kept, gone = _save(tmp_path, when=WHEN), _save(tmp_path, "delete me", when=WHEN + 60)
    gallery = Gallery(tmp_path)
    thumbnails = tmp_path / ".thumbnails"
    assert len(list(thumbnails.iterdir())) == 2
    sent = _sent(gallery.grid)
    _browser_says(gallery, {"event": "delete", "name": "not-shown.png"})  # stale: nothing happens
    assert gone.path.exists() and sent == []
    _click(gallery, 0, "delete")  # the browser asked first: only the confirming Delete comes here
    assert not gone.path.exists() and not gone.sidecar.exists() and len(list(thumbnails.iterdir())) == 1
    assert _names(gallery) == [kept.path.name] and kept.path.exists()
    assert gallery.count_line.value == "1 image · shown 1"
    items, _ = _drawn(sent)
    assert [item["name"] for item in items] == [kept.path.name]
    gallery.refresh()
    assert _names(gallery) == [kept.path.name]
    gallery.close()


async def test_zip_of_the_selected_images(tmp_path: Path) -> None:
    first, second = _save(tmp_path, when=WHEN), _save(tmp_path, "two", when=WHEN + 60)
    _save(tmp_path, "not chosen", when=WHEN + 120)
    gallery = Gallery(tmp_path)
    await gallery.loaded()
    assert _zip_disabled(gallery) and gallery.selected == []
    sent = _sent(gallery.zip_button)
    assert not gallery.zip_button.deliver()
    _tick(gallery, 1, 2)
    assert not _zip_disabled(gallery)
    assert [entry.path for entry in gallery.selected] == [second.path, first.path]
    assert gallery.zip_button.deliver()
    ((content, buffers),) = sent
    assert content["filename"] == f"imagewidgets-{date.today().isoformat()}.zip"
    assert content["mime"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(buffers[0])) as archive:
        names = set(archive.namelist())
        assert {Path(name).name for name in names} == {
            first.path.name, first.sidecar.name, second.path.name, second.sidecar.name}
        (image_name,) = [name for name in names if name.endswith(first.path.name)]
        assert archive.read(image_name) == first.path.read_bytes()
    assert await gallery.zip_button.deliver_off_loop()  # what a click does: zipped on a worker thread
    assert sent[1][1][0] == buffers[0]
    _tick(gallery)
    assert _zip_disabled(gallery)
    gallery.close()


def test_a_broken_image_shows_a_placeholder_and_the_rest_still_show(tmp_path: Path) -> None:
    _save(tmp_path, "fine", when=WHEN)
    broken = _save(tmp_path, "broken", when=WHEN + 60)
    broken.path.write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    _save(tmp_path, "also fine", when=WHEN + 120)
    gallery = Gallery(tmp_path)
    assert len(gallery.items) == 3
    bad = gallery.items[1]
    assert bad.entry.path == broken.path and bad.unreadable and bad.thumbnail is None
    for good in (gallery.items[0], gallery.items[2]):
        assert good.thumbnail is not None and not good.unreadable
    sent = _sent(gallery.grid)
    _browser_says(gallery, {"event": "ready"})
    assert ({"event": "unreadable", "keys": [bad.key]}, None) in sent
    gallery.close()


def test_text_from_files_goes_to_the_browser_as_text(tmp_path: Path) -> None:
    # The browser sets it with textContent (tests/browser/test_xss_browser.py); the line
    # above the grid, HTML, escapes what it names.
    saved = _save(tmp_path, "<img src=x onerror=alert(1)> & more", model="<b>model</b>")
    gallery = Gallery(tmp_path, on_use=lambda _params: None)
    assert "<b>model</b> · low quality" in gallery.items[0].caption
    assert gallery.items[0].alt.startswith("<img src=x onerror=alert(1)> & more — <b>model</b>")
    _click(gallery, 0, "delete")
    assert not saved.path.exists() and "<" not in gallery.message.value.replace("<b>", "")
    gallery.close()


def test_a_long_prompt_is_cut_in_the_caption_and_the_alt_text(tmp_path: Path) -> None:
    _save(tmp_path, "word " * 40, cost=None)
    _save(tmp_path, "x" * 32_000, when=WHEN + 60)
    gallery = Gallery(tmp_path)
    long, short = gallery.items
    assert "$" not in short.caption and len(short.caption.split(" · ")[-1]) == 60
    assert len(long.alt.split(" — ")[0]) == 250 and long.alt.split(" — ")[0].endswith("…")
    gallery.close()


def test_per_day_totals(tmp_path: Path) -> None:
    _save(tmp_path, when=WHEN, cost=0.011)
    _save(tmp_path, when=WHEN + 60, cost=0.248)
    _save(tmp_path, when=WHEN - DAY, cost=0.12)
    _save(tmp_path, when=WHEN - 2 * DAY, cost=None)
    _save(tmp_path, when=WHEN - DAY, cost=0.5, emulator=False)  # the API's, said so
    _save(tmp_path, when=WHEN, cost=0.04, emulator=True)  # the emulator's: apart, never added
    _save(tmp_path, when=WHEN + 60, cost=0.3, emulator=True)
    gallery = Gallery(tmp_path)
    assert "iw-gallery-totals" in gallery.totals._dom_classes
    billed, emulated = html.unescape(gallery.totals.value).split("<br>")
    assert billed.startswith("spent per day: 2026-11-25: $0.26 · 2026-11-24: $0.62")
    assert emulated == "emulated per day, $0 billed (would cost): 2026-11-25: $0.34"
    gallery.close()


def test_the_default_folder_is_the_stores(tmp_path: Path, output_folder: Path) -> None:
    saved = _save(output_folder)
    gallery = Gallery()
    assert gallery.index.folder == output_folder and _names(gallery) == [saved.path.name]
    gallery.close()
    from_store = Gallery(ImageStore(output_folder))
    assert _names(from_store) == [saved.path.name]
    from_store.close()


async def test_no_widget_left_alive_after_close(tmp_path: Path) -> None:
    for number in range(6):
        _save(tmp_path, f"picture {number}", when=WHEN + number,
              model=("gpt-image-1", "dall-e-3")[number % 2])
    before = set(_instances)
    gallery = Gallery(tmp_path, page_size=2, on_use=lambda _params: None)
    await gallery.loaded()
    gallery.show_more()
    _tick(gallery, 0)
    _click(gallery, 1, "delete")
    gallery.model.value = "dall-e-3"
    gallery.refresh()
    await gallery.loaded()
    assert isinstance(gallery.items[0], GalleryItem)
    gallery.show_more()  # closed while this page is being read: the task stops with it
    gallery.close()
    gallery.close()  # twice is harmless
    assert set(_instances) - before == set()
    await asyncio.sleep(0)
