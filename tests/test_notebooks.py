"""The notebooks run top to bottom, headless, on the built-in emulator, and are committed clean."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"

# What each lesson's outputs must hold once run: output types (mime types) and text.
EXPECTED: dict[str, dict[str, list[str]]] = {
    "01_quickstart.ipynb": {"mime": [WIDGET, "image/png"], "text": ["'done'"]},
    "02_compare_models_and_qualities.ipynb": {
        "mime": [WIDGET, "image/png"],  # the grid, the contact sheet
        "text": ["12 done · 0 failed · 12 total", "total cost: $"]},
    "03_streaming_partial_images.ipynb": {
        "mime": ["image/png"],
        "text": ["PartialImage(image_index=0, partial_index=1", "GeneratedImage(", "Usage("]},
    "04_what_each_model_accepts.ipynb": {
        "mime": ["text/markdown"],
        "text": ["| `dall-e-3` | retired |", "1536x1024", "(estimate, prices of"]},
    "05_scripting_and_history.ipynb": {
        "mime": [WIDGET, "image/png"],  # the gallery, the images
        "text": ["bicycle.png", "'actual'"]},
}

# Lessons whose images are kept (the panel, the grid, iw.generate): in IMAGEWIDGETS_DIR.
# 03 uses the client, which keeps nothing; 04 sends nothing.
GENERATES = set(EXPECTED) - {"03_streaming_partial_images.ipynb", "04_what_each_model_accepts.ipynb"}


def _outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])]


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
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0.2")
    monkeypatch.setenv("IMAGEWIDGETS_DIR", str(tmp_path / "output"))  # nothing in the checkout
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    work = tmp_path / "work"
    work.mkdir()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    client.execute()
    outputs = _outputs(notebook)
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, "\n".join(f"{e.ename}: {e.evalue}" for e in errors)
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
    assert os.environ.get("OPENAI_API_KEY") is None
