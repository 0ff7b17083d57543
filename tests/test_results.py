"""Results: small frozen dataclasses of encoded bytes, with cheap reprs."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import time
from typing import Any

import pytest
from IPython.core.formatters import DisplayFormatter
from PIL import Image

import imagewidgets as iw
from imagewidgets.results import SHOWN_SIDE


def _encoded(fmt: str, size: tuple[int, int] = (16, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return buffer.getvalue()


def test_usage_from_the_api() -> None:
    usage = iw.Usage.from_api({
        "input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210,
        "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
        "output_tokens_details": {"image_tokens": 4160},  # unknown to us: ignored
        "brand_new_field": [1, 2],
    })
    assert usage == iw.Usage(input_tokens=50, output_tokens=4160, total_tokens=4210,
                             text_tokens=40, image_tokens=10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ({}, None),
        ([1, 2], None),
        ("usage", None),
        ({"output_tokens": 272}, iw.Usage(output_tokens=272)),
        ({"input_tokens": None, "total_tokens": "12"}, iw.Usage(total_tokens=12)),
        # One malformed count and the usage is unknown: the cost is estimated, never $0.
        ({"input_tokens": "many", "output_tokens": [], "total_tokens": float("inf")}, None),
        ({"input_tokens": 3, "output_tokens": -272}, None),
        ({"input_tokens": 3, "input_tokens_details": "text"}, iw.Usage(input_tokens=3)),
        ({"input_tokens": 3, "input_tokens_details": None}, iw.Usage(input_tokens=3)),
    ],
    ids=["none", "empty", "list", "text", "only-output", "null-and-string", "garbage", "negative",
         "details-text", "details-null"],
)
def test_usage_with_missing_or_malformed_fields(raw: Any, expected: iw.Usage | None) -> None:
    assert iw.Usage.from_api(raw) == expected


def test_results_are_frozen() -> None:
    image = iw.GeneratedImage(data=b"x", format="png", width=1, height=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.data = b"y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        iw.Usage().total_tokens = 3  # type: ignore[misc]


def test_reprs_are_cheap_and_hold_no_bytes() -> None:
    data = _encoded("PNG", (1536, 1024)) + b"\x00" * 5_000_000
    image = iw.GeneratedImage(data=data, format="png", width=1536, height=1024, image_index=2,
                              revised_prompt="a lighthouse", usage=iw.Usage(total_tokens=9),
                              params={"model": "gpt-image-1", "prompt": "A lighthouse"})
    partial = iw.PartialImage(data=data, format="webp", width=1536, height=1024, image_index=1,
                              partial_index=2)
    started = time.perf_counter()
    texts = [repr(image), repr(partial), repr(iw.Generation(images=[image] * 100))]
    assert time.perf_counter() - started < 0.5  # well under 1 ms; a busy machine may pause us
    assert texts[0] == f"GeneratedImage(image_index=2, png 1536x1024, {len(data):,} bytes)"
    assert texts[1] == f"PartialImage(image_index=1, partial_index=2, webp 1536x1024, {len(data):,} bytes)"
    for text in texts:
        assert "\\x" not in text and "b'" not in text and len(text) < 20_000


@pytest.mark.parametrize(
    ("fmt", "extension", "mime"),
    [("png", "png", "image/png"), ("jpeg", "jpg", "image/jpeg"), ("webp", "webp", "image/webp"),
     ("gif", "gif", "image/gif"), ("svg", "svg", "image/svg+xml")],
)
def test_extension_and_mime_type(fmt: str, extension: str, mime: str) -> None:
    image = iw.GeneratedImage(data=b"x", format=fmt, width=1, height=1)
    assert (image.extension, image.mime_type) == (extension, mime)
    partial = iw.PartialImage(data=b"x", format=fmt, width=1, height=1)
    assert (partial.extension, partial.mime_type) == (extension, mime)


def test_notebooks_show_a_png_or_jpeg_as_it_is() -> None:
    png, jpeg = _encoded("PNG"), _encoded("JPEG")
    as_png = iw.GeneratedImage(data=png, format="png", width=16, height=8)
    as_jpeg = iw.GeneratedImage(data=jpeg, format="jpeg", width=16, height=8)
    as_webp = iw.GeneratedImage(data=_encoded("WEBP"), format="webp", width=16, height=8)
    assert as_png._repr_png_() is png and as_png._repr_jpeg_() is None
    assert as_jpeg._repr_jpeg_() is jpeg and as_jpeg._repr_png_() is None
    assert as_webp._repr_png_() is None and as_webp._repr_jpeg_() is None
    with Image.open(io.BytesIO(as_png._repr_png_() or b"")) as shown:
        assert shown.size == (16, 8)


@pytest.mark.parametrize(("fmt", "shown_as"), [("png", "image/jpeg"), ("jpeg", "image/jpeg"),
                                               ("webp", "image/webp")])
def test_a_large_image_shows_as_a_small_thumbnail_not_its_whole_bytes(fmt: str, shown_as: str) -> None:
    # A cell's value is saved in the notebook: a whole 1024x1024 picture there weighed 123 KB.
    noisy = Image.effect_noise((1024, 768), 64).convert("RGB")  # photographic: compresses badly
    buffer = io.BytesIO()
    noisy.save(buffer, fmt.upper())
    data = buffer.getvalue()
    shown = _shown(iw.GeneratedImage(data=data, format=fmt, width=1024, height=768))
    assert set(shown) == {shown_as, "text/plain"}  # one picture, not the PNG and a JPEG of it
    picture = shown[shown_as]
    small = picture if isinstance(picture, bytes) else base64.b64decode(picture)
    with Image.open(io.BytesIO(small)) as thumb:
        assert thumb.size == (SHOWN_SIDE, 192)
    assert len(small) * 5 < len(data)
    assert "1024x768" in shown["text/plain"]  # the text still says what the image is


def test_bytes_that_are_no_picture_show_as_text_only() -> None:
    shown = _shown(iw.GeneratedImage(data=b"not a png", format="png", width=1024, height=1024))
    assert set(shown) == {"text/plain"}


def test_defaults() -> None:
    image = iw.GeneratedImage(data=b"x", format="png", width=1, height=1)
    assert (image.image_index, image.revised_prompt, image.usage, image.url, image.created) == (
        0, None, None, None, 0)
    assert dict(image.params) == {}
    assert iw.Generation(images=[]).usage is None


def _shown(image: iw.GeneratedImage) -> dict[str, Any]:
    """What a notebook receives when ``image`` is a cell's value."""
    data, _metadata = DisplayFormatter().format(image)
    return dict(data)


def test_a_gif_shows_as_an_animated_gif() -> None:
    frames = [Image.new("RGB", (16, 8), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = buffer.getvalue()
    shown = _shown(iw.GeneratedImage(data=gif, format="gif", width=16, height=8))
    assert set(shown) == {"image/gif", "text/plain"}
    assert base64.b64decode(shown["image/gif"]) == gif  # every frame, not a still


def test_a_webp_shows_as_it_is() -> None:
    webp = _encoded("WEBP")
    shown = _shown(iw.GeneratedImage(data=webp, format="webp", width=16, height=8))
    assert base64.b64decode(shown["image/webp"]) == webp


def test_an_svg_shows_only_inside_an_img() -> None:
    hostile = (b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" onload="alert(1)">'
               b'<script>alert(document.cookie)</script>'
               b'<image href="http://example.invalid/x.png"/></svg>')
    shown = _shown(iw.GeneratedImage(data=hostile, format="svg", width=300, height=200))
    assert set(shown) == {"text/html", "text/plain"}  # never image/svg+xml: inline markup in places
    html = shown["text/html"]
    # One <img> and nothing else: the SVG is a data: URL's payload, never markup of the page.
    found = re.fullmatch(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" [^<>]*>', html)
    assert found is not None, html
    assert base64.b64decode(found.group(1)) == hostile
    for word in ("<script", "onload", "example.invalid", "<svg"):
        assert word not in html


def test_raster_images_keep_their_own_reprs() -> None:
    png = _encoded("PNG")
    shown = _shown(iw.GeneratedImage(data=png, format="png", width=16, height=8))
    assert shown["image/png"] == png and "text/html" not in shown and "image/gif" not in shown


_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="8"/>'
_SHOWN_AS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
             "svg": "text/html"}


@pytest.mark.parametrize("fmt", list(_SHOWN_AS))
@pytest.mark.parametrize("kind", [iw.GeneratedImage, iw.PartialImage])
def test_every_format_shows_as_a_picture(fmt: str, kind: type[iw.GeneratedImage]) -> None:
    data = _SVG if fmt == "svg" else _encoded(fmt.upper())
    shown = _shown(kind(data=data, format=fmt, width=16, height=8))
    assert set(shown) == {_SHOWN_AS[fmt], "text/plain"}
    picture = shown[_SHOWN_AS[fmt]]
    if fmt == "svg":
        assert base64.b64encode(data).decode() in picture and picture.startswith("<img ")
    else:  # IPython base64-encodes the bytes of _repr_png_ and _repr_jpeg_ when it sends them
        assert (picture if isinstance(picture, bytes) else base64.b64decode(picture)) == data


def _image(fmt: str = "png", **fields: Any) -> iw.GeneratedImage:
    data = _SVG if fmt == "svg" else _encoded(fmt.upper())
    return iw.GeneratedImage(data=data, format=fmt, width=16, height=8, **fields)


def test_save_writes_the_exact_bytes(tmp_path: Any) -> None:
    image = _image("webp")
    written = image.save(tmp_path / "fox.webp")
    assert written == tmp_path / "fox.webp" and written.read_bytes() == image.data
    assert image.save(str(tmp_path / "fox.WEBP")) == tmp_path / "fox.WEBP"  # a str, any case
    (tmp_path / "old.webp").write_bytes(b"old")
    assert image.save(tmp_path / "old.webp").read_bytes() == image.data  # a named file is replaced
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize(("fmt", "name", "expected"), [
    ("png", "fox", "fox.png"), ("jpeg", "fox", "fox.jpg"), ("jpeg", "fox.jpeg", "fox.jpeg"),
    ("svg", "fox", "fox.svg"), ("gif", "fox.v2", "fox.v2.gif"), ("png", "dusk_1.5x", "dusk_1.5x.png")])
def test_save_adds_the_extension_when_there_is_none(tmp_path: Any, fmt: str, name: str,
                                                     expected: str) -> None:
    image = _image(fmt)
    assert image.save(tmp_path / name) == tmp_path / expected
    assert (tmp_path / expected).read_bytes() == image.data


@pytest.mark.parametrize(("fmt", "name"), [("png", "fox.jpg"), ("jpeg", "fox.png"), ("webp", "fox.gif"),
                                           ("svg", "fox.png"), ("png", "fox.txt")])
def test_save_refuses_another_formats_extension(tmp_path: Any, fmt: str, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{re.escape(name)}.*\.{name.rsplit('.')[1]}.*{fmt}"):
        _image(fmt).save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_folder_names_the_file_and_never_overwrites(tmp_path: Any) -> None:
    created = int(time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1)))
    image = _image("jpeg", params={"prompt": "A lighthouse at dusk, oil", "model": "gpt-image-1"},
                   created=created)
    first, second = image.save(tmp_path), image.save(tmp_path)  # the n images of one request
    assert first.name == "a-lighthouse-at-dusk-oil_gpt-image-1_20261125-142233.jpg"
    assert second.name == "a-lighthouse-at-dusk-oil_gpt-image-1_20261125-142233-2.jpg"
    assert first.read_bytes() == second.read_bytes() == image.data
    unnamed = _image("png").save(tmp_path)  # no settings, no time: "image", "model", now
    assert re.fullmatch(r"image_model_\d{8}-\d{6}\.png", unnamed.name)


def test_save_to_a_missing_folder_says_so(tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError, match="no folder"):
        _image().save(f"{tmp_path}/missing/")
    with pytest.raises(FileNotFoundError):
        _image().save(tmp_path / "missing" / "fox.png")
