"""Pillow, bounded: safe decoding of untrusted image bytes, and thumbnails.

Everything here may run on a worker thread. Bytes from a server are opened
only as PNG, JPEG or WEBP, their dimensions are checked before any pixel is
decoded, and a decompression-bomb warning is an error.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from .errors import ImageDecodeError

__all__ = ["MAX_BASE64_CHARS", "MAX_PIXELS", "MAX_SIDE", "decode_base64", "inspect", "thumbnail"]

MAX_BASE64_CHARS = 64 * 1024 * 1024
"""Longest base64 text decoded (48 MiB of image): checked before decoding."""
MAX_SIDE = 16_384
MAX_PIXELS = 40_000_000
"""gpt-image-2's largest is 3840x2160 (8.3 Mpx); this leaves room and stops bombs."""

_FORMATS = ("PNG", "JPEG", "WEBP")


def decode_base64(text: str) -> bytes:
    """Decode a ``b64_json`` value, refusing oversized or malformed text."""
    if not isinstance(text, str) or not text:
        raise ImageDecodeError("the server sent no image data (b64_json is empty or not text)")
    if len(text) > MAX_BASE64_CHARS:
        raise ImageDecodeError(
            f"the image data is {len(text):,} characters of base64; the limit is {MAX_BASE64_CHARS:,}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageDecodeError("the server sent image data that is not valid base64") from None


@contextmanager
def _opened(data: bytes) -> Iterator[Image.Image]:
    """Open untrusted bytes as PNG, JPEG or WEBP with their size checked; nothing decoded yet."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
                width, height = image.size
                if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS or min(width, height) < 1:
                    raise ImageDecodeError(
                        f"the image claims {width}x{height} pixels; the limit is {MAX_SIDE} a side "
                        f"and {MAX_PIXELS:,} in all (a decompression bomb?)")
                yield image
        except ImageDecodeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageDecodeError(f"the image claims too many pixels (a decompression bomb?): "
                                   f"{error}") from None
        except UnidentifiedImageError:
            raise ImageDecodeError(
                f"the server sent {len(data):,} bytes that are not a PNG, JPEG or WEBP image") from None
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


def inspect(data: bytes) -> tuple[str, int, int]:
    """Format (``png``/``jpeg``/``webp``), width and height of untrusted bytes.

    Reads the header and checks the size limits and that the file is complete,
    without decoding pixels: results keep the encoded bytes, never a bitmap.
    Pixels are decoded only for thumbnails, by :func:`thumbnail`, under the
    same limits.

    Raises
    ------
    ImageDecodeError
        When the bytes are not a safe PNG, JPEG or WEBP image.
    """
    with _opened(data) as image:
        kind = str(image.format).lower()
        width, height = image.size
    if not _complete(kind, data):
        raise ImageDecodeError(f"the {kind} image is damaged or truncated: its end is missing")
    return kind, width, height


def thumbnail(data: bytes, longest: int = 384) -> bytes:
    """A small PNG (keeping transparency) whose longest side is at most ``longest``."""
    with _opened(data) as image:
        image.draft("RGB", (longest, longest))  # JPEG decodes at a reduced scale: much faster
        image.thumbnail((longest, longest), Image.Resampling.BILINEAR, reducing_gap=2.0)
        small = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        buffer = io.BytesIO()
        small.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
