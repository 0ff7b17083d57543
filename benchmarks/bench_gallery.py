"""Opening a gallery of 10,000 saved images (B9), and serving one page of it (B16).

Run: ``python benchmarks/bench_gallery.py`` (or ``make bench``). First 10,000 small images
(64x64 PNGs, with records like a panel's; 500 with ``--quick``) are saved with
``ImageStore.save`` into a temporary folder. Then the contenders take turns, round after
round, in rotating order:

* the floor: ``os.scandir`` of the folder and ``json.loads`` of every sidecar;
* cold: no index file, no thumbnails: :func:`open_first_page`, ``Gallery(folder)``, which
  lists the folder (every sidecar read, the index written) and shows the newest :data:`PAGE`
  images, their thumbnails made;
* warm: the same, with the index file and the thumbnails the last opening left.

Goals, on medians: warm / floor <= 3 (B9). Cold / floor is reported (B9-cold), with no goal.

B16-gallery-page: in a running event loop, as in a kernel, a gallery showing its first page
serves the next :data:`PAGE` images (``show_more()`` until ``await gallery.loaded()``: their
captions and alt text made, their kept thumbnails read, on the loop within its budget, and
sent to the browser), against reading those 24 kept thumbnail files with ``Path.read_bytes``,
taking turns in one run. Goal: page / read <= 2.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from _shared import Figure, interleaved, interleaved_async, main, timed
from PIL import Image

from imagewidgets.results import GeneratedImage
from imagewidgets.storage.index import INDEX_FILE, THUMBNAIL_DIR
from imagewidgets.storage.store import ImageStore
from imagewidgets.ui.gallery import Gallery

PAGE = 24
"""Thumbnails on the gallery's first page."""
MODELS = ("gpt-image-1", "gpt-image-2", "gpt-image-1-mini", "dall-e-3")
WORDS = ("a", "lighthouse", "at", "dusk", "over", "a", "calm", "sea", "with", "gulls", "and", "a", "red",
         "fox", "in", "deep", "snow")


def open_first_page(folder: Path) -> int:
    """What opening the gallery costs: ``Gallery(folder)``, the listing and its first page, shown.

    Headless (no kernel): the widgets are made as in a notebook, no comm messages go out.
    """
    gallery = Gallery(folder, page_size=PAGE)
    try:
        return sum(item.thumbnail is not None for item in gallery.items)
    finally:
        gallery.close()


def floor(folder: Path) -> int:
    """The least any gallery does: list the folder and read every sidecar."""
    count = 0
    with os.scandir(folder) as listing:
        for item in listing:
            if item.name.endswith(".json") and not item.name.startswith("."):
                with open(item.path, "rb") as file:
                    json.loads(file.read())
                count += 1
    return count


def make_gallery(folder: Path, count: int) -> None:
    """``count`` 64x64 PNGs saved as a panel saves them, a few minutes apart, newest now."""
    pictures = []
    for shade in range(16):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (shade * 16, 120, 255 - shade * 16)).save(buffer, "PNG")
        pictures.append(buffer.getvalue())
    store = ImageStore(folder)
    now = time.time()
    # Durability is not what is measured: 2 fsyncs per image would take minutes on a real disk.
    with mock.patch("os.fsync"):
        for number in range(count):
            model = MODELS[number % len(MODELS)]
            prompt = " ".join(WORDS[number % 7:number % 7 + 8]) + f" number {number}"
            params = {"model": model, "prompt": prompt, "size": "1024x1024", "quality": "low",
                      "output_format": "png", "n": 1}
            record = {
                "params": params, "revised_prompt": f"A detailed picture of {prompt}",
                "usage": {"input_tokens": 12, "output_tokens": 272, "total_tokens": 284},
                "cost": {"estimated": 0.011, "actual": 0.0112, "prices_read_on": "2026-11-01"},
                "timings": {"seconds": 4.2, "created": int(now)}, "request_id": f"req_{number:08x}",
                "server": {"host": "127.0.0.1", "emulator": True}, "place": None}
            image = GeneratedImage(data=pictures[number % len(pictures)], format="png", width=64, height=64,
                                   params=params)
            store.save(image, record, when=now - number * 420)


def medians_of(folder: Path, rounds: int) -> dict[str, float]:
    def cold() -> float:
        (folder / INDEX_FILE).unlink(missing_ok=True)
        shutil.rmtree(folder / THUMBNAIL_DIR, ignore_errors=True)
        return timed_open(open_first_page)

    def timed_open(run: Callable[[Path], int]) -> float:
        start = time.perf_counter()
        done = run(folder)
        seconds = time.perf_counter() - start
        assert done > 0, "nothing was read"
        return seconds

    contenders: dict[str, Callable[[], float]] = {
        "floor: scandir + json.loads of every sidecar": lambda: timed_open(floor),
        "cold: no index, no thumbnails": cold,
        "warm: index and thumbnails kept": lambda: timed_open(open_first_page)}
    for run in contenders.values():  # warm up: imports, the page cache, and the warm run's files
        run()
    return interleaved(contenders, rounds)


async def page_medians(folder: Path, rounds: int) -> dict[str, float]:
    """Median seconds to serve the second page of 24, and to read its 24 kept thumbnails."""
    gallery = Gallery(folder, page_size=PAGE)
    await gallery.loaded()
    gallery.show_more()
    await gallery.loaded()  # the second page's thumbnails made and kept, once
    files = [folder / THUMBNAIL_DIR / f"{item.entry.name}-{gallery.thumbnail_size}.{item.thumbnail.format}"
             for item in gallery.items[PAGE:] if item.thumbnail is not None]
    assert len(files) == PAGE and all(path.exists() for path in files), "the page's thumbnails are kept"

    async def page() -> float:
        shown = Gallery(folder, page_size=PAGE)  # showing its first page, as one just opened
        try:
            await shown.loaded()
            start = time.perf_counter()
            shown.show_more()
            await shown.loaded()
            seconds = time.perf_counter() - start
            assert len(shown.items) == 2 * PAGE and all(item.thumbnail for item in shown.items)
        finally:
            shown.close()
        return seconds

    async def read() -> float:
        start = time.perf_counter()
        for path in files:
            path.read_bytes()
        return time.perf_counter() - start

    try:
        for run in (page, read):  # warm up
            await run()
        return await interleaved_async({"serve a page of 24 (kept thumbnails)": page,
                                        "read its 24 kept thumbnails": read}, rounds)
    finally:
        gallery.close()


def measure(quick: bool) -> tuple[list[Figure], str]:
    count, rounds = (500, 2) if quick else (10_000, 7)
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as temporary:
        folder = Path(temporary)
        made = timed(lambda: make_gallery(folder, count))
        medians = medians_of(folder, rounds)
        index_bytes = (folder / INDEX_FILE).stat().st_size
        page_rounds = 5 if quick else 41
        pages = asyncio.run(page_medians(folder, page_rounds))
    floor_seconds, cold_seconds, warm_seconds = medians.values()
    figures = [
        Figure("B9", f"opening a gallery of {count:,} saved images, index and thumbnails kept, "
               "/ os.scandir + reading every sidecar", warm_seconds / floor_seconds, 3.0),
        Figure("B9-cold", "the same, first open (index and thumbnails made) / the same floor",
               cold_seconds / floor_seconds, None),
        Figure("B16-gallery-page", f"serving one gallery page of {PAGE} (kept thumbnails) in a running loop "
               f"/ reading its {PAGE} kept thumbnails", pages["serve a page of 24 (kept thumbnails)"]
               / pages["read its 24 kept thumbnails"], 2.0)]
    lines = [f"a gallery of {count:,} saved 64x64 PNGs, opened to its first {PAGE} thumbnails, "
             f"median of {rounds} interleaved rounds; index file {index_bytes / 1e6:.1f} MB; "
             f"the images took {made:.1f} s to save", "",
             "| contender | median s | per image µs |", "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.3f} | {seconds / count * 1e6:.1f} |"
              for name, seconds in medians.items()]
    lines += ["", f"one page of {PAGE} after the first, median of {page_rounds} interleaved rounds", "",
              "| contender | median ms |", "|---|---:|"]
    lines += [f"| {name} | {seconds * 1e3:.3f} |" for name, seconds in pages.items()]
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
