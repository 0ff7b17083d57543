"""The grid of tiles: one row per Generate, newest on top."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets

from .tile import ImageTile
from .widgets import close_tree

__all__ = ["ImageGrid"]


class ImageGrid(widgets.VBox):
    """Rows of :class:`ImageTile`, newest first.

    Rows are added by reassigning ``children`` as a tuple (never mutated in
    place: that would not notify the front end).
    """

    def __init__(self) -> None:
        super().__init__([])
        self.add_class("iw-grid")
        self._rows: list[tuple[widgets.VBox, list[ImageTile]]] = []

    def add_row(self, tiles: Sequence[ImageTile], title: str = "") -> widgets.VBox:
        """Put a new row of ``tiles`` on top; ``title`` is escaped."""
        heading = widgets.HTML(f'<div class="iw-row-title">{html.escape(title)}</div>')
        strip = widgets.HBox(list(tiles), layout=widgets.Layout(flex_flow="row wrap"))
        row = widgets.VBox([heading, strip])
        row.add_class("iw-row")
        self._rows.insert(0, (row, list(tiles)))
        self.children = tuple(shown for shown, _tiles in self._rows)
        return row

    @property
    def tiles(self) -> list[ImageTile]:
        """Every tile, newest row first, left to right within a row."""
        return [tile for _row, tiles in self._rows for tile in tiles]

    def clear(self) -> None:
        """Remove and close every row."""
        rows, self._rows = self._rows, []
        self.children = ()
        for row, _tiles in rows:
            close_tree(row)

    def close(self) -> None:
        self.clear()
        close_tree(self)
