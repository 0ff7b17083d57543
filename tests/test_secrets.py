"""The key stays in the client's headers: never in widget state, a display, a file, a log.

One run does what a user does with a key (a panel streaming, a failed tile, a
comparison grid, the gallery, ``iw.generate``), at DEBUG logging for us, httpx
and httpcore, against an emulator demanding a random ``sk-test-`` key; then
every place a key could land is searched, as text and as bytes.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve


@pytest.fixture(scope="module")
def secret_key() -> str:
    return "sk-test-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def keyed_server(secret_key: str) -> Iterator[EmulatorServer]:
    with serve(port=0, api_key=secret_key) as running:
        yield running


def _manager_state() -> tuple[str, list[bytes]]:
    """Every live widget's state as the notebook would save it, and its binary buffers."""
    state = widgets.Widget.get_manager_state(drop_defaults=False)
    buffers = [base64.b64decode(buffer["data"]) for model in state["state"].values()
               for buffer in model.get("buffers", [])]
    return json.dumps(state), buffers


def _mimebundles() -> str:
    bundles = []
    for widget in list(_instances.values()):
        shown = widget._repr_mimebundle_() if hasattr(widget, "_repr_mimebundle_") else None
        bundles.append(repr(shown))
    return "\n".join(bundles)


def _files(folder: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in sorted(folder.rglob("*")) if path.is_file()]


async def test_the_key_is_nowhere_a_user_or_a_notebook_can_see(
        keyed_server: EmulatorServer, secret_key: str, output_folder: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    for name in ("imagewidgets", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with iw.ImagesClient(api_key=secret_key, base_url=keyed_server.url, max_retries=0,
                               is_emulator=True) as client:
        panel = iw.ImagePanel(client=client, params=iw.ImageParams(
            model="gpt-image-2", prompt="A lighthouse at dusk", quality="low", n=2, stream=True,
            partial_images=1), history=True)
        tiles = await panel.generate()
        keyed_server.inject("status_500", times=2)
        failed = await panel.generate()
        grid = panel.compare(rows=("model", ["gpt-image-2"]), columns=("quality", ["low", "high"]))
        await grid.run()
        panel.history.selected_index = 0  # the gallery of the store, opened  # type: ignore[union-attr]
        shown: list[Any] = [client, panel, grid, panel.gallery, *tiles, *failed,
                            *(tile.result for tile in tiles)]
        texts = [repr(thing) for thing in shown] + [str(tile.error) for tile in failed]

    assert [tile.status for tile in tiles] == ["done", "done"]
    assert [tile.status for tile in failed] == ["failed", "failed"]
    assert all(cell.status == "done" for cell in grid.cells)
    state, buffers = _manager_state()
    files = _files(output_folder)
    assert len([path for path, _data in files if path.suffix == ".png"]) >= 4  # what was kept
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST" in logged or "images/generations" in logged  # the DEBUG logs were captured

    secret = secret_key.encode()
    assert secret_key not in state
    assert not [index for index, data in enumerate(buffers) if secret in data]
    assert secret_key not in _mimebundles()
    assert not [path for path, data in files if secret in data]
    assert secret_key not in logged
    assert not [text for text in texts if secret_key in text]
    for widget in (panel, grid):
        widget.close()
