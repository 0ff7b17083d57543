"""Jobs, the owner of running work: held, counted, ticked, cancelled, failures reported.

Fake tiles stand in for ImageTile here (``run`` and ``tick`` are all Jobs uses);
the panel's tests drive real tiles through it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from imagewidgets.ui.jobs import Jobs

from waiting import until


class _Tile:
    """Runs until ``release`` is set; counts its ticks."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.release = asyncio.Event()
        self.ticks = 0
        self.ran: tuple[Any, int] | None = None
        self.cancelled = False
        self._fail = fail

    async def run(self, _client: Any, body: Any, *, image_index: int = 0, variation: int = 0,
                  reservation: Any = None) -> None:
        self.ran = (body, image_index)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self._fail is not None:
            raise self._fail

    def tick(self) -> None:
        self.ticks += 1


async def test_counts_image_requests_not_the_work_around_them() -> None:
    seen: list[tuple[int, bool]] = []
    jobs = Jobs()
    jobs.on_change = lambda: seen.append((jobs.in_flight, jobs.busy))
    tiles = [_Tile() for _ in range(3)]

    async def generate() -> None:  # what a Generate click runs
        await jobs.run_tiles(tiles, None, [{"n": 1, "i": i} for i in range(3)])  # type: ignore[arg-type]

    task = jobs.spawn(generate())
    assert jobs.busy and jobs.in_flight == 0  # the click's task is held, but it is no image
    await until(lambda: jobs.in_flight == 3)
    assert [tile.ran for tile in tiles] == [({"n": 1, "i": i}, i) for i in range(3)]
    assert jobs.tasks >= {task}
    for tile in tiles:
        tile.release.set()
    await task
    await asyncio.sleep(0)
    assert (jobs.in_flight, jobs.busy) == (0, False)
    assert seen[-1] == (0, False) and max(count for count, _ in seen) == 3


async def test_one_ticker_while_tiles_run_and_none_after() -> None:
    jobs = Jobs(tick_seconds=0.01)
    first, second = _Tile(), _Tile()
    row_one = jobs.run_tiles([first], None, [{}])  # type: ignore[arg-type]
    ticker = jobs._ticker
    row_two = jobs.run_tiles([second], None, [{}])  # type: ignore[arg-type]
    assert ticker is not None and jobs._ticker is ticker  # one ticker for every row
    await until(lambda: first.ticks >= 2 and second.ticks >= 2)
    first.release.set()
    await row_one
    ticks = second.ticks
    await until(lambda: second.ticks > ticks)  # still ticking the tile that runs
    second.release.set()
    await row_two
    await asyncio.sleep(0)
    assert jobs._ticker is None and ticker.cancelled()
    assert all(task is not ticker for task in asyncio.all_tasks())


async def test_cancel_all_cancels_requests_and_spawned_work() -> None:
    jobs = Jobs()
    tiles = [_Tile(), _Tile()]
    row = jobs.run_tiles(tiles, None, [{}, {}])  # type: ignore[arg-type]
    other = jobs.spawn(asyncio.sleep(60))
    await asyncio.sleep(0)
    jobs.cancel_all()
    results = await row  # the row's awaitable does not raise: its tiles show what happened
    assert [type(result) for result in results] == [asyncio.CancelledError] * 2
    assert all(tile.cancelled for tile in tiles)
    with pytest.raises(asyncio.CancelledError):
        await other
    await asyncio.sleep(0)
    assert not jobs.busy


async def test_a_failure_no_tile_shows_is_reported_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    errors: list[BaseException] = []
    jobs = Jobs(on_error=errors.append)

    async def broken() -> None:
        raise RuntimeError("the <grid> broke")

    with caplog.at_level(logging.ERROR, logger="imagewidgets"):
        task = jobs.spawn(broken())
        await asyncio.wait([task])
        failing = _Tile(fail=KeyError("escaped the tile"))
        row = jobs.run_tiles([failing], None, [{}])  # type: ignore[arg-type]
        failing.release.set()
        await row
        await asyncio.sleep(0)
    assert [str(error) for error in errors] == ["the <grid> broke", "'escaped the tile'"]
    assert jobs.last_error is errors[-1]
    assert "the <grid> broke" in caplog.text and "escaped the tile" in caplog.text
    jobs.spawn(asyncio.sleep(0)).cancel()  # cancelling is no failure
    await until(lambda: not jobs.busy, "the cancelled task ending")
    assert len(errors) == 2


async def test_tasks_are_held_until_they_end() -> None:
    jobs = Jobs()
    finished: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.02)
        finished.append("done")

    jobs.spawn(work())  # no reference kept here: Jobs holds it
    gc.collect()
    await until(lambda: finished == ["done"])


async def test_mismatched_bodies_are_refused() -> None:
    with pytest.raises(ValueError, match="2 tiles but 1 request bodies"):
        Jobs().run_tiles([_Tile(), _Tile()], None, [{}])  # type: ignore[arg-type]


def test_spawn_without_a_loop_raises_and_runs_nothing() -> None:
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    with pytest.raises(RuntimeError):
        Jobs().spawn(work())
    assert ran == [] and repr(Jobs()) == "Jobs(in_flight=0, spawned=0)"
