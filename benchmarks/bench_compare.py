"""A 2 x 3 CompareGrid against one request and the same six requests by hand; the loop's lag meanwhile.

Run: ``python benchmarks/bench_compare.py [--quick]`` (or ``make bench``). One emulator, in
its own process, takes 1 s per request (``--latency 1``; 0.2 s and one round with
``--quick``); every request streams two partial images, then the final 1024x1024 PNG. The
contenders take turns, round after round, in rotating order, with one ``ImagesClient``
(``max_concurrency=6``), and grids built headless before the clock starts:

* the grid: ``await grid.run()`` of models gpt-image-1, gpt-image-2 x qualities low, medium, high;
* one request: ``await grid.run()`` of a 1 x 1 grid, the same code path;
* the SDK by hand: the grid's six request bodies sent with ``openai.AsyncOpenAI``
  ``images.generate(stream=True)`` under ``asyncio.gather``, every event's image decoded;
  and one such request, for reference.

Goals, on medians: grid / the emulator's latency <= 1.10 (B3, as its issue defined it: one
after another would be 6.0); grid / SDK by hand <= 1.05 (B3-sdk). Reported beside B3: grid / one
request (B3-1x1), which leaves out what a single request costs beyond the latency.

B4, the event loop's lag: the same grid at 1536x1024 streaming three partial images per
cell, while a probe task sleeps 1 ms in a loop and records how late each wake-up is. Per
round the largest and the 99th-percentile lateness; the figures are their medians over
the rounds, for the emulator's synthetic and its photographic pictures (the harder of the
two is the figure). Goals: max <= 50 ms (B4-max), p99 <= 20 ms (B4-p99).
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from _shared import Figure, emulator, interleaved_async, main

import imagewidgets as iw
from imagewidgets.ui.compare import CompareGrid

BASE = {"prompt": "A lighthouse at dusk", "size": "1024x1024", "output_format": "png",
        "stream": True, "partial_images": 2}
ROWS = ("model", ["gpt-image-1", "gpt-image-2"])
COLUMNS = ("quality", ["low", "medium", "high"])
LAG_BASE = {**BASE, "size": "1536x1024", "partial_images": 3}
PROBE_SLEEP = 0.001


def grid_runner(params: iw.ImageParams, client: iw.ImagesClient, rows: Any = ROWS,
                columns: Any = COLUMNS,
                during: Callable[[Awaitable[Any]], Awaitable[Any]] | None = None
                ) -> Callable[[], Awaitable[float]]:
    """Seconds of ``await grid.run()``, the grid built before the clock starts (and closed
    after it stops); ``during`` wraps the run (the lag probe)."""
    async def run() -> float:
        grid = CompareGrid(params, rows=rows, columns=columns, client=client)
        start = time.perf_counter()
        await (grid.run() if during is None else during(grid.run()))
        seconds = time.perf_counter() - start
        assert all(row["status"] == "done" for row in grid.summary()), grid.summary()
        grid.close()
        return seconds
    return run


async def speed(rounds: int, latency: float) -> dict[str, float]:
    """B3's contenders: median seconds each."""
    with emulator("--latency", str(latency)) as url:
        params = iw.ImageParams(model="gpt-image-1", **BASE)
        async with iw.ImagesClient(api_key="bench", base_url=url, max_concurrency=6,
                                   is_emulator=True) as ours, \
                openai.AsyncOpenAI(api_key="bench", base_url=url) as sdk:
            bodies = [cell.params.to_request() for cell in
                      CompareGrid(params, rows=ROWS, columns=COLUMNS, client=ours).cells]

            async def sdk_one(body: dict[str, Any]) -> bytes:
                stream = await sdk.images.generate(**body)
                final = b""
                async for event in stream:
                    final = base64.b64decode(event.b64_json)
                assert final.startswith(b"\x89PNG"), "the SDK must get the final image"
                return final

            def sdk_many(chosen: list[dict[str, Any]]) -> Callable[[], Awaitable[float]]:
                async def run() -> float:
                    start = time.perf_counter()
                    await asyncio.gather(*(sdk_one(body) for body in chosen))
                    return time.perf_counter() - start
                return run

            contenders: dict[str, Callable[[], Awaitable[float]]] = {
                "grid 2x3": grid_runner(params, ours),
                "grid 1x1": grid_runner(params, ours, ("model", ["gpt-image-1"]), ("quality", ["high"])),
                "SDK gather x6": sdk_many(bodies), "SDK one": sdk_many(bodies[-1:])}
            for run in contenders.values():  # warm up: connections, threads, imports
                await run()
            return await interleaved_async(contenders, rounds)


async def probed(work: Awaitable[Any], late: list[float]) -> None:
    """Await ``work`` while a task sleeping 1 ms in a loop adds to ``late`` how late (ms)
    each of its wake-ups was."""
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(PROBE_SLEEP)
            late.append(max(0.0, time.perf_counter() - start - PROBE_SLEEP) * 1000)

    task = asyncio.create_task(probe())
    try:
        await work
    finally:
        stop.set()
        await task


async def lag(rounds: int, latency: float, photographic: bool) -> dict[str, tuple[float, float]]:
    """Medians over ``rounds`` of the loop's largest and p99 lateness (ms): while the grid
    runs, and while the loop only sleeps as long (the machine's own noise)."""
    options = ("--latency", str(latency), *(("--photographic",) if photographic else ()))
    with emulator(*options) as url:
        params = iw.ImageParams(model="gpt-image-1", **LAG_BASE)
        async with iw.ImagesClient(api_key="bench", base_url=url, max_concurrency=6,
                                   is_emulator=True) as client:
            late: list[float] = []
            run = grid_runner(params, client, during=lambda work: probed(work, late))
            seconds = await run()  # warm up: connections, threads, imports
            found: dict[str, tuple[list[float], list[float]]] = {"grid": ([], []), "idle": ([], [])}
            for _ in range(rounds):
                for name in ("grid", "idle"):
                    late.clear()
                    await (run() if name == "grid" else probed(asyncio.sleep(seconds), late))
                    found[name][0].append(max(late))
                    found[name][1].append(statistics.quantiles(late, n=100)[98])
    return {name: (statistics.median(highest), statistics.median(p99s))
            for name, (highest, p99s) in found.items()}


def measure(quick: bool) -> tuple[list[Figure], str]:
    rounds, latency = (1, 0.2) if quick else (7, 1.0)
    lag_rounds = 1 if quick else 5
    medians = asyncio.run(speed(rounds, latency))
    kinds = ("photographic",) if quick else ("synthetic", "photographic")
    lags = {kind: asyncio.run(lag(lag_rounds, latency, kind == "photographic")) for kind in kinds}
    harder = max(lags, key=lambda kind: lags[kind]["grid"][0])
    worst_max, worst_p99 = lags[harder]["grid"]
    lines = [f"B3: 2 models x 3 qualities, streaming 2 partials each, emulator latency {latency:g} s, "
             f"max_concurrency 6, median of {rounds} interleaved rounds", "",
             "| contender | median s |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in medians.items()]
    lines += [f"| (grid / nominal {latency:g} s) | {medians['grid 2x3'] / latency:.3f} |",
              f"| (SDK gather / SDK one) | {medians['SDK gather x6'] / medians['SDK one']:.3f} |",
              "", f"B4: the same grid at 1536x1024, 3 partials a cell, a probe sleeping "
              f"{PROBE_SLEEP * 1000:g} ms in a loop; medians over {lag_rounds} rounds of each "
              f"round's lateness (the figure: {harder}, the harder)", "",
              "| pictures | while | max ms | p99 ms |", "|---|---|---:|---:|"]
    lines += [f"| {kind} | {'the grid streams' if name == 'grid' else 'only sleeping as long'} | "
              f"{high:.1f} | {p99:.1f} |"
              for kind, found in lags.items() for name, (high, p99) in found.items()]
    figures = [
        Figure("B3", f"2x3 compare grid wall time / the emulator's {latency:g} s latency",
               medians["grid 2x3"] / latency, 1.10),
        Figure("B3-1x1", "2x3 compare grid wall time / 1x1 grid",
               medians["grid 2x3"] / medians["grid 1x1"], None),
        Figure("B3-sdk", "2x3 compare grid / openai SDK + asyncio.gather of the six requests",
               medians["grid 2x3"] / medians["SDK gather x6"], 1.05),
        Figure("B4-max", f"event-loop lag, largest, while the grid streams 1536x1024 partials "
               f"({harder})", worst_max, 50, unit="ms"),
        Figure("B4-p99", f"event-loop lag, 99th percentile, same run ({harder})", worst_p99, 20,
               unit="ms"),
    ]
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
