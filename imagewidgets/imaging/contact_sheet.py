"""Contact sheets: a grid of results drawn as one PNG, labelled, for a comparison."""

from __future__ import annotations

import html
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ImageDecodeError
from .thumbnails import fit
from .untrusted import MAX_PIXELS, MAX_SIDE, RASTER, inspect, opened

# Pillow is imported where it draws, not here (see .untrusted).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "SHEET_CAPTION_FONT",
    "SHEET_CAPTION_HEIGHT",
    "SHEET_GAP",
    "SHEET_HEADER_HEIGHT",
    "SHEET_LABEL_FONT",
    "SHEET_LABEL_WIDTH",
    "SHEET_SHOWN_WIDTH",
    "SHEET_TITLE_FONT",
    "SHEET_TITLE_HEIGHT",
    "SVG_PLACEHOLDER",
    "SheetCell",
    "SheetFile",
    "contact_sheet",
    "sheet_png",
]

# The layout in pixels. Text sizes are fixed, so labels stay legible however large the grid.
SHEET_GAP = 8  # between image squares, half of it at a cell's sides; the margin around text
SHEET_LABEL_WIDTH = 180  # the row-label column on the left
SHEET_TITLE_HEIGHT = 44  # the title band; none when the title is empty
SHEET_HEADER_HEIGHT = 60  # the column-label band: two lines of label
SHEET_CAPTION_HEIGHT = 44  # under a cell's images: two lines of caption
SHEET_TITLE_FONT, SHEET_LABEL_FONT, SHEET_CAPTION_FONT = 22, 18, 13
_INK, _FAINT, _BOX, _RULE = "#222222", "#555555", "#eeeeee", "#dddddd"
SVG_PLACEHOLDER = "SVG: open the file"
"""What an SVG's square says: a sheet is a PNG, and nothing here draws SVG."""


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
            # No SVG rasteriser is a dependency (cairosvg needs the Cairo C library): say where
            # the picture is rather than leave a blank square.
            return SVG_PLACEHOLDER
        with opened(data, ("GIF",) if kind == "gif" else RASTER) as image:
            image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale
            # Only the first frame of a GIF is decoded; small images are enlarged to fit too.
            return image.convert("RGBA").resize(fit(*image.size, size), Image.Resampling.BILINEAR,
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
                    lines = len(_wrap(picture, SHEET_LABEL_FONT, image_size - SHEET_GAP, 3))
                    _text(draw, left + half, upper + (image_size - lines * _line(SHEET_LABEL_FONT)) // 2,
                          picture, SHEET_LABEL_FONT, image_size - SHEET_GAP, 3, centre=True, fill=_FAINT)
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


SHEET_SHOWN_WIDTH = 640
"""Pixels a saved sheet is drawn wide in a notebook (at most the cell's width)."""


@dataclass(frozen=True)
class SheetFile:
    """A contact sheet written to a file: a notebook shows it by its path, never its bytes.

    A PNG as a cell's value would be saved inside the notebook (228 KB for a 2 × 3
    grid of two samples); a path costs a line, as the grids' saved record does.
    """

    path: Path
    title: str = ""

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def relative(self) -> str:
        """The path as the notebook names it: relative to the kernel's folder, the notebook's."""
        try:
            return Path(os.path.relpath(self.path, Path.cwd())).as_posix()
        except ValueError:  # another drive on Windows: only the absolute path names it
            return self.path.as_posix()

    def _repr_html_(self) -> str:
        where = html.escape(self.relative)
        return (f'<div><code>{where}</code><br><img src="{where}" '
                f'alt="contact sheet: {html.escape(self.title)}" width="{SHEET_SHOWN_WIDTH}" '
                'style="max-width:100%;height:auto"></div>')

    def __repr__(self) -> str:
        return f"SheetFile({self.relative!r})"
