"""Thumbnails of untrusted bytes, bounded, and the one thread that makes them.

Pixels are decoded here only after :mod:`.untrusted` has checked the bytes
under the same limits as :func:`~.untrusted.inspect`.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from .untrusted import gif_walk, opened, sniff, svg_check

# Pillow is imported where it decodes, not here (see .untrusted).
if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MAX_THUMBNAIL_FRAMES", "Thumbnail", "fit", "on_thumbnail_thread", "thumbnail",
           "thumbnail_off_loop"]

T = TypeVar("T")

MAX_THUMBNAIL_FRAMES = 32
"""Most frames an animated thumbnail keeps; longer GIFs are sampled evenly, timing kept."""


class Thumbnail(NamedTuple):
    """A thumbnail's bytes and its format as ``ipywidgets.Image.format`` names it."""

    data: bytes
    format: str  # "png" | "jpeg" | "webp" | "gif" | "svg+xml"


def fit(width: int, height: int, longest: int) -> tuple[int, int]:
    """A size of the same aspect whose longest side is ``longest`` (at least 1 by 1)."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _gif_thumbnail(data: bytes, longest: int) -> bytes:
    """An animated GIF of at most :data:`MAX_THUMBNAIL_FRAMES` frames, loop and timing kept."""
    from PIL import Image
    gif_walk(data)  # Pillow composites every frame on the screen: bounded only after this
    with opened(data, ("GIF",)) as image:
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
    width, height = fit(*svg_check(data), longest)
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
    kind = sniff(data)
    if kind == "gif":
        return Thumbnail(_gif_thumbnail(data, longest), "gif")
    if kind == "svg":
        return Thumbnail(_svg_thumbnail(data, longest), "svg+xml")
    with opened(data) as image:
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


async def on_thumbnail_thread(call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` on the thumbnail thread, awaited: the event loop never waits for Pillow."""
    return await asyncio.get_running_loop().run_in_executor(_PICTURES, call, *args)


async def thumbnail_off_loop(data: bytes, longest: int = 384) -> Thumbnail:
    """:func:`thumbnail` on the thumbnail thread, so the event loop never waits for Pillow."""
    return await on_thumbnail_thread(thumbnail, data, longest)

