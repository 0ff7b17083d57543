"""The store: atomic writes, sidecars, settings embedded on saving, and reading them back."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from imagewidgets.imaging import inspect, sanitise_svg
from imagewidgets.results import GeneratedImage, Usage
from imagewidgets.storage import store as store_module
from imagewidgets.storage.metadata import embed_metadata, embedded_metadata
from imagewidgets.storage.store import DEFAULT_FOLDER, ImageStore

from samples import SAMPLES, encoded

KEY = "sk-test-0123456789abcdefSECRET"
WHEN = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))


def _image(data: bytes, fmt: str = "png", **params: Any) -> GeneratedImage:
    kind, width, height = inspect(data)
    assert kind == fmt
    return GeneratedImage(data=data, format=fmt, width=width, height=height,
                          params={"prompt": "A lighthouse at dusk", "model": "gpt-image-1", **params})


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


# -- saving ------------------------------------------------------------------------------------

def _record(**more: Any) -> dict[str, Any]:
    return {"params": {"prompt": "A lighthouse at dusk", "model": "gpt-image-1", "quality": "low"},
            "revised_prompt": "A red lighthouse at dusk", "usage": Usage(output_tokens=272),
            "cost": {"estimated": 0.011, "actual": 0.011}, "timings": {"total": 1.5},
            "request_id": "req_123", "server": {"host": "127.0.0.1", "emulator": True},
            "place": {"row": 0, "column": 1}, **more}


def _on_disk(data: bytes, fmt: str) -> bytes:
    """What the store writes of the server's bytes: them, or an SVG's safe copy (test_svg.py)."""
    return sanitise_svg(data).data if fmt == "svg" else data


@pytest.mark.parametrize("sample", ["png-rgba", "jpeg", "webp-lossy", "gif-animated", "svg"])
def test_save_writes_the_image_and_its_sidecar(tmp_path: Path, sample: str) -> None:
    fmt, make = SAMPLES[sample]
    data = make()
    store = ImageStore(tmp_path / "out" / "deeper")
    assert not store.folder.exists()  # made on the first save only
    saved = store.save(_image(data, fmt), _record(), when=WHEN)
    extension = "jpg" if fmt == "jpeg" else fmt
    assert re.fullmatch(rf"20261125-142233_gpt-image-1_a-lighthouse-at-dusk_[0-9a-f]{{8}}\.{extension}",
                        saved.path.name)
    assert saved.path.parent == store.folder and saved.sidecar == saved.path.with_suffix(".json")
    assert _listing(store.folder) == sorted([saved.path.name, saved.sidecar.name])
    written = saved.path.read_bytes()
    assert written == embed_metadata(_on_disk(data, fmt), fmt, embedded_metadata(written, fmt) or "")
    sidecar = json.loads(saved.sidecar.read_text("utf-8"))
    assert list(sidecar)[:7] == ["version", "file", "format", "width", "height", "bytes", "saved_at"]
    assert sidecar["version"] == 1 and sidecar["file"] == saved.path.name and sidecar["format"] == fmt
    assert (sidecar["width"], sidecar["height"], sidecar["bytes"]) == (64, 48, len(data))
    assert sidecar["saved_at"].startswith("2026-11-25T14:22:33")
    assert sidecar["usage"]["output_tokens"] == 272 and sidecar["place"] == {"row": 0, "column": 1}
    assert json.loads(embedded_metadata(written, fmt) or "") == sidecar  # the same settings inside
    assert saved.sidecar.read_text("utf-8").startswith('{\n "version": 1,')


def test_without_embedding_the_bytes_are_the_servers(tmp_path: Path) -> None:
    for sample in SAMPLES:
        fmt, make = SAMPLES[sample]
        data = make()
        saved = ImageStore(tmp_path, embed_metadata=False).save(_image(data, fmt), _record())
        assert saved.path.read_bytes() == _on_disk(data, fmt)
        assert saved.sidecar.exists()


def test_the_record_cannot_change_the_files_facts_and_text_survives(tmp_path: Path) -> None:
    odd = "lone \ud800 surrogate, \ufffe, café"
    saved = ImageStore(tmp_path).save(_image(encoded("PNG")), _record(file="x.png", note=odd))
    sidecar = json.loads(saved.sidecar.read_bytes())
    assert sidecar["file"] == saved.path.name and sidecar["note"] == odd
    assert json.loads(embedded_metadata(saved.path.read_bytes(), "png") or "")["note"] == odd


def test_the_name_and_model_come_from_the_images_params_when_the_record_has_none(tmp_path: Path) -> None:
    image = _image(encoded("PNG"), prompt="Two cats", model="dall-e-3")
    assert "_dall-e-3_two-cats_" in ImageStore(tmp_path).save(image, {}, when=WHEN).path.name


def test_a_taken_name_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ImageStore(tmp_path)
    first = store.save(_image(encoded("PNG")), _record(), when=WHEN)
    written = first.path.read_bytes()
    taken = first.path.stem[-8:]
    (tmp_path / first.path.name.replace(taken, "cccccccc")).with_suffix(".json").write_text("{}")
    ids = iter([taken, "cccccccc", "bbbbbbbb"])  # the image's name, a sidecar's, then free
    monkeypatch.setattr(store_module, "uuid4", lambda: uuid.UUID(hex=next(ids, "d" * 8) * 4))
    second = store.save(_image(encoded("PNG", "RGBA")), _record(), when=WHEN)
    assert second.path.name == first.path.name.replace(taken, "bbbbbbbb")
    assert first.path.read_bytes() == written and len(_listing(tmp_path)) == 5


def test_the_jpeg_record_is_shortened_to_fit_one_segment(tmp_path: Path) -> None:
    long = "é" * 40_000  # 80 KB of UTF-8
    saved = ImageStore(tmp_path).save(_image(encoded("JPEG"), "jpeg"), _record(revised_prompt=long))
    inside = json.loads(embedded_metadata(saved.path.read_bytes(), "jpeg") or "")
    assert "revised_prompt" not in inside and inside["request_id"] == "req_123"
    assert json.loads(saved.sidecar.read_bytes())["revised_prompt"] == long
    saved = ImageStore(tmp_path).save(_image(encoded("JPEG"), "jpeg"), _record(notes=long))
    assert embedded_metadata(saved.path.read_bytes(), "jpeg") is None  # still too long: not embedded
    assert json.loads(saved.sidecar.read_bytes())["notes"] == long


# -- failures leave nothing ----------------------------------------------------------------------

def test_a_failed_write_leaves_no_image_and_no_temporary_file(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = ImageStore(tmp_path)
    seen: list[list[str]] = []

    def full_disk(descriptor: int) -> None:
        seen.append(_listing(tmp_path))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        store.save(_image(encoded("PNG")), _record())
    assert len(seen) == 1 and re.fullmatch(r"\.2.*\.png\.[0-9a-f]{8}\.tmp", seen[0][0])  # it was there
    assert _listing(tmp_path) == []


def test_a_failed_image_takes_its_published_sidecar_with_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link
    calls: list[str] = []

    def link(source: Any, target: Any) -> None:
        calls.append(str(target))
        if not str(target).endswith(".json"):
            raise OSError(5, "Input/output error")
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(OSError, match="Input/output"):
        ImageStore(tmp_path).save(_image(encoded("PNG")), _record())
    assert len(calls) == 2 and calls[0].endswith(".json")  # the sidecar was in place
    assert _listing(tmp_path) == []


def test_a_read_only_folder_raises_and_leaves_nothing(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root: permissions do not stop it, so the OS's refusal is made
            def refuse(*args: Any, **kwargs: Any) -> int:
                raise PermissionError(13, "Permission denied", str(args[0]))

            monkeypatch.setattr(os, "open", refuse)
        with pytest.raises(PermissionError):
            ImageStore(folder).save(_image(encoded("PNG")), _record())
        monkeypatch.undo()
        assert _listing(folder) == []
    finally:
        folder.chmod(0o755)


def test_a_folder_that_cannot_be_made_raises(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OSError):
        ImageStore(tmp_path / "a-file" / "out").save(_image(encoded("PNG")), _record())
    assert _listing(tmp_path) == ["a-file"]


@pytest.mark.parametrize("secret", [{"api_key": KEY}, {"headers": {"Authorization": f"Bearer {KEY}"}},
                                    {"server": {"tries": [None, {"key": "sk-proj-" + "Ab3_x-9" * 12}]}}])
def test_a_record_holding_a_key_is_refused(tmp_path: Path, secret: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="looks like an API key; nothing was written"):
        ImageStore(tmp_path / "out").save(_image(encoded("PNG")), _record(**secret))
    assert not (tmp_path / "out").exists()


# -- reading back ------------------------------------------------------------------------------

def test_read_prefers_the_sidecar_then_the_file_then_nothing(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    for sample in ("png-rgba", "jpeg", "webp-lossy", "gif-animated", "svg"):
        fmt, make = SAMPLES[sample]
        saved = store.save(_image(make(), fmt), _record())
        sidecar = json.loads(saved.sidecar.read_bytes())
        assert store.read(saved.path) == sidecar
        saved.sidecar.write_text('{"version": 1, "edited": true}')
        assert store.read(str(saved.path)) == {"version": 1, "edited": True}
        saved.sidecar.write_text("[1, 2")  # damaged: the file tells instead
        assert store.read(saved.path) == sidecar
        saved.sidecar.unlink()
        assert store.read(saved.path) == sidecar
        plain = tmp_path / f"plain.{saved.path.suffix[1:]}"
        plain.write_bytes(make())
        assert store.read(plain) is None
    assert store.read(tmp_path / "missing.png") is None


# -- where it goes -----------------------------------------------------------------------------

def test_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMAGEWIDGETS_DIR", raising=False)
    assert ImageStore().folder == tmp_path / DEFAULT_FOLDER == tmp_path / "imagewidgets-output"
    monkeypatch.setenv("IMAGEWIDGETS_DIR", str(tmp_path / "elsewhere"))
    assert ImageStore().folder == tmp_path / "elsewhere"
    assert ImageStore(tmp_path / "given").folder == tmp_path / "given"  # an explicit folder wins
    assert repr(ImageStore("pics")) == "ImageStore(folder='pics')"
    assert _listing(tmp_path) == []  # nothing made until a save


# -- an edit's lineage ---------------------------------------------------------------------------

def test_an_edit_keeps_its_mask_beside_it_named_in_the_sidecar_and_not_listed(tmp_path: Path) -> None:
    from imagewidgets.storage import ImageIndex, sidecar_record

    store = ImageStore(tmp_path)
    first = _image(encoded("PNG"))
    parent = store.save(first, sidecar_record(first, cost=None, estimated=None, seconds=None,
                                              server=None))
    parent_id = json.loads(parent.sidecar.read_text())["id"]
    mask = encoded("PNG", "RGBA")
    child_image = _image(encoded("PNG"))
    record = sidecar_record(child_image, cost=None, estimated=None, seconds=None, server=None,
                            parents=[{"file": parent.path.name, "id": parent_id},
                                     {"file": None, "name": "photo.png"}])
    child = store.save(child_image, record, beside={"mask": mask})
    sidecar = json.loads(child.sidecar.read_text())
    mask_file = child.path.name.removesuffix(".png") + ".mask.png"
    assert sidecar["endpoint"] == "edits" and sidecar["mask"] == mask_file
    assert sidecar["parents"] == [{"file": parent.path.name, "id": parent_id},
                                  {"file": None, "name": "photo.png"}]
    assert (tmp_path / mask_file).read_bytes() == mask
    embedded = json.loads(embedded_metadata(child.path.read_bytes(), "png") or "{}")
    assert embedded["parents"] == sidecar["parents"]  # a copy without its sidecar still tells
    assert json.loads(parent.sidecar.read_text())["endpoint"] == "generations"
    index = ImageIndex(tmp_path)
    assert sorted(entry.name for entry in index.refresh()) == sorted([parent.path.name, child.path.name])
    (entry,) = [entry for entry in index.entries if entry.name == child.path.name]
    index.delete(entry)
    assert [name for name in _listing(tmp_path) if not name.startswith(".")] == \
        sorted([parent.path.name, parent.sidecar.name])  # the mask went with its image


def test_a_failed_edit_save_takes_its_published_mask_with_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link

    def link(source: Any, target: Any) -> None:
        if not str(target).endswith((".json", ".mask.png")):
            raise OSError(5, "Input/output error")
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(OSError, match="Input/output"):
        ImageStore(tmp_path).save(_image(encoded("PNG")), _record(), beside={"mask": encoded("PNG")})
    assert _listing(tmp_path) == []
    with pytest.raises(ValueError, match="beside 'style' is not kept; choose mask or markup"):
        ImageStore(tmp_path).save(_image(encoded("PNG")), _record(), beside={"style": b""})
