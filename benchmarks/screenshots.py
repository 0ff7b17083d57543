"""The README's pictures of many tiles, taken in real JupyterLab + Chromium on the built-in emulator.

Run: ``make screenshots`` (``python benchmarks/screenshots.py [FOLDER]``, ``docs/`` by default);
not part of ``make test``, ``make bench`` or CI. It writes, at a 1200x900 viewport with
JupyterLab's side bar closed:

* ``panel-200-tiles.png``: the panel of ``bench_browser.py`` with its smallest thumbnails
  (``thumbnail_size=128``) after 20 runs of 10 images, from its Generate button down;
* ``compare-repeats.png``: notebook 02's comparison grid (its first code cell, read from
  ``notebooks/02_*.ipynb``, ``repeats=2``) after Run, every thumbnail drawn.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_browser import LATENCY, RUNS, STUCK_MS, VIEWPORT, generate, open_panel
from lab import Lab, chromium, running_lab

ROOT = Path(__file__).resolve().parents[1]
COMPARE_DONE = """() => {
  const tiles = [...document.querySelectorAll('.iw-compare .iw-tile')];
  return tiles.length > 0 && tiles.every(tile => tile.classList.contains('iw-status-done'));
}"""
IN_VIEW_LOADED = """() => [...document.querySelectorAll('.iw-tile img')].every(img => {
  // Images are lazy: only those in the viewport are asked to load.
  const box = img.getBoundingClientRect();
  const seen = box.bottom > 0 && box.top < innerHeight && box.width > 0;
  return !seen || (img.complete && img.naturalWidth > 0);
})"""


def lesson_grid() -> str:
    """Notebook 02's first code cell: the grid it builds."""
    (path,) = (ROOT / "notebooks").glob("02_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(cell["source"] for cell in cells if cell["cell_type"] == "code"))


def shoot(page: Any, selector: str, path: Path) -> None:
    """The viewport, JupyterLab's side bar closed and ``selector``'s top at the top."""
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.locator(selector).evaluate("element => element.scrollIntoView({block: 'start'})")
    page.wait_for_function(IN_VIEW_LOADED, timeout=STUCK_MS, polling=250)
    page.wait_for_timeout(500)  # the side bar's closing animation, then a painted frame
    page.screenshot(path=str(path))
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def panel(lab: Lab, browser: Any, folder: Path) -> None:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(STUCK_MS)
    open_panel(lab, page, options=", thumbnail_size=128")
    generate(page, RUNS)
    shoot(page, "button.iw-generate", folder / "panel-200-tiles.png")
    page.context.close()


def compare(lab: Lab, browser: Any, folder: Path) -> None:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(STUCK_MS)
    lab.write_notebook("compare.ipynb", [lesson_grid()])
    lab.open(page, "compare.ipynb", ready=".iw-compare button.iw-run")
    page.click(".iw-compare button.iw-run")
    page.wait_for_function(COMPARE_DONE, timeout=STUCK_MS, polling=250)
    shoot(page, ".iw-compare", folder / "compare-repeats.png")
    page.context.close()


def take(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as work, \
            running_lab(Path(work), latency=LATENCY) as lab, chromium() as browser:
        panel(lab, browser, folder)
        compare(lab, browser, folder)


if __name__ == "__main__":
    take(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
