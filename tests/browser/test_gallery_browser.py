"""The gallery in real JupyterLab: earlier images come back after a kernel restart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CELLS = [
    "import imagewidgets as iw\n"
    "for prompt in ['A red bicycle', 'A lighthouse at dusk', 'A <b>bold</b> fox']:\n"
    "    iw.generate(prompt, model='gpt-image-1', quality='low', size='1024x1024',\n"
    "                store='gallery-out')",
    "import imagewidgets as iw\n"
    "iw.Gallery('gallery-out')",
]

_LOADED = (
    "() => { const imgs = [...document.querySelectorAll('.iw-gallery-item img')];"
    " return imgs.length === 3 && imgs.every(img => img.complete && img.naturalWidth > 0); }")


def test_the_gallery_shows_earlier_images_after_a_kernel_restart(lab: Any, page: Any) -> None:
    lab.write_notebook("gallery.ipynb", CELLS)
    lab.open(page, "gallery.ipynb", ready=".iw-gallery")
    page.wait_for_function(_LOADED, timeout=60_000)

    lab.restart_kernel("gallery.ipynb")  # every object of the first run is gone
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.locator(".jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[1].querySelector('.jp-InputPrompt')"
        ".textContent.includes('[1]')", timeout=60_000)  # the gallery cell ran in the new kernel
    page.wait_for_function(_LOADED, timeout=60_000)

    captions = page.eval_on_selector_all(".iw-gallery-item .iw-gallery-caption",
                                         "els => els.map(e => e.textContent)")
    assert len(captions) == 3 and all("gpt-image-1" in caption for caption in captions)
    assert "A <b>bold</b> fox" in captions[0]  # newest first, markup shown as text
    assert page.locator(".iw-gallery b").count() == 0
    assert "3 images" in page.inner_text(".iw-gallery .iw-gallery-count")

    with page.expect_download() as download:
        page.locator(".iw-gallery-item").nth(1).locator(".iw-gallery-download button").click()
    saved = download.value
    on_disk = lab.root / "gallery-out" / saved.suggested_filename
    assert on_disk.exists() and Path(saved.path()).read_bytes() == on_disk.read_bytes()

    if os.environ.get("IMAGEWIDGETS_SCREENSHOT_GALLERY"):
        page.locator(".iw-gallery").screenshot(path=os.environ["IMAGEWIDGETS_SCREENSHOT_GALLERY"])
