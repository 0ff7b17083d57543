"""ImageGrid, headless: rows added, shown newest on top, dismissed and cleared."""

from __future__ import annotations

import imagewidgets as iw
from imagewidgets.ui.grid import ImageGrid
from imagewidgets.ui.tile import ImageTile


def _tiles(count: int, prompt: str) -> list[ImageTile]:
    return [ImageTile(iw.ImageParams(model="gpt-image-1", prompt=prompt)) for _ in range(count)]


def test_a_new_row_leaves_the_rows_shown_drawn_and_shows_on_top() -> None:
    grid = ImageGrid()
    first = grid.add_row(_tiles(2, "a lighthouse"), "a lighthouse")
    shown = grid.children
    second = grid.add_row(_tiles(2, "a red bicycle"), "a red bicycle")
    # The browser keeps a Box's child views up to the first child that changed: the rows
    # already shown stay where they were (not drawn again), the new one comes after them...
    assert grid.children == (*shown, second)
    # ...and is shown first: the stylesheet lays out .iw-grid's rows in reverse (seen on top
    # in tests/browser/test_tile_browser.py).
    assert "iw-grid" in grid._dom_classes
    assert grid.rows == [second, first]
    assert [tile.params.prompt for tile in grid.tiles] == ["a red bicycle"] * 2 + ["a lighthouse"] * 2
    grid.close()


def test_dismissing_a_row_keeps_the_others_in_their_order() -> None:
    grid = ImageGrid()
    rows = [grid.add_row(_tiles(1, title), title) for title in ("one", "two", "three")]
    dismissed = rows[1].children[1].children
    grid.dismiss(rows[1])
    assert grid.children == (rows[0], rows[2]) and grid.rows == [rows[2], rows[0]]
    assert all(tile.comm is None for tile in dismissed)  # closed: the page lets its views go
    grid.clear()
    assert grid.children == () and grid.tiles == []
    assert all(row.comm is None for row in rows)
    grid.close()
