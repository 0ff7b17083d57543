"""The size of a saved notebook holding a panel of 20 images, and whether pictures are inline.

Run: ``python benchmarks/bench_notebook.py`` (or ``make bench``). A notebook of three cells
(make and show an ``iw.ImagePanel`` on the built-in emulator; generate :data:`IMAGES`
images, :data:`PER_ROW` a row, awaited; count the tiles done) is executed with nbclient in a
fresh kernel and written with nbformat, twice:

* as JupyterLab saves it by default ("Save Widget State Automatically" is off): the outputs
  hold only widget views, nbclient ``store_widget_state=False``. Goals: its size <= 50 KB
  (B11), and no ``data:image`` in it (B11-data-image): the pictures stay in their files;
* with the widgets' state stored, as nbclient stores it (its default): reported
  (B11-state-nbclient). nbclient stores each model's state as the kernel sent it, nulls
  included; JupyterLab's own save drops the front end's defaults, so it saves less: that
  save, the one a user makes with "Save Widget State Automatically" on, is B11-state
  (goal <= 100 KB), measured in real JupyterLab by ``bench_browser.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from pathlib import Path

import nbformat
from _shared import Figure, main
from nbclient import NotebookClient

IMAGES, PER_ROW = 20, 10  # gpt-image-1 takes n up to 10: two rows of ten
CELLS = [
    'import imagewidgets as iw\n\n'
    'panel = iw.ImagePanel(params=iw.ImageParams(model="gpt-image-1", quality="low", '
    'stream=True, partial_images=2))\n'
    'panel',
    'panel.params.prompt = "A lighthouse at dusk, oil painting"\n'
    'panel.params.n = {per_row}\n'
    'for _ in range({rows}):\n'
    '    await panel.generate()',
    '[tile.status for tile in panel.tiles].count("done")',
]


async def run(images: int, per_row: int, store_widget_state: bool, folder: Path) -> str:
    """The notebook, executed in a fresh kernel and written as a file: its text."""
    rows = -(-images // per_row)
    sources = [cell.format(per_row=per_row, rows=rows) for cell in CELLS]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    work = folder / f"work-{store_widget_state}"
    work.mkdir()
    # The built-in emulator, always: no key, no base URL; the images kept in the work folder.
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    environment.update(IMAGEWIDGETS_EMULATOR_LATENCY="0", IMAGEWIDGETS_DIR=str(work / "output"),
                       PYTHONWARNINGS="ignore")
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            store_widget_state=store_widget_state,
                            resources={"metadata": {"path": str(work)}})
    await client.async_execute(env=environment)
    outputs = [output for cell in notebook.cells for output in cell.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, errors
    done = notebook.cells[-1].outputs[0]["data"]["text/plain"]
    assert done == str(rows * per_row), f"tiles done: {done}, not {rows * per_row}"
    path = work / "panel.ipynb"
    nbformat.write(notebook, path)
    return path.read_text()


async def both(images: int, per_row: int, folder: Path) -> tuple[str, str]:
    """The two saves, each its own kernel, run at once: (widget views only, with widget state)."""
    views, state = await asyncio.gather(run(images, per_row, False, folder),
                                        run(images, per_row, True, folder))
    return views, state


def _parts(text: str) -> str:
    """Where the bytes of a saved notebook are: its outputs by mime type, and the widget state."""
    notebook = nbformat.reads(text, as_version=4)
    sizes: dict[str, int] = {}
    for cell in notebook.cells:
        for output in cell.outputs:
            for mime, value in output.get("data", {}).items():
                sizes[f"outputs {mime}"] = sizes.get(f"outputs {mime}", 0) + len(str(value))
    state = notebook.metadata.pop("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if state:
        sizes[f"metadata.widgets ({len(state)} models)"] = (
            len(text) - len(nbformat.writes(notebook)))
        by_model: dict[str, tuple[int, int]] = {}  # name: (models, compact JSON bytes)
        for model in state.values():
            name = model.get("model_name", "?")
            count, size = by_model.get(name, (0, 0))
            by_model[name] = (count + 1, size + len(json.dumps(model, separators=(",", ":"))))
        for name, (count, size) in sorted(by_model.items(), key=lambda item: -item[1][1])[:8]:
            sizes[f"  {name} x{count}"] = size
    return "; ".join(f"{part}: {size / 1024:.1f} KB" for part, size in sizes.items())


def measure(quick: bool) -> tuple[list[Figure], str]:
    images, per_row = (4, 4) if quick else (IMAGES, PER_ROW)
    with tempfile.TemporaryDirectory() as folder:
        views, state = asyncio.run(both(images, per_row, Path(folder)))
    inline = len(re.findall("data:image", views))
    report = "\n".join([
        f"A notebook with an ImagePanel of {images} images (gpt-image-1, low, 1024x1024 PNG, "
        "streamed with 2 partials; the built-in emulator), executed with nbclient and saved "
        "with nbformat",
        "",
        "| saved | size | data:image | where the bytes are |",
        "|---|---:|---:|---|",
        f"| widget views only (JupyterLab's default) | {len(views.encode()) / 1024:.1f} KB | "
        f"{inline} | {_parts(views)} |",
        f"| with widget state | {len(state.encode()) / 1024:.1f} KB | "
        f"{len(re.findall('data:image', state))} | {_parts(state)} |",
        "",
        "Widget views only: each output names a model by id (and the saved record's text/html "
        "names the images by relative path); the pictures stay in their files. With widget "
        "state, metadata.widgets holds every model of the panel (by kind: compact JSON): each "
        "tile's small loader (_esm) and captions, the tiles' code once (the WidgetModel), the "
        "controls, and one Layout and Style model per distinct look (shared, nulls left out).",
    ])
    figures = [
        Figure("B11", f"notebook with a panel of {images} images, saved as JupyterLab does",
               len(views.encode()) / 1024, 50, unit="KB"),
        Figure("B11-data-image", "data:image occurrences in that notebook", inline, 0,
               unit="occurrences"),
        Figure("B11-state-nbclient", "the same notebook saved with widget state by nbclient",
               len(state.encode()) / 1024, None, unit="KB"),
    ]
    return figures, report


if __name__ == "__main__":
    main(measure)
