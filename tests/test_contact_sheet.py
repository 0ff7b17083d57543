"""Contact sheets: a grid of results as one image, legible and with nothing lost."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from PIL import Image

from imagewidgets.emulator.render import bomb_png
from imagewidgets.imaging.contact_sheet import (
    SHEET_CAPTION_FONT,
    SHEET_CAPTION_HEIGHT,
    SHEET_GAP,
    SHEET_HEADER_HEIGHT,
    SHEET_LABEL_WIDTH,
    SHEET_TITLE_HEIGHT,
    SVG_PLACEHOLDER,
    SheetCell,
    contact_sheet,
    sheet_png,
)

Box = tuple[int, int, int, int]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="9" height="9"/></svg>'
LONG = "a label that goes on and on and never seems to stop " * 4


def _png(colour: str | tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _gif(colours: Sequence[str]) -> bytes:
    frames = [Image.new("RGB", (40, 40), colour) for colour in colours]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buffer.getvalue()


class Layout:
    """Where things are on a sheet, computed from the module's constants as a user would
    measure them: the label column, then cells of ``repeats`` image slots each."""

    def __init__(self, image_size: int, repeats: int = 1, titled: bool = False) -> None:
        self.size = image_size
        self.slot = image_size + SHEET_GAP
        self.cell = repeats * self.slot
        self.row = self.slot + SHEET_CAPTION_HEIGHT
        self.top = (SHEET_TITLE_HEIGHT if titled else 0) + SHEET_HEADER_HEIGHT

    def x(self, column: int) -> int:
        return SHEET_LABEL_WIDTH + column * self.cell

    def y(self, row: int) -> int:
        return self.top + row * self.row

    def header(self, column: int) -> Box:
        return self.x(column), self.top - SHEET_HEADER_HEIGHT, self.x(column + 1), self.top

    def row_label(self, row: int) -> Box:
        return 0, self.y(row), SHEET_LABEL_WIDTH, self.y(row + 1)

    def square(self, row: int, column: int, index: int = 0) -> Box:
        """The ``image_size`` square of a cell's ``index``-th image."""
        left = self.x(column) + index * self.slot + SHEET_GAP // 2
        upper = self.y(row) + SHEET_GAP // 2
        return left, upper, left + self.size, upper + self.size

    def centre(self, row: int, column: int, index: int = 0) -> tuple[int, int]:
        left, upper, right, lower = self.square(row, column, index)
        return (left + right) // 2, (upper + lower) // 2

    def caption(self, row: int, column: int) -> Box:
        return self.x(column), self.y(row) + self.slot, self.x(column + 1), self.y(row + 1)


def _ink(sheet: Image.Image, box: Box) -> Box | None:
    """The bounding box, in sheet coordinates, of the dark pixels (text) inside ``box``."""
    dark = sheet.crop(box).convert("L").point(lambda value: 255 if value < 128 else 0)
    found = dark.getbbox()
    if found is None:
        return None
    return found[0] + box[0], found[1] + box[1], found[2] + box[0], found[3] + box[1]


EMPTY = SheetCell()


def _grid(rows: int, columns: int, cell: SheetCell = EMPTY) -> list[list[SheetCell]]:
    return [[cell] * columns for _ in range(rows)]


def _sheet(cells: list[list[SheetCell]], image_size: int = 64, **kwargs: object) -> Image.Image:
    labels: dict[str, object] = {"row_labels": [f"ROW {r}" for r in range(len(cells))],
                                 "column_labels": [f"COL {c}" for c in range(len(cells[0]))]}
    labels.update(kwargs)
    return contact_sheet(cells, image_size=image_size, **labels)  # type: ignore[arg-type]


# -- layout ------------------------------------------------------------------------------------

@pytest.mark.parametrize("titled", [True, False])
def test_the_sheet_size_follows_the_layout(titled: bool) -> None:
    cells = _grid(2, 3, SheetCell((_png("red"), _png("blue")), "caption"))
    sheet = contact_sheet(cells, title="Quality by model" if titled else "",
                          row_labels=["a", "b"], column_labels=["low", "medium", "high"],
                          image_size=128)
    layout = Layout(128, repeats=2, titled=titled)
    assert sheet.mode == "RGB"
    assert sheet.size == (SHEET_LABEL_WIDTH + 3 * 2 * (128 + SHEET_GAP), layout.y(2))


def test_every_cell_is_as_wide_as_the_fullest() -> None:
    cells = _grid(2, 2, SheetCell((_png("red"),)))
    cells[1][0] = SheetCell((_png("red"), _png("green"), _png("blue")))
    cells[0][1] = SheetCell()
    sheet = _sheet(cells)
    layout = Layout(64, repeats=3)
    assert sheet.size == (layout.x(2), layout.y(2))
    assert sheet.getpixel(layout.centre(1, 0, 2)) == (0, 0, 255)  # the third image, not cut off
    assert sheet.getpixel(layout.centre(0, 1, 2)) != (255, 255, 255)  # an empty cell's box spans it


def test_every_label_band_has_ink() -> None:
    cells = _grid(2, 3, SheetCell((_png("white"),), "gpt-image-2 · low · 1.2 s · $0.011"))
    sheet = _sheet(cells, title="Quality by model")
    layout = Layout(64, titled=True)
    assert _ink(sheet, (0, 0, sheet.width, SHEET_TITLE_HEIGHT)) is not None
    for column in range(3):
        assert _ink(sheet, layout.header(column)) is not None, f"column {column}"
        assert _ink(sheet, layout.caption(1, column)) is not None, f"caption {column}"
    for row in range(2):
        assert _ink(sheet, layout.row_label(row)) is not None, f"row {row}"
    # Nothing over the images: they were white, and stay so.
    assert _ink(sheet, layout.square(0, 0)) is None


def test_long_column_labels_stay_in_their_columns() -> None:
    sheet = _sheet(_grid(1, 3), column_labels=[LONG, "", "Unbreakable" * 20])
    layout = Layout(64)
    spread = _ink(sheet, (0, 0, sheet.width, layout.top))
    first, last = _ink(sheet, layout.header(0)), _ink(sheet, layout.header(2))
    assert first is not None and last is not None and spread is not None
    assert _ink(sheet, layout.header(1)) is None  # neither neighbour spilled into it
    assert spread[0] >= layout.x(0) and first[2] <= layout.x(1) and last[0] >= layout.x(2)


def test_long_row_labels_stay_in_their_rows_and_column() -> None:
    sheet = _sheet(_grid(3, 1, SheetCell((_png("white"),))), row_labels=[LONG * 3, "", "Unbreakable" * 40])
    layout = Layout(64)
    assert _ink(sheet, layout.row_label(1)) is None
    assert _ink(sheet, layout.row_label(0)) is not None and _ink(sheet, layout.row_label(2)) is not None
    # Nothing crossed into the cells, which are white images and empty captions.
    assert _ink(sheet, (SHEET_LABEL_WIDTH, layout.top, sheet.width, sheet.height)) is None


def _label_heights(rows: int, columns: int) -> tuple[int, int]:
    sheet = contact_sheet(_grid(rows, columns, SheetCell((_png("white"),))),
                          row_labels=["MODEL"] * rows, column_labels=["HIGH"] * columns, image_size=96)
    layout = Layout(96)
    row, column = _ink(sheet, layout.row_label(rows - 1)), _ink(sheet, layout.header(columns - 1))
    assert row is not None and column is not None
    return row[3] - row[1], column[3] - column[1]


def test_labels_stay_legible_on_a_large_grid() -> None:
    small, large = _label_heights(1, 1), _label_heights(4, 4)
    assert large == small  # the text does not shrink as the grid grows
    assert min(large) >= 11  # capitals at least as tall as a 16 px font's


# -- images ------------------------------------------------------------------------------------

def test_each_image_lands_in_its_cell() -> None:
    colours = [[(255, 0, 0), (0, 160, 0)], [(0, 0, 255), (200, 150, 0)]]
    cells = [[SheetCell((_png(colour),)) for colour in row] for row in colours]
    cells[1][1] = SheetCell((_png(colours[1][1]), _png((90, 0, 90))))
    sheet = _sheet(cells)
    layout = Layout(64, repeats=2)
    for row in range(2):
        for column in range(2):
            assert sheet.getpixel(layout.centre(row, column)) == colours[row][column], (row, column)
    assert sheet.getpixel(layout.centre(1, 1, 1)) == (90, 0, 90)
    assert sheet.getpixel(layout.centre(0, 0, 1)) == (255, 255, 255)  # a lone image leaves the rest


def test_an_image_is_fitted_centred_with_its_aspect_kept() -> None:
    sheet = _sheet([[SheetCell((_png("red", (200, 100)),)), SheetCell((_png("blue", (16, 16)),)),
                     SheetCell((_png((0, 160, 0), (50, 100)),))]], image_size=128)
    layout = Layout(128)
    left, upper, right, lower = layout.square(0, 0)
    assert sheet.getpixel(layout.centre(0, 0)) == (255, 0, 0)
    assert sheet.getpixel((left + 1, (upper + lower) // 2)) == (255, 0, 0)  # full width
    assert sheet.getpixel((right - 2, (upper + lower) // 2)) == (255, 0, 0)
    assert sheet.getpixel(((left + right) // 2, upper + 10)) == (255, 255, 255)  # half height, centred
    assert sheet.getpixel(((left + right) // 2, lower - 10)) == (255, 255, 255)
    left, upper, _, _ = layout.square(0, 1)
    assert sheet.getpixel((left + 2, upper + 2)) == (0, 0, 255)  # a small image is enlarged
    left, upper, right, lower = layout.square(0, 2)
    assert sheet.getpixel(layout.centre(0, 2)) == (0, 160, 0)
    assert sheet.getpixel((left + 10, (upper + lower) // 2)) == (255, 255, 255)  # half width, centred
    assert sheet.getpixel((right - 10, (upper + lower) // 2)) == (255, 255, 255)


def test_a_transparent_image_shows_white_behind_it() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (255, 0, 0, 0)).save(buffer, "PNG")
    sheet = _sheet([[SheetCell((buffer.getvalue(),))]])
    assert sheet.getpixel(Layout(64).centre(0, 0)) == (255, 255, 255)


def test_a_gif_shows_its_first_frame() -> None:
    sheet = _sheet([[SheetCell((_gif(["red", "blue", "green"]),))]])
    assert sheet.getpixel(Layout(64).centre(0, 0)) == (255, 0, 0)


def _placeholder(sheet: Image.Image, box: Box) -> Image.Image:
    left, upper, _, _ = box
    corner = sheet.getpixel((left + 3, upper + 3))
    assert isinstance(corner, tuple) and corner != (255, 255, 255) and min(corner) > 200  # light grey
    assert _ink(sheet, box) is not None  # labelled
    return sheet.crop(box)


@pytest.mark.parametrize("bad", [b"junk", _png("red")[:-30], bomb_png(), b"", b"<html></html>"],
                         ids=["junk", "truncated", "bomb", "empty", "not-svg"])
def test_svg_and_unreadable_bytes_give_placeholders(bad: bytes) -> None:
    cells = [[SheetCell((SVG, bad, _png("red")), "svg, bad, red")]]
    sheet = _sheet(cells)
    layout = Layout(64, repeats=3)
    svg, unreadable = (_placeholder(sheet, layout.square(0, 0, index)) for index in (0, 1))
    assert svg.tobytes() != unreadable.tobytes()  # each says what it stands for
    assert sheet.getpixel(layout.centre(0, 0, 2)) == (255, 0, 0)  # the good image is kept


def test_an_svg_square_says_to_open_the_file() -> None:
    """Nothing here draws SVG: its square says so, across most of its width, not a bare "SVG"."""
    sheet = _sheet([[SheetCell((SVG,), "svg")]], image_size=256)
    square = _placeholder(sheet, Layout(256).square(0, 0))
    ink = square.convert("L").point(lambda value: 255 if value < 150 else 0).getbbox()
    assert ink is not None and ink[2] - ink[0] > 128
    assert SVG_PLACEHOLDER == "SVG: open the file"


def test_an_empty_cell_shows_its_note_in_a_grey_box() -> None:
    cells = [[SheetCell(note="not available: dall-e-2 does not take style " * 20, caption="dall-e-2"),
              SheetCell((_png("white"),)), SheetCell()]]
    sheet = _sheet(cells, image_size=96)
    layout = Layout(96)
    note = _ink(sheet, layout.square(0, 0))
    assert note is not None
    left, upper, _, lower = layout.square(0, 0)
    box = (left, upper, layout.x(1) - SHEET_GAP // 2, lower)
    _placeholder(sheet, box)
    assert _ink(sheet, (layout.x(0), layout.y(0), layout.x(1), layout.y(0) + layout.slot)) == note
    assert _ink(sheet, layout.square(0, 1)) is None  # the long note stayed in its box
    assert _ink(sheet, layout.caption(0, 0)) is not None
    assert _ink(sheet, layout.square(0, 2)) is None  # no note: an empty box
    assert sheet.getpixel(layout.centre(0, 2)) != (255, 255, 255)


def test_a_long_caption_is_cut_to_two_lines_in_its_cell() -> None:
    cells = [[SheetCell((_png("white"),), LONG * 3), SheetCell((_png("white"),))]] * 2
    sheet = _sheet(cells, image_size=96)
    layout = Layout(96)
    caption = _ink(sheet, layout.caption(0, 0))
    assert caption is not None
    assert caption[3] - caption[1] < 2.5 * SHEET_CAPTION_FONT  # two lines, not three
    assert _ink(sheet, layout.caption(0, 1)) is None and _ink(sheet, layout.square(1, 0)) is None


# -- checks and the PNG --------------------------------------------------------------------------

def test_mismatched_labels_name_the_counts() -> None:
    cells = _grid(2, 3)
    with pytest.raises(ValueError, match="2 rows of cells but 3 row labels"):
        contact_sheet(cells, row_labels=["a", "b", "c"], column_labels=["x", "y", "z"])
    with pytest.raises(ValueError, match="row 0 has 3 cells but there are 2 column labels"):
        contact_sheet(cells, row_labels=["a", "b"], column_labels=["x", "y"])


def test_an_oversized_sheet_is_refused_before_drawing() -> None:
    with pytest.raises(ValueError, match="out of range"):
        contact_sheet(_grid(1, 100), row_labels=["a"], column_labels=["x"] * 100, image_size=1024)


def test_sheet_png_round_trips_with_its_text() -> None:
    sheet = _sheet(_grid(1, 2, SheetCell((_png("red"),))), title="Quality — by model")
    data = sheet_png(sheet, title="Quality — by model",
                     labels={"rows": "model = a", "columns": "quality = low, high"})
    with Image.open(io.BytesIO(sheet_png(sheet, title="plain"))) as back:
        assert back.text == {"Title": "plain"}  # type: ignore[attr-defined]  # no labels, no Description
    with Image.open(io.BytesIO(data)) as back:
        assert back.format == "PNG" and back.size == sheet.size
        text = back.text  # type: ignore[attr-defined]
        assert text["Title"] == "Quality — by model"  # not Latin-1: kept, as iTXt
        assert text["Description"] == "rows: model = a; columns: quality = low, high"
        assert back.convert("RGB").tobytes() == sheet.tobytes()
