"""The grid of tiles: one row per Generate, newest on top, each row folded or dismissed at will.

A row's tiles are laid out by the browser's CSS grid (as many columns of at least a tile's
width as fit, sharing what is left), never by the kernel; tiles far off screen are not laid
out or painted (``content-visibility: auto`` in ``ui/css/tile.css``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from .tile import MIN_TILE_WIDTH, ImageTile
from .widgets import close_tree, plain, shared_layout, shared_style

__all__ = ["ImageGrid"]


class ImageGrid(widgets.VBox):
    """Rows of :class:`ImageTile`, newest first.

    Each row has a title, a button that folds it (the tiles stay, hidden) and
    one that dismisses it (its tiles are closed; the files they saved stay).
    Rows are added by reassigning ``children`` as a tuple (never mutated in
    place: that would not notify the front end). ``children`` holds them oldest
    first, each new row appended, and the browser shows them in reverse: a Box's
    views are kept only up to the first child that changed, so a row put first
    would draw every older row's tiles again (2,100 tile views for 200 tiles).

    Parameters
    ----------
    on_dismiss : callable, optional
        Called with a row's tiles before they are closed: the panel cancels
        the ones still running.
    """

    def __init__(self, on_dismiss: Callable[[list[ImageTile]], None] | None = None) -> None:
        super().__init__([], **plain(widgets.VBox))  # shown reversed by .iw-grid (widgets.css)
        self.add_class("iw-grid")
        self.on_dismiss = on_dismiss
        self._rows: list[tuple[widgets.VBox, list[ImageTile]]] = []
        self._strips: list[widgets.Box] = []
        self.tile_width = MIN_TILE_WIDTH + 16  # a row's column: at least this many pixels

    def _columns(self) -> str:
        return f"repeat(auto-fill, minmax({self.tile_width}px, 1fr))"

    def fit(self, tile_width: int) -> None:
        """Lay every row out in columns of at least ``tile_width`` pixels (thumbnails resized)."""
        self.tile_width = tile_width
        for strip in self._strips:
            strip.layout.grid_template_columns = self._columns()

    def add_row(self, tiles: Sequence[ImageTile], title: str = "") -> widgets.VBox:
        """Put a new row of ``tiles`` on top; ``title`` is escaped."""
        heading = widgets.HTML(f'<div class="iw-row-title">{html.escape(title)}</div>', **plain(widgets.HTML))
        if tiles:
            self.tile_width = max(tile.tile_width for tile in tiles)
        strip = widgets.Box(list(tiles), layout=widgets.Layout(
            display="grid", grid_template_columns=self._columns(), align_items="flex-start"))
        strip.add_class("iw-tile-grid")
        self._strips.append(strip)
        fold = widgets.Button(icon="chevron-down", tooltip=f"Fold this row: {title}",
                              layout=shared_layout(width="32px"), style=shared_style(widgets.Button))
        fold.add_class("iw-row-fold")
        dismiss = widgets.Button(icon="times", tooltip=f"Dismiss this row: {title} "
                                 "(its saved files stay on disk)", layout=shared_layout(width="32px"),
                                 style=shared_style(widgets.Button))
        dismiss.add_class("iw-row-dismiss")
        row = widgets.VBox([widgets.HBox([fold, dismiss, heading],
                                         layout=shared_layout(align_items="center")), strip],
                           **plain(widgets.VBox))
        row.add_class("iw-row")
        kept = list(tiles)

        def toggle(_button: widgets.Button) -> None:
            folded = strip.layout.display == "none"
            strip.layout.display = "grid" if folded else "none"
            fold.icon = "chevron-down" if folded else "chevron-right"
            fold.tooltip = f"{'Fold' if folded else 'Unfold'} this row: {title}"

        fold.on_click(toggle)
        dismiss.on_click(lambda _button: self.dismiss(row))
        self._rows.insert(0, (row, kept))
        # Oldest first: the new row comes after the rows shown, which stay drawn.
        self.children = tuple(shown for shown, _tiles in reversed(self._rows))
        return row

    @property
    def tiles(self) -> list[ImageTile]:
        """Every tile, newest row first, left to right within a row."""
        return [tile for _row, tiles in self._rows for tile in tiles]

    @property
    def rows(self) -> list[widgets.VBox]:
        """Every row, newest first."""
        return [row for row, _tiles in self._rows]

    def dismiss(self, row: widgets.VBox) -> None:
        """Remove ``row`` and close its widgets (running tiles are cancelled first)."""
        for index, (shown, tiles) in enumerate(self._rows):
            if shown is row:
                if self.on_dismiss is not None:
                    self.on_dismiss(tiles)
                del self._rows[index]
                self.children = tuple(kept for kept, _tiles in reversed(self._rows))
                self._close(row, tiles)
                return

    def clear(self) -> None:
        """Remove and close every row."""
        rows, self._rows = self._rows, []
        if self.on_dismiss is not None:
            self.on_dismiss([tile for _row, tiles in rows for tile in tiles])
        self.children = ()
        for row, tiles in rows:
            self._close(row, tiles)

    def _close(self, row: widgets.VBox, tiles: list[ImageTile]) -> None:
        for tile in tiles:
            tile.close()  # its bytes let go too, even while something still holds the tile
        strip = row.children[1]
        self._strips = [kept for kept in self._strips if kept is not strip]
        close_tree(row)

    def close(self) -> None:
        self.clear()
        close_tree(self)
