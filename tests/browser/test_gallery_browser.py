"""The gallery in real JupyterLab: earlier images come back after a kernel restart; a zip arrives in parts.

Every image has its alt text; the date fields show "mm/dd/yyyy" whole; Delete asks first.
"""

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
    _every_image_has_alt_text_and_the_dates_show_whole(page, 3)
    # An item's Download: the item asks the kernel, which sends the file through a hidden button.
    with page.expect_download() as download:
        page.locator(".iw-gallery-item").nth(1).locator("button.iw-gallery-download").click()
    saved = download.value
    on_disk = lab.root / "gallery-out" / saved.suggested_filename
    assert on_disk.exists() and Path(saved.path()).read_bytes() == on_disk.read_bytes()
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
    chosen = [page.locator(".iw-gallery-item").nth(number).locator("button.iw-gallery-download")
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

    # Delete asks first; Keep keeps; the confirming Delete removes the image and its item.
    first = page.locator(".iw-gallery-item").nth(2)
    name = first.get_attribute("data-name")
    first.locator("button.iw-gallery-delete").click()
    assert first.locator(".iw-gallery-ask").is_visible()
    first.locator("button.iw-gallery-keep").click()
    assert not first.locator(".iw-gallery-ask").is_visible()
    assert (lab.root / "gallery-out" / name).exists()
    first.locator("button.iw-gallery-delete").click()
    first.locator("button.iw-gallery-confirm").click()
    page.wait_for_function("() => document.querySelectorAll('.iw-gallery-item').length === 2")
    assert not (lab.root / "gallery-out" / name).exists()

    lab.restart_kernel("gallery.ipynb")  # every object of the first run is gone
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.locator(".jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[1].querySelector('.jp-InputPrompt')"
        ".textContent.includes('[1]')", timeout=120_000)  # the gallery cell ran in the new kernel
    page.wait_for_function(_LOADED.replace("=== 3", "=== 2"), timeout=120_000)
    _every_image_has_alt_text_and_the_dates_show_whole(page, 2)

    captions = page.eval_on_selector_all(".iw-gallery-item .iw-gallery-caption",
                                         "els => els.map(e => e.textContent)")
    assert len(captions) == 2 and all("gpt-image-1 · low quality · 1024x1024" in caption
                                      for caption in captions)
    assert "A <b>bold</b> fox" in captions[0]  # newest first, markup shown as text
    assert page.locator(".iw-gallery b").count() == 0
    assert "2 images" in page.inner_text(".iw-gallery .iw-gallery-count")

    if os.environ.get("IMAGEWIDGETS_SCREENSHOT_GALLERY"):
        page.locator(".iw-gallery").screenshot(path=os.environ["IMAGEWIDGETS_SCREENSHOT_GALLERY"])


def _every_image_has_alt_text_and_the_dates_show_whole(page: Any, count: int) -> None:
    alts = page.eval_on_selector_all(".iw-gallery img", "imgs => imgs.map(img => img.getAttribute('alt'))")
    assert len(alts) == count
    for alt in alts:  # the prompt, then the model, quality, size and when
        assert alt and alt.startswith("A ") and "— gpt-image-1, low quality, 1024x1024, saved " in alt
    assert sum(alt.startswith("A <b>bold</b> fox — ") for alt in alts) == 1  # markup as text
    # "mm/dd/yyyy" and the calendar button fit: nothing of the field is cut off.
    fields = page.eval_on_selector_all(
        ".iw-gallery-date input[type=date]",
        "inputs => inputs.map(i => [i.scrollWidth, i.clientWidth, i.getBoundingClientRect().width])")
    assert len(fields) == 2
    for scroll, client, width in fields:
        assert scroll <= client and width >= 110, (scroll, client, width)
