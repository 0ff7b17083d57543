"""One cell of a comparison grid: its plan, its samples' tiles, and the box showing them."""

from __future__ import annotations

import html
import statistics
from collections.abc import Callable

import ipywidgets as widgets

from ..comparison import CellPlan, estimate
from .tile import MIN_TILE_WIDTH, ImageTile
from .widgets import close_tree

__all__ = ["GridCell"]


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
        # Wraps inside the tile's width: a long facts line must not widen the column.
        width = max(thumbnail_size, MIN_TILE_WIDTH) + 16  # a tile's
        footer = widgets.HBox([self.facts, self.rerun_button] if self.available else [self.facts],
                              layout=widgets.Layout(align_items="center", flex_flow="row wrap",
                                                    max_width=f"{width}px"))
        self.box = widgets.VBox([self.note, self.strip, footer])
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
