"""A folder of images as a user (or someone else) leaves it: links out, bad costs, big zips.

- Links out of the folder: a link ``a.png`` to a file elsewhere, a sidecar that links
  out, a ``.thumbnails`` that is a link to another folder, a link to a folder, a FIFO:
  none is listed, downloaded, zipped or thumbnailed; no byte of a file outside is read.
- Costs a sidecar says: NaN, infinities, negatives, a 400-digit number are unknown,
  never ``$nan`` in a day's total or ``$inf`` in a caption; the totals say how many are unknown.
- The zip of a selection: written to a file, sent in parts no larger than ``part_bytes``,
  at most ``WINDOW`` of them ahead of the browser, with progress, refused over its limit
  with its size named; a second click while one runs is ignored, never run on the loop.

Real files on disk and real widgets; the browser is played by :class:`Browser`, which
confirms each part as download.js does.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import math
import os
import threading
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from imagewidgets.params import ImageParams
from imagewidgets.results import GeneratedImage
from imagewidgets.storage import OutsideFolderError, read_inside
from imagewidgets.storage.index import INDEX_FILE, THUMBNAIL_DIR, Entry, ImageIndex
from imagewidgets.storage.store import ImageStore, SavedImage
from imagewidgets.ui import delivery
from imagewidgets.ui.captions import dollars, image_caption
from imagewidgets.ui.download import WINDOW, FullImageButton
from imagewidgets.ui.gallery import Gallery, GalleryItem
from imagewidgets.ui.tile import ImageTile

from samples import encoded, solid

WHEN = 1_795_000_000.0  # 2026-11-18


def _save(folder: Path, prompt: str, cost: Any = 0.011, *, when: float = WHEN, data: bytes | None = None,
          record: dict[str, Any] | None = None) -> SavedImage:
    data = encoded("PNG") if data is None else data
    image = GeneratedImage(data=data, format="png", width=64, height=48,
                           params={"model": "gpt-image-1", "prompt": prompt})
    found = record if record is not None else {
        "params": {"model": "gpt-image-1", "prompt": prompt}, "cost": {"estimated": cost, "actual": cost},
        "server": {"host": "api.openai.com", "emulator": False}}
    return ImageStore(folder).save(image, found, when=when)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the store's, holding what must never be read through it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.png").write_bytes(solid("PNG", mode="RGB"))
    (folder / "secret.json").write_text(json.dumps({"params": {"model": "gpt-image-1",
                                                               "prompt": "THE SECRET PROMPT"}}))
    (folder / "inner.png").write_bytes(solid("PNG", mode="RGB"))
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir()
    return folder


def _entry(folder: Path, name: str) -> Entry:
    """An entry as an older index (or a race with a link made after the refresh) might hold it."""
    return Entry(folder, name, {}, WHEN, "", "", None)


class Browser:
    """download.js's side of a delivery: puts parts together, confirming each a turn of the loop later."""

    def __init__(self, button: FullImageButton, *, keep: bool = True) -> None:
        self.button = button
        self.keep = keep  # False: only the size of each file is kept (its bytes would count as the kernel's)
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        self.parts: list[bytes] = []
        self.files: list[tuple[str, bytes]] = []
        self.sizes: list[int] = []
        self.most_ahead = 0  # the most parts sent and not yet confirmed
        self.unconfirmed = 0
        self.size = 0
        self.progress: list[str] = []
        button.observe(lambda change: self.progress.append(change["new"]), names="progress")
        button.send = self._receive  # type: ignore[method-assign]

    def click(self) -> None:
        self.button._on_request(self.button, {"event": "request"}, [])

    def _receive(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        buffers = [bytes(buffer) for buffer in buffers or []]
        self.messages.append((content, buffers if self.keep else []))
        if content["event"] == "image":
            self.files.append((content["filename"], buffers[0]))
        elif content["event"] == "part":
            if content["index"] == 0:
                self.parts, self.size = [], 0
            self.size += len(buffers[0])
            if self.keep:
                self.parts.append(buffers[0])
            self.unconfirmed += 1
            self.most_ahead = max(self.most_ahead, self.unconfirmed)
            asyncio.get_running_loop().call_soon(self._confirm, content)
            if content["index"] == content["count"] - 1:
                self.files.append((content["filename"], b"".join(self.parts)))
                self.sizes.append(self.size)

    def _confirm(self, content: dict[str, Any]) -> None:
        self.unconfirmed -= 1
        self.button._on_request(self.button, {"event": "received", "id": content["id"],
                                              "index": content["index"]}, [])

    async def finished(self) -> None:
        making = self.button._making
        assert making is not None
        await making


# -- links out of the folder --------------------------------------------------------------------

def test_a_link_to_an_outside_file_or_folder_is_not_listed(store: Path, outside: Path) -> None:
    kept = _save(store, "mine")
    (store / "a.png").symlink_to(outside / "secret.png")
    (store / "a.json").symlink_to(outside / "secret.json")
    (store / "pictures.png").symlink_to(outside, target_is_directory=True)
    (store / "linked").symlink_to(outside, target_is_directory=True)
    gallery = Gallery(store)
    assert [item.entry.name for item in gallery.items] == [kept.path.name]
    assert "1 image" in gallery.count_line.value
    assert json.loads((store / INDEX_FILE).read_text())["images"].keys() == {kept.path.name}
    gallery.close()


def test_a_link_is_not_downloaded_zipped_or_thumbnailed(store: Path, outside: Path) -> None:
    kept = _save(store, "mine")
    (store / "a.png").symlink_to(outside / "secret.png")
    (store / "b.png").symlink_to(outside / "inner.png")
    index = ImageIndex(store)
    links = [_entry(store, "a.png"), _entry(store, "b.png")]
    for link in links:
        with pytest.raises(OutsideFolderError, match="is a link; only the folder's own files are read"):
            index.thumbnail(link)
        with pytest.raises(OutsideFolderError):
            read_inside(store, link.name)
    with zipfile.ZipFile(io.BytesIO(index.zip([*index.refresh(), *links]))) as archive:
        assert sorted(archive.namelist()) == sorted([kept.path.name, kept.sidecar.name])

    gallery = Gallery(store)
    gallery.items.append(GalleryItem(links[0]))  # a link made after the listing, then clicked
    browser = Browser(gallery.downloader)
    gallery.click(gallery.items[-1], "download")  # no loop running here: made at once
    assert browser.messages == [] and isinstance(gallery.last_error, OutsideFolderError)
    assert gallery.index.cached_thumbnails(links) == [None, None]  # no thumbnail of the outside file
    gallery.close()


async def test_a_tiles_saved_file_swapped_for_a_link_is_not_sent_or_read(store: Path, outside: Path) -> None:
    tile = ImageTile(ImageParams(prompt="mine"), store=ImageStore(store))
    await tile.show(GeneratedImage(data=encoded("PNG"), format="png", width=64, height=48,
                                   params={"model": "gpt-image-1", "prompt": "mine"}))
    assert tile.saved is not None
    saved = Path(tile.saved.path)
    saved.unlink()
    saved.symlink_to(outside / "secret.png")  # swapped after the save
    sent: list[Any] = []
    tile.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    tile.click("download")
    assert sent == [] and "could not read the image" in tile.progress
    with pytest.raises(OutsideFolderError):
        tile.result  # noqa: B018 (reading it is the point: the bytes come from the saved file)
    tile.close()


def test_a_sidecar_that_links_out_is_not_read_or_zipped(store: Path, outside: Path) -> None:
    kept = _save(store, "mine")
    kept.sidecar.unlink()
    kept.sidecar.symlink_to(outside / "secret.json")
    index = ImageIndex(store)
    (entry,) = index.refresh()
    assert entry.prompt == "mine"  # the settings embedded in the image, not the linked file's
    with zipfile.ZipFile(io.BytesIO(index.zip([entry]))) as archive:
        assert archive.namelist() == [kept.path.name]


def test_a_thumbnail_folder_that_links_out_is_not_read(store: Path, outside: Path) -> None:
    kept = _save(store, "mine", data=encoded("PNG"))
    index = ImageIndex(store)
    (entry,) = index.refresh()
    (store / THUMBNAIL_DIR).symlink_to(outside, target_is_directory=True)
    # What the cache would hold for this image, planted in the folder the link points to.
    planted = outside / f"{kept.path.name}-192.jpeg"
    planted.write_bytes(b"bytes of another folder")
    mtime = kept.path.stat().st_mtime_ns
    os.utime(planted, ns=(mtime, mtime))
    before = sorted(path.name for path in outside.iterdir())
    thumb = index.thumbnail(entry, 96)
    assert index.thumbnail(entry).data != b"bytes of another folder"
    assert thumb.data[:2] == b"\xff\xd8"
    # Nor written into, nor deleted from: the other folder is left as it was.
    index.delete(entry)
    assert sorted(path.name for path in outside.iterdir()) == before
    assert planted.read_bytes() == b"bytes of another folder"


def test_a_fifo_named_like_an_image_is_skipped_without_hanging(store: Path) -> None:
    kept = _save(store, "mine")
    os.mkfifo(store / "pipe.png")
    assert [entry.name for entry in ImageIndex(store).refresh()] == [kept.path.name]
    with pytest.raises(OutsideFolderError, match="is not a regular file"):
        read_inside(store, "pipe.png")  # opened without blocking, then refused


@pytest.mark.parametrize("name", ["../outside/secret.png", "/etc/passwd", "a/../../x.png", ""])
def test_a_name_that_leaves_the_folder_is_refused(store: Path, outside: Path, name: str) -> None:
    with pytest.raises(OutsideFolderError, match="is not a name inside the folder"):
        read_inside(store, name)


def test_a_store_folder_that_is_itself_a_link_still_works(tmp_path: Path, store: Path) -> None:
    kept = _save(store, "mine")
    link = tmp_path / "store-link"
    link.symlink_to(store, target_is_directory=True)
    (entry,) = ImageIndex(link).refresh()
    assert read_inside(link, entry.name) == kept.path.read_bytes()


# -- costs read from sidecars -------------------------------------------------------------------

BAD_COSTS = [math.nan, math.inf, -math.inf, -1000.0, 10**400, "0.5", True]


def _hostile_costs(folder: Path) -> None:
    _save(folder, "a fine one", 0.011)
    for number, cost in enumerate(BAD_COSTS):
        saved = _save(folder, f"bad {number}", when=WHEN + number + 1)
        record = json.loads(saved.sidecar.read_text())
        record["cost"] = {"estimated": cost, "actual": cost}
        # json.dumps writes NaN and Infinity as bare words, which json.loads reads back.
        saved.sidecar.write_text(json.dumps(record))


def test_bad_costs_in_sidecars_are_unknown_not_nan(store: Path) -> None:
    _hostile_costs(store)
    index = ImageIndex(store)
    entries = index.refresh()
    assert sorted(entry.cost for entry in entries if entry.cost is not None) == [0.011]
    (total,) = index.totals_per_day().values()
    assert total == pytest.approx(0.011)
    assert list(index.unknown_per_day().values()) == [len(BAD_COSTS)]


def test_captions_and_totals_never_show_nan_inf_or_negative(store: Path) -> None:
    _hostile_costs(store)
    gallery = Gallery(store)
    shown = [item.caption for item in gallery.items]
    assert len(shown) == len(BAD_COSTS) + 1
    assert sum("$0.011" in caption for caption in shown) == 1
    assert sum("$" in caption for caption in shown) == 1
    totals = html.unescape(gallery.totals.value)
    assert totals == f"spent per day: 2026-11-18: $0.01 + {len(BAD_COSTS)} of unknown cost"
    for text in (*shown, totals):
        assert "nan" not in text and "inf" not in text and "$-" not in text
    gallery.close()


def test_a_caption_drops_a_cost_that_is_not_a_price() -> None:
    image = GeneratedImage(data=encoded("PNG"), format="png", width=64, height=48,
                           params={"model": "gpt-image-1", "quality": "low"})
    for cost in (math.nan, math.inf, -1000.0):
        assert dollars(cost) is None
        caption = image_caption(image, {"model": "gpt-image-1"}, seconds=None, tokens=None, cost=cost,
                                emulated=False)
        assert "$" not in caption
    assert dollars(0.0) == "$0.000" and dollars(1.5, 2) == "$1.50"


def test_an_index_file_with_a_nan_date_is_made_again(store: Path) -> None:
    kept = _save(store, "mine")
    index = ImageIndex(store)
    index.refresh()
    cached = json.loads((store / INDEX_FILE).read_text())
    cached["images"][kept.path.name]["created"] = math.nan
    (store / INDEX_FILE).write_text(json.dumps(cached))
    (entry,) = ImageIndex(store).refresh()
    assert entry.created == pytest.approx(WHEN) and entry.day.year == 2026


# -- the zip of a selection ---------------------------------------------------------------------

async def _selected(folder: Path, count: int, size: int = 0, **options: Any) -> Gallery:
    """A gallery of ``count`` images (``size`` bytes of noise each, if given), all ticked."""
    for number in range(count):
        saved = _save(folder, f"picture {number}", when=WHEN + number)
        if size:
            saved.path.write_bytes(os.urandom(size))  # incompressible: the zip is as large as the files
    gallery = Gallery(folder, page_size=count, **options)
    await gallery.loaded()
    gallery.grid.selected = [item.entry.name for item in gallery.items]  # as the browser ticks them
    return gallery


async def test_a_large_zip_arrives_in_bounded_parts_with_progress(store: Path) -> None:
    gallery = await _selected(store, 6, size=40_000)
    button = gallery.zip_button
    button.part_bytes = 16 * 1024
    browser = Browser(button)
    browser.click()
    await browser.finished()
    ((name, data),) = browser.files
    assert name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(
            name for item in gallery.items for name in (item.entry.name, f"{item.entry.path.stem}.json"))
        for item in gallery.items:
            assert archive.read(item.entry.name) == item.entry.path.read_bytes()
    parts = [buffers[0] for content, buffers in browser.messages if content["event"] == "part"]
    assert len(parts) == len(browser.messages) > 10
    assert max(map(len, parts)) <= button.part_bytes
    assert browser.most_ahead <= WINDOW  # never more than WINDOW parts the browser has not confirmed
    assert browser.progress[:6] == [f"zipping {done}/6" for done in range(1, 7)]
    assert any(text.startswith("sending 0.0") and text.endswith(" of 0.2 MB") for text in browser.progress)
    assert browser.progress[-1] == "" == button.progress
    gallery.close()


async def test_a_selection_over_the_limit_is_refused_naming_its_size(store: Path) -> None:
    gallery = await _selected(store, 3, size=500_000, zip_limit=1_000_000)
    browser = Browser(gallery.zip_button)
    browser.click()
    await browser.finished()
    assert browser.messages == []
    assert type(gallery.last_error).__name__ == "ZipTooLargeError"
    assert str(gallery.last_error).startswith(
        "the selection (3 images) holds 1.5 MB; a zip may hold at most 1.0 MB: select fewer images")
    assert "ZipTooLargeError" in gallery.message.value
    gallery.close()


async def test_a_second_click_while_zipping_is_ignored_never_run_on_the_loop(store: Path) -> None:
    gallery = await _selected(store, 2)
    button = gallery.zip_button
    browser = Browser(button)
    loop_thread = threading.get_ident()
    started, release = threading.Event(), threading.Event()
    threads: list[int] = []
    zip_file = button.source

    def slow_zip() -> Any:
        threads.append(threading.get_ident())
        started.set()
        release.wait(timeout=60)  # a safety net: released below
        return zip_file()

    button.source = slow_zip
    browser.click()
    await asyncio.to_thread(started.wait, 60)
    browser.click()  # while the first is zipping
    browser.click()
    release.set()
    await browser.finished()
    assert len(threads) == 1 and threads[0] != loop_thread
    assert len(browser.files) == 1
    browser.click()  # once done, a click zips again
    await browser.finished()
    assert len(browser.files) == 2 and len(threads) == 2
    gallery.close()


async def test_a_browser_that_stops_confirming_frees_the_file_and_says_so(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gallery = await _selected(store, 3, size=40_000)
    button = gallery.zip_button
    button.part_bytes = 16 * 1024
    sent: list[dict[str, Any]] = []
    button.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    monkeypatch.setattr(delivery, "ANSWER_SECONDS", 0.0)  # nobody will ever confirm: no waiting
    assert not await button.deliver_off_loop()
    assert [content["event"] for content in sent] == ["part"] * WINDOW + ["abort"]
    assert "click again" in str(gallery.last_error) and button.progress == ""
    gallery.close()


async def test_zipping_a_large_selection_holds_a_few_megabytes_in_the_kernel(store: Path) -> None:
    """24 MB of images: the kernel's peak (tracemalloc) stays near WINDOW parts, not the zip's size."""
    gallery = await _selected(store, 12, size=2_000_000)
    browser = Browser(gallery.zip_button, keep=False)
    tracemalloc.start()
    try:
        browser.click()
        await browser.finished()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (size,) = browser.sizes
    assert size > 24_000_000
    # About WINDOW parts and a read buffer: under a third of the zip (the whole zip in memory, before).
    assert peak < 8_000_000
    gallery.close()
