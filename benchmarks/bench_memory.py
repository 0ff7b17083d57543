"""What a panel keeps in memory per image: the growth of the process's RSS over the images' bytes.

Run: ``python benchmarks/bench_memory.py`` (or ``make bench``); ``--check`` (or ``CHECK=1``)
exits 1 when a goal is missed. An :class:`~imagewidgets.ui.panel.ImagePanel` (headless, its
store in a temporary folder) generates 1024x1024 images on the emulator, run in its own
process, streaming two partials each, as the panel does by default. After a warm-up (a few
images first: imports, Pillow's plugins, the HTTP connections, one-time caches), the resident
memory of this process is read (``/proc/self/statm``, after ``gc.collect()``); then
:data:`COUNT` more images are made, kept by the panel (its tiles), and read again.

Figure: RSS growth ÷ the images' encoded bytes, goal <= 1.2 (B6): a panel that held every
image for Download and Enlarge would be at least 1; a saved image's tile keeps only its
thumbnail and reads the file back when asked, so it stays well under. The same with the emulator's
photographic pictures (~2.5 MB each; B6-photo). The thumbnails the browser is sent
(``tile.thumbnail``) are reported beside it: they are part of what the RSS holds.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import statistics
import tempfile
import time
from typing import Any

from _shared import Figure, emulator, main

import imagewidgets as iw
from imagewidgets.ui.panel import ImagePanel

GOAL = 1.2
COUNT = 200
"""Images kept by the panel in full mode (synthetic pictures)."""
PHOTO_COUNT = 30
"""Photographic pictures (~2.5 MB each) in full mode."""
ROUNDS = 3
"""Fills in full mode, each in a fresh process (the allocator's state varies: the median)."""
WARMUP = 8
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident bytes of this process, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


async def fill(url: str, count: int, per_generate: int = 4) -> dict[str, Any]:
    """A panel makes ``WARMUP`` images, then ``count`` more; RSS read between."""
    with tempfile.TemporaryDirectory() as folder:
        client = iw.ImagesClient(api_key="emulator", base_url=url, is_emulator=True)
        params = iw.ImageParams(prompt="a lighthouse at dusk", size="1024x1024", stream=True,
                                partial_images=2, n=per_generate)
        panel = ImagePanel(client=client, params=params, store=folder)
        try:
            for _ in range(-(-WARMUP // per_generate)):
                await panel.generate()
            before, kept_before = rss(), len(panel.tiles)
            start = time.perf_counter()
            while len(panel.tiles) - kept_before < count:
                await panel.generate()
            seconds = time.perf_counter() - start
            after = rss()
            tiles = panel.tiles[: len(panel.tiles) - kept_before]
            done = [tile for tile in tiles if tile.result is not None]
            assert len(done) == len(tiles), [tile.error for tile in tiles if tile.result is None]
            encoded = sum(len(tile.result.data) for tile in done)
            thumbs = sum(len(tile.thumbnail) for tile in done)
            return {"images": len(done), "encoded": encoded, "thumbnails": thumbs,
                    "growth": after - before, "seconds": seconds}
        finally:
            panel.close()
            await client.aclose()


def run(count: int, *options: str) -> dict[str, Any]:
    with emulator(*options) as url:
        return asyncio.run(fill(url, count))


def median_run(rounds: int, count: int, *options: str) -> dict[str, Any]:
    """:func:`run` in ``rounds`` fresh processes: the fill whose ratio is the median.

    A fresh process each time: a second panel in the same one would reuse the
    memory the first freed, and so seem to cost less.
    """
    context = multiprocessing.get_context("spawn")
    fills = []
    for _ in range(rounds):
        with context.Pool(1) as pool:
            fills.append(pool.apply(run, (count, *options)))
    fills.sort(key=lambda figures: figures["growth"] / figures["encoded"])
    middle = fills[len(fills) // 2]
    ratios = [figures["growth"] / figures["encoded"] for figures in fills]
    return {**middle, "ratios": ratios, "median": statistics.median(ratios)}


def line(name: str, figures: dict[str, Any]) -> str:
    mb = 1e6
    ratio = figures["growth"] / figures["encoded"]
    rest = figures["growth"] - figures["encoded"] - figures["thumbnails"]
    ratios = ", ".join(f"{value:.2f}" for value in figures.get("ratios", [ratio]))
    return (f"| {name} | {figures['images']} | {figures['encoded'] / mb:.1f} MB "
            f"({figures['encoded'] / figures['images'] / 1e3:.0f} KB each) | "
            f"{figures['thumbnails'] / mb:.1f} MB | {figures['growth'] / mb:+.1f} MB | "
            f"{rest / figures['images'] / 1e3:.0f} KB | {ratio:.2f} ({ratios}) | "
            f"{figures['seconds']:.0f} s |")


def measure(quick: bool) -> tuple[list[Figure], str]:
    count, photo_count, rounds = (20, 6, 1) if quick else (COUNT, PHOTO_COUNT, ROUNDS)
    synthetic = median_run(rounds, count)
    photographic = median_run(rounds, photo_count, "--photographic")
    report = "\n".join([
        f"A headless ImagePanel (1024x1024, stream with 2 partials, 4 images per Generate, store "
        f"in a temporary folder) on the emulator in its own process; {WARMUP} images of warm-up "
        f"first, then RSS (``/proc/self/statm`` after ``gc.collect()``) before and after the "
        f"images counted; {rounds} round(s), each in a fresh process: the median round is "
        f"shown. Ratio = RSS growth ÷ the images' encoded bytes. The rest = RSS growth − "
        f"encoded − thumbnails: the tile's widgets (19 widget models for a done tile, ~58 KB "
        f"of Python objects by tracemalloc), the panel's rows and comms, and the memory the "
        f"allocator keeps.",
        "",
        "| pictures | images | encoded | thumbnails (tile.thumbnail) | RSS growth "
        "| the rest, per tile | ratio (every round) | took |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        line("synthetic", synthetic),
        line("photographic (--photographic)", photographic),
    ])
    figures = [
        Figure("B6", f"RSS growth ÷ encoded bytes, {synthetic['images']} 1024x1024 images kept "
                     "by a panel", synthetic["median"], GOAL),
        Figure("B6-photo", f"RSS growth ÷ encoded bytes, {photographic['images']} photographic "
                           "1024x1024 images (~2.5 MB) kept by a panel",
               photographic["median"], GOAL),
    ]
    return figures, report


if __name__ == "__main__":
    main(measure)
