"""Pillow, bounded: safe decoding of untrusted image bytes, and thumbnails.

Everything here may run on a worker thread. Bytes from a server are accepted
as PNG, JPEG, WEBP, GIF or SVG, and their sizes are checked before any pixel
is decoded:

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
import base64
import binascii
import io
import math
import re
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ImageDecodeError

# Pillow is imported where it decodes or draws, not here: the panel imports this module, and
# Pillow would add ~15 ms to its import before any image arrives (benchmarks/bench_import.py).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "MAX_BASE64_CHARS",
    "MAX_GIF_FRAMES",
    "MAX_GIF_TOTAL_PIXELS",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_SVG_BYTES",
    "MAX_THUMBNAIL_FRAMES",
    "SHEET_CAPTION_FONT",
    "SHEET_CAPTION_HEIGHT",
    "SHEET_GAP",
    "SHEET_HEADER_HEIGHT",
    "SHEET_LABEL_FONT",
    "SHEET_LABEL_WIDTH",
    "SHEET_TITLE_FONT",
    "SHEET_TITLE_HEIGHT",
    "SVG_DEFAULT_SIZE",
    "SheetCell",
    "Thumbnail",
    "contact_sheet",
    "decode_base64",
    "inspect",
    "inspect_off_loop",
    "sheet_png",
    "thumbnail",
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
MAX_THUMBNAIL_FRAMES = 32
"""Most frames an animated thumbnail keeps; longer GIFs are sampled evenly, timing kept."""

_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "SVG")
"""What :func:`inspect` accepts."""
_RASTER = ("PNG", "JPEG", "WEBP")
"""What Pillow opens without a walk of ours first."""
_ACCEPTED = "a PNG, JPEG, WEBP, GIF or SVG image"


class Thumbnail(NamedTuple):
    """A thumbnail's bytes and its format as ``ipywidgets.Image.format`` names it."""

    data: bytes
    format: str  # "png" | "jpeg" | "webp" | "gif" | "svg+xml"


def decode_base64(text: str | memoryview) -> bytes:
    """Decode a ``b64_json`` value, refusing oversized or malformed text.

    A memoryview is the value's bytes in an answer's body, cut out unparsed
    (``_wire._images_cut_out``); anything else not a string is refused.
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


def _kind(data: bytes) -> str:
    """Which path checks these bytes: ``gif``, ``svg`` or ``raster`` (Pillow's header check)."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    # Every SVG starts with '<' (after a BOM and white space); no raster format does.
    if data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        return "svg"
    return "raster"


@contextmanager
def _opened(data: bytes, formats: tuple[str, ...] = _RASTER) -> Iterator[Image.Image]:
    """Open untrusted bytes with Pillow, their size checked; nothing decoded yet.

    A GIF must have passed :func:`_gif_walk` first: Pillow checks only the screen.
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


def _gif_walk(data: bytes) -> tuple[int, int, int]:
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


def _svg_text(data: bytes) -> str:
    if len(data) > MAX_SVG_BYTES:
        raise ImageDecodeError(
            f"the svg image is {len(data):,} bytes; the limit is {MAX_SVG_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageDecodeError("the svg image is not UTF-8 text") from None


def _svg_root(text: str) -> tuple[dict[str, str], bool, int]:
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


def _svg_check(data: bytes) -> tuple[int, int]:
    """Width and height of an SVG, every check passed (size, UTF-8, root, DOCTYPE, end)."""
    text = _svg_text(data)
    attributes, closed, end = _svg_root(text)
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
    kind = _kind(data)
    if kind == "gif":
        width, height, _frames = _gif_walk(data)
        return "gif", width, height
    if kind == "svg":
        return ("svg", *_svg_check(data))
    with _opened(data) as image:
        kind = str(image.format).lower()
        width, height = image.size
    if not _complete(kind, data):
        raise ImageDecodeError(f"the {kind} image is damaged or truncated: its end is missing")
    return kind, width, height


def _fit(width: int, height: int, longest: int) -> tuple[int, int]:
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _gif_thumbnail(data: bytes, longest: int) -> bytes:
    """An animated GIF of at most :data:`MAX_THUMBNAIL_FRAMES` frames, loop and timing kept."""
    from PIL import Image
    _gif_walk(data)  # Pillow composites every frame on the screen: bounded only after this
    with _opened(data, ("GIF",)) as image:
        count = getattr(image, "n_frames", 1)
        keep = min(count, MAX_THUMBNAIL_FRAMES)
        frames: list[Image.Image] = []
        durations = [0] * keep
        loop = image.info.get("loop")
        for index in range(count):
            image.seek(index)  # GIF frames build on each other: every one is decoded
            # Source frames fall evenly into the thumbnail's frames; each shows its first
            # source frame for all their durations, so a sampled animation keeps its timing.
            slot = index * keep // count
            durations[slot] += int(image.info.get("duration", 0) or 0)
            if slot == len(frames):
                frame = image.convert("RGBA")
                frame.thumbnail((longest, longest), Image.Resampling.BILINEAR, reducing_gap=2.0)
                frames.append(frame)
    buffer = io.BytesIO()
    options = {} if loop is None else {"loop": loop}
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   disposal=2, **options)
    return buffer.getvalue()


def _svg_thumbnail(data: bytes, longest: int) -> bytes:
    """The SVG inside an ``<image>`` of a small SVG of ours, at thumbnail size.

    Why not the SVG's own bytes: the tile's ``<img>`` shows them from a
    ``blob:`` URL of the notebook's origin, and "Open image in new tab" would
    open that blob as a document of that origin, where a ``<script>`` runs.
    Opened so, this wrapper holds no script, and browsers draw the SVG that
    an ``<image>`` references as an image too: no scripts, nothing fetched.
    """
    width, height = _fit(*_svg_check(data), longest)
    inner = base64.b64encode(data).decode("ascii")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
            f'href="data:image/svg+xml;base64,{inner}"/></svg>').encode("ascii")


_THUMBNAIL_SAVE: dict[str, tuple[tuple[str, ...], str, dict[str, int]]] = {
    "png": (("RGB", "RGBA"), "RGBA", {"compress_level": 1}),
    "jpeg": (("RGB", "L"), "RGB", {"quality": 85}),
    "webp": (("RGB", "RGBA"), "RGBA", {"quality": 80, "method": 0}),
}
"""How a raster thumbnail is saved, by its format (see :func:`thumbnail`): the modes kept as they
are, the one any other is converted to, and Pillow's options (fast: a tile shows it, nobody keeps it)."""


def _opaque(image: Image.Image) -> bool:
    """Whether every pixel of ``image`` (thumbnail-sized: cheap) is fully opaque."""
    if not image.has_transparency_data:
        return True
    alpha = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
    return bool(alpha.getchannel("A").getextrema()[0] == 255)


def thumbnail(data: bytes, longest: int = 384) -> Thumbnail:
    """A small image for a tile whose longest side is at most ``longest``.

    A JPEG for a JPEG, and for a PNG with no transparent pixel: a tenth of a
    PNG thumbnail's bytes for a photo (in the kernel and on the wire), and
    faster to encode. A PNG for a PNG with transparency; a WEBP for a WEBP
    (keeping transparency, and about half a JPEG's bytes). An animated GIF
    for a GIF; an SVG for an SVG (see :func:`_svg_thumbnail`). Its ``format``
    is the ``ipywidgets.Image.format`` to show it with: ``png``, ``jpeg``,
    ``webp``, ``gif`` or ``svg+xml``.
    """
    from PIL import Image
    kind = _kind(data)
    if kind == "gif":
        return Thumbnail(_gif_thumbnail(data, longest), "gif")
    if kind == "svg":
        return Thumbnail(_svg_thumbnail(data, longest), "svg+xml")
    with _opened(data) as image:
        kind = str(image.format).lower()
        image.draft("RGB", (longest, longest))  # JPEG decodes at a reduced scale: much faster
        # A gap of 1: halve by 2x2 averages, then resample. At 384 px it looks the same as 2.0
        # and resizes a 1024x1024 picture in 3.2 ms, not 5.7: six finals at once wait in line.
        image.thumbnail((longest, longest), Image.Resampling.BILINEAR, reducing_gap=1.0)
        if kind == "png" and _opaque(image):
            kind = "jpeg"  # lossless only matters for the full image, kept as it came
        kept, other, options = _THUMBNAIL_SAVE[kind]
        small = image if image.mode in kept else image.convert(other)
        buffer = io.BytesIO()
        small.save(buffer, kind.upper(), **options)
    return Thumbnail(buffer.getvalue(), kind)


# One thread makes every tile's thumbnails. Pillow holds the GIL while it decodes, so
# more threads make them no sooner; six at once starved the event loop (a 1 ms sleep
# woke up 100 ms late while a grid streamed), where one costs it a switch interval.
_PICTURES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagewidgets-thumbnails")


async def thumbnail_off_loop(data: bytes, longest: int = 384) -> Thumbnail:
    """:func:`thumbnail` on the thumbnail thread, so the event loop never waits for Pillow."""
    return await asyncio.get_running_loop().run_in_executor(_PICTURES, thumbnail, data, longest)


_INLINE_INSPECT = 1024 * 1024  # smaller images verify in well under a millisecond


async def inspect_off_loop(data: bytes) -> tuple[str, int, int]:
    """Check untrusted bytes; large ones on a worker thread so the loop never stalls."""
    if len(data) <= _INLINE_INSPECT:
        return inspect(data)
    return await asyncio.to_thread(inspect, data)


# -- contact sheets: a grid of results as one PNG -------------------------------------------

# The layout in pixels. Text sizes are fixed, so labels stay legible however large the grid.
SHEET_GAP = 8  # between image squares, half of it at a cell's sides; the margin around text
SHEET_LABEL_WIDTH = 180  # the row-label column on the left
SHEET_TITLE_HEIGHT = 44  # the title band; none when the title is empty
SHEET_HEADER_HEIGHT = 60  # the column-label band: two lines of label
SHEET_CAPTION_HEIGHT = 44  # under a cell's images: two lines of caption
SHEET_TITLE_FONT, SHEET_LABEL_FONT, SHEET_CAPTION_FONT = 22, 18, 13
_INK, _FAINT, _BOX, _RULE = "#222222", "#555555", "#eeeeee", "#dddddd"


@dataclass(frozen=True)
class SheetCell:
    """One cell of a contact sheet: its images, a caption, and a note shown when no images."""

    images: tuple[bytes, ...] = ()
    caption: str = ""
    note: str = ""


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont
    return ImageFont.load_default(size=size)


def _line(size: int) -> int:
    return round(size * 1.25)


def _wrap(text: str, size: int, width: int, lines: int) -> list[str]:
    """Words wrapped to ``width`` pixels, a too-long word cut; past ``lines``, an ellipsis."""
    font = _font(size)

    def fits(line: str) -> bool:
        return font.getlength(line) <= width

    out: list[str] = []
    current = ""
    for word in text.split():
        if len(out) > lines:  # enough to know it overflows: a long text costs no more
            break
        if fits(joined := f"{current} {word}" if current else word):
            current = joined
            continue
        if current:
            out.append(current)
        while not fits(word) and len(out) <= lines:
            cut = 1  # searched upwards: bounded by a line's worth of characters
            while cut < len(word) and fits(word[:cut + 1]):
                cut += 1
            out.append(word[:cut])
            word = word[cut:]
        current = word
    out += [current] if current else []
    if len(out) > lines:
        last = out[lines - 1]
        while last and not fits(last + "…"):
            last = last[:-1]
        out[lines - 1:] = [last.rstrip() + "…"]
    return out


# Pillow's bundled font has no arrows: drawn, they would be empty boxes.
_NO_GLYPH = str.maketrans({"→": "->", "←": "<-", "↓": "v", "↑": "^"})


def _text(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, size: int, width: int,
          lines: int, *, centre: bool = False, fill: str = _INK) -> None:
    text = text.translate(_NO_GLYPH)
    for index, line in enumerate(_wrap(text, size, width, max(1, lines))):
        draw.text((x + width // 2 if centre else x, y + index * _line(size)), line, fill=fill,
                  font=_font(size), anchor="ma" if centre else "la")


def _cell_image(data: bytes, size: int) -> Image.Image | str:
    """An image fitted into a ``size`` square, or the text of the placeholder shown instead."""
    from PIL import Image
    try:
        kind = inspect(data)[0]  # every bound checked, a GIF's blocks walked, before decoding
        if kind == "svg":
            return "SVG"  # nothing here renders SVG, and it is never parsed as XML
        with _opened(data, ("GIF",) if kind == "gif" else _RASTER) as image:
            image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale
            # Only the first frame of a GIF is decoded; small images are enlarged to fit too.
            return image.convert("RGBA").resize(_fit(*image.size, size), Image.Resampling.BILINEAR,
                                                reducing_gap=2.0)
    except ImageDecodeError:
        return "unreadable image"  # one bad image must not lose the whole sheet


def contact_sheet(cells: Sequence[Sequence[SheetCell]], *, title: str = "",
                  row_labels: Sequence[str], column_labels: Sequence[str],
                  image_size: int = 256, corner: str = "") -> Image.Image:
    """A grid of results as one RGB image: ``cells[row][column]`` under labels.

    Every cell is as wide as the fullest cell: each image fitted into an
    ``image_size`` square, side by side, the caption under them; a cell with
    no images shows its note in a grey box. Text is wrapped and cut with an
    ellipsis, never spilling into a neighbour. ``corner`` goes above the row
    labels: what the rows and columns vary.

    Raises
    ------
    ValueError
        When the cells' shape differs from the labels', or the sheet is too large.
    """
    from PIL import Image, ImageDraw
    if len(cells) != len(row_labels):
        raise ValueError(f"{len(cells)} rows of cells but {len(row_labels)} row labels")
    for index, given in enumerate(cells):
        if len(given) != len(column_labels):
            raise ValueError(f"row {index} has {len(given)} cells but there are "
                             f"{len(column_labels)} column labels")
    slot = image_size + SHEET_GAP
    cell_width = max([1, *(len(cell.images) for given in cells for cell in given)]) * slot
    row_height = slot + SHEET_CAPTION_HEIGHT
    top = (SHEET_TITLE_HEIGHT if title else 0) + SHEET_HEADER_HEIGHT
    width = SHEET_LABEL_WIDTH + len(column_labels) * cell_width
    height = top + len(cells) * row_height
    if image_size < 16 or max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ValueError(f"a {width}x{height} contact sheet of {image_size}-pixel images is out of range: "
                         f"images of 16 pixels or more, {MAX_SIDE} a side, {MAX_PIXELS:,} in all")
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    half = SHEET_GAP // 2
    if title:
        _text(draw, SHEET_GAP, (SHEET_TITLE_HEIGHT - SHEET_TITLE_FONT) // 2, title,
              SHEET_TITLE_FONT, width - 2 * SHEET_GAP, 1)
    if corner:
        _text(draw, SHEET_GAP, top - SHEET_HEADER_HEIGHT + SHEET_GAP, corner, SHEET_CAPTION_FONT,
              SHEET_LABEL_WIDTH - 2 * SHEET_GAP, 3, fill=_FAINT)
    for column, label in enumerate(column_labels):
        x = SHEET_LABEL_WIDTH + column * cell_width
        draw.line([(x, top - SHEET_HEADER_HEIGHT), (x, height)], fill=_RULE)
        _text(draw, x + half, top - SHEET_HEADER_HEIGHT + SHEET_GAP, label, SHEET_LABEL_FONT,
              cell_width - SHEET_GAP, 2, centre=True)
    for row, (label, cells_of_row) in enumerate(zip(row_labels, cells, strict=True)):
        y = top + row * row_height
        draw.line([(0, y), (width, y)], fill=_RULE)
        _text(draw, SHEET_GAP, y + SHEET_GAP, label, SHEET_LABEL_FONT,
              SHEET_LABEL_WIDTH - 2 * SHEET_GAP, (row_height - SHEET_GAP) // _line(SHEET_LABEL_FONT))
        for column, cell in enumerate(cells_of_row):
            x = SHEET_LABEL_WIDTH + column * cell_width
            if not cell.images:
                draw.rectangle([x + half, y + half, x + cell_width - half - 1,
                                y + half + image_size - 1], fill=_BOX)
                _text(draw, x + SHEET_GAP, y + SHEET_GAP, cell.note, SHEET_CAPTION_FONT,
                      cell_width - 2 * SHEET_GAP,
                      (image_size - SHEET_GAP) // _line(SHEET_CAPTION_FONT), fill=_FAINT)
            for index, data in enumerate(cell.images):
                left, upper = x + index * slot + half, y + half
                picture = _cell_image(data, image_size)
                if isinstance(picture, str):
                    draw.rectangle([left, upper, left + image_size - 1, upper + image_size - 1],
                                   fill=_BOX, outline=_RULE)
                    lines = len(_wrap(picture, SHEET_LABEL_FONT, image_size - SHEET_GAP, 2))
                    _text(draw, left + half, upper + (image_size - lines * _line(SHEET_LABEL_FONT)) // 2,
                          picture, SHEET_LABEL_FONT, image_size - SHEET_GAP, 2, centre=True, fill=_FAINT)
                else:
                    sheet.paste(picture, (left + (image_size - picture.width) // 2,
                                          upper + (image_size - picture.height) // 2), picture)
            _text(draw, x + half, y + slot, cell.caption, SHEET_CAPTION_FONT,
                  cell_width - SHEET_GAP, 2)
    return sheet


def sheet_png(image: Image.Image, *, title: str, labels: Mapping[str, str] | None = None) -> bytes:
    """A contact sheet as PNG bytes that say what they compare: ``Title``, and ``Description``
    made of the labels (``{"rows": "model = a, b"}`` gives "rows: model = a, b"). Text that is
    not Latin-1 goes into iTXt chunks, which readers return alike."""
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", title)
    if labels:
        info.add_text("Description", "; ".join(f"{key}: {value}" for key, value in labels.items()))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()
