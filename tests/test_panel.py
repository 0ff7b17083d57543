"""The panel, headless: real widgets, a real emulator on 127.0.0.1, no browser."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.params import ImageParams
from imagewidgets.ui.panel import EMULATOR_BANNER, ImagePanel


@pytest.fixture(scope="module")
def slow_server() -> Iterator[EmulatorServer]:
    """An emulator that takes 5 s per request: work stays in flight while a test looks."""
    with serve(port=0, latency=5.0) as slow:
        yield slow


@pytest.fixture
async def slow_client(slow_server: EmulatorServer) -> AsyncIterator[iw.ImagesClient]:
    async with iw.ImagesClient(base_url=slow_server.url, api_key="sk-test",
                               max_retries=0, is_emulator=True) as made:
        yield made


async def _settle(panel: ImagePanel, timeout: float = 20.0) -> None:
    """Wait until every task the panel started has finished."""
    deadline = time.monotonic() + timeout
    await asyncio.sleep(0)
    while panel.jobs.busy:
        assert time.monotonic() < deadline, "generation did not finish"
        await asyncio.sleep(0.01)


def _panel(client: iw.ImagesClient, **fields: Any) -> ImagePanel:
    params = iw.ImageParams(**{"prompt": "A lighthouse at dusk", "model": "gpt-image-1",
                               "quality": "low", "size": "1024x1024", **fields})
    return ImagePanel(client=client, params=params)


async def test_generate_button_fills_a_row(client: iw.ImagesClient) -> None:
    panel = _panel(client, n=2)
    panel.generate_button.click()
    await _settle(panel)
    assert [tile.status for tile in panel.tiles] == ["done", "done"]
    first, second = (tile.result for tile in panel.tiles)
    assert first.width == 1024 and first.format == "png"
    assert first.data != second.data  # two images of one request differ
    assert bytes(panel.tiles[0].image.value).startswith(b"\x89PNG")
    with Image.open(io.BytesIO(bytes(panel.tiles[0].image.value))) as thumb:
        assert max(thumb.size) == 384  # only the thumbnail goes to the browser
    assert "gpt-image-1" in panel.tiles[0].caption.value and "tokens" in panel.tiles[0].caption.value
    panel.close()


async def test_streamed_tiles_pass_through_partials_to_done(client: iw.ImagesClient) -> None:
    panel = _panel(client, stream=True, partial_images=3)
    seen: list[tuple[str, int]] = []

    def watch(change: Any) -> None:
        if not change["new"]:
            return  # the grid was cleared
        for tile in change["new"][0].children[1].children:
            tile.observe(lambda c, t=tile: seen.append((c["new"], len(t.image.value))),
                         names="status")

    panel.grid.observe(watch, names="children")
    tiles = await panel.generate()
    statuses = [status for status, _ in seen]
    assert statuses[0] == "running" and statuses[-1] == "done"
    assert "partial" in statuses
    partial_size = next(size for status, size in seen if status == "partial")
    assert partial_size > 0  # a real picture was shown before the final one
    assert tiles[0].last_partial is not None and tiles[0].last_partial.partial_index == 2
    assert tiles[0].result is not None
    panel.close()


async def test_a_fault_fails_one_tile_and_spares_the_others(server: EmulatorServer,
                                                            client: iw.ImagesClient) -> None:
    panel = _panel(client, n=3)
    server.inject("status_500", times=1)
    tiles = await panel.generate()
    statuses = sorted(tile.status for tile in tiles)
    assert statuses == ["done", "done", "failed"]
    failed = next(tile for tile in tiles if tile.status == "failed")
    assert isinstance(failed.error, iw.ServerError)
    assert "ServerError" in failed.caption.value and "try again" in failed.caption.value
    assert failed.actions.layout.display == "none"
    panel.close()


async def test_cancel_marks_tiles_and_leaves_the_client_usable(slow_client: iw.ImagesClient,
                                                                client: iw.ImagesClient) -> None:
    panel = _panel(slow_client, n=2)
    job = asyncio.get_running_loop().create_task(panel.generate())
    while not panel.tiles or any(tile.status != "running" for tile in panel.tiles):
        await asyncio.sleep(0.01)
    assert not panel.cancel_button.disabled
    panel.cancel_button.click()
    tiles = await asyncio.wait_for(job, 5)
    assert [tile.status for tile in tiles] == ["cancelled", "cancelled"]
    assert panel.cancel_button.disabled
    panel.close()


@pytest.mark.parametrize(("count", "shown"), [(1, "1 image in progress…"),
                                               (10, "10 images in progress…")])
async def test_the_status_line_counts_images_in_flight(slow_client: iw.ImagesClient, count: int,
                                                       shown: str) -> None:
    panel = _panel(slow_client, n=count)
    panel.generate_button.click()  # the click's own task is no image
    while len(panel.tiles) < count or any(tile.status != "running" for tile in panel.tiles):
        await asyncio.sleep(0.01)
    assert panel.status.value == shown and panel.running == count
    panel.cancel()
    await _settle(panel, timeout=5)
    assert panel.status.value == "" and panel.cancel_button.disabled
    assert [tile.status for tile in panel.tiles] == ["cancelled"] * count
    panel.close()


@pytest.mark.parametrize("count", [1, 3])
async def test_parameters_are_checked_once_per_generate(client: iw.ImagesClient, count: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[ImageParams] = []
    real = ImageParams.problems

    def counting(self: ImageParams) -> list[str]:
        calls.append(self)
        return real(self)

    panel = _panel(client, n=count)
    monkeypatch.setattr(ImageParams, "problems", counting)
    tiles = await panel.generate()
    assert [tile.status for tile in tiles] == ["done"] * count
    assert len(calls) == 1
    panel.close()


async def test_a_second_generate_while_one_runs_starts_a_new_row(client: iw.ImagesClient) -> None:
    panel = _panel(client)
    first = asyncio.ensure_future(panel.generate())
    panel.params.prompt = "A second idea"
    second = asyncio.ensure_future(panel.generate())
    rows = await asyncio.gather(first, second)
    assert len(panel.grid.children) == 2
    assert panel.tiles[0] is rows[1][0]  # newest on top
    assert panel.tiles[0].params.prompt == "A second idea"
    assert all(tile.status == "done" for tile in panel.tiles)
    panel.close()


async def test_bad_params_explain_and_send_nothing(client: iw.ImagesClient) -> None:
    panel = _panel(client, prompt="")
    assert await panel.generate() == []
    assert "prompt is empty" in panel.status.value and panel.tiles == []
    panel.params.model = "dall-e-2"
    panel.params.prompt = "x" * 1001
    assert await panel.generate() == []
    assert "1,001 characters" in panel.status.value
    assert panel.params.model == "dall-e-2" and len(panel.params.prompt) == 1001  # nothing lost
    panel.close()


async def test_a_failure_no_tile_shows_lands_in_the_status_line(client: iw.ImagesClient) -> None:
    panel = _panel(client)

    async def broken() -> list[Any]:
        raise RuntimeError("the <row> could not be built")

    panel.generate = broken  # type: ignore[method-assign]
    panel.generate_button.click()
    await _settle(panel)
    assert panel.status.value == ('<span class="iw-error">the &lt;row&gt; could not be built'
                                  "</span>")
    assert panel.cancel_button.disabled
    panel.close()


async def test_ctrl_enter_in_the_prompt_generates(client: iw.ImagesClient) -> None:
    panel = _panel(client)
    panel.controls.prompt.value = "Typed in the box"
    panel.controls.prompt._on_message(None, {"event": "submit"}, [])
    await _settle(panel)
    assert panel.params.prompt == "Typed in the box"
    assert [tile.status for tile in panel.tiles] == ["done"]
    panel.close()


def test_a_click_with_no_running_loop_explains_itself() -> None:
    panel = ImagePanel(client=_NoClient(), params=iw.ImageParams(prompt="x"))  # type: ignore[arg-type]
    panel.generate_button.click()
    assert "await panel.generate()" in panel.status.value and not panel.jobs.busy
    panel.close()


async def test_download_enlarge_and_reuse(client: iw.ImagesClient) -> None:
    panel = _panel(client, prompt="A <b>bold</b> fox", model="dall-e-3", quality="auto",
                   style="natural")
    (tile,) = await panel.generate()
    assert tile.status == "done"
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    tile.download.send = lambda content, buffers=None: sent.append((content, buffers))
    tile.download._on_request(None, {"event": "request"}, [])
    (content, buffers), = sent
    assert buffers[0] == tile.result.data
    assert content["mime"] == "image/png"
    assert content["filename"].startswith("a-b-bold-b-fox_dall-e-3_")
    assert content["filename"].endswith(".png")
    assert "revised" in tile.caption.value and "<b>bold</b>" not in tile.caption.value
    assert "&lt;b&gt;" in panel.grid.children[0].children[0].value  # the row title is escaped
    # no image bytes in any widget's state but the thumbnail's
    assert tile.result.data not in [w.get_state().get("value") for w in tile.children]

    panel.params.model = "gpt-image-1"
    panel.params.prompt = "something else"
    tile.reuse.click()
    assert (panel.params.model, panel.params.style, panel.params.prompt) == (
        "dall-e-3", "natural", "A <b>bold</b> fox")
    panel.close()


async def test_no_widget_left_alive_after_close(client: iw.ImagesClient) -> None:
    # Widget.widgets is deprecated in ipywidgets 8.1; _instances is the registry behind it.
    before = set(_instances)
    panel = _panel(client, n=2, stream=True, partial_images=1)
    await panel.generate()
    panel.params.model = "dall-e-3"
    panel.close()
    assert set(_instances) - before == set()


def test_emulator_banner_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    panel = ImagePanel()
    assert EMULATOR_BANNER in panel.banner.value
    panel.close()


def test_panel_with_a_key_has_no_banner_and_no_key_in_state(api_key: str) -> None:
    client = iw.ImagesClient(api_key=api_key, base_url="http://127.0.0.1:9/v1")
    panel = ImagePanel(client=client)
    assert panel.banner.value == ""
    everything = [w.get_state() for w in _tree(panel)]
    assert api_key not in repr(everything)
    assert api_key not in repr(panel)
    panel.close()


def _tree(widget: Any) -> list[widgets.Widget]:
    """A widget and everything under it: children, layouts, styles."""
    found, pending = [], [widget]
    while pending:
        current = pending.pop()
        if isinstance(current, widgets.Widget) and current not in found:
            found.append(current)
            pending.extend(getattr(current, "children", ()))
            pending.extend(getattr(current, name, None) for name in ("layout", "style"))
    return found


class _NoClient:
    """For tests that never generate."""

    is_emulator = False

    def stream(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("no request expected")
