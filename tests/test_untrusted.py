"""Untrusted image bytes checked: format, size, completeness; GIF walked, SVG read as text."""

from __future__ import annotations

import base64
import contextlib
import io
import time

import pytest
from PIL import Image

from imagewidgets.emulator.render import bomb_png
from imagewidgets.errors import ImageDecodeError
from imagewidgets.imaging.untrusted import (
    MAX_BASE64_CHARS,
    MAX_GIF_FRAMES,
    MAX_GIF_TOTAL_PIXELS,
    MAX_SVG_BYTES,
    decode_base64,
    inspect,
)

from samples import HOSTILE_SVG, LAUGHS, animated_gif, handmade_gif, solid


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_inspect_reads_format_and_size(fmt: str, name: str) -> None:
    assert inspect(solid(fmt)) == (name, 64, 48)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bomb_png(), "decompression bomb"),
        (bomb_png(20000, 20000), "decompression bomb"),
        (bomb_png(16000, 4000), "16000x4000"),
        (b"hello, not an image", "not a PNG, JPEG, WEBP, GIF or SVG"),
        (solid("BMP"), "not a PNG, JPEG, WEBP, GIF or SVG"),
        (solid("TIFF"), "not a PNG, JPEG, WEBP, GIF or SVG"),
        (solid("PNG")[:-20], "damaged"),
        (b"", "not a PNG"),
    ],
    ids=["bomb", "big-bomb", "over-our-limit", "text", "bmp", "tiff", "truncated", "empty"],
)
def test_unsafe_bytes_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(ImageDecodeError, match=words):
        inspect(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_cut_off_image_is_caught_without_decoding_pixels(fmt: str) -> None:
    whole = solid(fmt, (300, 200))
    with pytest.raises(ImageDecodeError, match="truncated"):
        inspect(whole[: len(whole) * 3 // 4])


def test_base64_is_bounded_and_checked() -> None:
    assert decode_base64(base64.b64encode(b"abc").decode()) == b"abc"
    with pytest.raises(ImageDecodeError, match="not valid base64"):
        decode_base64("!!not base64!!")
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_base64("A" * (MAX_BASE64_CHARS + 4))
    with pytest.raises(ImageDecodeError, match="no image data"):
        decode_base64("")


# -- GIF: the block walk ----------------------------------------------------------------------
def test_inspect_accepts_an_animated_gif_made_by_pillow() -> None:
    data = animated_gif(frames=6, size=(320, 200))
    assert inspect(data) == ("gif", 320, 200)
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 6  # the fixture is what it claims to be


def test_the_handmade_gifs_are_real_gifs() -> None:
    data = handmade_gif(3, screen=(2, 2))
    assert inspect(data) == ("gif", 2, 2)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF" and image.n_frames == 3 and image.size == (2, 2)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (handmade_gif(MAX_GIF_FRAMES + 1),
         f"more than {MAX_GIF_FRAMES} frames; the limit is {MAX_GIF_FRAMES}"),
        (handmade_gif(1, frame=(0, 0, 60000, 60000)), "frame 1 of the gif image claims 60000x60000"),
        (handmade_gif(1, screen=(60000, 60000)), "screen claims 60000x60000"),
        (handmade_gif(2, screen=(8000, 6000)), "8000x6000 pixels; the limit is 16384 a side and 40,000,000"),
        (handmade_gif(1, screen=(0, 5)), "claims 0x5"),
        (handmade_gif(1, screen=(2, 2), frame=(1, 1, 2, 2)), "outside its 2x2 screen"),
        (handmade_gif(MAX_GIF_TOTAL_PIXELS // (4000 * 4000) + 1, screen=(4000, 4000)),
         f"frames of 4000x4000, .* pixels to decode; the limit is {MAX_GIF_TOTAL_PIXELS:,}"),
        (handmade_gif(3, trailer=False), "truncated: its trailer is missing"),
        (animated_gif()[:-1], "truncated: its trailer is missing"),
        (animated_gif()[:400], "truncated"),
        (b"GIF89a\x01\x00", "truncated"),
        (handmade_gif(0), "no frames"),
        (handmade_gif(1)[:-1] + b"\x99\x3b", "byte 42 starts no GIF block"),
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
    assert inspect(animated_gif()) == ("gif", 320, 200)
    assert inspect(_SVG) == ("svg", 640, 480)
    with pytest.raises(ImageDecodeError, match="more than"):
        inspect(handmade_gif(MAX_GIF_FRAMES + 1))


def test_the_gif_walk_is_linear_and_decodes_nothing() -> None:
    lzw_min_one_frame = handmade_gif(1)[:-7]  # up to the LZW minimum code size
    worst = lzw_min_one_frame + b"\x01\x00" * (512 * 1024) + b"\x00\x3b"  # 1 MiB of 1-byte sub-blocks
    many = handmade_gif(MAX_GIF_FRAMES)
    bomb = handmade_gif(MAX_GIF_FRAMES, screen=(1024, 1024))
    started = time.perf_counter()
    assert inspect(worst) == ("gif", 1, 1)
    assert inspect(many) == ("gif", 1, 1)
    with pytest.raises(ImageDecodeError, match="pixels to decode"):
        inspect(bomb)
    # About 20 ms; decoding 300 frames of a megapixel would take far longer (a busy machine
    # may be ten times slower: the bound leaves room for that).
    assert time.perf_counter() - started < 2.0


# -- SVG: checked as text, never parsed ---------------------------------------------------------

_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 64 48">'
        b'<rect width="64" height="48" fill="teal"/></svg>\n')


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (_SVG, (640, 480)),
        (HOSTILE_SVG, (300, 200)),
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
        (LAUGHS, "DOCTYPE"),
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
    assert LAUGHS.count(b"<!ENTITY") == 10 and b"&lol8;&lol8;" in LAUGHS


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
    assert time.perf_counter() - started < 30  # about 0.3 s; quadratic scanning would take minutes
