"""A tile for every user, in real JupyterLab: alt text, named buttons, focus, no dead tab stops."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse at dusk"
CELLS = [
    "import imagewidgets as iw\n"
    f"params = iw.ImageParams(model='gpt-image-1', prompt={PROMPT!r}, quality='low')\n"
    "panel = iw.ImagePanel(params=params)\n"
    "panel",
]


def test_a_tile_names_its_image_and_gives_focus_back(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.write_notebook("a11y.ipynb", CELLS)
    lab.open(page, "a11y.ipynb", ready=".iw-panel")
    panel = page.locator(".iw-panel")

    # Idle: Cancel is disabled, a real disabled <button>, so Tab never lands on it.
    cancel = panel.locator("button.iw-cancel")
    cancel.wait_for()
    assert cancel.evaluate("el => el.matches(':disabled')")
    page.locator(".iw-prompt textarea").focus()
    visited = []
    for _ in range(40):
        page.keyboard.press("Tab")
        visited.append(page.evaluate(
            "() => { const a = document.activeElement;"
            " return [a.className, a.textContent.trim(), !!a.closest('.iw-panel')]; }"))
        assert "iw-cancel" not in visited[-1][0], visited
        if not visited[-1][2]:
            break  # left the panel
    assert any("iw-generate" in entry[0] for entry in visited), visited  # Tab does move on

    page.click("button.iw-generate")
    tile = panel.locator(".iw-tile.iw-status-done")
    tile.wait_for(timeout=120_000)

    # The thumbnail's alt: prompt, model and status.
    image = tile.locator("img.iw-tile-image")
    expect(image).to_have_attribute("alt", re.compile(
        rf"^{PROMPT} — gpt-image-1 — done$"))
    expect(tile.get_by_alt_text(f"{PROMPT} — gpt-image-1 — done")).to_have_count(1)

    # Each button names the image it acts on.
    download = tile.get_by_role("button", name=f"Download image 1: {PROMPT} (gpt-image-1)")
    enlarge = tile.get_by_role("button", name=f"Enlarge image 1: {PROMPT} (gpt-image-1)")
    expect(download).to_be_enabled()
    expect(enlarge).to_be_enabled()
    reuse = tile.locator(".iw-reuse button, button.iw-reuse").first
    assert f"image 1: {PROMPT}" in (reuse.get_attribute("title") or "")
    snapshot = tile.aria_snapshot()
    assert f'img "{PROMPT} — gpt-image-1 — done"' in snapshot, snapshot
    assert f'button "Enlarge image 1: {PROMPT} (gpt-image-1)"' in snapshot, snapshot

    # Enlarge, then Esc: the overlay closes and focus is back on the Enlarge button.
    enlarge.click()
    page.wait_for_selector(".iw-enlarged img")
    assert page.evaluate("() => document.activeElement.classList.contains('iw-enlarged')")
    page.keyboard.press("Escape")
    page.wait_for_selector(".iw-enlarged", state="detached")
    expect(enlarge).to_be_focused()
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        f"Enlarge image 1: {PROMPT} (gpt-image-1)")

    # Done: Cancel is disabled again and still out of the tab order.
    expect(cancel).to_be_disabled()
    assert cancel.evaluate("el => el.matches(':disabled')")
