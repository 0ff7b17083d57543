"""A tile in JupyterLab's dark theme: its text and buttons readable, its focus ring seen, its
placeholder visible before the picture comes."""

from __future__ import annotations

from typing import Any

import pytest
from test_theme_browser import CONTRAST, _set_theme, assert_focus_ring

pytestmark = pytest.mark.browser

CELLS = [
    "import ipywidgets as widgets\n"
    "import imagewidgets as iw",
    "params = iw.ImageParams(model='gpt-image-2', prompt='A lighthouse at dusk', quality='low',\n"
    "                        size='1536x1024')\n"
    "panel = iw.ImagePanel(params=params, store='theme-out')\n"
    "panel",
    # A tile never run stays queued: its placeholder, as every tile shows until its first picture.
    "queued = widgets.VBox([iw.ImageTile(iw.ImageParams(model='gpt-image-2', prompt='A kite',\n"
    "                                                   size='1024x1536'))])\n"
    "queued.add_class('iw-test-queued')\n"
    "queued",
    "failed_tile = iw.ImageTile(iw.ImageParams(model='gpt-image-2', prompt='A kite'))\n"
    "failed_tile.fail(ValueError('the server refused: try another prompt'))\n"
    "failed = widgets.VBox([failed_tile])\n"
    "failed.add_class('iw-test-failed')\n"
    "failed",
]
DONE = ".iw-panel .iw-tile.iw-status-done"
TEXTS = {
    "status": f"{DONE} .iw-tile-status",
    "caption": f"{DONE} .iw-tile-caption",
    "Download": f"{DONE} .iw-download button",
    "Enlarge": f"{DONE} .iw-enlarge button",
    "Use settings": f"{DONE} button.iw-reuse",
    "queued status": ".iw-test-queued .iw-tile-status",
    "error": ".iw-test-failed .iw-tile-caption .iw-error",
}
# The placeholder's stripes: the colours of its gradient, and what the tile is painted on.
STRIPES = """
(el) => {
  const colours = getComputedStyle(el).backgroundImage.match(/rgba?\\([^)]*\\)/g) || [];
  const root = getComputedStyle(document.body);
  return {colours: [...new Set(colours)], box: [el.offsetWidth, el.offsetHeight],
          themed: ['--jp-layout-color2', '--jp-layout-color3'].map(v => root.getPropertyValue(v).trim())};
}
"""


def _dark(page: Any) -> None:
    _set_theme(page, "JupyterLab Dark", False, "#111")


def test_a_tile_is_readable_and_its_focus_seen_in_the_dark_theme(lab: Any, page: Any) -> None:
    lab.write_notebook("dark-tile.ipynb", CELLS)
    lab.open(page, "dark-tile.ipynb", ready=".iw-test-failed .iw-tile")
    page.click(".iw-panel button.iw-generate")
    page.wait_for_selector(DONE, timeout=120_000)
    _dark(page)

    low = {}
    for what, selector in TEXTS.items():
        element = page.locator(selector).first
        element.scroll_into_view_if_needed()  # far-off tiles are not rendered (content-visibility)
        assert element.is_visible() and (element.text_content() or "").strip(), f"{what} is not shown"
        measured = element.evaluate(CONTRAST)
        print(f"{what}: {measured['ratio']:.2f} ({measured['text']} on {measured['behind']})")
        if measured["ratio"] < 4.5:
            low[what] = round(measured["ratio"], 2)
    assert low == {}, f"text under 4.5:1 in the dark theme: {low}"

    # The focus ring of each button, reached by Tab as a keyboard user does (so it is drawn).
    for what in ("Download", "Enlarge", "Use settings"):
        button = page.locator(TEXTS[what])
        button.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        assert button.evaluate("el => el === document.activeElement && el.matches(':focus-visible')")
        assert_focus_ring(button, what)


def test_a_queued_tile_shows_its_placeholder_in_the_dark_theme(lab: Any, page: Any) -> None:
    lab.write_notebook("dark-queued.ipynb", [CELLS[0], CELLS[2]])
    lab.open(page, "dark-queued.ipynb", ready=".iw-test-queued .iw-tile")
    _dark(page)
    placeholder = page.locator(".iw-test-queued .iw-tile-placeholder")
    placeholder.scroll_into_view_if_needed()
    assert placeholder.is_visible()
    assert placeholder.get_attribute("aria-label") == "A kite — gpt-image-2 — queued"
    stripes = placeholder.evaluate(STRIPES)
    print(stripes)
    width, height = stripes["box"]
    assert width > 100 and height == width * 3 // 2  # the asked 1024x1536, before any picture
    # Striped in the dark theme's own colours (not the light theme's, glaring on #111), two of them.
    themed = placeholder.evaluate(
        "(el, colours) => colours.map(c => { el.style.color = c; const v = getComputedStyle(el).color;"
        " el.style.color = ''; return v; })", stripes["themed"])
    assert sorted(stripes["colours"]) == sorted(set(themed)) and len(themed) == 2
    # And told apart from what the tile is painted on: the lighter stripe stands out from it.
    ratios = [placeholder.evaluate("(el) => { el.style.color = '" + colour + "'; const r = ("
                                   + CONTRAST + ")(el); el.style.color = ''; return r.ratio; }")
              for colour in themed]
    print("stripes against the backdrop:", ratios)
    assert max(ratios) >= 1.5, f"the placeholder's stripes barely differ from the backdrop: {ratios}"
