"""Deterministic procedural pictures, their partial renders, and their encodings.

The same (prompt, model, size, quality, style, background, index) always gives
the same picture; different prompts give visibly different ones. Detail grows
with quality, vivid is more saturated than natural, and a small mark says the
picture is emulated.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

__all__ = ["Render", "bomb_png", "encode", "final_bytes", "partial_bytes", "picture"]

# How many shapes a picture gets, by quality: detail grows with quality.
_DETAIL = {"low": 8, "standard": 24, "medium": 24, "auto": 24, "hd": 60, "high": 60}
_BASE = 256  # drawn at this longest side, then scaled: fast at any size


def _parse(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


@lru_cache(maxsize=32)
def picture(prompt: str, model: str, size: str, quality: str, style: str | None,
            background: str | None, index: int) -> Image.Image:
    """The final picture, RGBA when the background is transparent, else RGB."""
    seed = hashlib.sha256("\x1f".join(
        [prompt, model, size, quality, style or "", background or "", str(index)]).encode()).digest()
    rng = random.Random(seed)
    width, height = _parse(size)
    scale = _BASE / max(width, height)
    small = (max(8, round(width * scale)), max(8, round(height * scale)))
    transparent = background == "transparent"

    # The prompt alone picks the palette, so one prompt looks alike across models.
    palette_rng = random.Random(hashlib.sha256(prompt.encode()).digest())
    top, bottom = (tuple(palette_rng.randrange(256) for _ in range(3)) for _ in range(2))
    canvas = Image.new("RGBA", small, (0, 0, 0, 0))
    if not transparent:
        gradient = Image.linear_gradient("L").resize(small)
        canvas = Image.composite(Image.new("RGBA", small, (*bottom, 255)),
                                 Image.new("RGBA", small, (*top, 255)), gradient)
    draw = ImageDraw.Draw(canvas)
    for _ in range(_DETAIL.get(quality, 24)):
        x0, y0 = rng.randrange(small[0]), rng.randrange(small[1])
        extent = rng.randrange(small[0] // 24 + 2, small[0] // 6 + 3)
        box = (x0 - extent, y0 - extent, x0 + extent, y0 + extent)
        colour = (*(palette_rng.randrange(256) ^ rng.randrange(96) for _ in range(3)), 255)
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(x0, y0 - extent), (x0 + extent, y0 + extent), (x0 - extent, y0 + extent)],
                         fill=colour)
    image = canvas.resize((width, height), Image.Resampling.BICUBIC)
    rgb, alpha = image.convert("RGB"), image.getchannel("A")
    rgb = ImageEnhance.Color(rgb).enhance(1.7 if style == "vivid" else 0.7 if style == "natural" else 1.0)
    _mark(rgb, f"emulated · {model} · {quality}", height)
    if transparent:
        rgb.putalpha(alpha)
    return rgb


def _mark(image: Image.Image, text: str, height: int) -> None:
    font = ImageFont.load_default(size=max(10, height // 48))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, height // 200)
    y = height - (bottom - top) - 3 * pad
    draw.rectangle((0, y - pad, right - left + 2 * pad, height), fill=(0, 0, 0))
    draw.text((pad, y - top), text, fill=(255, 255, 255), font=font)


def encode(image: Image.Image, output_format: str, compression: int = 100) -> bytes:
    """Really encode: PNG, or JPEG/WEBP whose quality follows ``compression``."""
    buffer = io.BytesIO()
    if output_format == "png":
        image.save(buffer, "PNG", compress_level=1)  # speed over size: it is synthetic
    elif output_format == "jpeg":
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
    """The encoded final image (cached: partials and repeats share it)."""
    return encode(render.picture(), render.output_format, render.compression)


def partial_bytes(render: Render, step: int, steps: int) -> bytes:
    """Partial render ``step`` of ``steps``: coarse blocks, sharper at every step."""
    output_format, compression = render.output_format, render.compression
    image = render.picture()
    width, height = image.size
    factor = 2 ** (steps - step + 2)  # 1 of 3: 1/32 of the resolution; 3 of 3: 1/8
    coarse = image.resize((max(1, width // factor), max(1, height // factor)),
                          Image.Resampling.BOX)
    rough = coarse.resize((width, height), Image.Resampling.NEAREST)
    rough = rough.filter(ImageFilter.GaussianBlur(radius=factor / 4))
    return encode(rough, output_format, compression)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid PNG whose header claims ``width`` x ``height``: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
