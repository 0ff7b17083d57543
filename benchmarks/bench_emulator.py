"""The emulator's throughput under 8 concurrent clients, against Pillow drawing the same pictures.

Run: ``python benchmarks/bench_emulator.py`` (or ``make bench``). The emulator runs in its
own process (``_shared.emulator()``); the two contenders take turns, round after round, in
rotating order, each timing :data:`BATCH` images:

* the emulator: 8 asyncio tasks, each with its own ``httpx.AsyncClient`` (connections
  kept open), asking for 1024x1024 medium PNGs until the batch is done; the answer is read
  whole and checked for its ``b64_json`` (the client does no more, so its share of the
  2 cores stays small);
* the floor: the emulator's own drawing and encoding (``render.final_bytes`` of the
  same ``Render`` the server builds), one image after another, in this process.

Every request and every floor image has its own prompt: the emulator caches pictures and
encodings (``lru_cache`` in render.py), and a repeat would cost nothing. Goal (B10):
emulator images per second / floor images per second >= 0.8.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time

import httpx
from _shared import Figure, emulator, interleaved_async, main

from imagewidgets.emulator.render import Render, final_bytes

CLIENTS = 8
MODEL, SIZE, QUALITY = "gpt-image-1", "1024x1024", "medium"
_takes = itertools.count()  # every picture its own prompt: no cache hit anywhere


def _prompt() -> str:
    return f"A lighthouse at dusk, take {next(_takes)}"


def _render(prompt: str) -> Render:
    """What the server builds for :func:`_body` (``background`` auto resolves to opaque)."""
    return Render(prompt, MODEL, SIZE, QUALITY, None, "opaque", 0, "png", 100)


def _body(prompt: str) -> dict[str, str]:
    return {"model": MODEL, "prompt": prompt, "size": SIZE, "quality": QUALITY,
            "output_format": "png"}


async def _run(batch: int, rounds: int) -> tuple[dict[str, float], int]:
    with emulator() as url:
        clients = [httpx.AsyncClient(base_url=url, timeout=120,
                                     headers={"Authorization": "Bearer bench"})
                   for _ in range(CLIENTS)]
        try:
            async def ask(client: httpx.AsyncClient, prompt: str) -> bytes:
                response = await client.post("/images/generations", json=_body(prompt))
                response.raise_for_status()
                return response.content

            async def served() -> float:
                left = iter(range(batch))

                async def worker(client: httpx.AsyncClient) -> None:
                    for _ in left:  # shared: the batch is split as the answers come
                        assert b'"b64_json"' in await ask(client, _prompt())

                start = time.perf_counter()
                await asyncio.gather(*(worker(client) for client in clients))
                return (time.perf_counter() - start) / batch

            async def drawn() -> float:
                start = time.perf_counter()
                for _ in range(batch):
                    final_bytes(_render(_prompt()))
                return (time.perf_counter() - start) / batch

            # The floor draws what the server sends: the same bytes for one prompt.
            prompt = _prompt()
            answer = json.loads(await ask(clients[0], prompt))
            sent = base64.b64decode(answer["data"][0]["b64_json"])
            assert sent == final_bytes(_render(prompt)), "the floor must draw the server's picture"
            await asyncio.gather(*(ask(client, _prompt()) for client in clients))  # connect all
            medians = await interleaved_async({"emulator": served, "floor": drawn}, rounds)
        finally:
            for client in clients:
                await client.aclose()
    return medians, len(sent) // 1024


def measure(quick: bool) -> tuple[list[Figure], str]:
    batch, rounds = (16, 3) if quick else (48, 9)
    medians, size_kb = asyncio.run(_run(batch, rounds))
    served, drawn = 1 / medians["emulator"], 1 / medians["floor"]
    ratio = served / drawn
    report = "\n".join([
        f"The emulator ({CLIENTS} concurrent clients, its own process) against Pillow drawing and "
        f"encoding the same pictures in one process: {SIZE} {QUALITY} PNGs ({size_kb} KB), every "
        f"one a new prompt; {batch} images a contender a round, median of {rounds} interleaved "
        "rounds",
        "",
        "| contender | images/s | ms/image |",
        "|---|---:|---:|",
        f"| emulator, {CLIENTS} clients | {served:.1f} | {medians['emulator'] * 1000:.1f} |",
        f"| floor: render.final_bytes, sequential | {drawn:.1f} | {medians['floor'] * 1000:.1f} |",
    ])
    figures = [Figure("B10", f"emulator images/s ({CLIENTS} clients, 1024x1024 medium PNG) / "
                             "Pillow drawing them in one process", ratio, 0.8, higher=True)]
    return figures, report


if __name__ == "__main__":
    main(measure)
