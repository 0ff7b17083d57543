"""Thumbnails: small, in the format that suits each source, transparency kept, bounded."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from PIL import Image

from imagewidgets.emulator.render import bomb_png
from imagewidgets.errors import ImageDecodeError
from imagewidgets.imaging.thumbnails import MAX_THUMBNAIL_FRAMES, thumbnail
from imagewidgets.imaging.untrusted import MAX_GIF_FRAMES, inspect

from samples import HOSTILE_SVG, LAUGHS, animated_gif, handmade_gif, solid


def test_corrupt_pixels_are_caught_when_a_thumbnail_decodes_them() -> None:
    broken = bytearray(solid("PNG", (300, 200)))
    broken[60:90] = b"\xff" * 30  # inside the compressed pixels
    with pytest.raises(ImageDecodeError):
        thumbnail(bytes(broken))


@pytest.mark.parametrize(("fmt", "made"), [("PNG", "JPEG"), ("JPEG", "JPEG"), ("WEBP", "WEBP")])
def test_thumbnails_are_small_and_jpeg_or_webp_when_opaque(fmt: str, made: str) -> None:
    # A photo's PNG thumbnail is several times its JPEG or WEBP one, and slower to encode.
    small = thumbnail(solid(fmt, (1536, 1024)), 384)
    assert small.format == made.lower()  # what ipywidgets.Image.format must say
    with Image.open(io.BytesIO(small.data)) as image:
        assert image.format == made and image.size == (384, 256)


def _png_of(image: Image.Image, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _one_clear_pixel(mode: str) -> Image.Image:
    image = Image.new(mode, (800, 600), (10, 120, 200, 255)[-len(mode):])
    image.paste((0,) * len(mode), (0, 0, 16, 16))  # a few pixels of the thumbnail still clear
    return image


@pytest.mark.parametrize(("source", "made"), [
    (Image.new("RGBA", (800, 600), (10, 120, 200, 255)), "jpeg"),  # an alpha band, all opaque
    (Image.new("LA", (800, 600), (120, 255)), "jpeg"),
    (Image.new("L", (800, 600), 120), "jpeg"),
    (Image.new("P", (800, 600), 5), "jpeg"),
    (_one_clear_pixel("RGBA"), "png"),
    (_one_clear_pixel("LA"), "png")])
def test_a_png_thumbnail_is_a_jpeg_unless_a_pixel_is_transparent(source: Image.Image, made: str) -> None:
    small = thumbnail(_png_of(source), 200)
    assert small.format == made
    with Image.open(io.BytesIO(small.data)) as image:
        assert image.format == made.upper() and image.size == (200, 150)
        if made == "png":
            assert image.getchannel("A").getextrema()[0] == 0


def test_a_png_with_a_transparent_palette_entry_in_use_stays_png() -> None:
    palette = Image.new("P", (800, 600), 5)
    palette.putpalette([value % 256 for value in range(768)])
    assert thumbnail(_png_of(palette, transparency=5), 200).format == "png"
    assert thumbnail(_png_of(palette, transparency=7), 200).format == "jpeg"  # no pixel uses it
    plain = Image.new("RGB", (800, 600), (10, 120, 200))
    assert thumbnail(_png_of(plain, transparency=(10, 120, 200)), 200).format == "png"
    assert thumbnail(_png_of(plain, transparency=(1, 2, 3)), 200).format == "jpeg"


def test_a_transparent_webp_thumbnail_stays_webp() -> None:
    buffer = io.BytesIO()
    _one_clear_pixel("RGBA").save(buffer, "WEBP", lossless=True)
    small = thumbnail(buffer.getvalue(), 200)
    assert small.format == "webp"
    with Image.open(io.BytesIO(small.data)) as image:
        assert image.format == "WEBP" and image.mode == "RGBA"
        assert image.getchannel("A").getextrema()[0] < 255


@pytest.mark.parametrize(("fmt", "mode", "shown"), [("PNG", "RGBA", "RGBA"), ("WEBP", "RGBA", "RGBA"),
                                                    ("PNG", "LA", "RGBA"), ("JPEG", "L", "L"),
                                                    ("JPEG", "CMYK", "RGB")])
def test_thumbnails_keep_transparency_and_refuse_bombs(fmt: str, mode: str, shown: str) -> None:
    with Image.open(io.BytesIO(thumbnail(solid(fmt, (800, 800), mode), 100).data)) as image:
        assert image.format == fmt and image.mode == shown
        if "A" in mode:
            alpha = (10, 120, 200, 128)[len(mode) - 1]  # as solid paints it
            assert image.getchannel("A").getextrema() == (alpha, alpha)
    with pytest.raises(ImageDecodeError):
        thumbnail(bomb_png())


# -- GIF ----------------------------------------------------------------------------------------

def test_a_gif_thumbnail_is_animated_and_keeps_loop_and_timing() -> None:
    thumb = thumbnail(animated_gif(frames=6, size=(640, 400), loop=0, duration=80), 160)
    assert thumb.format == "gif"
    with Image.open(io.BytesIO(thumb.data)) as image:
        assert image.format == "GIF" and image.size == (160, 100)
        assert image.n_frames == 6 and image.info["loop"] == 0
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
        assert durations == [80] * 6


def test_a_long_gif_thumbnail_is_sampled_and_lasts_as_long() -> None:
    frames = MAX_THUMBNAIL_FRAMES * 3 + 5
    thumb = thumbnail(animated_gif(frames=frames, size=(64, 64), loop=None, duration=40), 32)
    with Image.open(io.BytesIO(thumb.data)) as image:
        assert 1 < image.n_frames <= MAX_THUMBNAIL_FRAMES
        assert "loop" not in image.info  # played once, as the source is
        total = 0
        for index in range(image.n_frames):
            image.seek(index)
            total += image.info["duration"]
    assert total == frames * 40


def test_a_gif_thumbnail_refuses_what_inspect_refuses() -> None:
    with pytest.raises(ImageDecodeError, match="more than"):
        thumbnail(handmade_gif(MAX_GIF_FRAMES + 1))
    with pytest.raises(ImageDecodeError, match="claims 60000x60000"):
        thumbnail(handmade_gif(1, frame=(0, 0, 60000, 60000)))


# -- SVG ----------------------------------------------------------------------------------------

def test_an_svg_thumbnail_shows_the_exact_bytes_as_an_image() -> None:
    thumb = thumbnail(HOSTILE_SVG, 150)
    assert thumb.format == "svg+xml"
    assert inspect(thumb.data) == ("svg", 150, 100)  # itself a safe SVG, at thumbnail size
    text = thumb.data.decode("ascii")
    # Nothing of the original is markup here: it is the payload of an <image>'s data: URL.
    assert "<script" not in text and "onload" not in text and "example.invalid" not in text
    (payload,) = re.findall(r'<image [^>]*href="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', text)
    assert base64.b64decode(payload) == HOSTILE_SVG


def test_an_svg_thumbnail_refuses_what_inspect_refuses() -> None:
    with pytest.raises(ImageDecodeError, match="DOCTYPE"):
        thumbnail(LAUGHS)
