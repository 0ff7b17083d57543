"""The panel explains itself, in real JupyterLab: hidden options, named sliders, results tools."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse at dusk"
CELLS = [
    "import imagewidgets as iw\n"
    f"params = iw.ImageParams(model='gpt-image-1', prompt={PROMPT!r}, quality='low',\n"
    "                        size='1024x1024')\n"
    "panel = iw.ImagePanel(params=params)\n"
    "panel",
]

_FOCUSED = """() => { const a = document.activeElement;
  return { role: a.getAttribute('role'), name: a.getAttribute('aria-label'),
           disabled: a.getAttribute('aria-disabled'), inPanel: !!a.closest('.iw-panel') }; }"""

# The SHA-256 of every tile's picture, as the browser holds it.
_PICTURES = """async () => Promise.all([...document.querySelectorAll('.iw-tile img.iw-tile-image')]
  .map(async (img) => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }))"""


def _tab_through_panel(page: Any) -> list[dict[str, Any]]:
    page.locator(".iw-prompt textarea").focus()
    visited = []
    for _ in range(60):
        page.keyboard.press("Tab")
        visited.append(page.evaluate(_FOCUSED))
        if not visited[-1]["inPanel"]:
            break
    return visited


def test_hidden_options_named_sliders_new_pictures_thumbnails_use_settings_and_clear(
        lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.write_notebook("explains.ipynb", CELLS)
    lab.open(page, "explains.ipynb", ready=".iw-panel")
    panel = page.locator(".iw-panel")
    explain = panel.locator(".iw-controls-explain")

    # Sliders carry their label as their accessible name; a disabled one (compression with
    # png) is announced as disabled and is not a tab stop, an enabled one is.
    compression = panel.get_by_role("slider", name="Compression")
    expect(compression).to_have_attribute("tabindex", "-1")
    expect(compression).to_have_attribute("aria-disabled", "true")
    expect(panel.get_by_role("slider", name="Images")).to_have_attribute("tabindex", "0")
    snapshot = panel.locator(".iw-controls").aria_snapshot()
    for name in ("Images", "Compression", "Partials"):
        assert f'slider "{name}"' in snapshot, snapshot
    visited = _tab_through_panel(page)
    assert {"role": "slider", "name": "Images", "disabled": None, "inPanel": True} in visited
    assert not [stop for stop in visited if stop["disabled"] == "true"], visited

    # Another model hides controls, and the panel says which and why.
    page.select_option(".iw-field-model select", label="dall-e-2 · retired 2026-05-12")
    page.wait_for_selector(".iw-field-background", state="hidden")
    expect(explain).to_contain_text(re.compile("dall-e-2 does not take .*background"))
    line = explain.inner_text().splitlines()[0]
    for word in ("format", "compression", "moderation", "streaming"):
        assert word in line, line
    page.select_option(".iw-field-model select", label="gpt-image-1 · retired 2026-10-23")
    page.wait_for_selector(".iw-field-background", state="visible")
    # jpeg takes "transparent" out of the background options, and the line says which setting did.
    page.select_option(".iw-field-output-format select", "jpeg")
    expect(explain).to_contain_text(
        "background transparent is not offered with format jpeg: "
        "a transparent background needs png or webp")
    expect(panel.locator(".iw-field-background select option")).to_have_text(["auto", "opaque"])
    expect(compression).to_have_attribute("tabindex", "0")  # enabled by jpeg: a tab stop again
    page.select_option(".iw-field-output-format select", "png")
    expect(compression).to_have_attribute("tabindex", "-1")

    # Generate, then Generate again with the same settings: a new picture.
    page.click("button.iw-generate")
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)
    page.click("button.iw-generate")
    page.wait_for_function(
        "() => document.querySelectorAll('.iw-tile.iw-status-done').length === 2", timeout=120_000)
    newest, first = page.evaluate(_PICTURES)
    assert newest != first

    # The Thumbnails slider, by keyboard: every picture shrinks by two steps of 32 px.
    picture = panel.locator(".iw-tile img.iw-tile-image").first
    assert round(picture.bounding_box()["width"]) == 384
    panel.get_by_role("slider", name="Thumbnails").focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.iw-tile img.iw-tile-image')]"
        ".every((img) => Math.round(img.getBoundingClientRect().width) === 320)")

    # Use settings on the older tile, far below the controls: the tile says so and the
    # controls come into view, holding that tile's settings.
    page.set_viewport_size({"width": 1400, "height": 600})
    page.select_option(".iw-field-quality select", "high")
    reuse = panel.locator(".iw-tile").nth(1).locator("button.iw-reuse, .iw-reuse button").first
    reuse.scroll_into_view_if_needed()
    prompt_box = page.locator(".iw-prompt textarea")
    expect(prompt_box).not_to_be_in_viewport()
    reuse.click()
    note = panel.locator(".iw-tile").nth(1).locator(".iw-reuse-note")
    expect(note).to_have_text("✓ settings loaded into the controls")
    expect(prompt_box).to_be_in_viewport()
    expect(page.locator(".iw-field-quality select")).to_have_value("low")

    # Clear removes every result from view; the files stay on disk.
    page.click("button.iw-clear")
    expect(panel.locator(".iw-tile")).to_have_count(0)
    assert len(list((lab.root / "imagewidgets-output").glob("*.png"))) == 2


def test_a_custom_size_is_checked_as_typed_and_the_nearest_offered(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.write_notebook("sizes.ipynb", [
        "import imagewidgets as iw\n"
        f"panel = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt={PROMPT!r},\n"
        "                                            quality='low'))\n"
        "panel"])
    lab.open(page, "sizes.ipynb", ready=".iw-panel")
    panel = page.locator(".iw-panel")
    size = panel.locator(".iw-field-size select")
    message = panel.locator(".iw-size-message")

    box = panel.get_by_role("textbox", name="Custom")
    box.fill("")
    box.press_sequentially("1000x1000")  # said while typing, no Enter needed
    expect(message).to_contain_text(
        "size '1000x1000' is not allowed for gpt-image-2: both sides must be divisible by 16")
    nearest = panel.get_by_role("button", name=re.compile(r"^Use \d+x\d+$"))
    offered = nearest.inner_text().removeprefix("Use ")
    assert all(int(side) % 16 == 0 for side in offered.split("x")), offered
    nearest.click()
    expect(size).to_have_value(offered)
    expect(box).to_have_value(offered)
    expect(message).to_have_text("")

    page.select_option(".iw-size-ratio select", "16:9")
    expect(size).not_to_have_value(offered)
    width, height = map(int, size.input_value().split("x"))
    assert abs(width / height - 16 / 9) < 0.02
    page.click("button.iw-generate")
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)
    expect(panel.locator(".iw-tile-caption")).to_contain_text(f"{width}x{height}")

    # A model without custom sizes hides the box.
    page.select_option(".iw-field-model select", label="dall-e-3 · retired 2026-05-12")
    expect(box).to_be_hidden()
