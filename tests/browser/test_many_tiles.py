"""A panel of 200 done tiles in real JupyterLab: each named by its prompt; Clear frees them all.

Freed means in both places a user's session keeps them: the kernel (no tile widget left, the
widget count back near the empty panel's) and the page (no ``.iw-tile`` drawn, no tile model
held by the page's widget manager).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from lab import MODELS, kernel, page_models

pytestmark = pytest.mark.browser

LATENCY = 0.0
"""The emulator answers at once (read by the ``lab`` fixture): the page is what is tested."""
STUCK = 120
"""Seconds of every wait here: stuck, not slow."""
PROMPT = "A lighthouse at dusk"
RUNS = 20
"""Generates of ten: 200 tiles."""
TILES = RUNS * 10
CELLS = [
    "import ipywidgets\n"
    "import imagewidgets as iw\n"
    f"panel = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt={PROMPT!r}, n=10,\n"
    "                                            quality='low', size='1024x1024'),\n"
    "                       thumbnail_size=128)\n"
    "panel",
]
TILE = "imagewidgets.ui.tile.ImageTile"
STATUSES = """() => {
  const shown = {};
  for (const tile of document.querySelectorAll('.iw-tile')) {
    const status = [...tile.classList].filter(name => name.startsWith('iw-status-')).join(' ');
    shown[status] = (shown[status] || 0) + 1;
  }
  return shown;
}"""
"""How many tiles the page shows in each status (by the tile's class)."""
TILES_IN_KERNEL = "sum(isinstance(w, iw.ImageTile) for w in list(ipywidgets.Widget.widgets.values()))"


def test_200_done_tiles_each_named_and_clear_frees_them_in_kernel_and_page(lab: Any,
                                                                           page: Any) -> None:
    lab.write_notebook("many.ipynb", CELLS)
    lab.open(page, "many.ipynb", ready="button.iw-clear")
    page.wait_for_selector(".iw-prompt textarea")
    empty = int(kernel(page, "len(ipywidgets.Widget.widgets)"))

    # Twenty Generates of ten, as twenty clicks would make them, awaited in the kernel.
    assert kernel(page, "[t.status for t in panel.tiles].count('done')",
                  code=f"for _ in range({RUNS}):\n    await panel.generate()") == str(TILES)
    # Every tile drawn done, none by a model the page lost (its view is marked so, and drawn
    # again once the tile is opened again as a new model: ui/shared.py); a view's classes come at
    # once, its picture once tile.js rendered.
    _settle(page, "() => document.querySelector('.iw-lost') === null && document.querySelectorAll("
                  f"'.iw-tile.iw-status-done img.iw-tile-image').length === {TILES}")
    shown = page.evaluate(STATUSES)
    assert shown == {"iw-status-done": TILES}, f"the page shows {shown}; the kernel {TILES} done"
    alts = page.eval_on_selector_all(".iw-tile img.iw-tile-image", "imgs => imgs.map(i => i.alt)")
    assert len(alts) == TILES
    unnamed = [alt for alt in alts if not alt.startswith(f"{PROMPT} — gpt-image-2")]
    assert unnamed == [], unnamed[:3]
    assert int(kernel(page, TILES_IN_KERNEL)) == TILES
    assert page_models(page).get(TILE) == TILES  # what is counted below, before Clear

    page.locator("button.iw-clear").click()
    page.wait_for_function("() => document.querySelector('.iw-tile') === null")
    assert page.locator(".iw-row").count() == 0
    assert kernel(page, "len(panel.tiles)") == "0"
    assert kernel(page, TILES_IN_KERNEL) == "0"
    # Clear keeps nothing per tile or per row: the kernel holds what the empty panel held, and
    # what the first row made once for the kernel (tile.js's shared model, two shared layouts).
    left = int(kernel(page, "len(ipywidgets.Widget.widgets)"))
    assert left <= empty + 3, f"{left} widgets after Clear, {empty} with the empty panel"
    # The page's widget manager lets every tile's model go as the kernel's close messages
    # arrive: waited for (a stuck-bound), then what it holds is said.
    _settle(page, f"async () => ((await ({MODELS})())[{TILE!r}] || 0) === 0")
    models = page_models(page)
    assert models.get(TILE, 0) == 0, models


def _settle(page: Any, predicate: str) -> None:
    """Wait until ``predicate`` (a function, async or not) holds in the page, or a stuck-bound
    passed: the assertion after it then says what the page holds.

    Asked with ``page.evaluate``, which awaits a promise: ``wait_for_function`` takes the
    promise an async predicate returns for a truthy value and returns at once.
    """
    deadline = time.monotonic() + STUCK
    while not page.evaluate(predicate) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
