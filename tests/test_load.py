"""Load, bounded in count and time: 100 images through a comparison grid, 429s among them.

Every image arrives once, lands in its own cell, and is kept once; cancelling a
run mid-way frees every connection at once and leaves no task behind.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve

PROMPTS = ["A lighthouse", "A red bicycle", "A fox in snow", "A teapot", "A harbour at night"]
QUALITIES = ["low", "medium", "high", "auto"]
REPEATS = 5  # 5 prompts x 4 qualities x 5 samples: 100 images


@pytest.fixture(scope="module")
def busy_server() -> Iterator[EmulatorServer]:
    with serve(port=0, latency=0.02) as running:
        yield running


async def test_a_hundred_images_at_concurrency_four_with_one_in_five_refused_429(
        busy_server: EmulatorServer, output_folder: Path, figures: Counter[str]) -> None:
    refused = 20
    busy_server.inject("status_429", times=refused, retry_after=0.05)
    before = busy_server.request_count
    async with iw.ImagesClient(base_url=busy_server.url, api_key="sk-test", max_concurrency=4,
                               max_retries=refused, is_emulator=True) as client:
        grid = iw.CompareGrid(iw.ImageParams(model="gpt-image-2", prompt="x", size="1024x1024"),
                              rows=("prompt", PROMPTS), columns=("quality", QUALITIES),
                              repeats=REPEATS, client=client)
        started = time.monotonic()
        await asyncio.wait_for(grid.run(), timeout=600)  # stuck, not slow
        seconds = time.monotonic() - started
    tiles = [tile for cell in grid.cells for tile in cell.tiles]
    assert len(tiles) == 100 and [tile.status for tile in tiles] == ["done"] * 100, (
        [str(tile.error) for tile in tiles if tile.status != "done"])
    assert busy_server.request_count - before == 100 + refused  # each sent once, plus the retries
    # Grid order kept: every sample sits in the cell of its prompt and quality.
    for cell in grid.cells:
        for tile in cell.tiles:
            assert (tile.result.params["prompt"], tile.result.params.get("quality")) == (
                cell.params.prompt, cell.params.quality)
    # Kept once each: 100 images, 100 distinct places and request ids, no extra file.
    sidecars = [json.loads(path.read_text()) for path in output_folder.glob("*.json")]
    images = [path for path in output_folder.iterdir() if path.suffix == ".png"]
    figures["images_made"] += sum(tile.status == "done" for tile in tiles)
    figures["images_kept"] += len(images)
    assert len(images) == len(sidecars) == 100
    places = {json.dumps(record["place"], sort_keys=True) for record in sidecars}
    assert len(places) == 100
    assert len({record["request_id"] for record in sidecars}) == 100
    print(f"100 images, {refused} refused with 429 and retried, in {seconds:.1f} s")
    grid.close()


async def test_cancel_mid_run_frees_every_connection_before_any_answer() -> None:
    with serve(port=0, latency=600.0) as slow:  # no answer comes while the test runs
        async with iw.ImagesClient(base_url=slow.url, api_key="sk-test", max_concurrency=4,
                                   max_retries=0, is_emulator=True) as client:
            grid = iw.CompareGrid(iw.ImageParams(model="gpt-image-2", prompt="x"),
                                  rows=("prompt", PROMPTS), columns=("quality", QUALITIES),
                                  repeats=REPEATS, client=client, store=None)
            ours = asyncio.all_tasks()
            grid.start()
            deadline = time.monotonic() + 120  # stuck, not slow
            while slow.request_count < 4:  # four requests in flight on the server
                assert time.monotonic() < deadline, "the grid never sent"
                await asyncio.sleep(0.01)
            pool = client._http._transport._pool  # type: ignore[attr-defined]
            assert len(pool.connections) == 4
            cancelled_at = time.monotonic()
            grid.cancel()
            while grid.jobs.busy or pool.connections:  # freed by the cancel, not by an answer
                assert time.monotonic() - cancelled_at < 120, (  # stuck, not slow
                    f"after 120 s: busy={grid.jobs.busy}, connections={pool.connections}")
                await asyncio.sleep(0.01)
            await asyncio.sleep(0)
            left = {task for task in asyncio.all_tasks() - ours if not task.done()}
            assert left == set(), left
            statuses = {tile.status for cell in grid.cells for tile in cell.tiles}
            assert statuses <= {"cancelled", "not run yet", "queued"} and "cancelled" in statuses
            assert slow.request_count == 4  # nothing more was sent after the cancel
            grid.close()
