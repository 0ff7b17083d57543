"""Markup from users and servers stays text in real JupyterLab: nothing runs, nothing is injected.

One payload goes everywhere a string can reach the page: the prompt (row title, alt
text, button names), the revised prompt the server sends back, an error message, a
registered model's name (dropdown, explain line), and a saved file's
name in the gallery. The payload would set ``window.__pwned`` if it ran as markup, and
its ``data-commandlinker-command`` button would run a JupyterLab command on click.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PAYLOAD = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
           '<b data-commandlinker-command="notebook:restart-kernel">press</b>')

CELLS = [
    "import shutil\n"
    "from pathlib import Path\n"
    "import imagewidgets as iw\n"
    f"PAYLOAD = {PAYLOAD!r}\n"
    "iw.register_model(iw.ModelSpec.like('gpt-image-2', name='x' + PAYLOAD))\n"
    "panel = iw.ImagePanel(params=iw.ImageParams(model='dall-e-3', prompt=PAYLOAD))\n"
    "panel.add_class('iw-test-panel')\n"
    "panel",
    # The revised prompt (dall-e-3's answer holds the prompt) and a failed tile's message.
    "tiles = await panel.generate()\n"
    "failed = iw.ImageTile(iw.ImageParams(model='gpt-image-2', prompt=PAYLOAD))\n"
    "failed.fail(RuntimeError('server said: ' + PAYLOAD))\n"
    "failed.add_class('iw-test-failed')\n"
    "failed",
    # A saved file whose very name holds markup, in the gallery.
    "saved = tiles[0].saved.path\n"
    "hostile = saved.with_name(PAYLOAD.replace('/', '') + '.png')\n"
    "shutil.copy(saved, hostile)\n"
    "shutil.copy(saved.with_suffix('.json'), hostile.with_suffix('.json'))\n"
    "gallery = iw.Gallery(panel.store.folder)\n"
    "gallery.add_class('iw-test-gallery')\n"
    "gallery",
    # Last: the model with markup in its name, chosen in the panel.
    "panel.params.model = 'x' + PAYLOAD",
]

INJECTED = """() => ({
  pwned: window.__pwned === undefined ? null : window.__pwned,
  linkers: document.querySelectorAll('.jp-OutputArea [data-commandlinker-command]').length,
  images: document.querySelectorAll('.jp-OutputArea img[src="x"]').length,
  scripts: [...document.querySelectorAll('.jp-OutputArea script')]
    .filter((s) => s.textContent.includes('__pwned')).length,
})"""


def test_markup_from_users_and_servers_stays_text(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.write_notebook("xss.ipynb", CELLS)
    lab.open(page, "xss.ipynb", ready=".iw-test-gallery .iw-gallery-grid img")
    page.wait_for_selector(".iw-test-panel .iw-tile.iw-status-done")
    panel = page.locator(".iw-test-panel")
    expect(panel.locator(".iw-field-model select")).to_have_value(f"x{PAYLOAD}")
    page.wait_for_timeout(1000)  # time for any handler or image error to fire

    # Shown, as text, where a user reads it.
    expect(panel.locator(".iw-row-title")).to_contain_text(PAYLOAD)
    expect(panel.locator(".iw-tile-caption .iw-revised")).to_contain_text(PAYLOAD)
    expect(page.locator(".iw-test-failed .iw-tile-caption")).to_contain_text(
        f"server said: {PAYLOAD}")
    expect(panel.locator(".iw-controls-explain")).to_contain_text(f"x{PAYLOAD} does not take")
    alt = panel.locator("img.iw-tile-image").first.get_attribute("alt") or ""
    assert PAYLOAD in alt
    captions = page.locator(".iw-test-gallery .iw-gallery-caption")
    expect(captions).to_have_count(2)  # the image and its copy under the hostile name
    for index in range(2):
        expect(captions.nth(index)).to_contain_text(PAYLOAD[:50])  # the caption cuts it short

    # Nothing ran, nothing became an element: clicking the would-be command button's text
    # restarts no kernel.
    page.get_by_text("press", exact=False).first.click()
    page.wait_for_timeout(500)
    assert page.evaluate(INJECTED) == {"pwned": None, "linkers": 0, "images": 0, "scripts": 0}
    assert page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() == 1
