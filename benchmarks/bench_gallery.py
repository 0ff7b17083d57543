"""Opening a gallery of 10,000 saved images to its first thumbnails, against reading every sidecar.

Run: ``python benchmarks/bench_gallery.py`` (or ``make bench``); ``--check`` (or ``CHECK=1``)
exits 1 when a goal is missed. First ``--count`` small images (64x64 PNGs, with records
like a panel's) are saved with ``ImageStore.save`` into a temporary folder, once (or into
``--folder``, reused when it already holds images). Then the contenders take turns, round
after round, in rotating order:

* the floor: ``os.scandir`` of the folder and ``json.loads`` of every sidecar;
* cold: no index file, no thumbnails: :func:`open_first_page`, which lists the folder with
  ``ImageIndex(folder).refresh()`` (every sidecar read, the index written) and makes the
  thumbnails of the newest :data:`PAGE` images;
* warm: the same, with the index file and the thumbnails the last opening left.

Goals, on medians: warm / floor <= 3 (B9). Cold / floor is reported (B9-cold), with no goal.
Results are merged into ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from _shared import save
from PIL import Image

from imagewidgets.index import INDEX_FILE, THUMBNAIL_DIR, ImageIndex
from imagewidgets.results import GeneratedImage
from imagewidgets.store import ImageStore

PAGE = 24
"""Thumbnails on the gallery's first page."""
GOALS: dict[str, float | None] = {"B9": 3.0, "B9-cold": None}
MODELS = ("gpt-image-1", "gpt-image-2", "gpt-image-1-mini", "dall-e-3")
WORDS = ("a", "lighthouse", "at", "dusk", "over", "a", "calm", "sea", "with", "gulls", "and", "a", "red",
         "fox", "in", "deep", "snow")


def open_first_page(folder: Path) -> int:
    """What opening the gallery costs: the listing, then the first page's thumbnails.

    The one function timed cold and warm: swap in the Gallery widget's own open path here.
    """
    index = ImageIndex(folder)
    entries = index.refresh()
    return sum(len(index.thumbnail(entry).data) > 0 for entry in entries[:PAGE])


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


def main(folder: Path, rounds: int) -> dict[str, float]:
    def cold() -> float:
        (folder / INDEX_FILE).unlink(missing_ok=True)
        shutil.rmtree(folder / THUMBNAIL_DIR, ignore_errors=True)
        return timed(open_first_page)

    def warm() -> float:
        return timed(open_first_page)

    def timed(run: Callable[[Path], int]) -> float:
        start = time.perf_counter()
        done = run(folder)
        seconds = time.perf_counter() - start
        assert done > 0, "nothing was read"
        return seconds

    contenders: dict[str, Callable[[], float]] = {
        "floor: scandir + json.loads of every sidecar": lambda: timed(floor),
        "cold: no index, no thumbnails": cold, "warm: index and thumbnails kept": warm}
    for run in contenders.values():  # warm up: imports, the page cache, and the warm run's files
        run()
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            timings[name].append(contenders[name]())
    return {name: statistics.median(values) for name, values in timings.items()}


def figures(medians: dict[str, float]) -> dict[str, float]:
    floor_seconds, cold_seconds, warm_seconds = medians.values()
    return {"B9": warm_seconds / floor_seconds, "B9-cold": cold_seconds / floor_seconds}


def report(medians: dict[str, float], values: dict[str, float], count: int, rounds: int,
           index_bytes: int, made: float | None) -> str:
    lines = [f"a gallery of {count:,} saved 64x64 PNGs, opened to its first {PAGE} thumbnails, "
             f"median of {rounds} interleaved rounds; index file {index_bytes / 1e6:.1f} MB"
             + (f"; the images took {made:.1f} s to save" if made is not None else ""), "",
             "| contender | median s | per image µs |", "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.3f} | {seconds / count * 1e6:.1f} |"
              for name, seconds in medians.items()]
    lines += ["", "| figure | value | goal | pass |", "|---|---:|---:|---|"]
    labels = {"B9": "warm open / floor", "B9-cold": "cold open / floor"}
    for key, value in values.items():
        goal = GOALS[key]
        lines.append(f"| {key} {labels[key]} | {value:.3f} | "
                     + (f"<= {goal:.2f} | {'yes' if value <= goal else 'NO'} |" if goal is not None
                        else "reported | |"))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--folder", type=Path, help="where the images go; reused if it holds some")
    parser.add_argument("--check", action="store_true", default=os.environ.get("CHECK") == "1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as temporary:
        folder = args.folder or Path(temporary)
        made = None
        if not any(name.endswith(".json") and not name.startswith(".")
                   for name in (os.listdir(folder) if folder.exists() else [])):
            start = time.perf_counter()
            make_gallery(folder, args.count)
            made = time.perf_counter() - start
        count = floor(folder)
        medians = main(folder, args.rounds)
        index_bytes = (folder / INDEX_FILE).stat().st_size
    values = figures(medians)
    print(report(medians, values, count, args.rounds, index_bytes, made))
    save(values, GOALS)
    goals = {key: goal for key, goal in GOALS.items() if goal is not None}
    sys.exit(1 if args.check and any(values[key] > goal for key, goal in goals.items()) else 0)
