"""An edit's picture: visibly the first image changed, where the mask or markup says.

- With a mask, pixels where the mask is opaque are the first image's, untouched
  (the emulator's small label in the bottom-left corner aside); where the mask
  is transparent (alpha 0) the region is repainted with the prompt's own
  picture (:func:`.render.picture`: its colours come from the prompt), the
  prompt written in it, and the other reference images shown inside it as
  inset thumbnails. A teacher can show what a mask does.
- With a markup, its strokes (every pixel not transparent, widened a little)
  are the region repainted: the markup guides the change.
- With neither, the whole image is tinted with the prompt's picture, the
  prompt and the insets drawn on it: visibly changed, still recognisable.

``size`` auto keeps the first image's size; an explicit size resizes the
result. Formats as for generations: PNG, JPEG, WEBP encoded; GIF the same
animation (:func:`.render.gif_of`); SVG a mosaic of the edited picture as
rectangles (no embedded bitmap, nothing external); partials blurred.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..models import parse_size
from .answers import Resolved
from .render import blurred, encode, gif_of, label, picture, xml_text
from .uploads import Inputs

__all__ = ["EditPainter", "edited"]

_TINT = 0.45  # the share of the prompt's picture in an edit without a mask
_MOSAIC = 48  # cells on the longest side of an SVG edit
_RASTER = ("png", "jpeg", "webp")


def _decorate(image: Image.Image, box: tuple[int, int, int, int], prompt: str,
              references: tuple[Image.Image, ...]) -> None:
    """Write the prompt in ``box``'s top-left corner; the references as insets along its bottom."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(9, min(height // 10, image.height // 24)))
    text = prompt if len(prompt) <= 40 else prompt[:39] + "…"
    pad = max(2, height // 40)
    x0, y0, x1, y1 = draw.textbbox((left + pad, top + pad), text, font=font)
    draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), fill=(255, 255, 255))
    draw.text((left + pad, top + pad), text, fill=(20, 20, 20), font=font)
    side = max(8, min(width, height) // 3)
    x = right - pad
    for reference in references:
        inset = reference.copy()
        inset.thumbnail((side, side))
        x -= inset.width + 2 * pad
        y = bottom - pad - inset.height
        draw.rectangle((x - 2, y - 2, x + inset.width + 1, y + inset.height + 1), fill=(255, 255, 255))
        image.paste(inset.convert(image.mode), (x, y))


def _widened(region: Image.Image) -> Image.Image:
    """A markup's strokes made a little wider, so the repainted region reads as drawn."""
    small = region.resize((max(1, region.width // 4), max(1, region.height // 4)),
                          Image.Resampling.BOX)
    grown = small.point(lambda value: 255 if value else 0).filter(ImageFilter.MaxFilter(3))
    return grown.resize(region.size, Image.Resampling.NEAREST)


def edited(inputs: Inputs, prompt: str, model: str, resolved: Resolved, index: int) -> Image.Image:
    """The edited picture: RGBA with a transparent background, else RGB; see the module."""
    base = inputs.first
    width, height = base.size
    paint = picture(prompt, model, f"{width}x{height}", resolved.quality, None, None, index,
                    resolved.complexity, resolved.variation).convert("RGBA")
    region = inputs.region
    if region is not None and inputs.guided:
        region = _widened(region)
    box = region.getbbox() if region is not None else None
    if region is None or box is None:  # no region, or an empty one: the whole image changes
        out = Image.blend(base, paint, _TINT)
        out.putalpha(base.getchannel("A"))
        _decorate(out, (0, 0, width, height), prompt, inputs.references)
    else:
        _decorate(paint, box, prompt, inputs.references)
        out = Image.composite(paint, base, region)
    size = parse_size(resolved.size) or (width, height)
    if size != out.size:
        out = out.resize(size, Image.Resampling.BICUBIC)
    if resolved.background != "transparent":
        out = out.convert("RGB")
    label(out, model, resolved.quality)
    return out


def _svg(image: Image.Image, prompt: str) -> bytes:
    """The picture as a mosaic of rectangles, the prompt as its ``<title>``."""
    width, height = image.size
    scale = _MOSAIC / max(width, height)
    cells = image.convert("RGB").resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                        Image.Resampling.BOX)
    cell_w, cell_h = width / cells.width, height / cells.height
    colours = cells.tobytes()  # RGB, row by row
    rects = [f'<rect x="{x * cell_w:.1f}" y="{y * cell_h:.1f}" width="{cell_w + 0.5:.1f}" '
             f'height="{cell_h + 0.5:.1f}" fill="#{colours[at:at + 3].hex()}"/>'
             for y in range(cells.height) for x in range(cells.width)
             for at in [3 * (y * cells.width + x)]]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{xml_text(prompt)}</title>'
            f"{''.join(rects)}</svg>\n").encode()


@dataclass
class EditPainter:
    """An edit's painter (:class:`.answers.Painter`): each image drawn once, then encoded."""

    inputs: Inputs
    resolved: Resolved
    prompt: str
    model: str
    first_index: int
    _drawn: dict[int, Image.Image] = field(default_factory=dict, repr=False)

    def picture(self, offset: int) -> Image.Image:
        if offset not in self._drawn:
            self._drawn[offset] = edited(self.inputs, self.prompt, self.model, self.resolved,
                                         self.first_index + offset)
        return self._drawn[offset]

    def final(self, offset: int) -> bytes:
        image, resolved = self.picture(offset), self.resolved
        if resolved.output_format == "gif":
            return gif_of(image, resolved.frame_count, resolved.frame_duration_ms)
        if resolved.output_format == "svg":
            return _svg(image, self.prompt)
        return encode(image, resolved.output_format, resolved.compression)

    def partial(self, offset: int, step: int, steps: int) -> bytes:
        fmt = self.resolved.output_format if self.resolved.output_format in _RASTER else "png"
        return encode(blurred(self.picture(offset), step, steps), fmt, self.resolved.compression)
