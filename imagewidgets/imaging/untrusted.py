"""Untrusted image bytes, checked: their format, size and completeness, nothing decoded.

Bytes from a server are accepted as PNG, JPEG, WEBP, GIF or SVG, and their
sizes are checked before any pixel is decoded (here or by whoever opens them
with :func:`opened`). Everything here may run on a worker thread.

- PNG, JPEG, WEBP: Pillow reads the header only; a decompression-bomb warning
  is an error.
- GIF: a linear walk of the block structure, without Pillow and without LZW
  decoding, counts the frames, reads each frame's size and requires the
  trailer. Pillow opens a GIF only after that walk has passed.
- SVG: never parsed as XML. Nothing resolves entities or fetches anything: a
  size cap, strict UTF-8, a root element that is ``<svg`` (no DOCTYPE, so no
  entity definitions) and its size read from the root tag's attributes by a
  linear scan. Browsers draw it inside an ``<img>``, where scripts never run
  and nothing external is loaded.
"""

from __future__ import annotations

import asyncio
import binascii
import io
import math
import re
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import ImageDecodeError

# Pillow is imported where it decodes, not here: the panel imports this module, and Pillow
# would add ~15 ms to its import before any image arrives (benchmarks/bench_import.py).
if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_BASE64_CHARS",
    "MAX_GIF_FRAMES",
    "MAX_GIF_TOTAL_PIXELS",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_SVG_BYTES",
    "RASTER",
    "SVG_DEFAULT_SIZE",
    "decode_base64",
    "gif_walk",
    "inspect",
    "inspect_off_loop",
    "opened",
    "sniff",
    "svg_check",
    "svg_root",
    "svg_text",
]

MAX_BASE64_CHARS = 64 * 1024 * 1024
"""Longest base64 text decoded (48 MiB of image): checked before decoding."""
MAX_SIDE = 16_384
MAX_PIXELS = 40_000_000
"""gpt-image-2's largest is 3840x2160 (8.3 Mpx); this leaves room and stops bombs.
For a GIF both hold for the logical screen and for every frame."""
MAX_GIF_FRAMES = 300
"""Most frames a GIF may have: checked while walking its blocks, before decoding."""
MAX_GIF_TOTAL_PIXELS = 200_000_000
"""Most pixels all of a GIF's frames may take together (frames x screen pixels, as Pillow
composites every frame on a full screen): 190 frames of 1024x1024, 24 of 3840x2160."""
MAX_SVG_BYTES = 4 * 1024 * 1024
"""Largest SVG accepted, in bytes; an API SVG is tens of KB."""
SVG_DEFAULT_SIZE = (1024, 1024)
"""Size given to an SVG whose root tag says neither a usable width and height nor a viewBox."""

_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "SVG")
"""What :func:`inspect` accepts."""
RASTER = ("PNG", "JPEG", "WEBP")
"""What Pillow opens without a walk of ours first."""
_ACCEPTED = "a PNG, JPEG, WEBP, GIF or SVG image"


def decode_base64(text: str | memoryview) -> bytes:
    """Decode a ``b64_json`` value, refusing oversized or malformed text.

    A memoryview is the value's bytes in an answer's body, cut out unparsed
    (``api.wire._images_cut_out``); anything else not a string is refused.
    """
    if not isinstance(text, str | memoryview) or not text:
        raise ImageDecodeError("the server sent no image data (b64_json is empty or not text)")
    if len(text) > MAX_BASE64_CHARS:
        raise ImageDecodeError(
            f"the image data is {len(text):,} characters of base64; the limit is {MAX_BASE64_CHARS:,}")
    try:
        # The text as it is (binascii reads ASCII text in place): b64decode would first copy
        # it to bytes, megabytes for a photographic picture. Strict: validate=True's check.
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ImageDecodeError("the server sent image data that is not valid base64") from None


def _check_size(what: str, width: int, height: int) -> None:
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS or min(width, height) < 1:
        raise ImageDecodeError(
            f"{what} claims {width}x{height} pixels; the limit is {MAX_SIDE} a side "
            f"and {MAX_PIXELS:,} in all (a decompression bomb?)")


def sniff(data: bytes) -> str:
    """Which path checks these bytes: ``gif``, ``svg`` or ``raster`` (Pillow's header check)."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    # Every SVG starts with '<' (after a BOM and white space); no raster format does.
    if data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        return "svg"
    return "raster"


@contextmanager
def opened(data: bytes, formats: tuple[str, ...] = RASTER) -> Iterator[Image.Image]:
    """Open untrusted bytes with Pillow, their size checked; nothing decoded yet.

    A GIF must have passed :func:`gif_walk` first: Pillow checks only the screen.
    """
    from PIL import Image, UnidentifiedImageError
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as image:
                _check_size("the image", *image.size)
                yield image
        except ImageDecodeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageDecodeError(f"the image claims too many pixels (a decompression bomb?): "
                                   f"{error}") from None
        except UnidentifiedImageError:
            raise ImageDecodeError(
                f"the server sent {len(data):,} bytes that are not {_ACCEPTED}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageDecodeError(f"the image is damaged or truncated: {error}") from None


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _complete(kind: str, data: bytes) -> bool:
    """Whether the bytes run to the format's own end marker: a cut-off download fails here."""
    if kind == "png":
        return data.endswith(_PNG_END)
    if kind == "jpeg":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    return int.from_bytes(data[4:8], "little") + 8 <= len(data)  # RIFF size of a WEBP


# -- GIF: a walk of the block structure, no decoding --------------------------------------

def _colour_table(packed: int) -> int:
    """Bytes of the colour table a descriptor's packed field announces (0 when none)."""
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def gif_walk(data: bytes) -> tuple[int, int, int]:
    """Screen width, height and frame count of a GIF, every limit checked; nothing decoded.

    One pass over the blocks (GIF89a, section 17 on): header, logical screen
    descriptor, global colour table, then extensions and image descriptors
    (each with its colour table and data sub-blocks) up to the trailer. The
    cost is linear in the bytes; the walk stops at the first limit passed.
    """
    if len(data) < 14:
        raise ImageDecodeError("the gif image is damaged or truncated: its screen descriptor is cut off")
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    _check_size("the gif image's screen", width, height)
    screen = width * height
    pos = 13 + _colour_table(data[10])
    frames = 0
    try:
        while (block := data[pos]) != 0x3B:  # the trailer
            if block == 0x21:  # extension: label, then data sub-blocks
                pos += 2
            elif block == 0x2C:  # image descriptor: a frame
                if pos + 10 > len(data):
                    raise IndexError
                frames += 1
                left, top, frame_width, frame_height = (
                    int.from_bytes(data[at:at + 2], "little") for at in range(pos + 1, pos + 9, 2))
                _check_size(f"frame {frames} of the gif image", frame_width, frame_height)
                if left + frame_width > width or top + frame_height > height:
                    raise ImageDecodeError(
                        f"frame {frames} of the gif image ({frame_width}x{frame_height} at "
                        f"{left},{top}) lies outside its {width}x{height} screen")
                if frames > MAX_GIF_FRAMES:
                    raise ImageDecodeError(
                        f"the gif image has more than {MAX_GIF_FRAMES} frames; the limit is "
                        f"{MAX_GIF_FRAMES}")
                if frames * screen > MAX_GIF_TOTAL_PIXELS:
                    raise ImageDecodeError(
                        f"the gif image has at least {frames} frames of {width}x{height}, "
                        f"{frames * screen:,} pixels to decode; the limit is "
                        f"{MAX_GIF_TOTAL_PIXELS:,} (a decompression bomb?)")
                pos += 10 + _colour_table(data[pos + 9]) + 1  # + the LZW minimum code size
            else:
                raise ImageDecodeError(
                    f"the gif image is damaged: byte {pos:,} starts no GIF block (0x{block:02x})")
            while size := data[pos]:  # data sub-blocks, up to the empty one
                pos += size + 1
            pos += 1
    except IndexError:
        raise ImageDecodeError(
            "the gif image is damaged or truncated: its trailer is missing") from None
    if frames == 0:
        raise ImageDecodeError("the gif image has no frames")
    return width, height, frames


# -- SVG: checked as text, never parsed as XML --------------------------------------------

_SPACE = re.compile(r"\s*")
_ATTRIBUTE = re.compile(r"""\s+([^\s=/>"'<]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
_TAG_END = re.compile(r"\s*(/?)>")
_CLOSED = re.compile(r"</svg\s*>\Z")
_LENGTH = re.compile(r"(\d*\.?\d+(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in)?")
_PX_PER_UNIT = {None: 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
                "in": 96.0}  # CSS: 96 px to the inch
# Every pattern is matched at a known place (never searched for), and none can take
# more than linear time: names and quoted values exclude what ends them.


def _after_space(text: str, pos: int) -> int:
    found = _SPACE.match(text, pos)
    return found.end() if found else pos


def svg_text(data: bytes) -> str:
    """An SVG's text: at most :data:`MAX_SVG_BYTES`, strict UTF-8 (a BOM dropped)."""
    if len(data) > MAX_SVG_BYTES:
        raise ImageDecodeError(
            f"the svg image is {len(data):,} bytes; the limit is {MAX_SVG_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageDecodeError("the svg image is not UTF-8 text") from None


def svg_root(text: str) -> tuple[dict[str, str], bool, int]:
    """The root ``<svg>`` tag's attributes, whether it closes itself, and where it ends.

    Skips white space, an XML declaration and comments; then the root must be
    ``<svg``. A DOCTYPE is refused: it is the only place entities are
    defined, and an API SVG never has one.
    """
    pos = _after_space(text, 0)
    if re.match(r"<\?xml\s", text[pos:pos + 6]):
        end = text.find("?>", pos)
        if end < 0:
            raise ImageDecodeError("the svg image is damaged or truncated: its XML declaration never ends")
        pos = end + 2
    while text.startswith("<!--", pos := _after_space(text, pos)):
        end = text.find("-->", pos + 4)
        if end < 0:
            raise ImageDecodeError("the svg image is damaged or truncated: a comment never ends")
        pos = end + 3
    if text[pos:pos + 9].upper() == "<!DOCTYPE":
        raise ImageDecodeError(
            "the svg image has a DOCTYPE, which can define entities; an SVG with one is refused")
    if not re.match(r"<svg[\s/>]", text[pos:pos + 5]):
        raise ImageDecodeError(
            f"the image is not an svg: its root element begins {text[pos:pos + 12]!r}, not '<svg'")
    pos += 4
    attributes: dict[str, str] = {}
    while found := _ATTRIBUTE.match(text, pos):
        name, double, single = found.groups()
        attributes.setdefault(name, double if double is not None else single)
        pos = found.end()
    close = _TAG_END.match(text, pos)
    if close is None:
        raise ImageDecodeError("the svg image is damaged or truncated: its root <svg> tag is malformed")
    return attributes, bool(close.group(1)), close.end()


def _svg_length(value: str | None) -> float | None:
    """A width or height in pixels; None for a missing, relative (%, em) or unusable one."""
    found = _LENGTH.fullmatch(value.strip()) if value is not None and len(value) <= 64 else None
    if found is None:
        return None
    pixels = float(found.group(1)) * _PX_PER_UNIT[found.group(2)]
    return pixels if math.isfinite(pixels) and pixels > 0 else None


def _svg_view_box(value: str | None) -> tuple[float, float] | None:
    parts = re.split(r"[\s,]+", value.strip()) if value and len(value) <= 256 else []
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if len(numbers) != 4 or not all(math.isfinite(number) for number in numbers):
        return None
    width, height = numbers[2:]
    return (width, height) if width > 0 and height > 0 else None


def _svg_size(attributes: dict[str, str]) -> tuple[int, int]:
    """Width and height: the root's width and height (px or absolute units, at 96 dpi); a
    missing or relative side from the viewBox's aspect, else the viewBox's own numbers; a lone
    side with no viewBox makes a square; nothing usable gives :data:`SVG_DEFAULT_SIZE`."""
    width, height = _svg_length(attributes.get("width")), _svg_length(attributes.get("height"))
    view = _svg_view_box(attributes.get("viewBox"))
    if width is None or height is None:
        if view is not None:
            if width is not None:
                height = width * view[1] / view[0]
            elif height is not None:
                width = height * view[0] / view[1]
            else:
                width, height = view
        else:
            width = height = width or height
    if width is None or height is None:
        return SVG_DEFAULT_SIZE
    cap = float(MAX_SIDE * 1000)  # beyond any limit: int() of a huge float stays cheap
    return max(1, round(min(width, cap))), max(1, round(min(height, cap)))


def svg_check(data: bytes) -> tuple[int, int]:
    """Width and height of an SVG, every check passed (size, UTF-8, root, DOCTYPE, end)."""
    text = svg_text(data)
    attributes, closed, end = svg_root(text)
    # As other formats must reach their end marker: the root's end tag (or a self-closed
    # root) is last, white space aside, so a cut-off download is caught.
    tail = text[end:] if closed else text.rstrip()[-32:]
    if tail.strip() if closed else not _CLOSED.search(tail):
        raise ImageDecodeError("the svg image is damaged or truncated: it does not end with </svg>")
    width, height = _svg_size(attributes)
    _check_size("the svg image", width, height)
    return width, height


# -- the public checks ----------------------------------------------------------------------

_PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"
_PNG_MODES = frozenset({(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3),
                        (4, 3), (8, 3), (8, 4), (16, 4), (8, 6), (16, 6)})
"""(bit depth, colour type) of every PNG Pillow opens."""


def _plain_png(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG whose header chunk, checksum right, comes straight before its
    data, within the size limits and complete; None for any other bytes (Pillow reads them).

    What Pillow's opening would find of such a file, without it: amid a request its code
    runs cold, some 80 us, where this takes a few.
    """
    if not data.startswith(_PNG_START) or data[37:41] != b"IDAT" or not data.endswith(_PNG_END):
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if (data[24], data[25]) not in _PNG_MODES or data[27] != 0 \
            or zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big") \
            or not (min(width, height) >= 1 and max(width, height) <= MAX_SIDE
                    and width * height <= MAX_PIXELS):
        return None
    return width, height


def inspect(data: bytes) -> tuple[str, int, int]:
    """Format (``png``/``jpeg``/``webp``/``gif``/``svg``), width and height of untrusted bytes.

    Reads headers (a GIF's whole block structure; an SVG's root tag) and checks
    the size limits and that the file is complete, without decoding pixels:
    results keep the encoded bytes, never a bitmap. Pixels are decoded only
    for thumbnails, by :func:`thumbnail`, under the same limits. An SVG's size
    is what its root tag says (see :data:`SVG_DEFAULT_SIZE`).

    Raises
    ------
    ImageDecodeError
        When the bytes are not a safe PNG, JPEG, WEBP, GIF or SVG image.
    """
    if (size := _plain_png(data)) is not None:
        return ("png", *size)
    kind = sniff(data)
    if kind == "gif":
        width, height, _frames = gif_walk(data)
        return "gif", width, height
    if kind == "svg":
        return ("svg", *svg_check(data))
    with opened(data) as image:
        kind = str(image.format).lower()
        width, height = image.size
    if not _complete(kind, data):
        raise ImageDecodeError(f"the {kind} image is damaged or truncated: its end is missing")
    return kind, width, height


_INLINE_INSPECT = 1024 * 1024  # smaller images verify in well under a millisecond


async def inspect_off_loop(data: bytes) -> tuple[str, int, int]:
    """Check untrusted bytes; large ones on a worker thread so the loop never stalls."""
    if len(data) <= _INLINE_INSPECT:
        return inspect(data)
    return await asyncio.to_thread(inspect, data)

