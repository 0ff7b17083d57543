"""Deterministic procedural pictures, their partial renders, and their encodings.

The same (prompt, model, size, quality, style, background, index) always gives
the same picture; different prompts give visibly different ones (the prompt's
hash picks the palette, the sun and the ridges). Detail grows with quality
(more ridges, finer ridge lines, more stars), vivid is more saturated than
natural, a transparent background leaves only a round subject, and a small
mark says the picture is emulated and by which model and quality.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import itertools
import random
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from ..capabilities import parse_size

__all__ = ["Render", "bomb_png", "encode", "final_bytes", "partial_bytes", "picture"]

# (ridges, ridge subdivisions, stars, drawing resolution) by quality: detail grows with quality.
_DETAIL = {
    "low": (2, 3, 6, 192),
    "standard": (3, 5, 16, 256),
    "medium": (3, 5, 16, 256),
    "auto": (3, 5, 16, 256),
    "hd": (5, 7, 40, 384),
    "high": (5, 7, 40, 384),
}
_SATURATION = {"vivid": 1.6, "natural": 0.6}

RGB = tuple[int, int, int]


def _colour(hue: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _ridge(rng: random.Random, width: int, base: float, roughness: float,
           levels: int) -> list[tuple[float, float]]:
    """A mountain line by midpoint displacement; more levels, finer detail."""
    heights = [base + rng.uniform(-roughness, roughness) for _ in range(2)]
    spread = roughness
    for _ in range(levels):
        spread /= 1.8
        refined: list[float] = []
        for left, right in itertools.pairwise(heights):
            refined += [left, (left + right) / 2 + rng.uniform(-spread, spread)]
        heights = [*refined, heights[-1]]
    step = width / (len(heights) - 1)
    return [(i * step, y) for i, y in enumerate(heights)]


@lru_cache(maxsize=8)  # full-size bitmaps are large; partials and formats share these
def picture(prompt: str, model: str, size: str, quality: str, style: str | None,
            background: str | None, index: int) -> Image.Image:
    """The final picture, RGBA when the background is transparent, else RGB.

    Callers must not change the returned image: it is cached and shared.
    """
    key = [prompt, model, size, quality, style or "", background or "", str(index)]
    rng = random.Random(hashlib.sha256("\x1f".join(key).encode()).digest())
    # The prompt alone picks the palette, so one prompt looks alike across models and options.
    look = random.Random(hashlib.sha256(prompt.encode()).digest())
    hue = look.random()
    parsed = parse_size(size)
    if parsed is None:
        raise ValueError(f"size {size!r} is not WIDTHxHEIGHT")
    width, height = parsed
    ridges, levels, stars, resolution = _DETAIL.get(quality, _DETAIL["medium"])
    scale = resolution / max(width, height)
    w, h = max(16, round(width * scale)), max(16, round(height * scale))

    sky_top, sky_bottom = _colour(hue, 0.7, 0.35), _colour(hue + 0.08, 0.45, 0.95)
    gradient = Image.linear_gradient("L").resize((w, h))  # 0 at the top, 255 at the bottom
    canvas = Image.composite(Image.new("RGB", (w, h), sky_bottom),
                             Image.new("RGB", (w, h), sky_top), gradient)
    draw = ImageDraw.Draw(canvas)
    for _ in range(stars):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h * 0.45), rng.uniform(0.4, 1.2) * w / 256
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240))
    sun_x, sun_y = look.uniform(0.15, 0.85) * w, look.uniform(0.12, 0.4) * h
    sun = _colour(hue + 0.5 + look.uniform(-0.08, 0.08), 0.55, 1.0)
    sky = [round(top + (bottom - top) * sun_y / h) for top, bottom in zip(sky_top, sky_bottom,
                                                                         strict=True)]
    for ring in range(4, 0, -1):  # a soft glow: wider rings, closer to the sky behind the sun
        radius = w * (0.06 + 0.025 * ring)
        glow = tuple((s * (5 - ring) + k * ring) // 5 for s, k in zip(sun, sky, strict=True))
        draw.ellipse((sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius), fill=glow)
    draw.ellipse((sun_x - w * 0.06, sun_y - w * 0.06, sun_x + w * 0.06, sun_y + w * 0.06), fill=sun)
    for layer in range(ridges):
        depth = (layer + 1) / ridges  # 1 is the front ridge: lowest, darkest
        line = _ridge(rng, w, h * (0.45 + 0.4 * depth), h * 0.18 * (1.2 - depth), levels)
        shade = _colour(hue + 0.3 * look.random() - 0.15, 0.35 + 0.4 * depth, 0.85 - 0.6 * depth)
        draw.polygon([*line, (w, h), (0, h)], fill=shade)

    image = canvas.resize((width, height), Image.Resampling.BICUBIC)
    image = ImageEnhance.Color(image).enhance(_SATURATION.get(style or "", 1.0))
    mark_box = _mark(image, f"emulated · {model} · {quality}")
    if background != "transparent":
        return image
    # The subject is a disc in the middle; around it, fully transparent pixels.
    alpha = Image.new("L", (width, height), 0)
    shape = ImageDraw.Draw(alpha)
    radius, middle_x, middle_y = min(width, height) * 0.42, width / 2, height / 2
    shape.ellipse((middle_x - radius, middle_y - radius, middle_x + radius, middle_y + radius),
                  fill=255)
    shape.rectangle(mark_box, fill=255)  # the mark stays visible
    image.putalpha(alpha)
    return image


def _mark(image: Image.Image, text: str) -> tuple[int, int, int, int]:
    """Write ``text`` small in the bottom-left corner; returns the box it covers."""
    height = image.height
    font = ImageFont.load_default(size=max(10, height // 48))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, height // 200)
    y = height - round(bottom - top) - 3 * pad
    box = (0, y - pad, round(right - left) + 2 * pad, height)
    draw.rectangle(box, fill=(0, 0, 0))
    draw.text((pad, y - top), text, fill=(255, 255, 255), font=font)
    return box


def encode(image: Image.Image, output_format: str, compression: int = 100) -> bytes:
    """Really encode: PNG, or JPEG/WEBP whose quality follows ``compression``."""
    buffer = io.BytesIO()
    if output_format == "png":
        image.save(buffer, "PNG", compress_level=1)  # speed over size: the picture is synthetic
    elif output_format == "jpeg":
        # JPEG has no alpha; quality above 95 only grows the file (Pillow's advice).
        image.convert("RGB").save(buffer, "JPEG", quality=max(1, min(compression, 95)))
    else:
        image.save(buffer, "WEBP", quality=max(1, compression), method=0)
    return buffer.getvalue()


@dataclass(frozen=True)
class Render:
    """Everything that decides an image's bytes."""

    prompt: str
    model: str
    size: str
    quality: str
    style: str | None
    background: str | None
    index: int
    output_format: str
    compression: int

    def picture(self) -> Image.Image:
        return picture(self.prompt, self.model, self.size, self.quality, self.style,
                       self.background, self.index)


@lru_cache(maxsize=64)
def final_bytes(render: Render) -> bytes:
    """The encoded final image (cached: repeats share it)."""
    return encode(render.picture(), render.output_format, render.compression)


def partial_bytes(render: Render, step: int, steps: int) -> bytes:
    """Partial render ``step`` (1-based) of ``steps``: blurred blocks, sharper at every step.

    The first of three is 1/32 of the resolution, the last 1/8; smoothing up
    from the small copy is a cheap blur, so partials cost less than finals.
    """
    image = render.picture()
    width, height = image.size
    factor = 2 ** (steps - step + 3)
    coarse = image.resize((max(1, width // factor), max(1, height // factor)), Image.Resampling.BOX)
    rough = coarse.resize((width, height), Image.Resampling.BILINEAR)
    return encode(rough, render.output_format, render.compression)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid PNG whose header claims ``width`` x ``height``: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))
