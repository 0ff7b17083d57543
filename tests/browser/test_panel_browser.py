"""The panel in real JupyterLab, in headless Chromium, on the built-in emulator."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from imagewidgets.emulator import serve

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse at dusk"
CELLS = [
    "import imagewidgets as iw\n"
    f"params = iw.ImageParams(model='gpt-image-2', prompt={PROMPT!r}, quality='low', stream=True,\n"
    "                        partial_images=2)\n"
    "panel = iw.ImagePanel(params=params)\n"
    "panel",
]


def _expected_image() -> bytes:
    """The same request to another emulator: its pictures are deterministic."""
    with serve(port=0) as server:
        answer = httpx.post(f"{server.url}/images/generations", timeout=120, json={
            "model": "gpt-image-2", "prompt": PROMPT, "quality": "low"}).json()
    return base64.b64decode(answer["data"][0]["b64_json"])


def _thumbnail_loaded(page: Any, selector: str, width: int) -> None:
    page.wait_for_function(
        "([sel, w]) => { const img = document.querySelector(sel);"
        " return img && img.complete && img.naturalWidth === w; }",
        arg=[selector, width])


def test_generate_stream_download_and_switch_models(lab: Any, page: Any, tmp_path: Path) -> None:
    lab.write_notebook("panel.ipynb", CELLS)
    lab.open(page, "panel.ipynb", ready=".iw-panel")
    page.wait_for_selector(".iw-panel .iw-banner")
    assert "Offline emulator" in page.inner_text(".iw-panel .iw-banner")
    assert page.input_value(".iw-prompt textarea") == PROMPT
    assert page.is_visible(".iw-field-background") and not page.is_visible(".iw-field-style")

    page.click("button.iw-generate")
    page.wait_for_selector(".iw-tile.iw-status-partial")  # a partial image, shown before the final
    assert "partial" in page.inner_text(".iw-tile .iw-tile-status")
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)
    _thumbnail_loaded(page, ".iw-tile.iw-status-done img", 384)
    assert "gpt-image-2" in page.inner_text(".iw-tile .iw-tile-caption")
    if os.environ.get("IMAGEWIDGETS_SCREENSHOT"):
        page.set_viewport_size({"width": 1400, "height": 2000})  # the whole panel, not cut off
        page.locator(".iw-panel").screenshot(path=os.environ["IMAGEWIDGETS_SCREENSHOT"])

    with page.expect_download() as download:
        page.click(".iw-tile .iw-download button")
    saved = download.value
    # The file the store wrote, by the store's name, its settings embedded: download and store agree.
    (stored,) = (lab.root / "imagewidgets-output").glob("*.png")
    assert saved.suggested_filename == stored.name and "_gpt-image-2_a-lighthouse-at-dusk_" in stored.name
    assert Path(saved.path()).read_bytes() == stored.read_bytes()
    with Image.open(stored) as kept, Image.open(io.BytesIO(_expected_image())) as sent:
        assert kept.tobytes() == sent.tobytes()  # the server's picture

    page.click(".iw-tile .iw-enlarge button")
    page.wait_for_selector(".iw-enlarged img")
    page.keyboard.press("Escape")
    page.wait_for_selector(".iw-enlarged", state="detached")

    models = page.eval_on_selector_all(".iw-field-model select option", "els => els.map(e => e.value)")
    # The dropdown marks the models the API shut down; the emulator still serves them.
    (dall_e_3,) = [label for label in models if label.split(" ")[0] == "dall-e-3"]
    assert dall_e_3 == "dall-e-3 · retired 2026-05-12"
    page.select_option(".iw-field-model select", dall_e_3)
    page.wait_for_selector(".iw-field-style", state="visible")
    page.wait_for_selector(".iw-field-background", state="hidden")
    sizes = page.eval_on_selector_all(".iw-field-size select option", "els => els.map(e => e.value)")
    assert sizes == ["1024x1024", "1792x1024", "1024x1792"]


def test_ctrl_enter_generates_and_the_saved_notebook_holds_no_images(lab: Any, page: Any) -> None:
    lab.write_notebook("keys.ipynb", CELLS)
    lab.open(page, "keys.ipynb", ready=".iw-panel")
    box = page.locator(".iw-prompt textarea")
    box.wait_for()
    box.fill("")
    box.press_sequentially("A red bicycle by the sea", delay=0)  # typed, then at once:
    box.press("Control+Enter")
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)
    # The prompt sent is the prompt in the box, not what had reached the kernel so far.
    assert page.inner_text(".iw-grid .iw-row-title").endswith("A red bicycle by the sea")
    assert page.locator(".iw-panel").count() == 1  # the cell was not run again
    notebook = lab.save(page, "keys.ipynb")
    text = json.dumps(notebook)
    assert "data:image" not in text and len(text) < 50_000
    # The saved record names the file beside the notebook; no picture inside the notebook.
    assert "imagewidgets-output/" in text and (lab.root / "imagewidgets-output").is_dir()
