"""A comparison grid as one labelled picture: drawn, downloaded, or written to a file."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..comparison import Axis
from ..errors import ParamsError
from ..files import write_new
from ..imaging import MAX_PIXELS, MAX_SIDE, SHEET_GAP, SHEET_LABEL_WIDTH, SheetFile, contact_sheet, sheet_png
from ..storage import download_name

if TYPE_CHECKING:
    from PIL import Image

    from ..params import ImageParams
    from ..storage import ImageStore
    from .cell import GridCell

__all__ = ["grid_sheet", "save_sheet", "sheet_file"]


class CompareGrid(Protocol):
    """What a sheet reads of a :class:`~imagewidgets.ui.compare.CompareGrid` (which imports this)."""

    rows: Axis
    columns: Axis
    cells: list[GridCell]
    repeats: int
    title: str
    base: ImageParams
    store: ImageStore | None

    def contact_sheet(self, image_size: int = 256) -> Image.Image: ...


def grid_sheet(grid: CompareGrid, image_size: int) -> Image.Image:
    """``grid`` as one picture, its images made smaller when it is too wide for ``image_size``."""
    width = len(grid.columns.values)
    sheet_cells = [[grid.cells[r * width + c].sheet_cell() for c in range(width)]
                   for r in range(len(grid.rows.values))]
    per_row = width * max(grid.repeats, 1)
    fits = (MAX_SIDE - SHEET_LABEL_WIDTH) // per_row - SHEET_GAP
    # Height grows with the rows too: keep the area under the limit as well.
    by_area = int((MAX_PIXELS / (per_row * max(len(grid.rows.values), 1) * 1.6)) ** 0.5)
    image_size = max(16, min(image_size, fits, by_area))
    title = grid.title
    if "model" not in (grid.rows.field, grid.columns.field):
        title += f" · {grid.base.model}"  # the same in every cell: said once
    return contact_sheet(sheet_cells, title=title,
                         corner=f"rows: {grid.rows.field} · columns: {grid.columns.field}",
                         row_labels=[grid.rows.label(value) for value in grid.rows.values],
                         column_labels=[grid.columns.label(value) for value in grid.columns.values],
                         image_size=image_size)


def sheet_file(grid: CompareGrid, image_size: int = 256) -> tuple[bytes, str, str] | None:
    """The sheet as PNG bytes saying what they compare, its file name and type; None before any image."""
    if not any(tile.status == "done" for cell in grid.cells for tile in cell.tiles):
        return None
    sheet = grid.contact_sheet(image_size)
    labels = {"rows": f"{grid.rows.field} = " + ", ".join(map(str, grid.rows.values)),
              "columns": f"{grid.columns.field} = " + ", ".join(map(str, grid.columns.values))}
    name = download_name(grid.title, "contact-sheet", time.time(), "png")
    return sheet_png(sheet, title=grid.title, labels=labels), name, "image/png"


def save_sheet(grid: CompareGrid, path: str | os.PathLike[str] | None, image_size: int) -> SheetFile:
    """Write the sheet to ``path`` (default: a new name in the grid's store folder)."""
    made = sheet_file(grid, image_size)
    if made is None:
        raise ParamsError(["the contact sheet has no image yet; run the grid first"])
    data, name, _mime = made
    if path is None:
        if grid.store is None:
            raise ParamsError(["store=None keeps no file: pass path='sheet.png' to write the sheet"])
        path = write_new(grid.store.folder / name, data)
    else:
        path = Path(path)
        path.write_bytes(data)
    return SheetFile(path, title=grid.title)
