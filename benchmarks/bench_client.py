"""generate() of one 1024x1024 PNG from the emulator, against a bare httpx call and the SDK.

Run: ``python benchmarks/bench_client.py [--quick]`` (or ``make bench``). Two emulators,
each in its own process with no latency: the synthetic picture (~100 KB) and the
photographic one (``--photographic``, ~2.5 MB). Against each, three contenders take turns,
round after round, in rotating order, in one event loop:

* imagewidgets: ``ImagesClient.generate(params)``, the image checked as every result is;
* bare httpx: ``httpx.AsyncClient.post`` of the same body, ``base64.b64decode`` of its image;
* openai SDK: ``AsyncOpenAI().images.generate(**body)``, ``base64.b64decode`` of its image.

Every contender must get the same bytes (checked before the clock starts). Figures are
medians, imagewidgets / contender: B1 (bare, synthetic) <= 1.10, B1-photo (bare,
photographic) <= 1.03, B2 and B2-photo (SDK) <= 0.90.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
from _shared import Figure, emulator, main, same_bytes_medians

import imagewidgets as iw

PARAMS = {"model": "gpt-image-1", "prompt": "A lighthouse at dusk", "size": "1024x1024",
          "quality": "high", "output_format": "png"}
ROUNDS = {"synthetic": 600, "photographic": 200}
"""Rounds in full mode, per picture: enough that each ratio holds to about +-0.02."""
QUICK_ROUNDS = 10
GOALS = {"B1": 1.10, "B1-photo": 1.03, "B2": 0.90, "B2-photo": 0.90}


async def against(url: str, rounds: int) -> tuple[dict[str, float], int]:
    """The three contenders' median seconds against the emulator at ``url``; the image's bytes."""
    params = iw.ImageParams(**PARAMS)
    body: dict[str, Any] = dict(params.to_request())
    async with iw.ImagesClient(api_key="bench", base_url=url, is_emulator=True) as ours, \
            httpx.AsyncClient(timeout=60) as bare, \
            openai.AsyncOpenAI(api_key="bench", base_url=url) as sdk:

        async def run_ours() -> bytes:
            return (await ours.generate(params)).images[0].data

        async def run_bare() -> bytes:
            response = await bare.post(f"{url}/images/generations", json=body,
                                       headers={"Authorization": "Bearer bench"})
            response.raise_for_status()
            return base64.b64decode(response.json()["data"][0]["b64_json"])

        async def run_sdk() -> bytes:
            answer = await sdk.images.generate(**body)
            assert answer.data is not None and answer.data[0].b64_json is not None
            return base64.b64decode(answer.data[0].b64_json)

        runs: dict[str, Callable[[], Awaitable[bytes]]] = {
            "imagewidgets": run_ours, "bare httpx": run_bare, "openai SDK": run_sdk}
        medians, reference = await same_bytes_medians(runs, "bare httpx", rounds)
    return medians, len(reference)


def measure(quick: bool) -> tuple[list[Figure], str]:
    figures: list[Figure] = []
    lines = ["generate() of one 1024x1024 PNG from the emulator (no latency), against a bare "
             "httpx POST + base64 decode and the openai SDK + base64 decode; medians of "
             "interleaved rounds", "",
             "| picture | bytes | rounds | imagewidgets ms | bare httpx ms | openai SDK ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for picture, suffix, options in (("synthetic", "", ()), ("photographic", "-photo", ("--photographic",))):
        rounds = QUICK_ROUNDS if quick else ROUNDS[picture]
        with emulator(*options) as url:
            medians, size = asyncio.run(against(url, rounds))
        ours, bare, sdk = medians["imagewidgets"], medians["bare httpx"], medians["openai SDK"]
        lines.append(f"| {picture} | {size:,} | {rounds} | {ours * 1000:.2f} | {bare * 1000:.2f} | "
                     f"{sdk * 1000:.2f} |")
        figures.append(Figure(f"B1{suffix}", f"generate() / bare httpx + base64, {picture} "
                              "1024x1024 PNG", ours / bare, GOALS[f"B1{suffix}"]))
        figures.append(Figure(f"B2{suffix}", f"generate() / openai SDK images.generate + base64, "
                              f"{picture} 1024x1024 PNG", ours / sdk, GOALS[f"B2{suffix}"]))
    figures.sort(key=lambda figure: figure.id)
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
