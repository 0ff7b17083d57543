"""The files an edit sends: read once from whatever the user has, sniffed from their bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

import imagewidgets as iw
from imagewidgets import inputs
from imagewidgets.emulator.render import bomb_png
from imagewidgets.inputs import EditInputs, InputImage
from imagewidgets.storage import ImageStore, sidecar_record

from samples import PNG, encoded, filled_png, solid


def test_bytes_are_sniffed_not_named() -> None:
    image = InputImage.of(encoded("JPEG"), name="photo.png")
    assert (image.format, image.width, image.height, image.name) == ("jpeg", 64, 48, "photo.png")
    assert not image.transparent and image.parent is None
    assert InputImage.of(encoded("WEBP")).name == "image.webp"


@pytest.mark.parametrize(("data", "transparent"), [
    (filled_png((4, 4), (10, 20, 30, 0)), True),    # a mask: alpha 0 is where to edit
    (filled_png((4, 4), (10, 20, 30, 128)), False),  # half transparent is not "edit here"
    (filled_png((4, 4), (10, 20, 30)), False),
    (solid("PNG", mode="LA"), False),
], ids=["clear", "half", "opaque", "la-half"])
def test_transparency_means_a_pixel_with_alpha_zero(data: bytes, transparent: bool) -> None:
    assert InputImage.of(data).transparent is transparent


def test_a_palette_image_with_a_clear_colour_is_transparent() -> None:
    picture = Image.new("P", (4, 4), 0)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=0)
    assert InputImage.of(buffer.getvalue()).transparent


def test_a_pil_image_is_sent_as_png_and_a_result_as_its_bytes() -> None:
    made = InputImage.of(Image.new("RGBA", (20, 10), (0, 0, 0, 0)))
    assert (made.format, made.width, made.height, made.transparent) == ("png", 20, 10, True)
    result = iw.GeneratedImage(data=PNG, format="png", width=8, height=8)
    assert InputImage.of(result).data == PNG


def test_a_path_is_read_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "dusk.jpg"
    path.write_bytes(PNG)  # a lying extension: the bytes say png
    image = InputImage.of(str(path))
    assert (image.name, image.format, image.data) == ("dusk.jpg", "png", PNG)
    assert image.parent is None  # no sidecar beside it: not a saved image
    assert image.lineage == {"file": None, "name": "dusk.jpg"}


def test_a_saved_image_names_its_file_and_id(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    result = iw.GeneratedImage(data=PNG, format="png", width=8, height=8,
                               params={"model": "gpt-image-2", "prompt": "a lighthouse"})
    saved = store.save(result, sidecar_record(result, cost=None, estimated=None, seconds=None,
                                              server=None))
    record = json.loads(saved.sidecar.read_text())
    for source in (saved, saved.path, str(saved.path)):
        assert InputImage.of(source).parent == {"file": saved.path.name, "id": record["id"]}
    assert EditInputs.of([saved, PNG]).parents == [
        {"file": saved.path.name, "id": record["id"]}, {"file": None, "name": "image.png"}]


def test_anything_else_is_refused_naming_the_argument(tmp_path: Path) -> None:
    with pytest.raises(iw.ParamsError, match=r"^image 3 is not an image; give bytes, a path"):
        InputImage.of(3)  # type: ignore[arg-type]
    with pytest.raises(iw.ParamsError, match=r"image\[1\] '.*nowhere.png': no such file"):
        EditInputs.of([PNG, tmp_path / "nowhere.png"])
    with pytest.raises(iw.ParamsError, match="is a folder"):
        InputImage.of(tmp_path)
    with pytest.raises(iw.ParamsError, match=r"^mask 2\.5 is not an image"):
        EditInputs.of(PNG, mask=2.5)  # type: ignore[arg-type]
    with pytest.raises(iw.ParamsError, match="empty list"):
        EditInputs.of([])


@pytest.mark.parametrize("what", ["image", "mask"])
def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(what: str) -> None:
    bomb = bomb_png(20000, 20000)
    with pytest.raises(iw.ParamsError, match=f"^{what} .*decompression bomb"):
        EditInputs.of(bomb, mask=None) if what == "image" else EditInputs.of(PNG, mask=bomb)


def test_a_file_past_the_bound_is_refused_before_it_is_read(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(inputs.MAX_INPUT_BYTES + 1)  # sparse: no disk taken
    opened: list[Path] = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k))
    with pytest.raises(iw.ParamsError, match=r"is 67,108,865 bytes; the largest read is 67,108,864"):
        InputImage.of(huge)
    assert huge not in opened


def test_bytes_that_are_no_image_are_unknown_for_the_rules_to_refuse() -> None:
    image = InputImage.of(b"hello, not an image")
    assert (image.format, image.width, image.height) == ("unknown", 0, 0)


def test_inputs_already_read_are_kept() -> None:
    first = EditInputs.of(PNG)
    assert EditInputs.of(first) is first
    assert EditInputs.of(first, mask=filled_png((8, 8), (0, 0, 0, 0))).mask is not None
    assert InputImage.of(first.images[0], name="renamed.png").name == "renamed.png"
    assert "bytes" in repr(first.images[0]) and str(PNG[:8]) not in repr(first.images[0])
