"""Tiles in real JupyterLab: a new row leaves the rows shown alone, and a gone tile lets its DOM go."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

CELLS = [
    "import imagewidgets as iw\n"
    "panel = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt='A lighthouse at dusk',\n"
    "                                            quality='low', n=2))\n"
    "panel",
]
DONE = ".iw-tile.iw-status-done"


def _generate(page: Any, prompt: str, done: int) -> None:
    box = page.locator(".iw-prompt textarea")
    box.fill(prompt)
    page.click("button.iw-generate")
    page.wait_for_function(f"() => document.querySelectorAll('{DONE}').length === {done}",
                           timeout=120_000)


def test_a_new_row_shows_on_top_and_the_tiles_shown_are_not_drawn_again(lab: Any, page: Any) -> None:
    lab.write_notebook("rows.ipynb", CELLS)
    lab.open(page, "rows.ipynb", ready=".iw-panel")
    _generate(page, "A lighthouse at dusk", 2)
    # The first row's tile elements, marked: drawn again, they would be new elements.
    page.evaluate("() => { window.__iwFirst = [...document.querySelectorAll('.iw-tile')]; }")
    _generate(page, "A red bicycle by the sea", 4)
    titles = page.locator(".iw-row-title")
    shown = sorted((titles.nth(index) for index in range(titles.count())),
                   key=lambda title: title.bounding_box()["y"])
    assert [title.inner_text().split()[-1] for title in shown] == ["sea", "dusk"]  # newest on top
    assert page.evaluate("() => window.__iwFirst.every((tile) => tile.isConnected)")
    # Closed, a tile's view keeps no picture or button, whatever still refers to it.
    page.click("button.iw-clear")
    page.wait_for_function("() => document.querySelector('.iw-tile') === null")
    assert page.evaluate("() => window.__iwFirst.every((tile) => tile.childNodes.length === 0)")

