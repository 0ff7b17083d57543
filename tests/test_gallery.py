"""The gallery, headless: real widgets over real files saved by the store."""

from __future__ import annotations

import html
import io
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets.imaging import Thumbnail
from imagewidgets.results import GeneratedImage
from imagewidgets.storage.index import ImageIndex
from imagewidgets.storage.store import ImageStore, SavedImage
from imagewidgets.ui.download import FullImageButton
from imagewidgets.ui.gallery import Gallery, GalleryItem

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


def _sent(button: FullImageButton) -> list[tuple[dict[str, Any], list[bytes]]]:
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    button.send = lambda content, buffers=None: sent.append((content, buffers))
    return sent


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
    assert gallery.items[0].caption.value == f"gpt-image-1 · {stamp} · $0.011 · picture 2"
    assert {"iw-gallery", "iw-root"} <= set(gallery._dom_classes)
    assert "iw-gallery-item" in gallery.items[0]._dom_classes
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
        assert item.image.format == "jpeg" and item.image.value  # an opaque PNG's thumbnail
        with Image.open(io.BytesIO(item.image.value)) as thumb:
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
    (item,) = gallery.items
    assert item.enlarge.action == "enlarge" and item.download.action == "download"
    assert "iw-gallery-open" in item.enlarge._dom_classes
    for button in (item.enlarge, item.download):
        sent = _sent(button)
        assert button.deliver()
        ((content, buffers),) = sent
        assert content["filename"] == saved.path.name and content["mime"] == "image/png"
        assert buffers[0] == saved.path.read_bytes()
    gallery.close()


async def test_download_off_the_loop_reports_a_vanished_file(tmp_path: Path) -> None:
    saved = _save(tmp_path)
    gallery = Gallery(tmp_path)
    (item,) = gallery.items
    sent = _sent(item.download)
    saved.path.unlink()
    assert not await item.download.deliver_off_loop()
    assert sent == [] and "FileNotFoundError" in gallery.message.value
    gallery.close()


def test_use_settings_gives_the_saved_params(tmp_path: Path) -> None:
    _save(tmp_path, "A lighthouse at dusk", model="dall-e-3", quality="hd")
    used: list[iw.ImageParams] = []
    gallery = Gallery(tmp_path, on_use=used.append)
    (item,) = gallery.items
    assert item.use.layout.display != "none"
    item.use.click()
    ((params,),) = [used]
    assert (params.model, params.prompt, params.quality, params.size) == (
        "dall-e-3", "A lighthouse at dusk", "hd", "1024x1024")
    assert f"the settings of {item.entry.path.name} are in the controls" in gallery.message.value
    gallery.close()
    alone = Gallery(tmp_path)
    assert alone.items[0].use.layout.display == "none"
    alone.close()


def test_an_error_using_settings_is_shown_escaped(tmp_path: Path) -> None:
    _save(tmp_path)

    def refuse(_params: iw.ImageParams) -> None:
        raise ValueError("<b>no</b> panel")

    gallery = Gallery(tmp_path, on_use=refuse)
    gallery.items[0].use.click()
    assert "&lt;b&gt;no&lt;/b&gt; panel" in gallery.message.value and "<b>no" not in gallery.message.value
    gallery.close()
    said = Gallery(tmp_path, on_use=lambda _params: "size <i>7x7</i> is not allowed")  # a panel's
    said.items[0].use.click()
    assert "not loaded: size &lt;i&gt;7x7&lt;/i&gt; is not allowed" in said.message.value
    said.close()


def test_delete_asks_first_and_keep_keeps(tmp_path: Path) -> None:
    kept, gone = _save(tmp_path, when=WHEN), _save(tmp_path, "delete me", when=WHEN + 60)
    gallery = Gallery(tmp_path)
    item = gallery.items[0]
    assert item.entry.path == gone.path and item.confirm.layout.display == "none"
    item.delete.click()
    assert item.confirm.layout.display == "flex" and gone.path.exists() and gone.sidecar.exists()
    assert item.confirm.children[0].value == f"Delete {gone.path.name}?"
    item.confirm_no.click()
    assert item.confirm.layout.display == "none" and gone.path.exists() and len(gallery.items) == 2
    item.delete.click()
    item.confirm_yes.click()
    assert not gone.path.exists() and not gone.sidecar.exists()
    assert _names(gallery) == [kept.path.name] and item.comm is None
    assert gallery.count_line.value == "1 image · shown 1"
    assert kept.path.exists()
    gallery.refresh()
    assert _names(gallery) == [kept.path.name]
    gallery.close()


async def test_zip_of_the_selected_images(tmp_path: Path) -> None:
    first, second = _save(tmp_path, when=WHEN), _save(tmp_path, "two", when=WHEN + 60)
    _save(tmp_path, "not chosen", when=WHEN + 120)
    gallery = Gallery(tmp_path)
    assert _zip_disabled(gallery) and gallery.selected == []
    sent = _sent(gallery.zip_button)
    assert not gallery.zip_button.deliver()
    gallery.items[1].select.value = True
    gallery.items[2].select.value = True
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
    gallery.items[1].select.value = gallery.items[2].select.value = False
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
    assert bad.entry.path == broken.path and bad.placeholder is not None
    assert bad.placeholder.value == "unreadable image" and bad.placeholder in bad.children
    assert bad.image.layout.display == "none" and bad.placeholder.layout.display != "none"
    for good in (gallery.items[0], gallery.items[2]):
        assert good.image.value and good.placeholder is None
    gallery.close()


def test_markup_from_files_is_escaped(tmp_path: Path) -> None:
    _save(tmp_path, "<img src=x onerror=alert(1)> & more", model="<b>model</b>")
    gallery = Gallery(tmp_path)
    caption = gallery.items[0].caption.value
    assert "<img" not in caption and "&lt;img src=x onerror=alert(1)&gt; &amp; more" in caption
    assert "<b>" not in caption
    gallery.close()


def test_a_long_prompt_is_cut_in_the_caption(tmp_path: Path) -> None:
    _save(tmp_path, "word " * 40, cost=None)
    gallery = Gallery(tmp_path)
    caption = gallery.items[0].caption.value
    assert "$" not in caption and len(caption.split(" · ")[-1]) == 60
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


def test_no_widget_left_alive_after_close(tmp_path: Path) -> None:
    for number in range(6):
        _save(tmp_path, f"picture {number}", when=WHEN + number,
              model=("gpt-image-1", "dall-e-3")[number % 2])
    before = set(_instances)
    gallery = Gallery(tmp_path, page_size=2, on_use=lambda _params: None)
    gallery.show_more()
    gallery.items[0].select.value = True
    gallery.items[1].delete.click()
    gallery.items[1].confirm_yes.click()
    gallery.model.value = "dall-e-3"  # the old items are closed, new ones made
    gallery.refresh()
    assert isinstance(gallery.items[0], GalleryItem)
    gallery.close()
    gallery.close()  # twice is harmless
    assert set(_instances) - before == set()
