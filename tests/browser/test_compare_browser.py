"""The comparison grid in real JupyterLab, in headless Chromium, on the built-in emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse at dusk"
CELLS = [
    "import imagewidgets as iw\n"
    f"grid = iw.CompareGrid({PROMPT!r}, rows=('model', ['gpt-image-1', 'gpt-image-2']),\n"
    "                      columns=('quality', ['low', 'medium', 'high']))\n"
    "grid",
]


def _texts(page: Any, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent.trim())")


def _boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return [handle.bounding_box() for handle in page.query_selector_all(selector)]


def test_run_the_grid_read_it_and_download_the_contact_sheet(lab: Any, page: Any) -> None:
    lab.write_notebook("compare.ipynb", CELLS)
    lab.open(page, "compare.ipynb", ready=".iw-compare .iw-compare-table")
    page.wait_for_selector(".iw-compare .iw-compare-estimate")
    estimate = page.inner_text(".iw-compare .iw-compare-estimate")
    assert "6 cells" in estimate and "estimated $" in estimate
    assert page.locator(".iw-cell.iw-cell-available").count() == 6
    assert page.is_disabled(".iw-sheet button")  # nothing to put on a sheet yet

    page.click(".iw-compare button.iw-run")
    page.wait_for_function(
        "() => document.querySelectorAll('.iw-compare .iw-tile.iw-status-done').length === 6",
        timeout=120_000)
    # Every cell shows its thumbnail, drawn (an empty Image has a blob: source too).
    page.wait_for_function(
        "() => { const cells = [...document.querySelectorAll('.iw-compare .iw-cell')];"
        " return cells.length === 6 && cells.every(cell => {"
        "   const img = cell.querySelector('.iw-tile img');"
        "   return img && img.complete && img.naturalWidth > 0; }); }")

    assert _texts(page, ".iw-compare .iw-col-header") == ["low", "medium", "high"]
    assert _texts(page, ".iw-compare .iw-row-header") == ["gpt-image-1", "gpt-image-2"]
    page.wait_for_function(
        "() => document.querySelector('.iw-compare .iw-progress-text').textContent.trim()"
        " === '6 done · 0 failed · 6 total'")
    page.wait_for_function("() => document.querySelector('.iw-compare .iw-compare-summary')"
                           ".textContent.includes('total cost')")
    captions = _texts(page, ".iw-compare .iw-cell .iw-tile-caption")
    expected = [(model, quality) for model in ("gpt-image-1", "gpt-image-2")
                for quality in ("low", "medium", "high")]
    assert [f"{model} · 1024x1024 · {quality}" in caption
            for caption, (model, quality) in zip(captions, expected, strict=True)] == [True] * 6
    # Three columns of thumbnails fit the page: no sideways scrolling to see the third.
    assert page.eval_on_selector(".iw-compare-table", "t => t.scrollWidth <= t.clientWidth")

    # A grid, not a column: row 1's cells side by side, column 2's cells one above the other.
    cells = _boxes(page, ".iw-compare .iw-cell")
    assert len({round(box["y"]) for box in cells[:3]}) == 1
    assert cells[0]["x"] < cells[1]["x"] < cells[2]["x"]
    assert round(cells[1]["x"]) == round(cells[4]["x"]) and cells[4]["y"] > cells[1]["y"]
    headers = _boxes(page, ".iw-compare .iw-col-header-box")
    # Each column header over its column (an HTML widget has a 2 px margin a VBox has not).
    assert all(abs(head["x"] - cell["x"]) <= 4 for head, cell in zip(headers, cells[:3], strict=True))

    if os.environ.get("IMAGEWIDGETS_SCREENSHOT_COMPARE"):
        # JupyterLab scrolls inside its panel: a tall viewport shows the whole grid.
        page.set_viewport_size({"width": 1600, "height": 2400})
        page.locator(".iw-compare").screenshot(path=os.environ["IMAGEWIDGETS_SCREENSHOT_COMPARE"])

    with page.expect_download() as download:
        page.click(".iw-compare .iw-sheet button")
    saved = download.value
    assert saved.suggested_filename.endswith(".png")
    assert "contact-sheet" in saved.suggested_filename
    data = Path(saved.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(saved.path()) as sheet:
        assert sheet.width > 3 * 256
        assert sheet.text["Title"] == PROMPT
        assert "model = gpt-image-1, gpt-image-2" in sheet.text["Description"]


REPEATS = [
    "import imagewidgets as iw\n"
    f"grid = iw.CompareGrid({PROMPT!r}, rows=('model', ['gpt-image-2', 'gpt-image-2.6-flare']),\n"
    "                      columns=('quality', ['low', 'medium', 'high']), repeats=2)\n"
    "grid",
]


def test_a_grid_with_repeats_fits_the_window_and_its_samples_say_their_values(
        lab: Any, page: Any) -> None:
    # Notebook 02's grid, two samples a cell: side by side they needed 1,488 px and "high" ran
    # off; wrapped, with tiles at least 240 px wide, the table still scrolled inside itself in
    # a 1200 px window (JupyterLab's notebook 968 px wide). Tiles now shrink to their column.
    page.set_viewport_size({"width": 1200, "height": 900})
    lab.write_notebook("repeats.ipynb", REPEATS)
    lab.open(page, "repeats.ipynb", ready=".iw-compare .iw-compare-table")
    page.click(".iw-compare button.iw-run")
    page.wait_for_function("() => document.querySelectorAll('.iw-compare .iw-tile.iw-status-done')"
                           ".length === 12", timeout=180_000)
    # Every column in view: the table needs no sideways scrolling, the "high" cells end inside it.
    assert page.eval_on_selector(".iw-compare-table", "t => t.scrollWidth <= t.clientWidth")
    table = _boxes(page, ".iw-compare-table")[0]
    cells = _boxes(page, ".iw-compare .iw-cell")
    assert all(box["x"] + box["width"] <= table["x"] + table["width"] + 1 for box in cells)
    # Every column header seen whole, in the table and in the window.
    headers = _boxes(page, ".iw-compare .iw-col-header")
    assert _texts(page, ".iw-compare .iw-col-header") == ["low", "medium", "high"]
    assert all(table["x"] <= head["x"] and head["x"] + head["width"] <= min(table["x"] + table["width"], 1200)
               for head in headers)
    # Each sample names its row, column and sample (the tile's label; its alt text once wired).
    labels = _texts(page, ".iw-compare .iw-cell .iw-tile")
    assert "model gpt-image-2, quality high, sample 2 of 2" in labels[5]
    # The thumbnails' slider, as the panel's: smallest, the pictures shrink; largest, each tile
    # still ends inside its column.
    handle = page.locator(".iw-compare .iw-thumbnail-size .noUi-handle")
    for key, check in (("Home", "w <= 97"), ("End", "w > 97")):
        handle.focus()
        page.keyboard.press(key)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.iw-compare .iw-tile.iw-status-done img')]"
            f".every(img => {{ const w = img.getBoundingClientRect().width; return {check}; }})")
        assert page.eval_on_selector(".iw-compare-table", "t => t.scrollWidth <= t.clientWidth")
        cells = _boxes(page, ".iw-compare .iw-cell")
        tiles = _boxes(page, ".iw-compare .iw-cell .iw-tile")
        assert all(any(cell["x"] <= tile["x"] and tile["x"] + tile["width"] <= cell["x"] + cell["width"] + 1
                       for cell in cells) for tile in tiles)
        if os.environ.get("IMAGEWIDGETS_SCREENSHOT_REPEATS"):
            page.screenshot(path=f"{os.environ['IMAGEWIDGETS_SCREENSHOT_REPEATS']}-{key}.png")
