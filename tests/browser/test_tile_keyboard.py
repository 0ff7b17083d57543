"""Every action of a done tile by keyboard alone, in real JupyterLab: Tab reaches each button,
its focus ring shows, and Enter or Space does what a click does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lab import kernel

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse at dusk"
SUBJECT = f"image 1: {PROMPT} (gpt-image-2)"


def _cells(store: str) -> list[str]:
    return [
        "import imagewidgets as iw\n"
        f"params = iw.ImageParams(model='gpt-image-2', prompt={PROMPT!r}, quality='low',\n"
        "                        size='1024x1024')\n"
        f"panel = iw.ImagePanel(params=params, store={store!r})\n"
        "panel",
    ]


def _generate_by_keyboard(page: Any) -> None:
    page.locator("button.iw-generate").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)


def _tab_to(page: Any, label: str) -> None:
    """Press Tab until the button named ``label`` has the focus (from the prompt box, forward)."""
    page.locator(".iw-prompt textarea").focus()
    visited = []
    for _ in range(60):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("() => document.activeElement.getAttribute('aria-label')"
                                     " || document.activeElement.textContent.trim()"))
        if visited[-1] == label:
            return
    raise AssertionError(f"Tab never reached {label!r}; it went {visited}")


def _next(page: Any, label: str) -> None:
    """One Tab on, the focus is on the button named ``label``, its ring drawn."""
    page.keyboard.press("Tab")
    _focused_with_ring(page, label)


def _focused_with_ring(page: Any, label: str) -> None:
    focused = page.evaluate(
        "() => { const a = document.activeElement, s = getComputedStyle(a);"
        " return [a.getAttribute('aria-label'), a.matches(':focus-visible'), s.outlineStyle,"
        " parseFloat(s.outlineWidth)]; }")
    assert focused[0] == label, focused
    assert focused[1:] == [True, "solid", 2.0], f"{label}: focus ring {focused[1:]}"


def test_download_enlarge_and_use_settings_by_keyboard(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.write_notebook("keys-tile.ipynb", _cells("kb-out"))
    lab.open(page, "keys-tile.ipynb", ready=".iw-panel")
    _generate_by_keyboard(page)
    # Other settings in the controls since: "Use settings" must bring the tile's back.
    page.fill(".iw-prompt textarea", "A red bicycle")
    page.select_option(".iw-field-quality select", "high")
    kernel(page, "(panel.params.prompt, panel.params.quality)", repr(("A red bicycle", "high")))

    _tab_to(page, f"Download {SUBJECT}")
    _focused_with_ring(page, f"Download {SUBJECT}")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    (stored,) = (lab.root / "kb-out").glob("*.png")
    assert download.value.suggested_filename == stored.name
    assert Path(download.value.path()).read_bytes() == stored.read_bytes()

    _next(page, f"Enlarge {SUBJECT}")
    page.keyboard.press("Space")
    page.wait_for_function("() => { const img = document.querySelector('.iw-enlarged img');"
                           " return img && img.complete && img.naturalWidth === 1024; }")
    page.keyboard.press("Escape")
    page.wait_for_selector(".iw-enlarged", state="detached")
    _focused_with_ring(page, f"Enlarge {SUBJECT}")  # back where the person was

    _next(page, f"Use the settings of {SUBJECT}")
    page.keyboard.press("Enter")
    expect(page.locator(".iw-prompt textarea")).to_have_value(PROMPT)
    expect(page.locator(".iw-field-quality select")).to_have_value("low")
    expect(page.locator(".iw-tile .iw-reuse-note")).to_contain_text("settings loaded")
    kernel(page, "(panel.params.prompt, panel.params.quality)", repr((PROMPT, "low")))


def test_retry_save_by_keyboard_once_the_folder_can_be_written(lab: Any, page: Any) -> None:
    blocked = lab.root / "blocked-out"
    blocked.write_text("a file where the folder should be")  # so the save fails, even as root
    lab.write_notebook("keys-retry.ipynb", _cells("blocked-out"))
    lab.open(page, "keys-retry.ipynb", ready=".iw-panel")
    _generate_by_keyboard(page)
    note = page.locator(".iw-tile .iw-save-note")
    note.wait_for()
    assert "not saved" in note.inner_text()
    blocked.unlink()  # the person frees the path, then retries

    _tab_to(page, f"Download {SUBJECT}")
    _next(page, f"Enlarge {SUBJECT}")
    _next(page, f"Use the settings of {SUBJECT}")
    _next(page, f"Retry saving {SUBJECT}")
    page.keyboard.press("Space")
    note.wait_for(state="hidden")
    page.wait_for_selector(".iw-tile button.iw-retry-save", state="hidden")
    (stored,) = blocked.glob("*.png")
    # Saved now: the download is the store's file, by the store's name.
    with page.expect_download() as download:
        page.locator(".iw-tile .iw-download button").focus()
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == stored.name
    assert Path(download.value.path()).read_bytes() == stored.read_bytes()
