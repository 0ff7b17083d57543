"""The synchronous ``iw.generate``: in a script, and inside a running loop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import imagewidgets as iw
from imagewidgets.api import default_client
from imagewidgets.emulator import EmulatorServer


def test_sync_generate_in_a_script(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer,
                                   api_key: str, output_folder: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    # OPENAI_BASE_URL could be the API: a model it still serves
    images = iw.generate("A cute cat", model="gpt-image-2.6-flare", quality="low")
    assert len(images) == 1 and images[0].format == "png"
    # Kept on disk with its settings: the default folder ($IMAGEWIDGETS_DIR here).
    (sidecar,) = output_folder.glob("*.json")
    record = json.loads(sidecar.read_text())
    assert record["params"]["prompt"] == "A cute cat" and record["usage"]["output_tokens"] > 0
    assert record["cost"]["actual"] > 0 and record["cost"]["estimated"] > 0  # the gallery's totals
    assert (output_folder / record["file"]).read_bytes().startswith(images[0].data[:8])
    assert api_key not in sidecar.read_text()
    assert iw.generate("A cute cat", model="gpt-image-2.6-flare", store=None)
    assert len(list(output_folder.glob("*.json"))) == 1  # store=None kept nothing


async def test_sync_generate_inside_a_running_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0")
    asyncio.get_running_loop()  # a notebook cell: a loop is running
    images = iw.generate("A cute cat", model="dall-e-2", size="256x256", n=2)
    assert [image.width for image in images] == [256, 256]
    assert default_client().is_emulator


def test_an_answer_whose_image_is_bad_is_still_counted_as_billed(
        monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, api_key: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.inject("not_an_image", times=1)
    with pytest.raises(iw.ImageDecodeError):
        iw.generate("A lighthouse", model="gpt-image-2", quality="low", store=None)
    # The server answered, so the API would have billed it: counted, nothing left held.
    assert iw.spending.SESSION.emulated > 0 and iw.spending.SESSION.reserved == 0
