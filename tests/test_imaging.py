"""Safe decoding and thumbnails of untrusted image bytes."""

from __future__ import annotations

import base64
import contextlib
import io
import re
import time
from typing import Any

import pytest
from PIL import Image

from imagewidgets.emulator.render import bomb_png
from imagewidgets.errors import ImageDecodeError
from imagewidgets.imaging import (
    MAX_BASE64_CHARS,
    MAX_GIF_FRAMES,
    MAX_GIF_TOTAL_PIXELS,
    MAX_SVG_BYTES,
    MAX_THUMBNAIL_FRAMES,
    decode_base64,
    inspect,
    thumbnail,
)


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
        (b"hello, not an image", "not a PNG, JPEG, WEBP, GIF or SVG"),
        (_encoded("BMP"), "not a PNG, JPEG, WEBP, GIF or SVG"),
        (_encoded("TIFF"), "not a PNG, JPEG, WEBP, GIF or SVG"),
        (_encoded("PNG")[:-20], "damaged"),
        (b"", "not a PNG"),
    ],
    ids=["bomb", "big-bomb", "over-our-limit", "text", "bmp", "tiff", "truncated", "empty"],
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


@pytest.mark.parametrize(("fmt", "made"), [("PNG", "JPEG"), ("JPEG", "JPEG"), ("WEBP", "WEBP")])
def test_thumbnails_are_small_and_jpeg_or_webp_when_opaque(fmt: str, made: str) -> None:
    # A photo's PNG thumbnail is several times its JPEG or WEBP one, and slower to encode.
    small = thumbnail(_encoded(fmt, (1536, 1024)), 384)
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
    with Image.open(io.BytesIO(thumbnail(_encoded(fmt, (800, 800), mode), 100).data)) as image:
        assert image.format == fmt and image.mode == shown
        if "A" in mode:
            alpha = (10, 120, 200, 128)[len(mode) - 1]  # as _encoded paints it
            assert image.getchannel("A").getextrema() == (alpha, alpha)
    with pytest.raises(ImageDecodeError):
        thumbnail(bomb_png())


# -- GIF: the block walk ----------------------------------------------------------------------

def _animated(frames: int = 6, size: tuple[int, int] = (320, 200), loop: int | None = 0,
              duration: int = 80) -> bytes:
    """A real animated GIF, made by Pillow: every frame a different colour."""
    pictures = [Image.new("RGB", size, (40 * index % 256, 120, 255 - 30 * index % 256))
                for index in range(frames)]
    buffer = io.BytesIO()
    extra = {} if loop is None else {"loop": loop}
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=duration,
                     **extra)
    return buffer.getvalue()


def _handmade_gif(frames: int, screen: tuple[int, int] = (1, 1),
                  frame: tuple[int, int, int, int] | None = None, trailer: bool = True) -> bytes:
    """A GIF written byte by byte (GIF89a, 2-colour global table), no Pillow involved:
    ``frames`` image descriptors of ``frame`` = (left, top, width, height), each one pixel
    of LZW data, which a GIF may claim to cover any size with."""
    def le(value: int) -> bytes:
        return value.to_bytes(2, "little")

    left, top, width, height = frame or (0, 0, *screen)
    head = b"GIF89a" + le(screen[0]) + le(screen[1]) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    one = (b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 100 ms
           + b"\x2c" + le(left) + le(top) + le(width) + le(height) + b"\x00"
           + b"\x02\x02\x44\x01\x00")  # LZW minimum code size 2, one sub-block, terminator
    return head + one * frames + (b"\x3b" if trailer else b"")


def test_inspect_accepts_an_animated_gif_made_by_pillow() -> None:
    data = _animated(frames=6, size=(320, 200))
    assert inspect(data) == ("gif", 320, 200)
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 6  # the fixture is what it claims to be


def test_the_handmade_gifs_are_real_gifs() -> None:
    data = _handmade_gif(3, screen=(2, 2))
    assert inspect(data) == ("gif", 2, 2)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF" and image.n_frames == 3 and image.size == (2, 2)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_handmade_gif(MAX_GIF_FRAMES + 1),
         f"more than {MAX_GIF_FRAMES} frames; the limit is {MAX_GIF_FRAMES}"),
        (_handmade_gif(1, frame=(0, 0, 60000, 60000)), "frame 1 of the gif image claims 60000x60000"),
        (_handmade_gif(1, screen=(60000, 60000)), "screen claims 60000x60000"),
        (_handmade_gif(2, screen=(8000, 6000)), "8000x6000 pixels; the limit is 16384 a side and 40,000,000"),
        (_handmade_gif(1, screen=(0, 5)), "claims 0x5"),
        (_handmade_gif(1, screen=(2, 2), frame=(1, 1, 2, 2)), "outside its 2x2 screen"),
        (_handmade_gif(MAX_GIF_TOTAL_PIXELS // (4000 * 4000) + 1, screen=(4000, 4000)),
         f"frames of 4000x4000, .* pixels to decode; the limit is {MAX_GIF_TOTAL_PIXELS:,}"),
        (_handmade_gif(3, trailer=False), "truncated: its trailer is missing"),
        (_animated()[:-1], "truncated: its trailer is missing"),
        (_animated()[:400], "truncated"),
        (b"GIF89a\x01\x00", "truncated"),
        (_handmade_gif(0), "no frames"),
        (_handmade_gif(1)[:-1] + b"\x99\x3b", "byte 42 starts no GIF block"),
    ],
    ids=["too-many-frames", "huge-frame", "huge-screen", "over-pixels", "empty-screen",
         "frame-outside", "total-pixels", "no-trailer", "cut-at-trailer", "cut-in-half", "header-only",
         "no-frames", "unknown-block"],
)
def test_unsafe_gifs_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(ImageDecodeError, match=words):
        inspect(data)


def test_gifs_and_svgs_are_checked_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow opened bytes that inspect() must check by itself")

    monkeypatch.setattr(Image, "open", never)
    assert inspect(_animated()) == ("gif", 320, 200)
    assert inspect(_SVG) == ("svg", 640, 480)
    with pytest.raises(ImageDecodeError, match="more than"):
        inspect(_handmade_gif(MAX_GIF_FRAMES + 1))


def test_the_gif_walk_is_linear_and_decodes_nothing() -> None:
    lzw_min_one_frame = _handmade_gif(1)[:-7]  # up to the LZW minimum code size
    worst = lzw_min_one_frame + b"\x01\x00" * (512 * 1024) + b"\x00\x3b"  # 1 MiB of 1-byte sub-blocks
    many = _handmade_gif(MAX_GIF_FRAMES)
    bomb = _handmade_gif(MAX_GIF_FRAMES, screen=(1024, 1024))
    started = time.perf_counter()
    assert inspect(worst) == ("gif", 1, 1)
    assert inspect(many) == ("gif", 1, 1)
    with pytest.raises(ImageDecodeError, match="pixels to decode"):
        inspect(bomb)
    assert time.perf_counter() - started < 0.5  # about 20 ms; decoding would take far longer


def test_a_gif_thumbnail_is_animated_and_keeps_loop_and_timing() -> None:
    thumb = thumbnail(_animated(frames=6, size=(640, 400), loop=0, duration=80), 160)
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
    thumb = thumbnail(_animated(frames=frames, size=(64, 64), loop=None, duration=40), 32)
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
        thumbnail(_handmade_gif(MAX_GIF_FRAMES + 1))
    with pytest.raises(ImageDecodeError, match="claims 60000x60000"):
        thumbnail(_handmade_gif(1, frame=(0, 0, 60000, 60000)))


# -- SVG: checked as text, never parsed ---------------------------------------------------------

_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 64 48">'
        b'<rect width="64" height="48" fill="teal"/></svg>\n')
_HOSTILE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" onload="alert(1)">'
                b'<script>alert(document.cookie)</script>'
                b'<image href="http://example.invalid/x.png" width="10" height="10"/></svg>')
_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
           + b"".join(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">\n'.replace("&lol0;", "&lol;")
                      .encode() for level in range(1, 10))
           + b']>\n<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>')


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (_SVG, (640, 480)),
        (_HOSTILE_SVG, (300, 200)),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by a model -->\n'
         b"<svg viewBox='0 0 1536 1024'>\n</svg >\n", (1536, 1024)),
        (b'<svg width="2in" height="24pt"/>', (192, 32)),
        (b'<svg width="100%" height="100%" viewBox="0,0,300,150"></svg>', (300, 150)),
        (b'<svg width="600" viewBox="0 0 300 150"></svg>', (600, 300)),
        (b'<svg height="50" width="3em"></svg>', (50, 50)),
        (b"<svg><circle r='5'/></svg>", (1024, 1024)),
        (b'<svg width="-5" height="abc" viewBox="0 0 0 9"></svg>', (1024, 1024)),
    ],
    ids=["plain", "hostile-but-well-formed", "declaration-comment-bom", "units", "percent-viewbox",
         "one-side-viewbox", "one-side", "no-size", "unusable"],
)
def test_inspect_reads_an_svgs_size_from_its_root_tag(data: bytes, size: tuple[int, int]) -> None:
    assert inspect(data) == ("svg", *size)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<svg>" + b" " * MAX_SVG_BYTES + b"</svg>", f"bytes; the limit is {MAX_SVG_BYTES:,}"),
        (b"<html><body><svg></svg></body></html>", "root element begins '<html><body>'"),
        (b'<?xml-stylesheet href="http://example.invalid/a.css"?><svg></svg>', "not an svg"),
        (b"<svgx></svgx>", "not an svg"),
        (_LAUGHS, "DOCTYPE"),
        (b'<!doctype svg SYSTEM "http://example.invalid/svg.dtd"><svg></svg>', "DOCTYPE"),
        (b"<svg><desc>caf\xe9</desc></svg>", "not UTF-8"),
        (_SVG[: len(_SVG) // 2], "truncated"),
        (_SVG.rstrip() + b"<script>alert(1)</script>", "does not end with </svg>"),
        (b'<svg width="5" height="5"', "root <svg> tag is malformed"),
        (b"<svg width=5 height=5></svg>", "root <svg> tag is malformed"),
        (b"<!-- never closed <svg></svg>", "comment never ends"),
        (b'<svg width="100000" height="10"></svg>', "claims 100000x10"),
        (b'<svg viewBox="0 0 9000 9000"></svg>', "claims 9000x9000"),
    ],
    ids=["oversized", "html-root", "stylesheet", "svgx", "billion-laughs", "external-doctype",
         "latin-1", "cut-in-half", "after-the-end", "unterminated-tag", "unquoted", "open-comment",
         "too-wide", "too-many-pixels"],
)
def test_unsafe_svgs_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(ImageDecodeError, match=words):
        inspect(data)


def test_the_billion_laughs_fixture_would_expand() -> None:
    assert _LAUGHS.count(b"<!ENTITY") == 10 and b"&lol8;&lol8;" in _LAUGHS


def test_svg_checks_are_linear_on_hostile_text() -> None:
    attacks = [
        b'<svg width="' + b"1" * 2_000_000 + b'x"></svg>',
        b"<svg a" + b"a" * 2_000_000,
        b'<svg a="' + b"b" * 2_000_000,
        b"<svg" + b" " * 2_000_000 + b"</svg>",
        b"<!---->" * 300_000 + b"<svg></svg>",
        b"<!--" * 1_000_000,
    ]
    started = time.perf_counter()
    for data in attacks:
        with contextlib.suppress(ImageDecodeError):
            inspect(data)
    assert time.perf_counter() - started < 1.0  # quadratic scanning would take minutes


def test_an_svg_thumbnail_shows_the_exact_bytes_as_an_image() -> None:
    thumb = thumbnail(_HOSTILE_SVG, 150)
    assert thumb.format == "svg+xml"
    assert inspect(thumb.data) == ("svg", 150, 100)  # itself a safe SVG, at thumbnail size
    text = thumb.data.decode("ascii")
    # Nothing of the original is markup here: it is the payload of an <image>'s data: URL.
    assert "<script" not in text and "onload" not in text and "example.invalid" not in text
    (payload,) = re.findall(r'<image [^>]*href="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', text)
    assert base64.b64decode(payload) == _HOSTILE_SVG


def test_an_svg_thumbnail_refuses_what_inspect_refuses() -> None:
    with pytest.raises(ImageDecodeError, match="DOCTYPE"):
        thumbnail(_LAUGHS)
