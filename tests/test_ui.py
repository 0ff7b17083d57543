"""The panel, headless: real widgets, a real emulator on 127.0.0.1, no browser."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets.emulator import serve
from imagewidgets.ui import tile as tile_module
from imagewidgets.ui.panel import EMULATOR_BANNER, ImagePanel
from imagewidgets.ui.tile import ImageTile, download_name


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve(port=0, latency=0.0) as running:
        yield running


@pytest.fixture
async def client(server: Any) -> AsyncIterator[iw.ImagesClient]:
    async with iw.ImagesClient(base_url=server.url, api_key="sk-test-ui", max_retries=0) as made:
        yield made


@pytest.fixture
async def slow_client() -> AsyncIterator[iw.ImagesClient]:
    with serve(port=0, latency=5.0) as slow:
        async with iw.ImagesClient(base_url=slow.url, api_key="sk-test", max_retries=0) as made:
            yield made


async def _settle(panel: ImagePanel, timeout: float = 20.0) -> None:
    """Wait until every task the panel started has finished."""
    deadline = time.monotonic() + timeout
    await asyncio.sleep(0)
    while panel._jobs:
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


async def test_a_fault_fails_one_tile_and_spares_the_others(server: Any,
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


async def test_ctrl_enter_in_the_prompt_generates(client: iw.ImagesClient) -> None:
    panel = _panel(client)
    panel.controls.prompt.value = "Typed in the box"
    panel.controls.prompt._on_message(None, {"event": "submit"}, [])
    await _settle(panel)
    assert panel.params.prompt == "Typed in the box"
    assert [tile.status for tile in panel.tiles] == ["done"]
    panel.close()


def test_model_switch_updates_every_control() -> None:
    params = iw.ImageParams(model="gpt-image-1", size="1536x1024", quality="high", prompt="x")
    panel = ImagePanel(client=_NoClient(), params=params)  # type: ignore[arg-type]
    controls = panel.controls.widgets
    assert controls["style"].layout.display == "none"
    assert controls["background"].layout.display is None
    assert controls["size"].options == ("auto", "1024x1024", "1536x1024", "1024x1536")
    assert controls["output_compression"].disabled  # png: compression does not apply
    assert "jpeg or webp" in controls["output_compression"].tooltip

    sizes_seen: list[str] = []
    params.observe(lambda change: sizes_seen.append(change["new"]), names="size")
    sent: list[dict[str, Any]] = []
    original = widgets.Widget._send

    def spy(self: widgets.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        if self is controls["size"]:
            sent.append(msg)
        original(self, msg, buffers)

    widgets.Widget._send = spy  # type: ignore[method-assign]
    try:
        controls["model"].value = "dall-e-3"
    finally:
        widgets.Widget._send = original  # type: ignore[method-assign]
    assert sizes_seen == ["1792x1024"]  # the model never saw the dropdown's reset
    assert controls["size"].options == ("1024x1024", "1792x1024", "1024x1792")
    assert controls["size"].value == "1792x1024" and controls["quality"].value == "hd"
    assert controls["style"].layout.display is None
    assert controls["background"].layout.display == "none"
    assert "gpt-image-1" in controls["background"].tooltip
    assert controls["n"].disabled and controls["n"].value == 1
    # one state message for the switch: options and index together, never the first option alone
    states = [msg["state"] for msg in sent if msg.get("method") == "update"]
    assert len(states) == 1 and states[0]["index"] == 1

    controls["model"].value = "gpt-image-1"
    assert controls["size"].value == "1536x1024" and controls["quality"].value == "high"
    controls["output_format"].value = "jpeg"
    assert not controls["output_compression"].disabled
    assert "transparent" not in controls["background"].options
    panel.close()


def test_a_refused_value_is_explained_and_the_control_restored() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="keep me")
    panel = ImagePanel(client=_NoClient(), params=params)  # type: ignore[arg-type]
    user = panel.controls.widgets["n"]
    user.max = 50
    user.value = 20  # past what any model takes
    assert "n 20 is out of range" in panel.controls.message.value
    assert user.value == params.n == 1 and params.prompt == "keep me"
    panel.close()


def test_prompt_count_warns_past_the_limit() -> None:
    params = iw.ImageParams(model="dall-e-2", prompt="x" * 999)
    panel = ImagePanel(client=_NoClient(), params=params)  # type: ignore[arg-type]
    assert "999 / 1,000" in panel.controls.count.value
    assert "iw-count-over" not in panel.controls.count.value
    panel.controls.prompt.value = "x" * 1200
    assert params.prompt == "x" * 1200  # never truncated
    assert "iw-count-over" in panel.controls.count.value
    assert "1,200 / 1,000" in panel.controls.count.value
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


def test_download_names() -> None:
    when = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))
    assert download_name("A lighthouse, at dusk! Oil on canvas", "gpt-image-1", when, "webp") == (
        "a-lighthouse-at-dusk-oil_gpt-image-1_20261125-142233.webp")
    assert download_name("../../etc/passwd", "x/y", when, "png").startswith("etc-passwd_x-y_")
    assert download_name("", "dall-e-2", when, "png").startswith("image_dall-e-2_")


async def test_no_widget_left_alive_after_close(client: iw.ImagesClient) -> None:
    # Widget.widgets is deprecated in ipywidgets 8.1; _instances is the registry behind it.
    before = set(_instances)
    panel = _panel(client, n=2, stream=True, partial_images=1)
    await panel.generate()
    panel.params.model = "dall-e-3"
    panel.close()
    assert set(_instances) - before == set()


async def test_decoding_runs_off_the_loop_and_the_loop_stays_responsive(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = tile_module.thumbnail

    def recording(data: bytes, longest: int = 384) -> bytes:
        threads.append(threading.current_thread())
        return real(data, longest)

    monkeypatch.setattr(tile_module, "thumbnail", recording)
    lags: list[float] = []

    async def probe() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    watcher = asyncio.get_running_loop().create_task(probe())
    panel = _panel(client, n=4, stream=True, partial_images=3, quality="high",
                   size="1536x1024")
    await panel.generate()
    watcher.cancel()
    assert threads and threading.main_thread() not in threads
    assert all(tile.status == "done" for tile in panel.tiles)
    print(f"\nlargest event-loop lag during a 4-image streaming generation: "
          f"{max(lags) * 1000:.1f} ms over {len(lags)} probes")
    panel.close()


def test_emulator_banner_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    panel = ImagePanel()
    assert EMULATOR_BANNER in panel.banner.value
    panel.close()


def test_panel_with_a_key_has_no_banner_and_no_key_in_state() -> None:
    client = iw.ImagesClient(api_key="sk-secret-panel-key", base_url="http://127.0.0.1:9/v1")
    panel = ImagePanel(client=client)
    assert panel.banner.value == ""
    everything = [w.get_state() for w in _tree(panel)]
    assert "sk-secret-panel-key" not in repr(everything)
    assert "sk-secret-panel-key" not in repr(panel)
    panel.close()


def test_tile_repr_is_cheap() -> None:
    tile = ImageTile(iw.ImageParams(prompt="x"))
    assert repr(tile) == "ImageTile(status='queued', model='gpt-image-1.5')"
    tile.close()


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
