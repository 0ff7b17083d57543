"""The panel, headless: real widgets, a real emulator on 127.0.0.1, no browser."""

from __future__ import annotations

import asyncio
import html
import io
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image
from traitlets import TraitError

import imagewidgets as iw
from imagewidgets import spending
from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.params import ImageParams
from imagewidgets.ui.panel import ImagePanel
from imagewidgets.ui.widgets import EMULATOR_BANNER

from waiting import until


async def _settle(panel: ImagePanel, timeout: float = 120.0) -> None:  # stuck, not slow: a failure bound only
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
    assert panel.tiles[0].thumbnail.startswith(b"\xff\xd8")  # an opaque PNG's: a JPEG
    with Image.open(io.BytesIO(panel.tiles[0].thumbnail)) as thumb:
        assert max(thumb.size) == 384  # only the thumbnail goes to the browser
    assert "gpt-image-1" in panel.tiles[0].caption and "tokens" in panel.tiles[0].caption
    panel.close()


async def test_streamed_tiles_pass_through_partials_to_done(client: iw.ImagesClient) -> None:
    panel = _panel(client, stream=True, partial_images=3)
    seen: list[tuple[str, int]] = []

    def watch(change: Any) -> None:
        if not change["new"]:
            return  # the grid was cleared
        for tile in change["new"][0].children[1].children:
            tile.observe(lambda c, t=tile: seen.append((c["new"], len(t.thumbnail))),
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
    assert "ServerError" in failed.caption and "try again" in failed.caption
    assert not failed.click("download")  # no image: nothing to download
    panel.close()


async def test_cancel_marks_tiles_and_leaves_the_client_usable(slow_client: iw.ImagesClient,
                                                                client: iw.ImagesClient) -> None:
    panel = _panel(slow_client, n=2)
    job = asyncio.get_running_loop().create_task(panel.generate())
    while not panel.tiles or any(tile.status != "running" for tile in panel.tiles):
        await asyncio.sleep(0.01)
    assert not panel.cancel_button.disabled
    panel.cancel_button.click()
    tiles = await asyncio.wait_for(job, 120)
    assert [tile.status for tile in tiles] == ["cancelled", "cancelled"]
    assert panel.cancel_button.disabled
    panel.close()


@pytest.mark.parametrize(("count", "shown"), [(1, "1 image in progress…"),
                                               (10, "10 images in progress…")])
async def test_the_status_line_counts_images_in_flight(slow_client: iw.ImagesClient, count: int,
                                                       shown: str) -> None:
    panel = _panel(slow_client, n=count)
    panel.generate_button.click()  # the click's own task is no image
    sending = min(count, 4)  # the client's max_concurrency: the rest wait, queued
    while len(panel.tiles) < count or sum(t.status == "running" for t in panel.tiles) < sending:
        await asyncio.sleep(0.01)
    assert panel.status.value == shown and panel.running == count
    assert [tile.status for tile in panel.tiles].count("queued") == count - sending
    assert all(tile.status_text == "queued" for tile in panel.tiles if tile.status == "queued")
    panel.cancel()
    await _settle(panel)
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


async def test_a_problem_goes_once_its_cause_is_fixed(client: iw.ImagesClient,
                                                      server: EmulatorServer) -> None:
    panel = _panel(client, prompt="")
    before = server.request_count
    assert await panel.generate() == []
    assert "prompt is empty" in panel.status.value
    panel.params.model = "dall-e-2"  # still empty: still said
    assert "prompt is empty" in panel.status.value
    panel.params.prompt = "x" * 1001  # another problem now: that one is said
    assert "prompt is empty" not in panel.status.value and "1,001 characters" in panel.status.value
    panel.params.prompt = "A lighthouse"  # fixed, before any Generate
    assert panel.status.value == "" and server.request_count == before
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


async def test_ctrl_enter_sends_the_text_in_the_box_not_a_late_sync(client: iw.ImagesClient,
                                                                    server: EmulatorServer) -> None:
    # The browser's value update for the last keys may still be held back when Ctrl+Enter's
    # message arrives: the message carries the text itself.
    panel = _panel(client)
    panel.controls.prompt.value = "A fo"  # what the kernel has heard so far
    panel.controls.prompt._on_message(None, {"event": "submit", "value": "A fox in the snow"}, [])
    await _settle(panel)
    assert server.last_body["prompt"] == "A fox in the snow"
    assert panel.params.prompt == "A fox in the snow"
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
    tile.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    tile._on_message(tile, {"event": "action", "action": "download"}, [])  # a click in the browser
    (content, buffers), = sent
    # The saved file, as the store named it, its settings embedded: download and store agree.
    assert tile.saved is not None and buffers[0] == tile.saved.path.read_bytes() == tile.result.data
    assert content["mime"] == "image/png" and content["filename"] == tile.saved.path.name
    assert "_dall-e-3_a-b-bold-b-fox_" in content["filename"]
    assert content["filename"].endswith(".png")
    assert "revised" in tile.caption and "<b>bold</b>" not in tile.caption
    assert "&lt;b&gt;" in panel.grid.children[0].children[0].children[2].value  # title escaped
    # no image bytes in the tile's state, the thumbnail's neither
    assert not any(isinstance(value, bytes | memoryview) for value in tile.get_state().values())

    panel.params.model = "gpt-image-1"
    panel.params.prompt = "something else"
    tile.click("reuse")
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


# -- lifecycle: the note, the refusal, the models the server offers -----------------------


def _note(panel: ImagePanel) -> str:
    return html.unescape(panel.model_note.value)


async def test_note_on_the_emulator_says_it_still_serves_a_retired_model(
        client: iw.ImagesClient) -> None:
    panel = _panel(client, model="gpt-image-2")
    assert panel.model_note.value == ""  # a live model needs no note
    panel.params.model = "dall-e-3"
    note = _note(panel)
    assert "dall-e-3" in note and "2026-05-12" in note and "gpt-image-2.5-sunburst" in note
    assert "emulator still serves it" in note and "Nothing is sent" not in note
    panel.params.model = "gpt-image-2.6-sunburst"
    assert panel.model_note.value == ""
    panel.close()


async def test_retired_model_against_the_api_is_refused_before_any_tile() -> None:
    # Port 9 (discard) is closed: a request would fail with a connection error, not the refusal.
    async with iw.ImagesClient(api_key="k", base_url="http://127.0.0.1:9/v1",
                               max_retries=0, is_emulator=False) as api:
        panel = ImagePanel(client=api, params=iw.ImageParams(
            model="dall-e-3", prompt="A red fox <b>", size="1792x1024"))
        assert "Nothing is sent" in _note(panel)
        assert "allow_retired=True" in _note(panel)
        assert panel.model_note._dom_classes == ("iw-model-note",)
        tiles = await panel.generate()
        assert tiles == [] and panel.tiles == []
        status = html.unescape(panel.status.value)
        assert "gpt-image-2.5-sunburst" in status and "nothing was sent" in status
        assert panel.params.model == "dall-e-3" and panel.params.prompt == "A red fox <b>"
        assert panel.params.size == "1792x1024"  # no setting lost
        panel.close()


async def test_retiring_model_is_noted_but_still_generates(client: iw.ImagesClient) -> None:
    panel = _panel(client, model="gpt-image-1.5")
    note = _note(panel)
    assert "shuts gpt-image-1.5 down on 2026-12-01" in note and "gpt-image-2.6-sunburst" in note
    assert [tile.status for tile in await panel.generate()] == ["done"]
    panel.close()


def _offered(panel: ImagePanel) -> list[str]:
    return [name for _label, name in panel.controls.widgets["model"].options]


async def test_available_models_are_those_the_emulator_lists(
        client: iw.ImagesClient, http: httpx.Client) -> None:
    listed = [entry["id"] for entry in http.get("/models").json()["data"]]
    panel = ImagePanel(client=client, models="available")
    await panel.load_models()
    assert sorted(_offered(panel)) == sorted(listed)
    panel.close()


async def test_available_models_leave_out_what_the_api_shut_down() -> None:
    iw.models.set_today(date(2026, 12, 2))
    with serve(port=0, as_of="2026-12-02") as later:
        async with iw.ImagesClient(api_key="k", base_url=later.url, max_retries=0,
                                   is_emulator=True) as api:
            panel = ImagePanel(client=api, params=iw.ImageParams(model="dall-e-3"),
                               models="available")
            offered = await panel.load_models()
            assert _offered(panel) == list(offered)
            assert "dall-e-3" not in offered and "gpt-image-1.5" not in offered
            assert "gpt-image-2.6-sunburst" in offered
            # dall-e-3 is no longer offered: the panel moves to the default model
            assert panel.params.model == iw.models.default_model()
            assert panel.controls.widgets["model"].value == panel.params.model
            panel.close()


async def test_available_models_name_an_unknown_image_model_and_the_way_in(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    future = "gpt-image-2.7-comet"
    real = client.list_models

    async def with_future() -> list[iw.ModelInfo]:
        return [*await real(), iw.ModelInfo(id=future), iw.ModelInfo(id="whisper-1")]

    monkeypatch.setattr(client, "list_models", with_future)
    panel = ImagePanel(client=client, models="available")
    await panel.load_models()
    assert future not in _offered(panel) and "whisper-1" not in _offered(panel)
    note = _note(panel)
    assert f'iw.register_model(iw.ModelSpec.like("gpt-image-2.6-flare", name="{future}"))' in note
    assert "whisper-1" not in note
    panel.close()


async def test_available_models_load_by_themselves_when_a_loop_runs(
        client: iw.ImagesClient) -> None:
    panel = ImagePanel(client=client, params=iw.ImageParams(model="gpt-image-2"),
                       models="available")
    await _settle(panel)
    assert set(_offered(panel)) == set(iw.MODELS)  # the emulator, without as_of, lists all
    assert panel.params.model == "gpt-image-2"
    panel.close()


def test_models_takes_only_none_or_available() -> None:
    with pytest.raises(ValueError, match="'everything'"):
        ImagePanel(client=iw.ImagesClient(api_key="k", base_url="http://127.0.0.1:9/v1"),
                   models="everything")  # type: ignore[arg-type]


async def test_every_final_image_is_on_disk_with_its_settings_before_its_tile_says_done(
        client: iw.ImagesClient, output_folder: Path, api_key: str, server: EmulatorServer) -> None:
    panel = _panel(client, n=2, stream=True, partial_images=1)
    done_seen_on_disk: list[bool] = []
    for_each = panel.generate()
    tiles_task = asyncio.ensure_future(for_each)
    while not panel.tiles:
        await asyncio.sleep(0.005)
    for tile in panel.tiles:  # the moment a tile says done, its file is already there
        tile.observe(lambda change: done_seen_on_disk.append(
            change["owner"].saved is not None and change["owner"].saved.path.exists())
            if change["new"] == "done" else None, names="status")
    tiles = await tiles_task
    assert done_seen_on_disk == [True, True]
    sidecars = sorted(output_folder.glob("*.json"))
    assert len(sidecars) == 2 and len(list(output_folder.glob("*.png"))) == 2
    record = json.loads(sidecars[0].read_text())
    assert record["params"]["model"] == "gpt-image-1" and record["params"]["quality"] == "low"
    assert record["cost"]["actual"] > 0 and record["cost"]["estimated"] > 0
    assert record["server"] == {"host": "127.0.0.1", "emulator": True}
    assert record["request_id"] in {r["headers"].get("x-request-id") for r in server.requests} | {
        tile.result.request_id for tile in tiles}
    assert record["request_id"] and record["timings"]["seconds"] > 0
    assert tiles[0].saved.path.name.endswith(".png") and "_gpt-image-1_a-lighthouse-at-dusk_" in (
        tiles[0].saved.path.name)
    # A new process finds every image and its settings; the key is in none of the files.
    found = subprocess.run(
        [sys.executable, "-c", "import sys, imagewidgets.storage.store as s; st = s.ImageStore(sys.argv[1]);"
         " print(sum(st.read(p) is not None for p in st.folder.glob('*.png')))", str(output_folder)],
        capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "2"
    assert all(api_key.encode() not in path.read_bytes() for path in output_folder.iterdir())
    panel.close()


async def test_a_failed_write_is_shown_the_image_kept_and_a_retry_offered(
        client: iw.ImagesClient, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    panel = ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse", quality="low"), store=blocked)
    (tile,) = await panel.generate()
    assert tile.status == "done" and tile.result is not None and tile.saved is None
    assert "not saved to" in tile.save_note and "Retry save" in tile.save_note
    assert tile.save_failed and tile.result.data  # Retry save offered, the image kept
    assert panel.record.entries == []
    blocked.unlink()  # the user frees the path
    tile.click("retry_save")
    await until(lambda: tile.saved is not None)
    assert tile.saved.path.parent == blocked and tile.save_note == "" and not tile.save_failed
    # The saved record a reopened notebook shows has it too, and the kernel keeps no bytes.
    assert [alt for _path, alt in panel.record.entries] == ["A lighthouse (gpt-image-1)"]
    assert tile._image is not None and tile._image.data == b""
    assert tile.result is not None and tile.result.data == tile.saved.path.read_bytes()
    panel.close()


async def test_store_none_keeps_nothing_on_disk(client: iw.ImagesClient, output_folder: Path) -> None:
    panel = ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse", quality="low"), store=None)
    (tile,) = await panel.generate()
    assert tile.status == "done" and tile.saved is None and not list(output_folder.iterdir())
    panel.close()


async def test_the_cost_is_shown_before_and_the_spending_after(client: iw.ImagesClient) -> None:
    panel = _panel(client, n=2)
    estimate = panel.params.estimate()
    assert estimate is not None
    assert panel.cost_line.value.startswith(f"≈ ${estimate.dollars:.3f} for 2 images (estimate, "
                                            "prices of 2026-11-25)")
    panel.params.quality = "high"  # the estimate follows the settings, before anything is sent
    assert f"≈ ${panel.params.estimate().dollars:.3f}" in panel.cost_line.value
    tiles = await panel.generate()
    spent = sum(tile.cost for tile in tiles)
    # The emulator bills nothing: what it would cost is shown as such, never as money spent.
    assert spending.SESSION.emulated == pytest.approx(spent)
    assert panel.spending.emulated == pytest.approx(spent)
    assert spending.SESSION.total == 0 and spending.SESSION.reserved == 0
    assert f"emulated: $0 billed (would cost ${spent:.3f}) this session" in panel.cost_line.value
    assert "spent this session" not in panel.cost_line.value
    panel.close()


async def test_billed_and_emulated_totals_are_shown_apart_never_added(
        client: iw.ImagesClient, server: EmulatorServer, api_key: str) -> None:
    emulated = _panel(client)
    (tile,) = await emulated.generate()
    # A server taken for the API (is_emulator=False): what it answers is billed.
    async with iw.ImagesClient(api_key=api_key, base_url=server.url, max_retries=0,
                               is_emulator=False) as api:
        billed = ImagePanel(client=api, params=iw.ImageParams(
            prompt="A lighthouse", model="gpt-image-2", quality="low", size="1024x1024"))
        (paid,) = await billed.generate()
    assert spending.SESSION.total == pytest.approx(paid.cost)
    assert spending.SESSION.emulated == pytest.approx(tile.cost)
    line = billed.cost_line.value
    assert f"spent this session: ${paid.cost:.3f}" in line
    assert f"emulated: $0 billed (would cost ${tile.cost:.3f}) this session" in line
    assert f"${paid.cost + tile.cost:.3f}" not in line  # never one sum of both
    # Each tile too: an emulated image's cost is what it would cost, never shown as spent.
    assert f"would cost ${tile.cost:.3f}" in tile.caption
    assert f"${paid.cost:.3f}" in paid.caption and "would cost" not in paid.caption
    emulated.close()
    billed.close()


async def test_generate_refuses_past_a_budget_and_sends_nothing(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    panel = ImagePanel(client=client, params=iw.ImageParams(
        model="dall-e-3", prompt="A lighthouse", quality="hd", size="1792x1024"), budget=0.20)
    await panel.generate()  # $0.12
    before = server.request_count
    assert await panel.generate() == []  # another $0.12 would pass $0.20
    assert server.request_count == before and len(panel.tiles) == 1
    message = html.unescape(panel.status.value)
    assert "budget exceeded: this request is estimated at $0.120" in message
    assert "$0.120 of the $0.20 budget is spent" in message
    assert panel.params.model == "dall-e-3" and panel.params.quality == "hd"  # nothing lost
    spending.SESSION.budget = 0.10  # the session's budget holds for every panel
    other = ImagePanel(client=client, params=iw.ImageParams(model="gpt-image-1", prompt="x",
                                                            quality="low"))
    assert await other.generate() == []
    assert "budget exceeded" in other.status.value
    panel.close()
    other.close()


async def test_history_shows_the_earlier_images_of_the_folder_under_the_panel(
        client: iw.ImagesClient, output_folder: Path) -> None:
    first = _panel(client, n=2)
    await first.generate()
    first.close()
    rerun = ImagePanel(client=client, params=iw.ImageParams(prompt="x"), history=True)  # a re-run cell
    assert rerun.history is not None and rerun.history.selected_index is None  # collapsed
    assert rerun.history.get_title(0).endswith("(2)") and rerun.gallery is None  # made when opened
    rerun.history.selected_index = 0
    assert rerun.gallery is not None
    await rerun.gallery.loaded()  # the folder is read off the loop
    assert len(rerun.gallery.items) == 2
    rerun.gallery.click(rerun.gallery.items[0], "use")  # its settings go into this panel
    assert (rerun.params.model, rerun.params.prompt) == ("gpt-image-1", "A lighthouse at dusk")
    nothing_kept = ImagePanel(client=client, history=True, store=None)
    assert nothing_kept.history is None
    nothing_kept.close()
    rerun.close()


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


async def test_generate_again_gives_a_new_picture_on_the_emulator(client: iw.ImagesClient,
                                                                   server: EmulatorServer) -> None:
    panel = _panel(client)
    (first,) = await panel.generate()
    (again,) = await panel.generate()
    assert _pixels(first.result.data) != _pixels(again.result.data)  # a new picture, same settings
    assert server.last_headers.get("x-emulator-variation") == "1"
    raw = await client.generate(panel.params.to_request())  # the raw request: the first picture
    assert _pixels(raw.images[0].data) == _pixels(first.result.data)  # saved: settings embedded
    panel.close()


async def test_the_variation_is_never_sent_to_the_api(server: EmulatorServer, api_key: str) -> None:
    async with iw.ImagesClient(api_key=api_key, base_url=server.url,
                               is_emulator=False) as api_like:  # the emulator as the API
        panel = ImagePanel(client=api_like, params=iw.ImageParams(
            model="gpt-image-2", prompt="A lighthouse", quality="low"))
        await panel.generate()
        await panel.generate()
        assert "x-emulator-variation" not in server.last_headers
        panel.close()


async def test_the_caption_shows_the_quality_actually_used(client: iw.ImagesClient) -> None:
    panel = ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse", quality="auto", size="1024x1024"))
    (tile,) = await panel.generate()
    assert tile.result is not None and tile.result.resolved["quality"] == "medium"  # the server's
    assert "1024x1024 · medium (auto)" in tile.caption  # not "auto"
    dalle = ImagePanel(client=client, params=iw.ImageParams(model="dall-e-3", prompt="A fox"))
    (shown,) = await dalle.generate()  # DALL·E says nothing: auto means standard there
    assert "standard (auto)" in shown.caption
    panel.close()
    dalle.close()


async def test_rows_fold_and_dismiss_and_clear_removes_them_all(
        client: iw.ImagesClient, slow_client: iw.ImagesClient, output_folder: Path) -> None:
    before = set(_instances)
    panel = _panel(client)
    await panel.generate()
    await panel.generate()
    newest, older = panel.grid.rows
    fold = newest.children[0].children[0]
    fold.click()
    assert newest.children[1].layout.display == "none" and len(panel.tiles) == 2  # hidden, kept
    fold.click()
    assert newest.children[1].layout.display == "grid"
    older.children[0].children[1].click()  # dismiss
    assert panel.grid.rows == [newest] and len(panel.tiles) == 1
    panel.clear_button.click()
    assert panel.tiles == [] and panel.grid.children == ()
    assert len(list(output_folder.glob("*.png"))) == 2  # the files stay
    assert "the files stay in" in panel.clear_button.tooltip

    running = _panel(slow_client)  # a row still generating: dismissing it cancels its request
    running.generate_button.click()
    await until(lambda: bool(running.tiles) and running.running == 1)
    (tile,) = running.tiles
    running.grid.rows[0].children[0].children[1].click()
    await _settle(running)
    assert tile.status == "cancelled" and running.tiles == []
    panel.close()
    running.close()
    assert set(_instances) - before == set()


async def test_use_settings_confirms_next_to_the_tile_and_shows_the_controls(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    panel = _panel(client, n=2)
    first, second = await panel.generate()
    sent: list[Any] = []
    monkeypatch.setattr(panel.assist, "send", lambda content, buffers=None: sent.append(content))
    panel.params.quality = "high"
    first.click("reuse")
    assert panel.params.quality == "low"
    assert "settings loaded into the controls" in first.reuse_note
    assert sent == [{"event": "show", "selector": ".iw-controls"}]  # scrolled into view
    second.click("reuse")  # only the tile clicked last says so
    assert first.reuse_note == "" and "settings loaded" in second.reuse_note

    def refuse(_settings: Any) -> None:
        raise TraitError("size '7x7' <b>is</b> not allowed")

    monkeypatch.setattr(panel.params, "update", refuse)
    first.click("reuse")
    assert "not loaded: size &#x27;7x7&#x27; &lt;b&gt;is&lt;/b&gt; not allowed" in first.reuse_note
    assert "iw-error" in first.reuse_note and second.reuse_note == ""
    assert len(sent) == 2  # nothing to show when nothing was loaded
    panel.close()


async def test_the_thumbnail_slider_resizes_every_tile_and_keeps_it_sharp(
        client: iw.ImagesClient) -> None:
    panel = _panel(client, size="1536x1024")
    (tile,) = await panel.generate()
    with Image.open(io.BytesIO(tile.thumbnail)) as small:
        assert small.size == (384, 256)
    panel.thumbnail_slider.value = 640
    await _settle(panel)
    assert (tile.box_width, tile.tile_width) == (640, 656)
    assert panel.grid.tile_width == 656  # the rows' columns follow
    with Image.open(io.BytesIO(tile.thumbnail)) as large:
        assert large.size == (640, 427)  # made again from the image, not stretched
    panel.thumbnail_slider.value = 128
    await _settle(panel)
    assert tile.box_width == 128
    (later,) = await panel.generate()  # a new row comes at the size chosen
    assert later.box_width == 128
    panel.close()


@pytest.mark.parametrize("size", [0, 50, 5000, 300.0, True, "big"])
def test_a_thumbnail_size_out_of_range_is_refused_by_name(size: Any) -> None:
    with pytest.raises(ValueError, match=rf"thumbnail_size {size!r} is not allowed; .* 96 to 1024"):
        ImagePanel(client=iw.ImagesClient(base_url="http://127.0.0.1:9/v1", api_key="k"),
                   thumbnail_size=size)


def test_a_huge_error_is_cut_in_the_status_line_and_kept_whole() -> None:
    panel = ImagePanel(client=_NoClient(), params=iw.ImageParams(prompt="x"))  # type: ignore[arg-type]
    huge = RuntimeError("<b>lost</b> " * 1_000_000)
    panel.jobs.last_error = huge
    panel._show_error(huge)
    assert len(panel.status.value) < 4000 and "&lt;b&gt;lost&lt;/b&gt;" in panel.status.value
    assert "characters; all of it in panel.jobs.last_error" in panel.status.value
    panel.close()


async def test_a_panel_on_an_emulator_started_elsewhere_learns_what_it_is_and_says_so(
        server: EmulatorServer, api_key: str) -> None:
    # A workshop's `make serve`: the client is given only its URL, no flag.
    async with iw.ImagesClient(api_key=api_key, base_url=server.url, max_retries=0) as client:
        panel = ImagePanel(client=client, params=iw.ImageParams(model="dall-e-3", prompt="a cat"),
                           store=None)
        assert EMULATOR_BANNER not in panel.banner.value  # not known yet: nothing claimed
        await asyncio.gather(*panel.jobs.tasks)  # the one question it asks the server
        assert EMULATOR_BANNER in panel.banner.value
        assert "the built-in emulator still serves it" in panel.model_note.value
        tiles = await panel.generate()
        assert [tile.status for tile in tiles] == ["done"]
        panel.close()
