"""The comparison grid, headless: real widgets, a real emulator on 127.0.0.1, no browser."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets.comparison import CONFIRM_OVER, MAX_REQUESTS
from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.errors import BudgetExceededError, ParamsError, ServerError
from imagewidgets.imaging import MAX_PIXELS, MAX_SIDE, SHEET_LABEL_WIDTH
from imagewidgets.ui.compare import CompareGrid
from imagewidgets.ui.panel import ImagePanel
from imagewidgets.ui.widgets import EMULATOR_BANNER

from waiting import until

MODELS_2 = ("model", ["gpt-image-1", "gpt-image-2"])
QUALITIES_3 = ("quality", ["low", "medium", "high"])


def _grid(client: iw.ImagesClient, rows: Any = MODELS_2, columns: Any = QUALITIES_3,
          **options: Any) -> CompareGrid:
    params = iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk",
                            size="1024x1024", stream=True, partial_images=1)
    return CompareGrid(params, rows, columns, client=client, **options)


def _texts(grid: CompareGrid) -> list[str]:
    return [child.value for child in grid.table.children if isinstance(child, widgets.HTML)]


async def test_a_two_by_three_grid_fills_every_cell_with_its_own_settings(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    before = server.request_count
    grid = _grid(client)
    assert [cell.status for cell in grid.cells] == ["not run"] * 6
    # The grid's shape shows before anything runs: a placeholder per sample.
    assert [tile.status_text for cell in grid.cells for tile in cell.tiles] == ["not run yet"] * 6
    await grid.run()
    assert [cell.status for cell in grid.cells] == ["done"] * 6
    assert server.request_count - before == 6
    sent = {(r["json"]["model"], r["json"]["quality"]) for r in server.requests[-6:]}
    assert sent == {(m, q) for m in MODELS_2[1] for q in QUALITIES_3[1]}
    for cell in grid.cells:
        (tile,) = cell.tiles
        assert tile.result is not None and tile.last_partial is not None  # it streamed
        assert (tile.result.params or {})["quality"] == cell.column
        assert cell.params.model == cell.row
    headers = _texts(grid)
    assert "low" in headers[1] and "medium" in headers[2] and "high" in headers[3]
    assert "gpt-image-1" in headers[4] and "gpt-image-2" in headers[5] and len(headers) == 6
    assert grid.progress.value == grid.progress.max == 6
    assert grid.progress_text.value == "6 done · 0 failed · 6 total"
    assert not grid.sheet_button.disabled and not grid.run_button.disabled
    grid.close()


async def test_the_header_shows_the_cost_estimate_before_anything_runs(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    before = server.request_count
    grid = _grid(client, rows=("model", ["dall-e-3", "gpt-image-1"]), repeats=2)
    expected = sum(cell.estimate or 0 for cell in grid.cells) * 2
    assert f"estimated ${expected:.2f} before running" in grid.estimate_line.value
    assert "6 cells · 2 samples each · 12 requests" in grid.estimate_line.value
    assert server.request_count == before  # nothing was sent to say so
    grid.close()


async def test_all_cells_run_at_once_bounded_by_the_client(slow_client: iw.ImagesClient) -> None:
    grid = _grid(slow_client)
    task = grid.start()
    await until(lambda: grid.jobs.in_flight == 6)
    assert grid.run_button.disabled and not grid.cancel_button.disabled
    grid.cancel()
    await asyncio.gather(task, return_exceptions=True)
    grid.close()


async def test_a_cell_s_time_is_the_server_s_not_the_queue_s() -> None:
    # One request at a time: the third cell waits two requests' time for its turn.
    latency = 2.0
    with serve(port=0, latency=latency) as server:
        async with iw.ImagesClient(base_url=server.url, api_key="sk-test", max_concurrency=1,
                                   is_emulator=True) as one_at_a_time:
            grid = _grid(one_at_a_time, rows=("model", ["gpt-image-1"]))
            task = grid.start()
            await until(lambda: grid.cells[0].status == "running")
            assert [tile.status for cell in grid.cells for tile in cell.tiles] == [
                "running", "queued", "queued"]
            await task
    seconds = [row["seconds"] for row in grid.summary()]
    # Counting the queue, the second and third would show 4 s and 6 s: 2 s is the margin.
    assert all(latency <= value < 2 * latency for value in seconds), seconds
    grid.close()


async def test_adapted_and_unavailable_cells(client: iw.ImagesClient, server: EmulatorServer) -> None:
    before = server.request_count
    grid = _grid(client, rows=("model", ["dall-e-3", "gpt-image-1"]),
                 columns=("style", ["vivid"]))
    dalle, gpt = grid.cells
    assert not gpt.available and gpt.status == "not available"
    assert "not available: gpt-image-1 does not take style" in gpt.note.value
    assert gpt.tiles == [] and gpt.rerun_button not in gpt.box.children[2].children
    await grid.run()
    assert server.request_count - before == 1  # the unavailable cell sent nothing
    assert dalle.status == "done" and gpt.status == "not available"
    assert "1 cell not available" in grid.estimate_line.value

    adapted = _grid(client, rows=("model", ["dall-e-3", "gpt-image-1"]),
                    columns=("quality", ["high"]))
    cell = adapted.cells[0]
    assert "adapted: quality &#x27;high&#x27; → &#x27;hd&#x27;: dall-e-3 has no" in cell.note.value
    await adapted.run()
    assert {r["json"]["quality"] for r in server.requests[-2:]} == {"hd", "high"}
    assert adapted.summary()[0]["notes"] == ["quality 'high' → 'hd': dall-e-3 has no 'high'"]
    grid.close()
    adapted.close()


async def test_a_fault_in_one_cell_fails_that_cell_and_the_others_finish(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    grid = _grid(client)
    server.inject("status_500", times=1)
    await grid.run()
    statuses = [cell.status for cell in grid.cells]
    assert statuses.count("failed") == 1 and statuses.count("done") == 5
    (failed,) = [cell for cell in grid.cells if cell.status == "failed"]
    assert isinstance(failed.tiles[0].error, ServerError)
    assert grid.progress_text.value == "5 done · 1 failed · 6 total"
    assert grid.progress.bar_style == "danger"
    assert f"failures: {failed.row} × {failed.column} (ServerError" in grid.summary_line.value
    assert [row["failed"] for row in grid.summary()].count(1) == 1

    await grid.rerun(failed.index)  # the failed cell alone, again: it works now
    assert [cell.status for cell in grid.cells] == ["done"] * 6
    assert grid.progress_text.value == "6 done · 0 failed · 6 total"
    grid.close()


async def test_cancel_all_then_rerun_one_cell(slow_client: iw.ImagesClient,
                                               slow_server: EmulatorServer) -> None:
    grid = _grid(slow_client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low", "high"]))
    task = grid.start()
    await until(lambda: grid.jobs.in_flight == 2)
    grid.cancel_button.click()
    await asyncio.gather(task, return_exceptions=True)
    await until(lambda: not grid.jobs.busy)  # every request has let go
    assert [cell.status for cell in grid.cells] == ["cancelled", "cancelled"]
    assert "2 cancelled" in grid.progress_text.value and not grid.jobs.busy
    assert grid.progress.value == 0 and grid.progress.bar_style == "warning"  # nothing done
    assert "cancelled: 2 cells" in grid.summary_line.value

    first, second = grid.cells
    old_tile = first.tiles[0]
    latency, slow_server.state.latency = slow_server.state.latency, 0.0
    try:
        first.rerun_button.click()
        await until(lambda: first.status == "done")
    finally:
        slow_server.state.latency = latency
    assert slow_server.requests[-1]["json"]["quality"] == "low"  # the first cell's, again
    assert len(first.tiles) == 1 and first.tiles[0] is not old_tile
    assert old_tile.comm is None  # replaced, and closed
    assert second.status == "cancelled"
    grid.close()


async def test_repeats_put_several_samples_in_each_cell(client: iw.ImagesClient,
                                                         server: EmulatorServer) -> None:
    before = server.request_count
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low", "high"]),
                 repeats=3)
    await grid.run()
    assert [len(cell.tiles) for cell in grid.cells] == [3, 3]
    assert server.request_count - before == 6
    assert all(body.get("n", 1) == 1 for body in (r["json"] for r in server.requests[-6:]))
    assert grid.progress.max == 6 and [row["images"] for row in grid.summary()] == [3, 3]
    assert len(grid.cells[0].strip.children) == 3
    low = grid.cells[0]
    assert low.tokens == sum(tile.tokens or 0 for tile in low.tiles)
    assert f"done · {low.seconds:.1f} s · {low.tokens:,} tokens · ${low.cost:.3f}" == low.facts.value
    grid.close()


@pytest.mark.parametrize("repeats", [0, 11, 1.5, True])
def test_bad_repeats_are_refused(client: iw.ImagesClient, repeats: Any) -> None:
    with pytest.raises(ParamsError, match=f"repeats {repeats!r} is out of range; choose 1 to 10"):
        _grid(client, repeats=repeats)


def test_bad_axes_are_refused_before_any_widget_or_request(client: iw.ImagesClient) -> None:
    before = set(_instances)
    with pytest.raises(ParamsError, match="columns field 'colour' is unknown"):
        _grid(client, columns=("colour", ["red"]))
    with pytest.raises(ParamsError, match="rows: model 'dall-e-9' is unknown"):
        _grid(client, rows=("model", ["dall-e-9"]))
    assert set(_instances) == before


async def test_summary_names_the_fastest_and_cheapest_and_the_total(
        client: iw.ImagesClient) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]))
    await grid.run()
    rows = grid.summary()
    assert [(row["row"], row["column"], row["status"]) for row in rows] == [
        ("gpt-image-1", "low", "done"), ("gpt-image-1", "medium", "done"),
        ("gpt-image-1", "high", "done")]
    low, medium, high = rows
    assert low["cost"] < medium["cost"] < high["cost"]  # from the usage the emulator reported
    assert low["cheapest"] and not high["cheapest"] and low["tokens"] < high["tokens"]
    assert sum(row["fastest"] for row in rows) >= 1
    assert all(row["seconds"] > 0 for row in rows)
    total = sum(row["cost"] for row in rows)
    # The emulator bills nothing: its total is what the grid would cost, said so.
    assert f"total cost: emulated: $0 billed (would cost ${total:.3f})" in grid.summary_line.value
    assert grid.spending.emulated == pytest.approx(total) and grid.spending.total == 0
    assert "cheapest: gpt-image-1 × low" in grid.summary_line.value
    assert f"would cost ${low['cost']:.3f}" in grid.cells[0].tiles[0].caption
    grid.close()


async def test_the_contact_sheet_holds_every_cell_and_the_button_sends_it(
        client: iw.ImagesClient) -> None:
    grid = _grid(client)
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    grid.sheet_button.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    assert not grid.sheet_button.deliver()  # nothing to put on it yet
    await grid.run()
    sheet = grid.contact_sheet(image_size=128)
    assert sheet.width >= SHEET_LABEL_WIDTH + 3 * 128 and sheet.height >= 2 * 128
    assert grid.sheet_button.deliver()
    ((content, buffers),) = sent
    assert content["mime"] == "image/png" and content["filename"].endswith(".png")
    assert content["filename"].startswith("a-lighthouse-at-dusk_contact-sheet_")
    image = Image.open(io.BytesIO(buffers[0]))
    assert image.format == "PNG" and image.text["Title"] == "A lighthouse at dusk"
    assert "model = gpt-image-1, gpt-image-2" in image.text["Description"]
    grid.close()


async def test_use_settings_from_a_cell_goes_into_the_panel(client: iw.ImagesClient) -> None:
    panel = ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse at dusk", quality="low", size="1536x1024"))
    grid = panel.compare(rows=("model", ["dall-e-3"]), columns=("quality", ["hd"]))
    assert grid.cells[0].status == "not run"  # shown with its estimate: Run sends it
    await grid.run()
    (tile,) = grid.cells[0].tiles
    assert tile.can_reuse
    panel.params.prompt = "something else"
    tile.click("reuse")
    assert (panel.params.model, panel.params.quality, panel.params.size, panel.params.prompt) == (
        "dall-e-3", "hd", "1792x1024", "A lighthouse at dusk")
    assert "settings loaded into the controls" in tile.reuse_note  # said by the cell
    # A grid with nowhere to put settings shows no dead button.
    alone = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]))
    await alone.run()
    assert not alone.cells[0].tiles[0].can_reuse
    grid.close()
    alone.close()
    panel.close()


async def test_a_retired_model_against_the_api_is_not_available_and_not_priced(
        server: EmulatorServer, api_key: str) -> None:
    before = server.request_count
    async with iw.ImagesClient(api_key=api_key, base_url=server.url, max_retries=0,
                               is_emulator=False) as api_like:  # the emulator as the API
        grid = _grid(api_like, rows=("model", ["dall-e-3", "gpt-image-2"]),
                     columns=("quality", ["auto"]))
        retired, live = grid.cells
        assert not retired.available and "shut down by the API on 2026-05-12" in str(retired.reason)
        assert f"estimated ${live.estimate:.2f} before running" in grid.estimate_line.value
        await grid.run()
        assert live.status == "done" and server.request_count - before == 1
        with pytest.raises(ParamsError, match=r"no cell of this grid can be sent: .*dall-e-3"):
            _grid(api_like, rows=("model", ["dall-e-3"]), columns=("quality", ["hd"]))
    grid.close()


async def test_markup_in_prompts_and_titles_is_escaped(client: iw.ImagesClient) -> None:
    grid = _grid(client, rows=("prompt", ["<img src=x onerror=alert(1)>"]),
                 columns=("quality", ["low"]), title="<b>mine</b>")
    assert "<img" not in "".join(_texts(grid)) and "&lt;img" in "".join(_texts(grid))
    assert "<b>mine" not in grid.heading.value
    grid.close()


async def test_no_widget_left_alive_after_close(client: iw.ImagesClient) -> None:
    before = set(_instances)
    grid = _grid(client, rows=("model", ["dall-e-3", "gpt-image-1"]), columns=("style", ["vivid"]),
                 repeats=2)
    await grid.run()
    await grid.rerun(0)
    grid.close()
    grid.close()  # twice is harmless
    assert set(_instances) - before == set()


async def test_compare_one_liner_shows_the_plan_and_sends_nothing_until_run(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    before = server.request_count
    grid = iw.compare("a red fox", models=["gpt-image-1", "gpt-image-2"], qualities=["low"],
                      client=client, size="1024x1024")
    assert [cell.status for cell in grid.cells] == ["not run", "not run"]
    assert "2 requests · estimated $" in grid.estimate_line.value
    assert "nothing is sent until Run" in grid.estimate_line.value
    await asyncio.sleep(0)  # anything it would have started has had its turn
    assert server.request_count == before
    grid.run_button.click()
    await until(lambda: not grid.jobs.busy)
    assert [cell.status for cell in grid.cells] == ["done", "done"]
    grid.close()


async def test_compare_with_run_true_starts_the_grid(client: iw.ImagesClient) -> None:
    grid = iw.compare("a red fox", models=["gpt-image-1", "gpt-image-2"], qualities=["low"],
                      client=client, size="1024x1024", run=True)
    assert isinstance(grid, iw.CompareGrid) and grid.jobs.busy  # started, not waited for
    await until(lambda: not grid.jobs.busy)
    assert [cell.status for cell in grid.cells] == ["done", "done"]
    assert all(cell.params.size == "1024x1024" for cell in grid.cells)
    grid.close()


def test_compare_in_a_script_runs_to_the_end(server: EmulatorServer, api_key: str) -> None:
    client = iw.ImagesClient(api_key=api_key, base_url=server.url, is_emulator=True)
    grid = iw.compare("a red fox", models=["gpt-image-1"], qualities=["low", "high"],
                      client=client, run=True)
    assert [row["status"] for row in grid.summary()] == ["done", "done"]
    grid.close()


async def test_default_axes_are_the_newest_family_by_three_qualities(
        client: iw.ImagesClient) -> None:
    grid = CompareGrid("a lighthouse", client=client)
    assert [(cell.row, cell.column) for cell in grid.cells[:3]] == [
        ("gpt-image-2.6-flare", "low"), ("gpt-image-2.6-flare", "medium"),
        ("gpt-image-2.6-flare", "high")]
    assert {cell.row for cell in grid.cells} == {"gpt-image-2.6-flare", "gpt-image-2.6-sunburst"}
    assert all(cell.params.to_request()["stream"] for cell in grid.cells)
    grid.close()


async def test_an_error_outside_the_tiles_is_shown_and_stays(client: iw.ImagesClient,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]))

    def broken(_body: Any) -> None:
        raise RuntimeError("the <client> broke")

    monkeypatch.setattr(client, "check_model", broken)
    await grid.run()
    (cell,) = grid.cells
    assert cell.status == "failed" and not cell.rerun_button.disabled  # not left running
    assert "the &lt;client&gt; broke" in cell.tiles[0].caption
    grid._show_error(RuntimeError("lost <task>"))
    grid._refresh()  # later refreshes keep it
    assert "RuntimeError: lost &lt;task&gt;" in grid.summary_line.value
    grid.close()


async def test_the_contact_sheet_is_made_off_the_loop_and_its_errors_are_shown(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]))
    await grid.run()
    sent: list[Any] = []
    grid.sheet_button.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real = grid.contact_sheet

    def recording(image_size: int = 256) -> Any:
        threads.append(threading.get_ident())
        return real(image_size)

    monkeypatch.setattr(grid, "contact_sheet", recording)
    grid.sheet_button._on_request(grid.sheet_button, {"event": "request"}, [])  # a click
    await until(lambda: bool(sent))
    assert threads and threads[0] != loop_thread

    def failing(image_size: int = 256) -> Any:
        raise ValueError("a <huge> sheet")

    monkeypatch.setattr(grid, "contact_sheet", failing)
    grid.sheet_button._on_request(grid.sheet_button, {"event": "request"}, [])
    await until(lambda: "a &lt;huge&gt; sheet" in grid.summary_line.value)
    grid.close()


async def test_a_wide_grid_s_contact_sheet_shrinks_its_images_to_fit(
        client: iw.ImagesClient) -> None:
    prompts = [f"a fox number {i}" for i in range(7)]
    grid = CompareGrid(iw.ImageParams(model="gpt-image-1", prompt="x", quality="low"),
                       rows=("model", ["gpt-image-1"]), columns=("prompt", prompts),
                       repeats=10, client=client)
    await grid.run()
    sheet = grid.contact_sheet()
    assert sheet.width <= MAX_SIDE and sheet.width * sheet.height <= MAX_PIXELS
    assert sheet.width > 7 * 10 * 64  # smaller images, still a picture of each
    grid.close()


def test_compare_reads_fields_against_the_grid_s_models(client: iw.ImagesClient) -> None:
    grid = CompareGrid(iw.ImageParams(model="dall-e-3", prompt="a fox", style="natural"),
                       rows=("model", ["dall-e-3", "gpt-image-2"]), columns=("quality", ["hd"]),
                       client=client)
    assert grid.cells[0].params.style == "natural"
    grid.close()
    with pytest.raises(ParamsError, match="style 'sepia' is not available for dall-e-3"):
        iw.compare("a fox", models=["dall-e-3", "gpt-image-2"], style="sepia", client=client)


async def test_each_sample_is_saved_with_its_place_in_the_grid(client: iw.ImagesClient,
                                                               output_folder: Path) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low", "high"]),
                 repeats=2, title="lighthouses")
    await grid.run()
    places = sorted((record["place"]["column"]["quality"], record["place"]["sample"])
                    for record in (json.loads(path.read_text())
                                   for path in output_folder.glob("*.json")))
    assert places == [("high", 0), ("high", 1), ("low", 0), ("low", 1)]
    record = json.loads(next(output_folder.glob("*.json")).read_text())
    assert record["place"]["grid"] == "lighthouses"
    assert record["place"]["row"] == {"model": "gpt-image-1"}
    grid.close()


async def test_run_refuses_past_a_budget_and_sends_nothing(client: iw.ImagesClient,
                                                           server: EmulatorServer) -> None:
    grid = _grid(client, rows=("model", ["dall-e-3"]), columns=("quality", ["hd", "standard"]),
                 budget=0.10)
    before = server.request_count
    with pytest.raises(BudgetExceededError, match=r"this run of 2 requests is estimated at \$0\.120"):
        await grid.run()
    assert server.request_count == before and grid.cells[0].status == "not run"
    grid.run_button.click()  # the button says so under the grid
    await until(lambda: "budget exceeded" in grid.summary_line.value)
    await grid.rerun(1)  # one standard image, $0.04, fits
    assert grid.cells[1].status == "done" and grid.spending.emulated == pytest.approx(0.04)
    assert grid.spending.reserved == 0 and grid.spending.total == 0
    grid.close()


async def test_repeats_and_reruns_draw_different_samples_on_the_emulator(
        client: iw.ImagesClient) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]), repeats=2)
    await grid.run()
    (cell,) = grid.cells
    first, second = (tile.result.data for tile in cell.tiles)
    assert first != second  # two samples, two pictures
    await grid.rerun(0)
    assert {tile.result.data for tile in cell.tiles}.isdisjoint({first, second})
    grid.close()


async def test_a_grid_on_an_emulator_started_elsewhere_learns_what_it_is_and_says_so(
        server: EmulatorServer, api_key: str) -> None:
    async with iw.ImagesClient(api_key=api_key, base_url=server.url, max_retries=0) as client:
        grid = CompareGrid("a lighthouse", rows=("model", ["dall-e-3"]),
                           columns=("quality", ["standard"]), client=client, store=None)
        assert EMULATOR_BANNER not in grid.banner.value  # not known yet: nothing claimed
        await asyncio.gather(*grid.jobs.tasks)  # the one question it asks the server
        assert EMULATOR_BANNER in grid.banner.value
        await grid.run()  # dall-e-3, shut down on the API, is served: no flag was needed
        assert grid.cells[0].status == "done"
        grid.close()


def _big(client: iw.ImagesClient, **options: Any) -> CompareGrid:
    """A grid of 54 requests: over the 50 sent without asking."""
    return _grid(client, rows=("prompt", [f"a fox number {i}" for i in range(6)]),
                 repeats=3, **options)


async def test_run_on_a_grid_of_more_than_50_requests_asks_first(
        slow_client: iw.ImagesClient, slow_server: EmulatorServer) -> None:
    before = slow_server.request_count
    grid = _big(slow_client)
    assert grid.requests == 54 and CONFIRM_OVER == 50
    grid.run_button.click()
    assert grid.bar.confirming and grid.run_button.disabled
    assert ("Send 54 requests, estimated $" in grid.bar.confirm_text.value
            and f"${grid.estimated:,.2f}" in grid.bar.confirm_text.value)
    assert grid.bar.send_button.description == "Send 54 requests"
    grid.bar.back_button.click()  # changed my mind: nothing sent, Run is back
    assert not grid.bar.confirming and not grid.run_button.disabled
    await asyncio.sleep(0)
    assert slow_server.request_count == before and not grid.jobs.busy
    grid.run_button.click()
    grid.bar.send_button.click()
    await until(lambda: grid.jobs.in_flight > 0)
    assert not grid.bar.confirming
    grid.cancel()
    await until(lambda: not grid.jobs.busy)
    grid.close()


async def test_compare_run_true_past_50_requests_needs_confirm(
        slow_client: iw.ImagesClient, slow_server: EmulatorServer) -> None:
    before, widgets_before = slow_server.request_count, set(_instances)
    prompts = [f"a fox number {i}" for i in range(6)]
    with pytest.raises(ParamsError, match=r"this grid sends 54 requests, estimated \$[\d.]+ .*"
                                          r"pass confirm=True as well to send them"):
        iw.compare(iw.ImageParams(model="gpt-image-1", prompt="x"), rows=("prompt", prompts),
                   qualities=["low", "medium", "high"], repeats=3, client=slow_client, run=True)
    assert slow_server.request_count == before and set(_instances) == widgets_before
    grid = iw.compare(iw.ImageParams(model="gpt-image-1", prompt="x"), rows=("prompt", prompts),
                      qualities=["low", "medium", "high"], repeats=3, client=slow_client,
                      run=True, confirm=True)
    await until(lambda: grid.jobs.in_flight > 0)
    grid.cancel()
    await until(lambda: not grid.jobs.busy)
    grid.close()


def test_a_huge_grid_is_refused_at_once_with_its_size_and_estimate(client: iw.ImagesClient) -> None:
    before = set(_instances)
    prompts = [f"a lighthouse number {i}" for i in range(50)]
    sizes = [f"{16 * (40 + i)}x1024" for i in range(50)]  # custom sizes gpt-image-2 takes
    with pytest.raises(ParamsError, match=(
            r"a grid of 50 × 50 cells × 4 samples is 10,000 requests, about \$[\d,]+\.\d\d .*; "
            rf"one grid holds at most {MAX_REQUESTS} requests")):
        CompareGrid(iw.ImageParams(model="gpt-image-2", prompt="x"), rows=("prompt", prompts),
                    columns=("size", sizes), repeats=4, client=client)
    assert set(_instances) == before  # refused before any widget was made


async def test_a_second_run_while_one_runs_joins_it(client: iw.ImagesClient,
                                                    server: EmulatorServer) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low", "high"]))
    before = server.request_count
    grid.run_button.click()  # Run clicked, then the notebook's `await grid.run()` cell
    clicked = grid.start()
    await grid.run()
    assert clicked.done() and server.request_count - before == 2  # sent once
    assert [cell.status for cell in grid.cells] == ["done", "done"]
    await grid.run()  # once it is over, a run is a new run
    assert server.request_count - before == 4
    grid.close()


async def test_the_thumbnail_slider_resizes_every_sample(client: iw.ImagesClient) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]), repeats=2)
    await grid.run()
    grid.thumbnail_slider.value = 416
    await until(lambda: all(tile.thumbnail_size == 416 for tile in grid.cells[0].tiles))
    assert grid.cells[0].footer.layout.max_width == "432px"
    await grid.rerun(0)  # new samples come at the chosen size
    assert all(tile.thumbnail_size == 416 for tile in grid.cells[0].tiles)
    grid.close()


def test_each_sample_is_labelled_with_its_row_column_and_sample(client: iw.ImagesClient) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low", "high"]),
                 repeats=2)
    tiles = [tile for cell in grid.cells for tile in cell.tiles]
    assert tiles[2].label == "model gpt-image-1, quality high, sample 1 of 2"
    assert len({tile.label for tile in tiles}) == 4
    # Read aloud too: the alt text says what the sample compares, not only prompt and model.
    assert "quality high, sample 1 of 2" in tiles[2].alt_text
    assert len({tile.alt_text for tile in tiles}) == 4
    grid.close()


async def test_the_contact_sheet_saved_shows_by_its_path(client: iw.ImagesClient,
                                                          output_folder: Path) -> None:
    grid = _grid(client, rows=("model", ["gpt-image-1"]), columns=("quality", ["low"]))
    with pytest.raises(ParamsError, match="the contact sheet has no image yet; run the grid first"):
        grid.save_contact_sheet()
    await grid.run()
    saved = grid.save_contact_sheet(image_size=96)
    assert saved.path.parent == output_folder and saved.path.name.endswith(".png")
    with Image.open(saved.path) as sheet:
        assert sheet.text["Title"] == "A lighthouse at dusk"
    shown = saved._repr_html_()
    assert f'<img src="{saved.relative}"' in shown and "base64" not in shown
    assert len(shown) < 500  # a line in the saved notebook, not the picture
    assert saved.path.name in repr(saved)
    grid.close()
