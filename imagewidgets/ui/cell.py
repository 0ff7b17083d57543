"""One cell of a comparison grid: its plan, its samples' tiles, and the box showing them."""

from __future__ import annotations

import html
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..comparison import Axis, CellPlan, estimate
from ..imaging import SheetCell
from .compare_bar import GRID_THUMBNAILS
from .tile import MIN_TILE_WIDTH, ImageTile
from .widgets import close_tree

__all__ = ["MIN_COLUMN", "GridCell", "grid_table"]

MIN_COLUMN = GRID_THUMBNAILS[0] + 24
"""Narrowest column of a grid, in pixels: the slider's smallest thumbnail in its tile (padding,
border and margins)."""


class GridCell:
    """One cell of a :class:`CompareGrid`: its settings, its samples, and the box showing them.

    Attributes
    ----------
    row, column : Any
        The cell's row and column values.
    params : ImageParams
        What the cell sends (after any adaptation): ``panel.params.update(cell.params.to_dict())``
        puts it into a panel.
    notes : tuple of str
        Values mapped to the nearest one the model takes.
    reason : str or None
        Why the cell sends nothing; None when it runs.
    tiles : list of ImageTile
        Its samples, once run.
    """

    def __init__(self, plan: CellPlan, index: int, on_rerun: Callable[[int], None],
                 thumbnail_size: int = 224) -> None:
        self.row, self.column, self.params = plan.row, plan.column, plan.params
        self.notes, self.reason = plan.notes, plan.reason
        self.index = index
        self.tiles: list[ImageTile] = []
        self.ran = False
        self.runs = 0  # each run asks the emulator for new samples
        self.estimate = estimate(plan.params) if plan.available else None
        note_lines = [f"adapted: {note}" for note in self.notes]
        if self.reason is not None:
            note_lines.append(f"not available: {self.reason}")
        self.note = widgets.HTML("<br>".join(html.escape(line) for line in note_lines))
        self.note.add_class("iw-cell-note")
        self.strip = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.facts = widgets.HTML("")
        self.facts.add_class("iw-cell-facts")
        self.rerun_button = widgets.Button(description="Rerun", icon="refresh",
                                           tooltip=f"Run this cell again ({self.title})",
                                           layout=widgets.Layout(width="auto"))
        self.rerun_button.add_class("iw-rerun")
        self.rerun_button.on_click(lambda _button: on_rerun(self.index))
        self.footer = widgets.HBox([self.facts, self.rerun_button] if self.available else [self.facts],
                                   layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        self.fit(thumbnail_size)
        self.box = widgets.VBox([self.note, self.strip, self.footer])
        self.box.add_class("iw-cell")
        self.box.add_class("iw-cell-available" if self.available else "iw-cell-unavailable")
        self.refresh()

    @property
    def available(self) -> bool:
        """Whether the cell sends requests."""
        return self.reason is None

    @property
    def title(self) -> str:
        return f"{self.row} × {self.column}"

    @property
    def status(self) -> str:
        """``not available``, ``not run``, ``running``, ``done``, ``failed`` or ``cancelled``."""
        if not self.available:
            return "not available"
        statuses = {tile.status for tile in self.tiles}
        if not self.ran or not statuses:
            return "not run"
        if statuses & {"queued", "running", "partial"}:
            return "running"
        for status in ("failed", "cancelled"):
            if status in statuses:
                return status
        return "done"

    @property
    def seconds(self) -> float | None:
        """Mean seconds per finished sample; None before any finished."""
        times = [tile.elapsed for tile in self.tiles if tile.status == "done" and tile.elapsed]
        return statistics.mean(times) if times else None

    @property
    def tokens(self) -> int | None:
        """Tokens of its finished samples, as the server reported them; None if not reported."""
        counts = [tile.tokens for tile in self.tiles if tile.tokens is not None]
        return sum(counts) if counts else None

    @property
    def cost(self) -> float | None:
        """Dollars of its finished samples; None when none finished or the price is unknown."""
        costs = [tile.cost for tile in self.tiles if tile.status == "done"]
        return None if not costs or None in costs else sum(c for c in costs if c is not None)

    def caption(self) -> str:
        """One line of facts: time, tokens, cost, or what happened instead."""
        if not self.available:
            return f"not available: {self.reason}"
        status = self.status
        if status == "not run":
            return ("not run yet" if self.estimate is None
                    else f"not run yet · estimated ${self.estimate:.3f} each")
        facts = [status]
        if self.seconds is not None:
            facts.append(f"{self.seconds:.1f} s")
        if self.tokens is not None:
            facts.append(f"{self.tokens:,} tokens")
        if self.cost is not None:
            facts.append(f"${self.cost:.3f}")
        errors = [tile.error for tile in self.tiles if tile.error is not None]
        if errors:
            facts.append(type(errors[0]).__name__)
        return " · ".join(facts)

    def fit(self, thumbnail_size: int) -> None:
        """Wrap the facts inside one sample's width: a long facts line must not widen the column."""
        self.footer.layout.max_width = f"{max(thumbnail_size, MIN_TILE_WIDTH) + 16}px"  # a tile's

    def summary(self) -> dict[str, Any]:
        """The cell as a row of ``CompareGrid.summary()`` (``fastest`` and ``cheapest`` left False)."""
        errors = [tile.error for tile in self.tiles if tile.error is not None]
        return {"row": self.row, "column": self.column, "model": self.params.model,
                "status": self.status, "images": sum(tile.status == "done" for tile in self.tiles),
                "failed": len(errors), "seconds": self.seconds, "tokens": self.tokens,
                "cost": self.cost, "estimate": self.estimate, "notes": list(self.notes),
                "reason": self.reason,
                "error": f"{type(errors[0]).__name__}: {errors[0]}" if errors else None,
                "fastest": False, "cheapest": False}

    def sheet_cell(self) -> SheetCell:
        """The cell on a contact sheet: its images, its figures and what was adapted."""
        # Each saved image read back from its file once (tile.result reads it on every access).
        results = (tile.result for tile in self.tiles if tile.status == "done")
        images = tuple(image.data for image in results if image is not None)
        # Its row and column name the cell: the caption holds the figures, then what was adapted.
        caption = self.caption().removeprefix("done · ") if self.available else ""
        if self.notes:
            caption += " · adapted: " + "; ".join(self.notes)
        note = "" if images else self.caption()
        return SheetCell(images=images, caption=caption, note=note)

    def refresh(self) -> None:
        # One finished sample's tile caption already says all of it: don't say it twice.
        alone_done = len(self.tiles) == 1 and self.status == "done"
        self.facts.value = "" if alone_done else html.escape(self.caption())
        self.rerun_button.disabled = self.status == "running"

    def close(self) -> None:
        """Close its widgets, the Rerun button of an unavailable cell (never shown) too."""
        close_tree(self.box)
        close_tree(self.rerun_button)

    def __repr__(self) -> str:
        return f"GridCell(row={self.row!r}, column={self.column!r}, status={self.status!r})"


def grid_table(rows: Axis, columns: Axis, cells: Sequence[GridCell]) -> widgets.GridBox:
    """The grid's table: a corner, the column headers, then each row's header and cells."""
    corner = widgets.HTML(f'<div class="iw-corner">{html.escape(rows.field)} ↓<br>'
                          f'{html.escape(columns.field)} →</div>')
    children: list[widgets.Widget] = [corner]
    for value in columns.values:
        header = widgets.HTML(f'<div class="iw-col-header">{html.escape(columns.label(value))}</div>')
        header.add_class("iw-col-header-box")
        children.append(header)
    width = len(columns.values)
    for r, value in enumerate(rows.values):
        header = widgets.HTML(f'<div class="iw-row-header">{html.escape(rows.label(value))}</div>')
        header.add_class("iw-row-header-box")
        children.append(header)
        children.extend(cell.box for cell in cells[r * width:(r + 1) * width])
    # Columns share the notebook's width: a cell's samples wrap under each other, and shrink
    # to the column (compare.css). A column is never narrower than the smallest thumbnail in
    # its tile (MIN_COLUMN): only a grid whose columns don't fit at that width scrolls.
    table = widgets.GridBox(children, layout=widgets.Layout(
        grid_template_columns=f"fit-content(12em) repeat({width}, minmax({MIN_COLUMN}px, 1fr))",
        grid_gap="6px", align_items="flex-start", overflow="auto"))
    table.add_class("iw-compare-table")
    return table
