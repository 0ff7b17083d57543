"""Safe decoding and thumbnails of untrusted image bytes."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from imagewidgets.emulator.render import bomb_png
from imagewidgets.errors import ImageDecodeError
from imagewidgets.imaging import MAX_BASE64_CHARS, decode_base64, inspect, thumbnail


def _encoded(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128)[: len(mode)]).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_inspect_reads_format_and_size(fmt: str, name: str) -> None:
    assert inspect(_encoded(fmt)) == (name, 64, 48)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bomb_png(), "decompression bomb"),
        (bomb_png(20000, 20000), "decompression bomb"),
        (bomb_png(16000, 4000), "16000x4000"),
        (b"hello, not an image", "not a PNG, JPEG or WEBP"),
        (_encoded("GIF"), "not a PNG, JPEG or WEBP"),
        (_encoded("BMP"), "not a PNG, JPEG or WEBP"),
        (_encoded("PNG")[:-20], "damaged"),
        (b"", "not a PNG"),
    ],
    ids=["bomb", "big-bomb", "over-our-limit", "text", "gif", "bmp", "truncated", "empty"],
)
def test_unsafe_bytes_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(ImageDecodeError, match=words):
        inspect(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_cut_off_image_is_caught_without_decoding_pixels(fmt: str) -> None:
    whole = _encoded(fmt, (300, 200))
    with pytest.raises(ImageDecodeError, match="truncated"):
        inspect(whole[: len(whole) * 3 // 4])


def test_corrupt_pixels_are_caught_when_a_thumbnail_decodes_them() -> None:
    broken = bytearray(_encoded("PNG", (300, 200)))
    broken[60:90] = b"\xff" * 30  # inside the compressed pixels
    with pytest.raises(ImageDecodeError):
        thumbnail(bytes(broken))


def test_base64_is_bounded_and_checked() -> None:
    assert decode_base64(base64.b64encode(b"abc").decode()) == b"abc"
    with pytest.raises(ImageDecodeError, match="not valid base64"):
        decode_base64("!!not base64!!")
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_base64("A" * (MAX_BASE64_CHARS + 4))
    with pytest.raises(ImageDecodeError, match="no image data"):
        decode_base64("")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_thumbnails_are_small_pngs(fmt: str) -> None:
    small = thumbnail(_encoded(fmt, (1536, 1024)), 384)
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "PNG" and image.size == (384, 256)


def test_thumbnails_keep_transparency_and_refuse_bombs() -> None:
    with Image.open(io.BytesIO(thumbnail(_encoded("PNG", (800, 800), "RGBA"), 100))) as image:
        assert image.mode == "RGBA" and image.getchannel("A").getextrema() == (128, 128)
    with pytest.raises(ImageDecodeError):
        thumbnail(bomb_png())
