"""A 2 x 3 CompareGrid against one request, and against the same six requests by hand.

Run: ``python benchmarks/bench_compare.py`` (or ``make bench``); ``--check`` (or ``CHECK=1``)
exits 1 when a goal is missed. One emulator, in its own process, takes 1 s per request
(``--latency 1``); every request streams two partial images, then the final 1024x1024 PNG.
The contenders take turns, round after round, in rotating order, with one ``ImagesClient``
(``max_concurrency=6``), and grids built headless before the clock starts:

* the grid: ``await grid.run()`` of models gpt-image-1, gpt-image-2 x qualities low, medium, high;
* one request: ``await grid.run()`` of a 1 x 1 grid, the same code path;
* the SDK by hand: the grid's six request bodies sent with ``openai.AsyncOpenAI``
  ``images.generate(stream=True)`` under ``asyncio.gather``, every event's image decoded;
  and one such request, for reference.

Goals, on medians: grid / one request <= 1.10 (B3; one after another would be 6.0);
grid / SDK by hand <= 1.05 (B3-sdk). Results are merged into ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from _shared import emulator, save

import imagewidgets as iw
from imagewidgets.ui.compare import CompareGrid

BASE = {"prompt": "A lighthouse at dusk", "size": "1024x1024", "output_format": "png",
        "stream": True, "partial_images": 2}
ROWS = ("model", ["gpt-image-1", "gpt-image-2"])
COLUMNS = ("quality", ["low", "medium", "high"])
GOALS = {"B3": 1.10, "B3-sdk": 1.05}


async def main(rounds: int, latency: float) -> dict[str, float]:
    with emulator("--latency", str(latency)) as url:
        params = iw.ImageParams(model="gpt-image-1", **BASE)
        async with iw.ImagesClient(api_key="bench", base_url=url, max_concurrency=6,
                                   is_emulator=True) as ours, \
                openai.AsyncOpenAI(api_key="bench", base_url=url) as sdk:
            bodies = [cell.params.to_request() for cell in
                      CompareGrid(params, rows=ROWS, columns=COLUMNS, client=ours).cells]

            def grid_of(rows: Any, columns: Any) -> Callable[[], Awaitable[float]]:
                async def run() -> float:
                    grid = CompareGrid(params, rows=rows, columns=columns, client=ours)
                    start = time.perf_counter()
                    await grid.run()
                    seconds = time.perf_counter() - start
                    assert all(row["status"] == "done" for row in grid.summary()), grid.summary()
                    grid.close()
                    return seconds
                return run

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
                "grid 2x3": grid_of(ROWS, COLUMNS),
                "grid 1x1": grid_of(("model", ["gpt-image-1"]), ("quality", ["high"])),
                "SDK gather x6": sdk_many(bodies), "SDK one": sdk_many(bodies[-1:])}
            for run in contenders.values():  # warm up: connections, threads, imports
                await run()
            timings: dict[str, list[float]] = {name: [] for name in contenders}
            names = list(contenders)
            for round_number in range(rounds):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    timings[name].append(await contenders[name]())
    return {name: statistics.median(values) for name, values in timings.items()}


def figures(medians: dict[str, float]) -> dict[str, float]:
    return {"B3": medians["grid 2x3"] / medians["grid 1x1"],
            "B3-sdk": medians["grid 2x3"] / medians["SDK gather x6"]}


def report(medians: dict[str, float], values: dict[str, float], rounds: int,
           latency: float) -> str:
    lines = [f"2 models x 3 qualities, streaming 2 partials each, emulator latency {latency:g} s, "
             f"max_concurrency 6, median of {rounds} interleaved rounds", "",
             "| contender | median s |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in medians.items()]
    lines += ["", "| figure | value | goal | pass |", "|---|---:|---:|---|"]
    labels = {"B3": "grid / one request (1x1 grid)", "B3-sdk": "grid / SDK + asyncio.gather"}
    for key, value in values.items():
        lines.append(f"| {key} {labels[key]} | {value:.3f} | <= {GOALS[key]:.2f} | "
                     f"{'yes' if value <= GOALS[key] else 'NO'} |")
    lines += [f"| grid / nominal {latency:g} s | {medians['grid 2x3'] / latency:.3f} | | |",
              f"| SDK gather / SDK one | {medians['SDK gather x6'] / medians['SDK one']:.3f} | | |"]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--check", action="store_true", default=os.environ.get("CHECK") == "1")
    args = parser.parse_args()
    medians = asyncio.run(main(args.rounds, args.latency))
    values = figures(medians)
    print(report(medians, values, args.rounds, args.latency))
    save(values, GOALS)
    sys.exit(1 if args.check and any(v > GOALS[k] for k, v in values.items()) else 0)
