"""generate() of one 1024x1024 PNG from the emulator, against a bare httpx call and the SDK.

Run: ``python benchmarks/bench_client.py`` (or ``make bench``). The three
contenders take turns, round after round, in rotating order, against one emulator in one
process, so the machine's drift hits them alike. Goals: imagewidgets / bare
httpx <= 1.10 (its checks and safe decoding cost little); imagewidgets /
openai SDK <= 1.00.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import httpx
import openai
from _shared import emulator

import imagewidgets as iw

BODY = {"model": "gpt-image-1", "prompt": "A lighthouse at dusk", "size": "1024x1024",
        "quality": "high", "output_format": "png"}


async def main(rounds: int) -> tuple[dict[str, float], int]:
    with emulator() as url:
        server = SimpleNamespace(url=url)
        params = iw.ImageParams(**BODY)
        async with iw.ImagesClient(api_key="bench", base_url=server.url, is_emulator=True) as ours, \
                httpx.AsyncClient(timeout=60) as bare, \
                openai.AsyncOpenAI(api_key="bench", base_url=server.url) as sdk:

            async def run_ours() -> bytes:
                return (await ours.generate(params)).images[0].data

            async def run_bare() -> bytes:
                response = await bare.post(f"{server.url}/images/generations", json=BODY,
                                           headers={"Authorization": "Bearer bench"})
                response.raise_for_status()
                return base64.b64decode(response.json()["data"][0]["b64_json"])

            async def run_sdk() -> bytes:
                answer = await sdk.images.generate(**BODY)  # type: ignore[call-overload]
                return base64.b64decode(answer.data[0].b64_json)

            contenders: dict[str, Callable[[], Awaitable[bytes]]] = {
                "imagewidgets": run_ours, "bare httpx": run_bare, "openai SDK": run_sdk}
            reference = await run_bare()
            for run in contenders.values():  # warm up: connections, caches, imports
                assert await run() == reference, "every contender must get the same bytes"
            timings: dict[str, list[float]] = {name: [] for name in contenders}
            names = list(contenders)
            for round_number in range(rounds):
                # Rotate who goes first: the first call of a round may pay for the idle gap.
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    run = contenders[name]
                    start = time.perf_counter()
                    await run()
                    timings[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    return medians, len(reference) // 1024


def report(medians: dict[str, float], rounds: int, size_kb: int) -> str:
    ours = medians["imagewidgets"]
    lines = [
        f"generate() of one 1024x1024 PNG ({size_kb} KB) from the emulator, "
        f"median of {rounds} interleaved rounds",
        "",
        "| contender | median ms | imagewidgets / contender | goal |",
        "|---|---:|---:|---:|",
        f"| imagewidgets | {ours * 1000:.2f} | 1.00 | |",
        f"| bare httpx + base64 | {medians['bare httpx'] * 1000:.2f} | "
        f"{ours / medians['bare httpx']:.2f} | <= 1.10 |",
        f"| openai SDK | {medians['openai SDK'] * 1000:.2f} | "
        f"{ours / medians['openai SDK']:.2f} | <= 1.00 |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    medians, size_kb = asyncio.run(main(rounds))
    print(report(medians, rounds, size_kb))
