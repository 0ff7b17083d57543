"""The gallery in real JupyterLab: earlier images come back after a kernel restart; a zip arrives in parts."""

from __future__ import annotations

import io
import os
import zipfile
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
    "gallery = iw.Gallery('gallery-out')\n"
    "gallery.zip_button.part_bytes = 64 * 1024  # a zip of a few images goes in many parts\n"
    "gallery",
]

_LOADED = (
    "() => { const imgs = [...document.querySelectorAll('.iw-gallery-item img')];"
    " return imgs.length === 3 && imgs.every(img => img.complete && img.naturalWidth > 0); }")

# Every text shown beside the zip button, each value once (a text node replaced is one added).
_WATCH_PROGRESS = """() => {
  window.iwProgressShown = [];
  const progress = document.querySelector('.iw-gallery-zip .iw-download-progress');
  new MutationObserver(records => {
    for (const record of records) {
      if (record.addedNodes.length) window.iwProgressShown.push(record.addedNodes[0].textContent);
      else if (record.removedNodes.length) window.iwProgressShown.push('');
    }
  }).observe(progress, { childList: true });
}"""


def test_the_gallery_zips_in_parts_and_shows_earlier_images_after_a_kernel_restart(lab: Any,
                                                                                 page: Any) -> None:
    lab.write_notebook("gallery.ipynb", CELLS)
    lab.open(page, "gallery.ipynb", ready=".iw-gallery")
    page.wait_for_function(_LOADED, timeout=120_000)
    # Two ticked: the zip is made on the kernel's worker thread, sent in 64 KB parts and put
    # together in the browser as one file. Before the restart: after one, JupyterLab 4.6 sent
    # some comm messages on the old kernel's subshell, which the new kernel dropped.
    for number in (0, 2):
        page.locator(".iw-gallery-item").nth(number).locator(".iw-gallery-select input").check()
    zip_button = page.locator(".iw-gallery-zip button")
    page.wait_for_function("() => !document.querySelector('.iw-gallery-zip button').disabled")
    page.evaluate(_WATCH_PROGRESS)
    with page.expect_download() as download:
        zip_button.click()
    zipped = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".zip") and len(zipped) > 2 * 64 * 1024
    chosen = [page.locator(".iw-gallery-item").nth(number).locator(".iw-gallery-download button")
              .get_attribute("title") for number in (0, 2)]
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        images = [name for name in names if name.endswith(".png")]
        assert len(images) == 2 and len(names) == 4
        assert sorted(f"Save {name}" for name in images) == sorted(chosen)
        for name in names:
            assert archive.read(name) == (lab.root / "gallery-out" / name).read_bytes()
    page.wait_for_function(  # the progress beside the button is cleared once the browser has it all
        "() => document.querySelector('.iw-gallery-zip .iw-download-progress').hidden")
    shown = page.evaluate("() => window.iwProgressShown")
    assert shown[:2] == ["zipping 1/2", "zipping 2/2"] and shown[-1] == ""
    assert any(text.startswith("sending ") and text.endswith(" MB") for text in shown)

    lab.restart_kernel("gallery.ipynb")  # every object of the first run is gone
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.locator(".jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[1].querySelector('.jp-InputPrompt')"
        ".textContent.includes('[1]')", timeout=120_000)  # the gallery cell ran in the new kernel
    page.wait_for_function(_LOADED, timeout=120_000)

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
