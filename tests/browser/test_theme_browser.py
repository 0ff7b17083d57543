"""Every colour follows JupyterLab's theme: text stays readable in light and dark (issue 12)."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CELLS = [
    "import imagewidgets as iw\n"
    "bad = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt='', quality='low'))\n"
    "bad.add_class('iw-test-bad')\n"
    "bad",
    "good = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt='A lighthouse at dusk',\n"
    "                                           quality='low', size='1536x1024'))\n"
    "good.add_class('iw-test-good')\n"
    "good",
]

# The WCAG 2 contrast ratio of an element's text (or its focus outline, prop 'outlineColor',
# drawn outside it: over its parent) against what is painted behind it. The backgrounds of the
# element and its ancestors, up to the first opaque one, are painted in a canvas over white,
# then the text colour over them: the canvas parses every CSS colour form (rgb(),
# color(srgb ...) from color-mix()) and does the alpha blending.
CONTRAST = """
(el, given) => {
  const prop = given || 'color';
  const layers = [];
  for (let node = prop === 'color' ? el : el.parentElement; node; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    layers.push(bg);
    if (paint([bg])[3] === 255 && /^rgb\\(/.test(bg)) break;
  }
  layers.reverse();  // outermost first
  const behind = paint(['white', ...layers]);
  const text = paint(['white', ...layers, getComputedStyle(el)[prop]]);
  function paint(colors) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    for (const c of colors) { ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1); }
    return Array.from(ctx.getImageData(0, 0, 1, 1).data);
  }
  function luminance([r, g, b]) {
    const lin = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  }
  const [a, b] = [luminance(text), luminance(behind)];
  return {ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
          text: text.slice(0, 3), behind: behind.slice(0, 3)};
}
"""

# Colours the stylesheet used to hard-code: none may remain under a widget.
OLD_LITERALS = ["rgb(176, 0, 32)", "rgb(255, 244, 214)", "rgb(232, 198, 106)", "rgb(92, 68, 0)",
                "rgb(241, 241, 241)", "rgb(230, 230, 230)", "rgb(224, 160, 160)",
                "rgb(102, 102, 102)", "rgb(187, 187, 187)", "rgb(221, 221, 221)"]

LEFTOVERS = """
([literals]) => {
  const found = [];
  for (const el of document.querySelectorAll('.iw-root, .iw-root *')) {
    const s = getComputedStyle(el);
    for (const prop of ['color', 'backgroundColor', 'borderTopColor', 'borderLeftColor']) {
      if (literals.includes(s[prop])) found.push(`${el.className} ${prop} ${s[prop]}`);
    }
    if (literals.some(c => s.backgroundImage.includes(c))) found.push(`${el.className} backgroundImage`);
  }
  return found;
}
"""

CHECKED = {
    "error": ".iw-test-bad .iw-status .iw-error",
    "size error": ".iw-test-bad .iw-size-message .iw-error",
    "banner": ".iw-test-bad .iw-banner",
    "caption": ".iw-test-good .iw-tile-caption",
}


def _set_theme(page: Any, name: str, light: bool, layout0: str) -> None:
    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: {name!r}}})")
    page.wait_for_function(
        "([name, light, layout0]) => document.body.dataset.jpThemeName === name"
        " && document.body.dataset.jpThemeLight === String(light)"
        " && getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() === layout0",
        arg=[name, light, layout0])
    # Two more frames for the widgets' own styles: the first is drawn with the new theme.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def _measure(page: Any) -> dict[str, float]:
    ratios = {}
    for what, selector in CHECKED.items():
        measured = page.locator(selector).first.evaluate(CONTRAST)
        print(f"{what}: {measured['ratio']:.2f} (text {measured['text']} on {measured['behind']})")
        ratios[what] = measured["ratio"]
    return ratios


def assert_focus_ring(control: Any, what: str) -> None:
    """``control``'s focus ring (focused already) is solid, 2 px or more, and 3:1 or more against
    what is behind it (WCAG 2.2's focus appearance)."""
    style = control.evaluate("el => { const s = getComputedStyle(el);"
                             " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    measured = control.evaluate(CONTRAST, "outlineColor")
    print(f"{what}: focus {style}, {measured['ratio']:.2f} ({measured['text']} on {measured['behind']})")
    assert style[0] == "solid" and style[1] >= 2, f"{what}: focus {style}"
    assert measured["ratio"] >= 3, f"{what}: focus contrast {measured['ratio']:.2f} < 3"


def test_text_is_readable_in_light_and_dark(lab: Any, page: Any) -> None:
    lab.write_notebook("theme.ipynb", CELLS)
    lab.open(page, "theme.ipynb", ready=".iw-test-good")
    page.wait_for_selector(".iw-test-bad .iw-banner")
    page.click(".iw-test-bad button.iw-generate")
    page.wait_for_selector(CHECKED["error"])
    assert "prompt is empty" in page.inner_text(CHECKED["error"])
    page.fill(".iw-test-bad .iw-size-custom input", "1000x1000")
    page.wait_for_selector(CHECKED["size error"])
    page.click(".iw-test-good button.iw-generate")
    page.wait_for_selector(".iw-test-good .iw-tile.iw-status-done", timeout=120_000)
    page.wait_for_function(
        "() => { const img = document.querySelector('.iw-test-good .iw-tile.iw-status-done img');"
        " return img && img.complete && img.naturalWidth > 0; }")

    results = {}
    for name, light, layout0 in (("JupyterLab Light", True, "white"), ("JupyterLab Dark", False, "#111")):
        _set_theme(page, name, light, layout0)
        print(name)
        results[name] = _measure(page)
        assert page.evaluate(LEFTOVERS, [OLD_LITERALS]) == []
    for name, ratios in results.items():
        for what, ratio in ratios.items():
            assert ratio >= 4.5, f"{what} in {name}: contrast {ratio:.2f} < 4.5"

    if os.environ.get("IMAGEWIDGETS_SCREENSHOT_DARK"):
        page.set_viewport_size({"width": 1400, "height": 2400})
        page.wait_for_timeout(300)
        page.locator(".iw-test-good").screenshot(path=os.environ["IMAGEWIDGETS_SCREENSHOT_DARK"])


FOCUSED = {"prompt": ".iw-test-good .iw-prompt textarea", "model list": ".iw-test-good select"}


def test_focus_is_a_2px_ring_of_3_to_1_in_light_and_dark(lab: Any, page: Any) -> None:
    lab.write_notebook("focus.ipynb", ["import imagewidgets as iw", CELLS[1]])
    lab.open(page, "focus.ipynb", ready=".iw-test-good")
    for name, light, layout0 in (("JupyterLab Light", True, "white"), ("JupyterLab Dark", False, "#111")):
        _set_theme(page, name, light, layout0)
        for what, selector in FOCUSED.items():
            control = page.locator(selector).first
            control.focus()
            assert_focus_ring(control, f"{what} in {name}")
