"""Files on disk: saves killed at every step, saves racing for one name, prompts that look like keys.

- A save killed (SIGKILL, in a child process stopped at a chosen system call) leaves
  nothing the gallery shows, or a complete pair; reopening the folder finishes the
  pair or removes the hidden temporaries. ``GeneratedImage.save`` never leaves half
  a file under its name.
- Saves given the same name at once each keep their own file: none overwritten.
- Each save fsyncs the folder, so the new names survive a power cut.
- A prompt that merely starts with ``sk-`` or holds "Bearer" is saved; a real key is not.
- ``a.png`` and ``a.jpg`` each keep their own thumbnail.

The kills are deterministic: the child reports the call it is stopped at, then blocks
reading its stdin; the test kills it only then.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.files import STALE_AFTER, temporary_target
from imagewidgets.imaging import inspect
from imagewidgets.storage import ImageIndex, ImageStore, store as store_module
from imagewidgets.storage.metadata import embedded_metadata

from samples import encoded, solid

TESTS = Path(__file__).parent
ROOT = Path(iw.__file__).parent.parent

# The child: save one image, stopping at the ``nth`` call of ``os.<call>`` until killed.
CHILD = r"""
import os, sys
from pathlib import Path
from samples import encoded
from imagewidgets.imaging import inspect
from imagewidgets.results import GeneratedImage
from imagewidgets.storage import ImageStore

target, how, call, nth = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
data = encoded("PNG")
kind, width, height = inspect(data)
image = GeneratedImage(data=data, format=kind, width=width, height=height,
                       params={"prompt": "A lighthouse at dusk", "model": "gpt-image-1"})
store = ImageStore(target) if how == "store" else None  # opened before the stop is set
real, calls = getattr(os, call), []

def stopping(*args, **kwargs):
    calls.append(args)
    if len(calls) == nth:
        print("stopped", flush=True)
        sys.stdin.read()  # until killed
    return real(*args, **kwargs)

setattr(os, call, stopping)
if store is not None:
    store.save(image, {"params": image.params, "request_id": "req_1"})
else:
    image.save(target)
print("finished", flush=True)
"""


def _killed_at(target: Path, how: str, call: str, nth: int) -> None:
    """Run CHILD until it stops at the ``nth`` ``os.<call>``, then SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), how, call, str(nth)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, cwd=ROOT, text=True)  # cwd: no other imagewidgets first
    try:
        said = child.stdout.readline() if child.stdout else ""  # blocks until it stops (or ends)
        assert said == "stopped\n", f"{said!r} {child.stderr.read() if child.stderr else ''}"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL


def _visible(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def _temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if temporary_target(name) is not None)


def _age(folder: Path) -> None:
    """Make every temporary look as a dead writer's does: untouched for longer than STALE_AFTER."""
    old = time.time() - STALE_AFTER - 60
    for name in _temporaries(folder):
        os.utime(folder / name, (old, old))


def _complete_pairs(folder: Path) -> list[str]:
    """The images the gallery shows, each checked to have its sidecar, naming it."""
    shown = ImageIndex(folder).refresh()
    for entry in shown:
        record = json.loads(entry.path.with_suffix(".json").read_bytes())
        assert record["file"] == entry.name and record["request_id"] == "req_1"
        assert inspect(entry.path.read_bytes())[0] == "png"  # whole: it decodes
    return [entry.name for entry in shown]


# -- killed saves ------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this system")
@pytest.mark.parametrize(("call", "nth", "shown", "after"), [
    ("fsync", 1, 0, 0),   # writing the image's temporary
    ("fsync", 2, 0, 0),   # writing the sidecar's temporary
    ("link", 1, 0, 0),    # publishing the sidecar
    ("link", 2, 0, 1),    # sidecar published, image not yet: reopening finishes the pair
    ("unlink", 1, 1, 1),  # both published, temporaries not yet removed
    ("fsync", 3, 1, 1),   # fsyncing the folder
])
def test_a_save_killed_at_any_step_leaves_nothing_shown_or_a_whole_pair(
        tmp_path: Path, call: str, nth: int, shown: int, after: int) -> None:
    _killed_at(tmp_path, "store", call, nth)
    assert len(_complete_pairs(tmp_path)) == shown
    _age(tmp_path)
    ImageStore(tmp_path)  # opening the folder tidies it
    assert _temporaries(tmp_path) == []
    pairs = _complete_pairs(tmp_path)
    assert len(pairs) == after
    # Nothing else is left: no sidecar without its image, no image without its sidecar.
    assert _visible(tmp_path) == sorted([*pairs, *(Path(name).with_suffix(".json").name for name in pairs)])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this system")
def test_killed_saves_leave_no_temporaries_once_the_folder_is_opened(tmp_path: Path) -> None:
    for _ in range(3):  # each killed with the image's bytes written, not yet fsynced
        _killed_at(tmp_path, "store", "fsync", 1)
    assert len(_temporaries(tmp_path)) == 3 and _visible(tmp_path) == []
    ImageStore(tmp_path)
    assert len(_temporaries(tmp_path)) == 3  # maybe a live writer's: left while fresh
    _age(tmp_path)
    assert ImageStore(tmp_path).tidy() == 0  # the constructor already removed them
    assert os.listdir(tmp_path) == []


def test_a_live_writers_temporary_and_other_hidden_files_are_left_alone(tmp_path: Path) -> None:
    fresh = tmp_path / f".{'a' * 8}.png.0123abcd.tmp"
    fresh.write_bytes(b"being written")
    others = [tmp_path / ".notes.tmp", tmp_path / ".imagewidgets-index.json"]
    for path in others:
        path.write_text("kept")
        os.utime(path, (0, 0))
    ImageStore(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(path.name for path in [fresh, *others])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this system")
def test_generated_image_save_killed_leaves_no_half_file(tmp_path: Path) -> None:
    _killed_at(tmp_path, "image", "fsync", 1)  # into a folder: a new name
    assert _visible(tmp_path) == []
    existing = tmp_path / "mine.png"
    existing.write_bytes(before := encoded("PNG", "RGBA"))
    _killed_at(existing, "image", "fsync", 1)  # over a file: the old one stays whole
    assert existing.read_bytes() == before and _visible(tmp_path) == ["mine.png"]


# -- races for one name ----------------------------------------------------------------------------

def _all_at_once(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each thread at its first fsync until all have chosen their name (and found it free)."""
    barrier, real, seen = threading.Barrier(count), os.fsync, threading.local()

    def fsync(descriptor: int) -> None:
        if not getattr(seen, "held", False):
            seen.held = True
            barrier.wait(timeout=120)  # a safety net only: all arrive at once
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            results[number] = work(number)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_saves_racing_for_one_name_keep_every_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count, first = 8, threading.local()

    def same_first_id() -> uuid.UUID:  # every thread's first name is the same one
        if getattr(first, "taken", False):
            return uuid.uuid4()
        first.taken = True
        return uuid.UUID(hex="ab" * 16)

    monkeypatch.setattr(store_module, "uuid4", same_first_id)
    _all_at_once(count, monkeypatch)
    store = ImageStore(tmp_path)
    image = _image()
    saved = _in_threads(count, lambda row: store.save(image, {"params": image.params, "request_id": "req_1",
                                                               "place": {"row": row}}, when=1_800_000_000))
    assert len({result.path for result in saved}) == count
    rows = []
    for result in saved:  # each image with its own record, inside and beside it
        record = json.loads(result.sidecar.read_bytes())
        inside = json.loads(embedded_metadata(result.path.read_bytes(), "png") or "")
        assert record["file"] == inside["file"] == result.path.name and record["place"] == inside["place"]
        rows.append(record["place"]["row"])
    assert sorted(rows) == list(range(count)) and len(_complete_pairs(tmp_path)) == count


def test_images_saved_into_one_folder_at_once_are_each_kept(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    count = 8
    _all_at_once(count, monkeypatch)
    images = [_image(encoded("PNG", mode)) for mode in ("RGB", "RGBA", "L", "LA") * 2]  # one name
    written = _in_threads(count, lambda number: images[number].save(tmp_path))
    assert len(set(written)) == count and _visible(tmp_path) == sorted(path.name for path in written)
    assert sorted(path.read_bytes() for path in written) == sorted(image.data for image in images)


@pytest.mark.skipif(os.name == "nt", reason="Windows cannot fsync a folder")
def test_a_save_fsyncs_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.path.samestat(os.fstat(descriptor), os.stat(tmp_path)))
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    ImageStore(tmp_path).save(_image(), {})
    _image().save(tmp_path)
    assert synced == [False, False, True, False, True]  # image, sidecar, folder; then the file, folder


# -- prompts that look like keys -------------------------------------------------------------------

@pytest.mark.parametrize("prompt", ["sk-8 park at dawn", "The ring Bearer sets out", "Bearer of bad news",
                                    "sk-learn pipeline diagram", "a sk-ier on the slope"])
async def test_prompts_that_merely_look_like_keys_are_saved(client: iw.ImagesClient, tmp_path: Path,
                                                            prompt: str) -> None:
    panel = iw.ImagePanel(client=client, store=tmp_path,
                          params=iw.ImageParams(model="gpt-image-1", prompt=prompt, quality="low"))
    await panel.generate()
    (tile,) = panel.tiles
    assert tile.status == "done" and tile.save_error is None
    (entry,) = ImageIndex(tmp_path).refresh()
    assert entry.prompt == prompt
    panel.close()


@pytest.mark.parametrize("text", [
    "sk-" + "a1B2c3D4" * 6,                                 # a legacy key: 48 characters
    "sk-proj-" + "Ab3_x-9Zq" * 17,                          # a project key
    "sk-svcacct-" + "0123456789abcdefABCDEF" * 3,           # a service account's
    "here it is: Bearer " + "eyJhbGciOi.J9x_Zk-42aQ" * 2,  # a bearer token in a sentence
])
def test_a_record_holding_a_real_shaped_key_is_refused(tmp_path: Path, text: str) -> None:
    image = _image()
    with pytest.raises(ValueError, match="looks like an API key"):
        ImageStore(tmp_path).save(image, {"params": {**image.params, "prompt": text}})
    assert os.listdir(tmp_path) == []


def test_the_actual_key_is_refused_whatever_its_shape(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    image = _image()
    key = "my-own-server-key-42"  # a self-hosted server's: no sk- shape at all
    with pytest.raises(ValueError, match="looks like an API key"):
        ImageStore(tmp_path).save(image, {"notes": f"sent with {key}"}, secrets=[key])
    monkeypatch.setenv("OPENAI_API_KEY", key)  # the key the default client uses
    with pytest.raises(ValueError, match="looks like an API key"):
        ImageStore(tmp_path).save(image, {"notes": f"sent with {key}"})
    assert os.listdir(tmp_path) == []


# -- thumbnails -------------------------------------------------------------------------------------

def test_a_png_and_a_jpg_of_one_stem_keep_their_own_thumbnails(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(solid("PNG", (120, 40)))   # wide
    (tmp_path / "a.jpg").write_bytes(solid("JPEG", (40, 120)))  # tall
    for name in ("a.png", "a.jpg"):  # the same time: a cache keyed by stem could not tell them apart
        os.utime(tmp_path / name, (1_800_000_000, 1_800_000_000))
    index = ImageIndex(tmp_path)
    entries = {entry.name: entry for entry in index.refresh()}
    for _ in range(2):  # made, then read back from the cache
        for name, wide in (("a.png", True), ("a.jpg", False)):
            _, width, height = inspect(index.thumbnail(entries[name], 60).data)
            assert (width > height) is wide, name


def _image(data: bytes | None = None) -> iw.GeneratedImage:
    data = data or encoded("PNG")
    kind, width, height = inspect(data)
    return iw.GeneratedImage(data=data, format=kind, width=width, height=height, created=1_800_000_000,
                             params={"prompt": "A lighthouse at dusk", "model": "gpt-image-1"})
