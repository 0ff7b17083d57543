"""Deterministic procedural pictures, their partial renders, and their encodings.

The same (prompt, model, size, quality, style, background, index, complexity)
always gives the same picture; different prompts give visibly different ones
(the prompt's hash picks the palette, the sun and the ridges). Detail grows
with quality (more ridges, finer ridge lines, more stars) and with
``complexity`` (low: the bare landscape; medium: clouds; high: clouds, a row
of trees on the front ridge and birds), vivid is more saturated than natural,
a transparent background leaves only a round subject, and a small mark says
the picture is emulated and by which model and quality.

Formats: PNG, JPEG and WEBP are encoded from the picture; GIF is an animation
of the picture (a balloon drifts across the sky) with the frames and the frame
duration asked for, looping; SVG is a small document of the same scene as
vector shapes, the prompt as its ``<title>``. Partial images of a GIF or SVG
request are PNG: they are previews, and the API says nothing about theirs.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import itertools
import random
import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from ..models import parse_size

__all__ = ["Render", "blurred", "bomb_png", "encode", "final_bytes", "gif_bytes", "gif_of", "label",
           "partial_bytes", "picture", "svg_bytes", "xml_text"]

# (ridges, ridge subdivisions, stars, drawing resolution) by quality: detail grows with quality.
_DETAIL = {
    "low": (2, 3, 6, 192),
    "standard": (3, 5, 16, 256),
    "medium": (3, 5, 16, 256),
    "auto": (3, 5, 16, 256),
    "hd": (5, 7, 40, 384),
    "high": (5, 7, 40, 384),
    "xhigh": (6, 8, 64, 448),
    "max": (7, 8, 96, 512),
}
_SATURATION = {"vivid": 1.6, "natural": 0.6}
# (clouds, trees, birds) by complexity; a model without the field draws none of them.
_EXTRAS = {"low": (0, 0, 0), "medium": (3, 0, 0), "high": (6, 24, 9)}
_RASTER_FORMATS = ("png", "jpeg", "webp")
_GRAIN = 0.2  # the share of noise in a photographic picture: a 1024x1024 PNG of about 2.5 MB

RGB = tuple[int, int, int]


def _colour(hue: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _seed(*parts: str) -> bytes:
    # surrogatepass: a JSON prompt may hold a lone surrogate ("\ud800"), which utf-8 refuses.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()


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


Point = tuple[float, float]


@dataclass(frozen=True)
class _Shape:
    """One filled shape in drawing coordinates: an ellipse (its box) or a polygon."""

    kind: str  # "ellipse" | "polygon"
    points: tuple[Point, ...]
    fill: RGB


@dataclass(frozen=True)
class _Scene:
    """A picture as shapes, before it is rasterized or written as SVG."""

    width: int  # the drawing resolution: at most the quality's, in the asked aspect
    height: int
    sky_top: RGB
    sky_bottom: RGB
    shapes: tuple[_Shape, ...] = field(default=())


@lru_cache(maxsize=16)
def _scene(prompt: str, model: str, size: str, quality: str, index: int,
           complexity: str | None, variation: int = 0) -> _Scene:
    parsed = parse_size(size)
    if parsed is None:
        raise ValueError(f"size {size!r} is not WIDTHxHEIGHT")
    width, height = parsed
    # A variation (Generate again) draws another picture; none keeps the one a raw request gets.
    sample = f"{index}/{variation}" if variation else str(index)
    rng = random.Random(_seed(prompt, model, size, quality, sample))
    # The prompt alone picks the palette, so one prompt looks alike across models and options.
    look = random.Random(_seed(prompt))
    hue = look.random()
    ridges, levels, stars, resolution = _DETAIL.get(quality, _DETAIL["medium"])
    scale = resolution / max(width, height)
    w, h = max(16, round(width * scale)), max(16, round(height * scale))
    shapes: list[_Shape] = []

    def disc(x: float, y: float, r: float, fill: RGB) -> None:
        shapes.append(_Shape("ellipse", ((x - r, y - r), (x + r, y + r)), fill))

    sky_top, sky_bottom = _colour(hue, 0.7, 0.35), _colour(hue + 0.08, 0.45, 0.95)
    for _ in range(stars):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h * 0.45), rng.uniform(0.4, 1.2) * w / 256
        disc(x, y, r, (255, 255, 240))
    sun_x, sun_y = look.uniform(0.15, 0.85) * w, look.uniform(0.12, 0.4) * h
    sun = _colour(hue + 0.5 + look.uniform(-0.08, 0.08), 0.55, 1.0)
    sky = [round(top + (bottom - top) * sun_y / h) for top, bottom in zip(sky_top, sky_bottom,
                                                                         strict=True)]
    for ring in range(4, 0, -1):  # a soft glow: wider rings, closer to the sky behind the sun
        glow = tuple((s * (5 - ring) + k * ring) // 5 for s, k in zip(sun, sky, strict=True))
        disc(sun_x, sun_y, w * (0.06 + 0.025 * ring), (glow[0], glow[1], glow[2]))
    disc(sun_x, sun_y, w * 0.06, sun)
    # Complexity adds its own shapes from its own generator: the landscape stays the same.
    clouds, trees, birds = _EXTRAS.get(complexity or "", (0, 0, 0))
    extra = random.Random(_seed(prompt, model, size, quality, sample, "extras"))
    for _ in range(clouds):
        x, y, r = extra.uniform(0.05, 0.95) * w, extra.uniform(0.08, 0.35) * h, w * 0.025
        for puff in range(5):
            disc(x + (puff - 2) * r * 0.9, y + (r * 0.35 if puff in (0, 4) else 0),
                 r * (0.7 if puff in (0, 4) else 1.0), (248, 248, 252))
    line: list[Point] = []
    for layer in range(ridges):
        depth = (layer + 1) / ridges  # 1 is the front ridge: lowest, darkest
        line = _ridge(rng, w, h * (0.45 + 0.4 * depth), h * 0.18 * (1.2 - depth), levels)
        shade = _colour(hue + 0.3 * look.random() - 0.15, 0.35 + 0.4 * depth, 0.85 - 0.6 * depth)
        shapes.append(_Shape("polygon", (*line, (w, h), (0, h)), shade))
    for tree in range(trees):  # dark firs along the front ridge
        x, y = line[round(tree * (len(line) - 1) / max(1, trees - 1))]
        tall = h * extra.uniform(0.04, 0.07)
        shapes.append(_Shape("polygon", ((x - tall * 0.3, y + 1), (x, y - tall),
                                         (x + tall * 0.3, y + 1)), _colour(hue + 0.3, 0.6, 0.18)))
    for _ in range(birds):  # a flock: small dark chevrons
        x, y, span = extra.uniform(0.1, 0.9) * w, extra.uniform(0.1, 0.4) * h, w * 0.014
        shapes.append(_Shape("polygon", ((x - span, y - span * 0.5), (x, y),
                                         (x + span, y - span * 0.5), (x, y - span * 0.2)),
                             (30, 30, 40)))
    return _Scene(w, h, sky_top, sky_bottom, tuple(shapes))


@lru_cache(maxsize=8)  # full-size bitmaps are large; partials and formats share these
def picture(prompt: str, model: str, size: str, quality: str, style: str | None,
            background: str | None, index: int, complexity: str | None = None,
            variation: int = 0, photographic: bool = False) -> Image.Image:
    """The final picture, RGBA when the background is transparent, else RGB.

    ``photographic`` adds grain (see :func:`_grain`), so it compresses as a
    real photo does. Callers must not change the returned image: it is cached
    and shared.
    """
    scene = _scene(prompt, model, size, quality, index, complexity, variation)
    w, h = scene.width, scene.height
    gradient = Image.linear_gradient("L").resize((w, h))  # 0 at the top, 255 at the bottom
    canvas = Image.composite(Image.new("RGB", (w, h), scene.sky_bottom),
                             Image.new("RGB", (w, h), scene.sky_top), gradient)
    draw = ImageDraw.Draw(canvas)
    for shape in scene.shapes:
        if shape.kind == "ellipse":
            draw.ellipse(shape.points, fill=shape.fill)
        else:
            draw.polygon(shape.points, fill=shape.fill)

    width, height = parse_size(size) or (w, h)
    image = canvas.resize((width, height), Image.Resampling.BICUBIC)
    image = ImageEnhance.Color(image).enhance(_SATURATION.get(style or "", 1.0))
    if photographic:
        image = _grain(image, _seed(prompt, model, size, quality, str(index), str(variation)))
    mark_box = _mark(image, _mark_text(model, quality))
    if background != "transparent":
        return image
    # The subject is a disc in the middle; around it, fully transparent pixels.
    alpha = Image.new("L", (width, height), 0)
    cut = ImageDraw.Draw(alpha)
    radius, middle_x, middle_y = min(width, height) * 0.42, width / 2, height / 2
    cut.ellipse((middle_x - radius, middle_y - radius, middle_x + radius, middle_y + radius),
                fill=255)
    cut.rectangle(mark_box, fill=255)  # the mark stays visible
    image.putalpha(alpha)
    return image


def _grain(image: Image.Image, seed: bytes) -> Image.Image:
    """``image`` with seeded noise in every channel, as film grain or sensor noise.

    The flat sky and ridges of the synthetic picture compress about 20:1 as PNG; a
    photograph from the API compresses about 1.3:1 (1024x1024 PNGs of 2 to 3 MB).
    At this strength a 1024x1024 PNG is about 2.5 MB, so what size costs is measured
    on what users get. Deterministic: the same seed gives the same grain.
    """
    noise = Image.frombytes("RGB", image.size, random.Random(seed).randbytes(image.width * image.height * 3))
    return Image.blend(image, noise, _GRAIN)


def label(image: Image.Image, model: str, quality: str) -> tuple[int, int, int, int]:
    """Write the emulator's small label (model, quality) in ``image``'s bottom-left corner.

    Returns the box it covers.
    """
    return _mark(image, _mark_text(model, quality))


def _mark_text(model: str, quality: str) -> str:
    return f"emulated · {model} · {quality}"


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
    """Everything that decides an image's bytes.

    ``frame_count`` and ``frame_duration_ms`` matter only for ``gif``;
    ``compression`` only for ``jpeg`` and ``webp``.
    """

    prompt: str
    model: str
    size: str
    quality: str
    style: str | None
    background: str | None
    index: int
    output_format: str
    compression: int
    complexity: str | None = None
    frame_count: int = 9
    frame_duration_ms: int = 200
    variation: int = 0
    photographic: bool = False

    def picture(self) -> Image.Image:
        return picture(self.prompt, self.model, self.size, self.quality, self.style,
                       self.background, self.index, self.complexity, self.variation,
                       self.photographic)


@lru_cache(maxsize=64)
def final_bytes(render: Render) -> bytes:
    """The encoded final image (cached: repeats share it)."""
    if render.output_format == "gif":
        return gif_bytes(render)
    if render.output_format == "svg":
        return svg_bytes(render)
    return encode(render.picture(), render.output_format, render.compression)


def partial_bytes(render: Render, step: int, steps: int) -> bytes:
    """Partial render ``step`` (1-based) of ``steps``: blurred blocks, sharper at every step.

    The first of three is 1/32 of the resolution, the last 1/8; smoothing up
    from the small copy is a cheap blur, so partials cost less than finals.
    A GIF or SVG request gets PNG partials: a still preview of the final.
    """
    fmt = render.output_format if render.output_format in _RASTER_FORMATS else "png"
    return encode(blurred(render.picture(), step, steps), fmt, render.compression)


def blurred(image: Image.Image, step: int, steps: int) -> Image.Image:
    """``image`` as partial ``step`` (1-based) of ``steps`` shows it: see :func:`partial_bytes`."""
    width, height = image.size
    factor = 2 ** (steps - step + 3)
    coarse = image.resize((max(1, width // factor), max(1, height // factor)), Image.Resampling.BOX)
    return coarse.resize((width, height), Image.Resampling.BILINEAR)


# -- GIF ------------------------------------------------------------------------

_BALLOON, _CLEAR = 254, 255  # palette slots kept out of the picture's colours


def gif_bytes(render: Render) -> bytes:
    """An animated GIF: the picture, with a balloon drifting across it, looping forever.

    Exactly ``frame_count`` frames of ``frame_duration_ms`` each, rounded to
    the nearest 10 ms (GIF keeps hundredths of a second). The picture is
    quantized once and every frame is a copy with the balloon drawn in a
    reserved palette slot, so frames differ only where the balloon moves and
    Pillow writes each as a small patch: fast, and small.
    A transparent background is GIF transparency (one palette slot).
    """
    return gif_of(render.picture(), render.frame_count, render.frame_duration_ms)


def gif_of(base: Image.Image, frame_count: int, frame_duration_ms: int) -> bytes:
    """``base`` as the animated GIF :func:`gif_bytes` describes."""
    width, height = base.size
    still = base.convert("RGB").quantize(colors=254, method=Image.Quantize.FASTOCTREE)
    palette = (still.getpalette() or [])[:254 * 3]
    palette += [0, 0, 0] * (254 - len(palette) // 3)
    still.putpalette([*palette, 232, 64, 48, 0, 0, 0])  # the balloon red; the clear slot
    options: dict[str, object] = {}
    if base.mode == "RGBA":
        clear = base.getchannel("A").point(lambda alpha: 255 if alpha < 128 else 0)
        still.paste(_CLEAR, mask=clear)
        options["transparency"] = _CLEAR
    count = max(1, frame_count)
    radius = max(3.0, min(width, height) * 0.035)
    frames = []
    for frame in range(count):
        # Left to right across the middle of the sky; every frame a different place.
        x = width * (0.12 + 0.76 * frame / max(1, count - 1))
        y = height * (0.5 - 0.12 * (1 - (2 * frame / max(1, count - 1) - 1) ** 2))
        image = still.copy()
        draw = ImageDraw.Draw(image)
        draw.ellipse((x - radius, y - radius * 1.2, x + radius, y + radius * 1.2), fill=_BALLOON)
        draw.line((x, y + radius * 1.2, x, y + radius * 2.2), fill=_BALLOON,
                  width=max(1, round(radius / 6)))
        frames.append(image)
    buffer = io.BytesIO()
    # GIF keeps hundredths of a second; the API rounds to the nearest 10 ms (the SDK says so).
    duration = max(10, (frame_duration_ms + 5) // 10 * 10)
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=duration,
                   loop=0, disposal=1, optimize=False, **options)
    return buffer.getvalue()


# -- SVG ------------------------------------------------------------------------

# Characters XML 1.0 forbids (and lone surrogates, which UTF-8 cannot carry): dropped from text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` safe inside an element or a double-quoted attribute."""
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


def _hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def svg_bytes(render: Render) -> bytes:
    """A small, valid SVG document of the picture's scene, the prompt as its ``<title>``.

    Nothing in it runs or fetches: no script, no event attribute, no external
    reference; the prompt and the mark are escaped text.
    """
    width, height = parse_size(render.size) or (1024, 1024)
    scene = _scene(render.prompt, render.model, render.size, render.quality, render.index,
                   render.complexity, render.variation)
    sx, sy = width / scene.width, height / scene.height

    def points(shape: _Shape) -> str:
        return " ".join(f"{x * sx:.1f},{y * sy:.1f}" for x, y in shape.points)

    body: list[str] = []
    for shape in scene.shapes:
        if shape.kind == "ellipse":
            (left, top), (right, bottom) = shape.points
            body.append(f'<ellipse cx="{(left + right) / 2 * sx:.1f}" '
                        f'cy="{(top + bottom) / 2 * sy:.1f}" rx="{(right - left) / 2 * sx:.1f}" '
                        f'ry="{(bottom - top) / 2 * sy:.1f}" fill="{_hex(shape.fill)}"/>')
        else:
            body.append(f'<polygon points="{points(shape)}" fill="{_hex(shape.fill)}"/>')
    clip = ""
    if render.background == "transparent":
        radius = min(width, height) * 0.42
        clip = ' clip-path="url(#subject)"'
        defs_clip = (f'<clipPath id="subject"><circle cx="{width / 2:g}" cy="{height / 2:g}" '
                     f'r="{radius:.1f}"/></clipPath>')
    else:
        defs_clip = ""
        body.insert(0, f'<rect width="{width}" height="{height}" fill="url(#sky)"/>')
    font = max(10, height // 48)
    document = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f"<title>{xml_text(render.prompt)}</title>"
        f'<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{_hex(scene.sky_top)}"/>'
        f'<stop offset="1" stop-color="{_hex(scene.sky_bottom)}"/></linearGradient>{defs_clip}</defs>'
        f"<g{clip}>{''.join(body)}</g>"
        f'<rect x="0" y="{height - font * 1.8:.0f}" width="{font * 24}" height="{font * 1.8:.0f}" '
        f'fill="#000"/>'
        f'<text x="{font * 0.4:.0f}" y="{height - font * 0.5:.0f}" font-family="sans-serif" '
        f'font-size="{font}" fill="#fff">{xml_text(_mark_text(render.model, render.quality))}'
        f"</text></svg>\n"
    )
    return document.encode("utf-8")


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid PNG whose header claims ``width`` x ``height``: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))
