"""Small images for the imaging and storage tests: of every format, and hostile ones."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from PIL import Image


def _teal_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _teal_png()
"""An 8x8 teal PNG: the image in the wire tests' answers and events."""
B64 = base64.b64encode(PNG).decode()

SVG = ('\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n'
       '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" viewBox="0 0 64 48">'
       '<rect width="64" height="48" fill="#0a78c8"/></svg>\n').encode()


def picture(mode: str, size: tuple[int, int] = (64, 48), shift: int = 0) -> Image.Image:
    image = Image.new(mode, size, (10, 120, 200, 128)[: len(mode)] if mode != "P" else 3)
    dot = (255, 0, 0, 0)[: len(mode)] if mode != "P" else 9
    for x in range(0, size[0], 7):  # some detail, so pixels can differ
        image.putpixel(((x + shift) % size[0], x % size[1]), dot)
    return image


def encoded(fmt: str, mode: str = "RGB", **options: Any) -> bytes:
    buffer = io.BytesIO()
    picture(mode).save(buffer, fmt, **options)
    return buffer.getvalue()


def animated(fmt: str, frames: int = 4, **options: Any) -> bytes:
    images = [picture("RGB", shift=index) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=True, append_images=images[1:], duration=100, loop=0, **options)
    return buffer.getvalue()


SAMPLES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "png-rgba": ("png", lambda: encoded("PNG", "RGBA")),
    "jpeg": ("jpeg", lambda: encoded("JPEG")),
    "jpeg-no-jfif": ("jpeg", lambda: encoded("JPEG")[:2] + encoded("JPEG")[20:]),  # APP0 cut out
    "webp-lossless-rgba": ("webp", lambda: encoded("WEBP", "RGBA", lossless=True)),
    "webp-lossless-rgb": ("webp", lambda: encoded("WEBP", lossless=True)),
    "webp-lossy": ("webp", lambda: encoded("WEBP")),
    "webp-lossy-rgba": ("webp", lambda: encoded("WEBP", "RGBA")),  # already extended: VP8X, ALPH
    "webp-animated": ("webp", lambda: animated("WEBP", lossless=True)),
    "gif-animated": ("gif", lambda: animated("GIF")),
    "gif-still": ("gif", lambda: encoded("GIF", "P")),
    "svg": ("svg", lambda: SVG),
}


# -- for the imaging tests: solid pictures, GIFs made by Pillow or by hand, hostile SVGs -----------

def solid(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    """An image of one colour (half transparent where there is alpha), encoded as ``fmt``."""
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128)[: len(mode)]).save(buffer, fmt)
    return buffer.getvalue()


def filled_png(size: tuple[int, int], colour: tuple[int, ...]) -> bytes:
    """A PNG of one colour: RGB for three values, RGBA for four (alpha 0: a mask's "edit here")."""
    buffer = io.BytesIO()
    Image.new("RGBA" if len(colour) == 4 else "RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def animated_gif(frames: int = 6, size: tuple[int, int] = (320, 200), loop: int | None = 0,
                 duration: int = 80) -> bytes:
    """A real animated GIF, made by Pillow: every frame a different colour."""
    pictures = [Image.new("RGB", size, (40 * index % 256, 120, 255 - 30 * index % 256))
                for index in range(frames)]
    buffer = io.BytesIO()
    extra = {} if loop is None else {"loop": loop}
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=duration,
                     **extra)
    return buffer.getvalue()


def handmade_gif(frames: int, screen: tuple[int, int] = (1, 1),
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


HOSTILE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" onload="alert(1)">'
               b'<script>alert(document.cookie)</script>'
               b'<image href="http://example.invalid/x.png" width="10" height="10"/></svg>')
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
          + b"".join(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">\n'.replace("&lol0;", "&lol;")
                     .encode() for level in range(1, 10))
          + b']>\n<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>')


