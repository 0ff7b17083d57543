"""Settings embedded in every format: carried, pixels kept, junk never raising."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from imagewidgets.imaging import inspect
from imagewidgets.storage.metadata import embed_metadata, embedded_metadata

from samples import SAMPLES, encoded

TEXT = json.dumps({"prompt": "a café <by> the sea & \"more\" " + "long " * 200, "n": 1},
                  ensure_ascii=False, separators=(",", ":"))
"""Over 255 bytes (a GIF sub-block), non-ASCII, and every character XML escapes."""


def _frames(data: bytes) -> list[tuple[str, tuple[int, int], bytes]]:
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append((image.mode, image.size, image.convert("RGBA").tobytes()))
        return frames


def _inserted(original: bytes, embedded: bytes) -> bytes:
    """What was inserted into ``original`` to make ``embedded``; fails if anything else changed."""
    start = 0
    while start < len(original) and original[start] == embedded[start]:
        start += 1
    inserted = embedded[start:start + len(embedded) - len(original)]
    assert embedded[:start] + embedded[start + len(inserted):] == original
    return inserted


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_format_carries_the_text_and_keeps_its_pixels(sample: str) -> None:
    fmt, make = SAMPLES[sample]
    original = make()
    embedded = embed_metadata(original, fmt, TEXT)
    assert embedded != original
    assert embedded_metadata(embedded, fmt) == TEXT
    assert embedded_metadata(original, fmt) is None
    assert inspect(embedded) == inspect(original)  # still accepted as it was, same size
    if fmt == "webp":
        # A simple WEBP is made extended; its image chunks are kept byte for byte.
        assert original[12:] in embedded or original[12 + 18:] in embedded
    else:
        # A GIF87a becomes GIF89a (comments are GIF89a); otherwise only an insertion.
        base = original.replace(b"GIF87a", b"GIF89a", 1) if fmt == "gif" else original
        _inserted(base, embedded)
    if fmt == "svg":
        assert embedded.startswith(b"\xef\xbb\xbf<?xml")
        assert b'viewBox="0 0 64 48"><metadata id="imagewidgets">{&quot;' not in embedded
        assert b'viewBox="0 0 64 48"><metadata id="imagewidgets">{"prompt"' in embedded
        assert b"&lt;by&gt; the sea &amp;" in embedded
        return
    assert _frames(embedded) == _frames(original)  # every frame's pixels, mode and size
    with Image.open(io.BytesIO(embedded)) as opened:
        if fmt == "png":
            assert opened.text["imagewidgets"] == TEXT  # type: ignore[attr-defined]
        elif fmt == "gif":
            assert opened.info["comment"] == b"imagewidgets:" + TEXT.encode()
            assert opened.info.get("loop") == (0 if "animated" in sample else None)
        else:
            assert b"<imagewidgets:settings>{&quot;" not in opened.info["xmp"]
            assert b"<imagewidgets:settings>{\"prompt\"" in opened.info["xmp"]


def test_a_simple_webp_becomes_extended_with_the_alpha_it_has() -> None:
    for data, alpha in [(encoded("WEBP", "RGBA", lossless=True), True),
                        (encoded("WEBP", lossless=True), False), (encoded("WEBP"), False)]:
        embedded = embed_metadata(data, "webp", "{}")
        assert embedded[12:16] == b"VP8X"
        assert embedded[20] == 0x04 | (0x10 if alpha else 0)
        assert embedded[24:30] == (63).to_bytes(3, "little") + (47).to_bytes(3, "little")
        assert int.from_bytes(embedded[4:8], "little") + 8 == len(embedded)


@pytest.mark.parametrize("sample", SAMPLES)
def test_reading_junk_never_raises(sample: str) -> None:
    fmt, make = SAMPLES[sample]
    embedded = embed_metadata(make(), fmt, TEXT)
    for cut in range(0, len(embedded), max(1, len(embedded) // 200)):
        assert embedded_metadata(embedded[:cut], fmt) in (None, TEXT)
        flipped = bytearray(embedded)
        flipped[cut] ^= 0xFF
        found = embedded_metadata(bytes(flipped), fmt)  # may still be text: a flipped letter
        assert found is None or isinstance(found, str)
    for other in ("png", "jpeg", "webp", "gif", "svg", "bmp"):
        if other != fmt:
            assert embedded_metadata(embedded, other) is None


@pytest.mark.parametrize("junk", [b"", b"\x00" * 40, b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP",
                                  b"\xff\xd8\xff\xe0", b"<svg/>", b"<p>not svg</p>",
                                  b"\x89PNG\r\n\x1a\n\x00\x00\x00\x05IEND"])
def test_junk_is_left_as_it_is(junk: bytes) -> None:
    for fmt in ("png", "jpeg", "webp", "gif", "svg", "tiff"):
        assert embedded_metadata(junk, fmt) is None
        if not (fmt == "gif" and junk == b"GIF89a"):
            assert embed_metadata(junk, fmt, "{}") in (junk,)


def test_a_jpeg_packet_over_one_segment_is_not_embedded() -> None:
    data = encoded("JPEG")
    assert embed_metadata(data, "jpeg", "x" * 70_000) == data
    assert embed_metadata(data, "jpeg", "x" * 60_000) != data

