"""The notebooks run top to bottom, headless, and are committed clean.

Each runs twice: with no key, on the built-in emulator; and as it would with a
key, against an emulator answering as the API does today (models shut down by
now refused), reached through ``OPENAI_BASE_URL`` so the toolkit treats it as
the API.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from imagewidgets.emulator import serve
from imagewidgets.models import MODELS

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
KEY = "sk-test-notebooks"
"""The key the API-mode run sets; it must never appear in the executed notebook."""
STUCK = 600
"""Seconds after which a notebook's cell or kernel is stuck, not slow: a failure bound only."""

# What each lesson's outputs must hold once run, either way: output types (mime types) and text.
EXPECTED: dict[str, dict[str, list[str]]] = {
    "01_quickstart.ipynb": {
        "mime": [WIDGET, "image/jpeg"],  # iw.generate's image: a thumbnail
        "text": ["'done'", "kept in", ".json'", "'style': 'natural'"]},
    "02_compare_models_and_qualities.ipynb": {
        "mime": [WIDGET, "text/html"],  # the grid, the contact sheet by its path
        "text": ["12 done · 0 failed · 12 total", "total cost: $", "contact-sheet", "<img src="]},
    "03_streaming_partial_images.ipynb": {
        "mime": ["image/jpeg"],  # partial and final images as thumbnails
        "text": ["PartialImage(image_index=0, partial_index=1", "GeneratedImage(", "Usage("]},
    "04_what_each_model_accepts.ipynb": {
        "mime": ["text/markdown"],
        "text": ["| `dall-e-3` | retired |", "| `gpt-image-2` | live |", "1536x1024",
                 "(estimate, prices of"]},
    "05_scripting_and_history.ipynb": {
        "mime": [WIDGET, "image/jpeg"],  # the gallery, the images (thumbnails)
        "text": ["bicycle.png", "'actual'"]},
}

# Lessons whose outputs show images: the most bytes each may weigh saved with its outputs (was 133 KB
# and 242 KB when images and contact sheets were embedded whole).
SMALL_WHEN_SAVED = {"01_quickstart.ipynb": 50_000, "02_compare_models_and_qualities.ipynb": 50_000}

# Lessons whose images are kept (the panel, the grid, iw.generate): in IMAGEWIDGETS_DIR.
# 03 uses the client, which keeps nothing; 04 sends nothing.
GENERATES = set(EXPECTED) - {"03_streaming_partial_images.ipynb", "04_what_each_model_accepts.ipynb"}
SENDS = set(EXPECTED) - {"04_what_each_model_accepts.ipynb"}

# Appended to each run: panels and grids fail inside their tiles, not in the cell.
CHECK_TILES = """\
import imagewidgets as _iw

_unfinished = []
for _name, _value in list(globals().items()):
    if isinstance(_value, _iw.ImagePanel):
        _tiles = _value.tiles
    elif isinstance(_value, _iw.CompareGrid):
        _tiles = _value.cells
    else:
        continue
    for _tile in _tiles:
        if _tile.status != "done":
            _unfinished.append(f"{_name}: {_tile.status}: {_tile.error!r}")
assert not _unfinished, "tiles not done: " + "; ".join(_unfinished)
print("every tile done")
"""


def _outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])]


def _run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute the notebook (plus the tile check) in a fresh kernel; check what every run must."""
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0.2")
    monkeypatch.setenv("IMAGEWIDGETS_DIR", str(tmp_path / "output"))  # nothing in the checkout
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    work = tmp_path / "work"
    work.mkdir()
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK_TILES))
    # Every bound here is a stuck-bound, never a speed expectation: a cell, the kernel's start
    # and the last output after a cell's reply may each take long on a busy machine. The
    # iopub bound raises when it passes: by default nbclient waits 4 s for a cell's last
    # output, then drops it silently (how "every tile done" went missing under load).
    client = NotebookClient(notebook, timeout=STUCK, startup_timeout=STUCK, iopub_timeout=STUCK,
                            raise_on_iopub_timeout=True, kernel_name="python3",
                            coalesce_streams=True,  # a print may arrive as two stream messages
                            resources={"metadata": {"path": str(work)}})
    client.execute()
    outputs = _outputs(notebook)
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, "\n".join(f"{e.ename}: {e.evalue}" for e in errors)
    # The check cell's printed text, however many stream messages a busy kernel split it into.
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].get("outputs", []))
    assert "every tile done" in printed, notebook.cells[-1].get("outputs")
    expected = EXPECTED[path.name]
    mimes = {mime for output in outputs for mime in output.get("data", {})}
    for mime in expected["mime"]:
        assert mime in mimes, f"{path.name}: no {mime} output"
    text = str(outputs)
    for marker in expected["text"]:
        assert marker in text, f"{path.name}: {marker!r} not in the outputs"
    assert not (work / "imagewidgets-output").exists(), "images were written beside the notebook"
    if path.name in GENERATES:
        assert any((tmp_path / "output").iterdir()), "the images were kept in IMAGEWIDGETS_DIR"
    if path.name in SMALL_WHEN_SAVED:  # images by path or as thumbnails, never whole PNGs
        saved = len(nbformat.writes(_without_widget_state(notebook)).encode())
        assert saved < SMALL_WHEN_SAVED[path.name], f"{path.name}: {saved:,} bytes saved with outputs"
    return notebook


def _without_widget_state(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as saved with its outputs; the widgets' state is the tiles' (measured in B11-state)."""
    copy = nbformat.from_dict(notebook)
    copy.metadata.pop("widgets", None)
    return copy


def test_every_notebook_has_expectations() -> None:
    assert sorted(EXPECTED) == [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    assert "widgets" not in notebook.metadata, f"{path.name}: saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key: the built-in emulator, which serves every model."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    _run(path, tmp_path, monkeypatch)
    assert os.environ.get("OPENAI_API_KEY") is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_against_todays_api(path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key: every request goes to a server answering as the API does today,
    so a model shut down by now is refused (by the client before sending, or by
    the server); the key appears nowhere in the executed notebook or the kept files."""
    today = date.today()  # the kernel's lifecycle clock is the real date, not the tests' fixed one
    with serve(port=0, latency=0.2, as_of=today, api_key=KEY) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        notebook = _run(path, tmp_path, monkeypatch)
        requests = server.requests
        sent = server.request_count
    saved = nbformat.writes(notebook)  # outputs and the widgets' state
    assert "Offline emulator" not in saved, "a key is set, but the notebook used the built-in emulator"
    if path.name in SENDS:
        assert sent > 0, "nothing reached the server given by OPENAI_BASE_URL"
    else:
        assert sent == 0, f"{path.name} sends nothing, yet {sent} requests arrived"
    models = {str((request["json"] or {}).get("model")) for request in requests}
    retired = sorted(name for name in models
                     if name not in MODELS or MODELS[name].retired(today))
    assert not retired, f"requests for models not live on {today}: {retired}"
    for request in requests:  # the emulator-only header is never sent to the API
        assert "x-emulator-variation" not in request["headers"]
    assert KEY not in saved, "the key is in the executed notebook"
    for kept in (tmp_path / "output").rglob("*") if (tmp_path / "output").exists() else ():
        if kept.is_file():
            assert KEY.encode() not in kept.read_bytes(), f"the key is in {kept.name}"
