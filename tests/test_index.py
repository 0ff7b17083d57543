"""The index of a store's folder, with real saved files: what a gallery user would notice."""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imagewidgets import imaging
from imagewidgets.errors import ImageDecodeError
from imagewidgets.results import GeneratedImage
from imagewidgets.storage import index as index_module
from imagewidgets.storage.index import INDEX_FILE, THUMBNAIL_DIR, Entry, ImageIndex
from imagewidgets.storage.store import ImageStore, SavedImage

WHEN = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))
DAY = 86_400
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" viewBox="0 0 64 48">'
       b'<rect width="64" height="48" fill="#0a78c8"/></svg>\n')


def _encoded(fmt: str = "PNG", colour: tuple[int, int, int] = (10, 120, 200),
             size: tuple[int, int] = (64, 48), noise: bool = False, **options: Any) -> bytes:
    if noise:  # incompressible: a file large enough that only part of it is read for its settings
        picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture = Image.new("RGB", size, colour)
    buffer = io.BytesIO()
    (picture.convert("P") if fmt == "GIF" else picture).save(buffer, fmt, **options)
    return buffer.getvalue()


def _save(folder: Path, prompt: str = "A lighthouse at dusk", model: str = "gpt-image-1",
          when: float = WHEN, cost: float | None = 0.011, actual: float | None = None,
          revised: str | None = None, data: bytes | None = None,
          emulator: bool = True) -> SavedImage:
    data = _encoded() if data is None else data
    kind, width, height = imaging.inspect(data)
    image = GeneratedImage(data=data, format=kind, width=width, height=height,
                           params={"model": model, "prompt": prompt})
    record = {"params": {"model": model, "prompt": prompt, "size": "1024x1024", "quality": "low"},
              "revised_prompt": revised,
              "cost": {"estimated": cost, "actual": actual, "prices_read_on": "2026-11-01"},
              "request_id": "req_123", "server": {"host": "127.0.0.1", "emulator": emulator}}
    return ImageStore(folder).save(image, record, when=when)


def _recorded(inside: Any, names: list[str]) -> Any:
    def recording(folder: Path, relative: str) -> Any:
        names.append(os.path.basename(relative))
        return inside(folder, relative)
    return recording


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file opened by name from now on (``Path.open``/``read_bytes`` go through ``io.open``)."""
    names: list[str] = []
    real = io.open

    def recording(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike):
            names.append(os.path.basename(os.fspath(file)))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", recording)
    monkeypatch.setattr(builtins, "open", recording)
    # The folder's own files are opened through storage.inside, one name at a time.
    for name in ("open_inside", "read_inside"):
        monkeypatch.setattr(index_module, name, _recorded(getattr(index_module, name), names))
    return names


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Many saves quickly: durability is not what these tests are about."""
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)
    yield


def _sidecars(names: list[str]) -> list[str]:
    return [name for name in names if name.endswith(".json") and name != INDEX_FILE]


# -- listing and settings -----------------------------------------------------------------------

def test_entries_are_newest_first_with_their_settings(tmp_path: Path) -> None:
    middle = _save(tmp_path, "A red fox", when=WHEN)
    newest = _save(tmp_path, "A blue whale", "gpt-image-2", when=WHEN + 60, cost=0.04, actual=0.05)
    oldest = _save(tmp_path, "A green frog", "dall-e-3", when=WHEN - DAY, cost=None)
    index = ImageIndex(tmp_path)
    assert index.entries == []  # nothing read before a refresh
    entries = index.refresh()
    assert [entry.path for entry in entries] == [newest.path, middle.path, oldest.path]
    assert entries == index.entries
    first = entries[0]
    assert (first.model, first.prompt, first.cost) == ("gpt-image-2", "A blue whale", 0.05)  # actual first
    assert entries[1].cost == 0.011 and entries[2].cost is None  # else the estimate, else unknown
    assert first.created == WHEN + 60 and first.day == date(2026, 11, 25)
    assert entries[2].day == date(2026, 11, 24)
    assert first.record["request_id"] == "req_123"
    params = first.params
    params["prompt"] = "changed"
    assert first.params["prompt"] == "A blue whale"  # a copy
    assert len({*entries, *index.refresh()}) == 3  # entries can go in a set (a selection)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "SVG"])
def test_image_without_sidecar_shows_its_embedded_settings(tmp_path: Path, fmt: str) -> None:
    saved = _save(tmp_path, "A café by the sea", "gpt-image-1", cost=0.02,
                  data=SVG if fmt == "SVG" else _encoded(fmt))
    saved.sidecar.unlink()
    (entry,) = ImageIndex(tmp_path).refresh()
    assert (entry.path, entry.model, entry.prompt, entry.cost) == (saved.path, "gpt-image-1",
                                                                   "A café by the sea", 0.02)
    assert entry.created == WHEN  # from saved_at, not the file's time
    assert entry.params["quality"] == "low"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_large_image_is_read_only_where_its_settings_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         fmt: str) -> None:
    monkeypatch.setattr(index_module, "_WHOLE", 4096)
    monkeypatch.setattr(index_module, "_TAIL", 2048)
    options: dict[str, Any] = {"lossless": True} if fmt == "WEBP" else {}
    saved = _save(tmp_path, data=_encoded(fmt, size=(192, 192), noise=True, **options))
    saved.sidecar.unlink()
    assert saved.path.stat().st_size > 4 * 4096  # read from its head or its tail, not whole
    (entry,) = ImageIndex(tmp_path).refresh()
    assert (entry.model, entry.prompt, entry.created) == ("gpt-image-1", "A lighthouse at dusk", WHEN)


def test_image_with_neither_shows_with_an_empty_record_and_its_file_time(tmp_path: Path) -> None:
    plain = tmp_path / "from-elsewhere.png"
    plain.write_bytes(_encoded())
    os.utime(plain, (WHEN - 3 * DAY, WHEN - 3 * DAY))
    (entry,) = ImageIndex(tmp_path).refresh()
    assert (entry.path, dict(entry.record), entry.model, entry.prompt, entry.cost, entry.params) == (
        plain, {}, "", "", None, {})
    assert entry.created == WHEN - 3 * DAY


def test_one_bad_file_shows_with_an_empty_record_and_a_broken_thumbnail(tmp_path: Path) -> None:
    good = _save(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "deep.jpg").write_bytes(b"\xff\xd8junk")
    (tmp_path / "deep.json").write_text("[" * 100_000)  # deeper than the JSON parser goes
    listed = tmp_path / "listed.gif"
    listed.write_bytes(b"GIF89a")
    (tmp_path / "listed.json").write_text("[1, 2]")  # JSON, but not a record
    index = ImageIndex(tmp_path)
    entries = {entry.path.name: entry for entry in index.refresh()}
    assert set(entries) == {good.path.name, "broken.png", "deep.jpg", "listed.gif"}
    assert all(dict(entries[name].record) == {} for name in ("broken.png", "deep.jpg", "listed.gif"))
    with pytest.raises(ImageDecodeError):
        index.thumbnail(entries["broken.png"])
    assert index.thumbnail(entries[good.path.name]).format == "jpeg"


def test_temporary_files_the_index_and_thumbnails_never_show(tmp_path: Path) -> None:
    saved = _save(tmp_path)
    (tmp_path / ".x.tmp").write_bytes(b"half")
    (tmp_path / f".{saved.path.name}.1a2b3c4d.tmp").write_bytes(saved.path.read_bytes()[:100])
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "folder.png").mkdir()
    index = ImageIndex(tmp_path)
    index.thumbnail(index.refresh()[0])
    assert (tmp_path / INDEX_FILE).is_file() and any((tmp_path / THUMBNAIL_DIR).iterdir())
    assert [entry.path for entry in index.refresh()] == [saved.path]


def test_missing_folder_has_no_entries(tmp_path: Path) -> None:
    index = ImageIndex(tmp_path / "never-made")
    assert index.refresh() == [] and index.select(text="x") == []
    assert index.models() == [] and index.totals_per_day() == {}
    assert not (tmp_path / "never-made").exists()


# -- filtering, sorting, totals -------------------------------------------------------------------

@pytest.fixture
def gallery(tmp_path: Path) -> ImageIndex:
    _save(tmp_path, "A red fox in snow", "gpt-image-1", when=WHEN, cost=0.011)
    _save(tmp_path, "A blue whale", "gpt-image-2", when=WHEN + 60, cost=0.04, actual=0.05)
    _save(tmp_path, "A green frog", "dall-e-3", when=WHEN - DAY, cost=0.12,
          revised="A small green FOX-coloured frog on a leaf", emulator=False)
    _save(tmp_path, "An old map", "gpt-image-1", when=WHEN - 2 * DAY, cost=None)
    (tmp_path / "plain.png").write_bytes(_encoded())
    os.utime(tmp_path / "plain.png", (WHEN - 3 * DAY, WHEN - 3 * DAY))
    index = ImageIndex(tmp_path)
    index.refresh()
    return index


def _prompts(entries: list[Entry]) -> list[str]:
    return [entry.prompt or "?" for entry in entries]


def test_select_by_model_text_and_dates(gallery: ImageIndex) -> None:
    assert _prompts(gallery.select()) == ["A blue whale", "A red fox in snow", "A green frog", "An old map",
                                          "?"]
    assert _prompts(gallery.select(model="gpt-image-1")) == ["A red fox in snow", "An old map"]
    assert _prompts(gallery.select(model="")) == ["?"]
    # In any case, in the prompt or the revised prompt.
    assert _prompts(gallery.select(text="fox")) == ["A red fox in snow", "A green frog"]
    assert _prompts(gallery.select(text="FOX", model="dall-e-3")) == ["A green frog"]
    assert _prompts(gallery.select(text="no such thing")) == []
    today = date(2026, 11, 25)
    assert _prompts(gallery.select(since=today)) == ["A blue whale", "A red fox in snow"]
    assert _prompts(gallery.select(until=today - timedelta(days=1))) == ["A green frog", "An old map", "?"]
    assert _prompts(gallery.select(since=today - timedelta(days=2), until=today - timedelta(days=1))) == [
        "A green frog", "An old map"]


def test_each_sort(gallery: ImageIndex) -> None:
    assert _prompts(gallery.select(sort="oldest")) == ["?", "An old map", "A green frog", "A red fox in snow",
                                                       "A blue whale"]
    # Unknown costs last, newest first among them.
    assert _prompts(gallery.select(sort="cost high")) == ["A green frog", "A blue whale", "A red fox in snow",
                                                          "An old map", "?"]
    assert _prompts(gallery.select(sort="cost low")) == ["A red fox in snow", "A blue whale", "A green frog",
                                                         "An old map", "?"]
    assert _prompts(gallery.select(sort="model")) == ["A green frog", "A red fox in snow", "An old map",
                                                      "A blue whale", "?"]
    assert _prompts(gallery.select(sort="newest", model="gpt-image-1")) == ["A red fox in snow", "An old map"]


def test_a_bad_sort_is_refused_saying_what_is_allowed(gallery: ImageIndex) -> None:
    with pytest.raises(ValueError, match="sort must be one of 'newest', 'oldest', 'cost high', 'cost low', "
                                         "'model', not 'largest'"):
        gallery.select(sort="largest")


def test_models_and_totals_per_day(gallery: ImageIndex) -> None:
    assert gallery.models() == ["dall-e-3", "gpt-image-1", "gpt-image-2"]
    # Newest day first; the day with no known cost is left out; the emulator's apart.
    emulated = gallery.totals_per_day(emulated=True)
    assert list(emulated) == [date(2026, 11, 25)]
    assert emulated[date(2026, 11, 25)] == pytest.approx(0.061)  # the actual 0.05, not the estimate 0.04
    assert gallery.totals_per_day() == {date(2026, 11, 24): pytest.approx(0.12)}  # billed only


# -- the index file --------------------------------------------------------------------------------

def test_the_index_file_is_reused_and_rebuilt_when_missing_or_damaged(tmp_path: Path,
                                                                     opened: list[str]) -> None:
    for number in range(5):
        _save(tmp_path, f"picture {number}", when=WHEN + number)
    first = ImageIndex(tmp_path).refresh()
    assert len(_sidecars(opened)) == 5
    index_file = tmp_path / INDEX_FILE
    written = index_file.stat().st_mtime_ns

    opened.clear()
    again = ImageIndex(tmp_path).refresh()  # a new process, as after a kernel restart
    assert again == first
    assert _sidecars(opened) == [] and opened == [INDEX_FILE]  # no sidecar, no image read
    assert index_file.stat().st_mtime_ns == written  # nothing changed: not written again

    for damage in (index_file.unlink, lambda: index_file.write_bytes(b'{"version": 1, "images": [tr')):
        damage()
        opened.clear()
        assert ImageIndex(tmp_path).refresh() == first
        assert len(_sidecars(opened)) == 5
        assert json.loads(index_file.read_bytes())["version"] == 1


def test_a_sidecar_changed_on_disk_is_read_again(tmp_path: Path, opened: list[str]) -> None:
    saved = _save(tmp_path, "before")
    _save(tmp_path, "untouched", when=WHEN - 60)
    index = ImageIndex(tmp_path)
    index.refresh()
    record = json.loads(saved.sidecar.read_bytes())
    record["params"]["prompt"] = "after"
    saved.sidecar.write_text(json.dumps(record))
    opened.clear()
    assert _prompts(index.refresh()) == ["after", "untouched"]
    assert _sidecars(opened) == [saved.sidecar.name]


def test_a_sidecar_that_lands_after_its_image_is_read(tmp_path: Path) -> None:
    saved = _save(tmp_path, "first")
    content = saved.sidecar.read_bytes()
    saved.sidecar.unlink()  # as between the store's two writes
    record = json.loads(content)
    record["cost"]["actual"] = 0.5  # only the sidecar says so
    index = ImageIndex(tmp_path)
    assert index.refresh()[0].cost == 0.011
    saved.sidecar.write_text(json.dumps(record))
    assert index.refresh()[0].cost == 0.5


def test_a_thousand_images_are_read_once_then_from_the_index(tmp_path: Path, no_fsync: None,
                                                              opened: list[str]) -> None:
    # How long the cold scan takes is a figure of benchmarks/bench_gallery.py (B9-cold).
    data = _encoded()
    for number in range(1000):
        _save(tmp_path, f"picture number {number}", when=WHEN - number * 600, data=data)
    opened.clear()
    entries = ImageIndex(tmp_path).refresh()
    assert len(entries) == 1000 and entries[0].prompt == "picture number 0"
    sidecars = _sidecars(opened)
    assert len(sidecars) == len(set(sidecars)) == 1000  # each sidecar once; no image opened
    assert not any(name.endswith(".png") for name in opened)
    opened.clear()
    assert ImageIndex(tmp_path).refresh() == entries
    assert opened == [INDEX_FILE]


# -- thumbnails ----------------------------------------------------------------------------------

@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every thumbnail decoded and made from now on."""
    sizes: list[int] = []
    real = imaging.thumbnail

    def counting(data: bytes, longest: int = 384) -> imaging.Thumbnail:
        sizes.append(longest)
        return real(data, longest)

    monkeypatch.setattr(imaging, "thumbnail", counting)
    return sizes


def test_thumbnails_are_kept_on_disk_and_reused(tmp_path: Path, made: list[int]) -> None:
    saved = _save(tmp_path, data=_encoded(size=(640, 480)))
    index = ImageIndex(tmp_path)
    entry = index.refresh()[0]
    thumb = index.thumbnail(entry)
    assert thumb.format == "jpeg" and made == [192]  # an opaque PNG's thumbnail
    with Image.open(io.BytesIO(thumb.data)) as small:
        assert small.size == (192, 144)
    kept = tmp_path / THUMBNAIL_DIR / f"{saved.path.name}-192.jpeg"
    assert kept.read_bytes() == thumb.data
    assert ImageIndex(tmp_path).thumbnail(entry) == thumb  # another process: not decoded again
    assert made == [192]
    index.thumbnail(entry, 96)
    assert made == [192, 96] and (tmp_path / THUMBNAIL_DIR / f"{saved.path.name}-96.jpeg").is_file()


def test_a_thumbnail_is_made_again_when_its_image_changes(tmp_path: Path, made: list[int]) -> None:
    saved = _save(tmp_path, data=_encoded(colour=(255, 0, 0)))
    index = ImageIndex(tmp_path)
    entry = index.refresh()[0]
    before = index.thumbnail(entry)
    stamp = saved.path.stat().st_mtime_ns
    saved.path.write_bytes(_encoded(colour=(0, 255, 0)))
    os.utime(saved.path, ns=(stamp - 10**9, stamp - 10**9))  # replaced by an older file, as cp -p does
    after = index.thumbnail(entry)
    assert after != before and len(made) == 2
    with Image.open(io.BytesIO(after.data)) as small:
        assert max(abs(a - b) for a, b in zip(small.convert("RGB").getpixel((0, 0)), (0, 255, 0),
                                              strict=True)) <= 2  # a JPEG's rounding
    assert index.thumbnail(entry) == after and len(made) == 2


def _transparent_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 48), (10, 120, 200, 128)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "fmt", "suffix"), [(_encoded("GIF"), "gif", "gif"), (SVG, "svg+xml", "svg"),
                                                     (_encoded("JPEG"), "jpeg", "jpeg"),
                                                     (_encoded("PNG"), "jpeg", "jpeg"),
                                                     (_transparent_png(), "png", "png"),
                                                     (_encoded("WEBP"), "webp", "webp")])
def test_thumbnails_keep_their_kind(tmp_path: Path, made: list[int], data: bytes, fmt: str,
                                    suffix: str) -> None:
    saved = _save(tmp_path, data=data)
    index = ImageIndex(tmp_path)
    entry = index.refresh()[0]
    assert index.thumbnail(entry, 32).format == fmt
    assert (tmp_path / THUMBNAIL_DIR / f"{saved.path.name}-32.{suffix}").is_file()
    assert index.thumbnail(entry, 32).format == fmt and len(made) == 1


# -- delete and zip ------------------------------------------------------------------------------

def test_delete_removes_the_image_its_sidecar_and_its_thumbnails(tmp_path: Path) -> None:
    gone = _save(tmp_path, "gone", when=WHEN)
    kept = _save(tmp_path, "kept", when=WHEN - 60)
    # Another image whose stem starts with the deleted one's: its thumbnail stays.
    neighbour = tmp_path / f"{gone.path.stem}-b.png"
    neighbour.write_bytes(_encoded())
    index = ImageIndex(tmp_path)
    entries = {entry.path: entry for entry in index.refresh()}
    for entry in entries.values():
        index.thumbnail(entry)
    index.thumbnail(entries[gone.path], 64)
    index.delete(entries[gone.path])
    assert not gone.path.exists() and not gone.sidecar.exists()
    assert sorted(path.name for path in (tmp_path / THUMBNAIL_DIR).iterdir()) == sorted(
        [f"{kept.path.name}-192.jpeg", f"{neighbour.name}-192.jpeg"])
    assert gone.path not in [entry.path for entry in index.entries] and len(index.entries) == 2
    assert [entry.path for entry in index.refresh()] == [entry.path for entry in index.entries]


def test_zip_holds_each_image_and_its_sidecar(tmp_path: Path) -> None:
    first = _save(tmp_path, "first", when=WHEN)
    second = _save(tmp_path, "second", when=WHEN - 60, data=_encoded("JPEG"))
    lone = tmp_path / "lone.png"
    lone.write_bytes(_encoded())
    index = ImageIndex(tmp_path)
    entries = index.refresh()
    with zipfile.ZipFile(io.BytesIO(index.zip([*entries, entries[0]]))) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert sorted(infos) == sorted([first.path.name, first.sidecar.name, second.path.name,
                                        second.sidecar.name, "lone.png"])
        for path in (first.path, first.sidecar, second.path, second.sidecar, lone):
            assert archive.read(path.name) == path.read_bytes()
        assert infos[first.path.name].compress_type == zipfile.ZIP_STORED
        assert infos[first.sidecar.name].compress_type == zipfile.ZIP_DEFLATED


_KILLED_WRITER = """
import io, os, sys, time
from PIL import Image
from imagewidgets.results import GeneratedImage
from imagewidgets.storage.store import ImageStore

picture = Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3))
buffer = io.BytesIO()
picture.save(buffer, "PNG")
real_fdopen = os.fdopen


class Slow:  # the file grows a piece at a time, and stops at the third: killed there, it is cut short
    pieces = 0

    def __init__(self, file):
        self.file = file

    def write(self, data):
        for start in range(0, len(data), 4096):
            self.file.write(data[start:start + 4096])
            self.file.flush()
            print("writing", flush=True)
            Slow.pieces += 1
            if Slow.pieces == 3:
                time.sleep(3600)  # however slow the test is to kill it
        return len(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.file.__exit__(*exc)


os.fdopen = lambda fd, *args, **kwargs: Slow(real_fdopen(fd, *args, **kwargs))
image = GeneratedImage(data=buffer.getvalue(), format="png", width=512, height=512,
                       params={"model": "gpt-image-1", "prompt": "cut short"})
ImageStore(sys.argv[1]).save(image, {"params": dict(image.params)})
"""


def test_a_writer_killed_midway_leaves_no_truncated_image_in_the_gallery(tmp_path: Path) -> None:
    _save(tmp_path, prompt="A finished one")
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        for _ in range(3):  # a few pieces are on disk
            assert writer.stdout.readline() == "writing\n"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(120)
        if writer.stdout is not None:
            writer.stdout.close()
    leftovers = [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
    assert leftovers, "the writer was killed mid-write"  # a cut-short temporary file is there...
    entries = ImageIndex(tmp_path).refresh()
    assert [entry.prompt for entry in entries] == ["A finished one"]  # ...and never shows
    assert all(imaging.inspect(entry.path.read_bytes()) for entry in entries)
