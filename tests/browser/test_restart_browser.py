"""After the kernel: a restarted kernel's buttons say why, a reopened notebook shows its images."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CELLS = [
    "import imagewidgets as iw\n"
    "panel = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-1', prompt='A lighthouse at dusk',\n"
    "                                            quality='low', size='1024x1024', n=6))\n"
    "panel",
]


def _generate_six(lab: Any, page: Any, name: str) -> None:
    lab.write_notebook(name, CELLS)
    lab.open(page, name, ready=".iw-panel")
    page.click("button.iw-generate")
    page.wait_for_function(
        "() => document.querySelectorAll('.iw-tile.iw-status-done').length === 6", timeout=120_000)


def test_a_click_after_a_kernel_restart_says_why(lab: Any, page: Any) -> None:
    _generate_six(lab, page, "restart.ipynb")
    page.click(".iw-tile .iw-enlarge button")  # the kernel answers: no message
    page.wait_for_selector(".iw-enlarged img")
    page.keyboard.press("Escape")
    assert page.locator(".iw-kernel-note").is_hidden()

    lab.restart_kernel("restart.ipynb")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    # As a person would: look at the page a moment after the restart, then click. (Within the
    # first second JupyterLab may still be reconnecting the widgets to the new kernel.)
    page.wait_for_timeout(2000)
    page.click(".iw-tile .iw-download button")
    note = page.locator(".iw-panel .iw-kernel-note")
    note.wait_for(state="visible", timeout=120_000)
    text = note.inner_text()
    assert "The kernel did not answer" in text and "Run the cell again" in text
    assert "imagewidgets-output/" in text  # where the images are
    assert "busy" not in text


def test_a_click_while_a_long_cell_runs_says_busy_not_restarted(lab: Any, page: Any) -> None:
    # The second cell runs until the test makes the file "go": a kernel busy for as long as
    # the test needs, no longer.
    lab.write_notebook("busy.ipynb", [CELLS[0].replace("n=6", "n=1"),
                                      "import pathlib, time\n"
                                      "while not pathlib.Path('go').exists():\n"
                                      "    time.sleep(0.05)"])
    lab.open(page, "busy.ipynb", ready=".iw-panel")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']")
    # A request answered on the control channel while the cell runs ends with an "idle" that
    # makes the kernel's status say idle: the note must not take that for a restart.
    _ask_on_the_control_channel(lab, "busy.ipynb")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=120_000)
    page.click("button.iw-generate")  # queued behind the running cell: no answer yet
    note = page.locator(".iw-panel .iw-kernel-note")
    note.wait_for(state="visible", timeout=120_000)
    text = note.inner_text()
    assert "busy" in text and "restarted" not in text and "Run the cell again" not in text
    (lab.root / "go").write_text("")  # the cell ends: the kernel answers the click
    note.wait_for(state="hidden", timeout=120_000)
    page.wait_for_selector(".iw-tile.iw-status-done", timeout=120_000)  # and the click was not lost


def _ask_on_the_control_channel(lab: Any, name: str) -> None:
    """Send ``is_complete_request`` on the control channel of ``name``'s kernel; wait for its reply."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient()
    client.load_connection_file(lab.root.parent / "home" / "runtime" / f"kernel-{lab.kernel_id(name)}.json")
    client.start_channels()
    try:
        request = client.session.msg("is_complete_request", {"code": "1"})
        client.control_channel.send(request)
        reply = client.control_channel.get_msg(timeout=120)  # stuck, not slow
        assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
    finally:
        client.stop_channels()


def test_a_reopened_notebook_shows_its_images_from_disk_and_stays_small(lab: Any, page: Any) -> None:
    _generate_six(lab, page, "reopen.ipynb")
    # While the panel is live its record (the same images, named by path) stays hidden.
    assert page.locator(".iw-saved-record").count() == 1
    assert page.locator(".iw-saved-record").is_hidden()
    notebook = lab.save(page, "reopen.ipynb")
    deadline = time.monotonic() + 120  # stuck, not slow
    while "imagewidgets-output/" not in json.dumps(notebook) and time.monotonic() < deadline:
        notebook = lab.save(page, "reopen.ipynb")  # the record's last update may still be on its way
    lab.shut_down_kernel("reopen.ipynb")

    size = (lab.root / "reopen.ipynb").stat().st_size
    text = (lab.root / "reopen.ipynb").read_text()
    assert size < 50_000 and "data:image" not in text and "base64" not in text
    saved = sorted((lab.root / "imagewidgets-output").glob("*_gpt-image-1_a-lighthouse-at-dusk_*.png"))
    assert len(saved) >= 6

    page.goto(f"{lab.url}/lab/tree/reopen.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook")
    # The widget cannot be drawn without its kernel; the record can, from the files.
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('.jp-OutputArea-output img')]"
        "  .filter(img => (img.getAttribute('src') || '').includes('imagewidgets-output'));"
        " return imgs.length === 6 && imgs.every(img => img.complete && img.naturalWidth > 0); }",
        timeout=120_000)
    record = page.locator(".jp-OutputArea-output", has_text="6 images saved")
    assert record.count() == 1 and record.is_visible()


def _record_html(notebook: dict[str, Any]) -> str:
    """The saved record's output in ``notebook`` (its HTML), or empty."""
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            shown = output.get("data", {}).get("text/html", "")
            text = "".join(shown) if isinstance(shown, list) else shown
            if "iw-saved-record" in text:
                return str(text)
    return ""


def test_a_reload_before_saving_leaves_the_saved_record_naming_every_image(lab: Any, page: Any) -> None:
    lab.write_notebook("reload.ipynb", [CELLS[0].replace("n=6", "n=2")])
    lab.open(page, "reload.ipynb", ready=".iw-panel")
    assert "images saved" not in _record_html(lab.save(page, "reload.ipynb"))  # saved with no image
    folder = lab.root / "imagewidgets-output"
    before = set(folder.glob("*.png"))  # the module's other notebooks save here too
    page.click("button.iw-generate")
    page.wait_for_function(
        "() => document.querySelectorAll('.iw-tile.iw-status-done').length === 2", timeout=120_000)
    saved = sorted(path.name for path in set(folder.glob("*.png")) - before)
    assert len(saved) == 2
    # The record's updates reached this page only: the file still says no image (no autosave yet).
    assert "images saved" not in _record_html(json.loads((lab.root / "reload.ipynb").read_text()))

    page.reload()  # not saved: the page shows the notebook as last saved, the panel live again
    page.wait_for_selector(".iw-panel .iw-tile.iw-status-done", timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.iw-saved-record')]"
        "  .some(record => record.textContent.includes('2 images saved'))", timeout=120_000)
    lab.save(page, "reload.ipynb")
    # lab.save returns once the file holds outputs, which it did before: wait for this save.
    deadline = time.monotonic() + 120  # stuck, not slow
    record = ""
    while "images saved" not in record and time.monotonic() < deadline:
        time.sleep(0.2)
        record = _record_html(json.loads((lab.root / "reload.ipynb").read_text()))
    assert "2 images saved" in record
    assert all(f"imagewidgets-output/{name}" in record for name in saved)


def test_a_restarted_kernels_panel_shows_one_disconnected_mark(lab: Any, page: Any) -> None:
    lab.write_notebook("marks.ipynb", CELLS)
    lab.open(page, "marks.ipynb", ready=".iw-panel")
    # As the Kernel menu's Restart does (a restart through the server's REST API reads as an
    # "autorestarting" in the page, which leaves the widgets connected).
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
    # ipywidgets marks every view of the old panel disconnected (a broken-chain icon each).
    page.wait_for_function(
        "() => document.querySelectorAll('.iw-panel .jupyter-widgets-disconnected').length > 10",
        timeout=120_000)
    visible = page.evaluate(
        "() => { const panel = document.querySelector('.iw-panel');"
        " return [panel, ...panel.querySelectorAll('*')]"
        "  .filter(node => node.classList.contains('jupyter-widgets-disconnected'))"
        "  .filter(node => { const mark = getComputedStyle(node, '::before');"
        "    return mark.display !== 'none' && mark.content !== 'none' && mark.content !== ''; })"
        "  .length; }")
    assert visible == 1  # the panel's own: that it is disconnected is still said, once
