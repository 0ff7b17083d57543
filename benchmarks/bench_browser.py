"""What a panel of many tiles costs the browser: nodes, JS heap, typing, and Clear (B12 to B15).

Run: ``python benchmarks/bench_browser.py [--quick]`` (or ``make bench``). Real JupyterLab and
headless Chromium, started as the browser tests start them (``tests/browser/lab.py``); the
kernel uses the built-in emulator answering after :data:`LATENCY` s. One notebook cell shows
``iw.ImagePanel(params=iw.ImageParams(model="gpt-image-2", ..., n=10, quality="low",
size="1024x1024"))``; Generate is clicked :data:`RUNS` times (2 in ``--quick``), each time
waiting for ten more ``.iw-tile.iw-status-done``. Chrome's own counts come through DevTools:
``Performance.getMetrics`` (``Nodes``: every DOM node alive, detached ones included;
``JSHeapUsedSize``) after ``HeapProfiler.collectGarbage``, repeated until two readings agree
within 1 %.

* B11-state: after the first :data:`STATE_RUNS` clicks (20 images), the notebook saved by
  JupyterLab with "Save Widget State Automatically" on: its size in KB; goal <= 100.
* B12-dom-per-tile: (nodes with the tiles − nodes of the empty panel) ÷ tiles; goal <= 60.
* B13-heap-kb-per-tile: (heap with the tiles − heap of the empty panel − the thumbnails'
  bytes) ÷ tiles, in KB; goal <= 150. The thumbnails' bytes are what the page holds: each
  distinct ``src`` of an ``img`` in a done tile fetched in the page and its blob's ``size``
  summed (encoded bytes; after the heap was read, so the fetches do not count).
* B14-typing-200-tiles: typing 11 characters in the prompt (``page.keyboard.type``, the
  textarea's text selected first, so the first key replaces it) until the kernel's
  ``panel.params.prompt`` equals them (asked by ``user_expressions`` on the notebook's own
  kernel, again until it does): median with the tiles ÷ median on the empty panel, both
  in this run; goal <= 1.2.
* B15-heap-after-clear: the heap after Clear (every ``.iw-tile`` gone) ÷ the empty panel's;
  goal <= 1.1. B15-nodes-after-clear: the same for nodes, reported.

With ``CI=true`` a missing Chromium, playwright or JupyterLab fails the run; otherwise the
script says so and computes nothing.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _shared import Figure, main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
from lab import Lab, LabFailed, Missing, chromium, kernel, running_lab

LATENCY = 0.05
"""Seconds the emulator waits before answering: small, the page is what is measured."""
PER_RUN = 10
RUNS, QUICK_RUNS = 20, 2
"""Clicks on Generate: 200 tiles, or 20 in ``--quick``."""
STATE_RUNS = 2
"""Clicks after which the notebook is saved with its widget state: 20 images (B11-state)."""
ROUNDS, QUICK_ROUNDS = 5, 3
"""Typing rounds on each side."""
TEXTS = ("red bicycle", "blue lagoon")
"""11 characters each, taken in turn so every round changes the kernel's prompt."""
VIEWPORT = {"width": 1200, "height": 900}
STUCK_MS = 600_000
"""Every wait's bound: stuck, not slow."""
PANEL = ("import imagewidgets as iw\n"
         "panel = iw.ImagePanel(params=iw.ImageParams(model='gpt-image-2', prompt='A lighthouse at dusk',\n"
         "                                            n=10, quality='low', size='1024x1024'){options})\n"
         "panel")
PROMPT = ".iw-prompt textarea"
DONE = ".iw-tile.iw-status-done"

FINISHED = """([done, n]) => document.querySelectorAll(done).length >= n
  || document.querySelector('.iw-tile.iw-status-failed, .iw-tile.iw-status-cancelled') !== null"""
THUMBNAIL_BYTES = """async (done) => {
  const sources = new Set([...document.querySelectorAll(done + ' img')]
    .map(img => img.currentSrc || img.src).filter(Boolean));
  let total = 0;
  for (const src of sources) total += (await (await fetch(src)).blob()).size;
  return [total, sources.size];
}"""


def open_panel(lab: Lab, page: Any, name: str = "panel.ipynb", options: str = "") -> None:
    """The notebook of one cell showing the panel (``options``: more of its keywords, each after
    ``, ``), opened and run; its prompt box drawn."""
    lab.write_notebook(name, [PANEL.format(options=options)])
    lab.open(page, name, ready="button.iw-generate")
    page.wait_for_selector(PROMPT)


def generate(page: Any, runs: int, before: int = 0) -> float:
    """Click Generate ``runs`` times after ``before`` runs, each until ten more tiles are done;
    the seconds it took."""
    start = time.perf_counter()
    for run in range(before + 1, before + runs + 1):
        page.click("button.iw-generate")
        page.wait_for_function(FINISHED, arg=[DONE, run * PER_RUN], timeout=STUCK_MS, polling=100)
        done = page.locator(DONE).count()
        assert done == run * PER_RUN, f"{done} tiles done after {run} runs of {PER_RUN}"
    return time.perf_counter() - start


def settled(page: Any, cdp: Any) -> dict[str, float]:
    """Chrome's metrics after a forced garbage collection, once two readings agree within 1 %."""
    last: dict[str, float] | None = None
    for _ in range(10):
        cdp.send("HeapProfiler.collectGarbage")
        page.wait_for_timeout(300)  # let the clean-up a collection queues run
        metrics = {item["name"]: item["value"] for item in cdp.send("Performance.getMetrics")["metrics"]}
        if last is not None and all(abs(metrics[key] - last[key]) <= 0.01 * last[key]
                                    for key in ("JSHeapUsedSize", "Nodes")):
            return metrics
        last = metrics
    assert last is not None
    return last


def type_prompt(page: Any, text: str) -> float:
    """Seconds from the first key of ``text`` until the kernel's prompt is ``text``."""
    page.click(PROMPT)
    page.keyboard.press("Control+A")
    start = time.perf_counter()
    page.keyboard.type(text)
    kernel(page, "panel.params.prompt", repr(text))
    return time.perf_counter() - start


def typing(page: Any, rounds: int) -> float:
    """Median seconds of typing 11 characters, over ``rounds``."""
    return statistics.median(type_prompt(page, TEXTS[index % 2]) for index in range(rounds))


def clear(page: Any) -> None:
    """Click the panel's Clear (``panel.clear()`` in the kernel when it has none); wait for no tile."""
    button = page.locator("button.iw-clear")
    if button.count():
        button.click()
    else:
        kernel(page, "len(panel.tiles)", code="panel.clear()")
    page.wait_for_function("() => document.querySelector('.iw-tile') === null", timeout=STUCK_MS)


def missing_tools() -> str | None:
    """What the benchmark cannot run without, if anything is absent."""
    if importlib.util.find_spec("jupyterlab") is None:
        return "jupyterlab is not installed"
    return None


def measure(quick: bool) -> tuple[list[Figure], str]:
    runs, rounds = (QUICK_RUNS, QUICK_ROUNDS) if quick else (RUNS, ROUNDS)
    tiles = runs * PER_RUN
    try:
        absent = missing_tools()
        if absent:
            raise Missing(absent)
        with tempfile.TemporaryDirectory(prefix="bench-browser-") as folder, \
                running_lab(Path(folder), latency=LATENCY, widget_state=True) as lab, chromium() as browser:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(STUCK_MS)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            open_panel(lab, page)
            typing(page, 1)  # once first: the kernel's and the page's first-call costs
            empty = settled(page, cdp)
            typed_empty = typing(page, rounds)
            seconds = generate(page, STATE_RUNS)
            saved = lab.save(page, "panel.ipynb")  # JupyterLab's own save, widget state on
            state_kb = len((lab.root / "panel.ipynb").read_bytes()) / 1024
            models = len(saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"])
            seconds += generate(page, runs - STATE_RUNS, before=STATE_RUNS)
            full = settled(page, cdp)
            thumbnails, sources = page.evaluate(THUMBNAIL_BYTES, DONE)
            typed_full = typing(page, rounds)
            clear(page)
            cleared = settled(page, cdp)
            context.close()
    except Missing as error:
        message = f"{error}; the browser benchmark needs Chromium, playwright and JupyterLab"
        if os.environ.get("CI") == "true":
            raise SystemExit(message) from None
        return [], f"skipped: {message}"
    except LabFailed as error:
        raise SystemExit(str(error)) from None

    nodes = (full["Nodes"] - empty["Nodes"]) / tiles
    heap = (full["JSHeapUsedSize"] - empty["JSHeapUsedSize"] - thumbnails) / tiles / 1024
    where = f"{tiles} tiles, JupyterLab + Chromium"
    figures = [
        Figure("B11-state", f"notebook with a panel of {STATE_RUNS * PER_RUN} images saved by JupyterLab "
               "with its widget state", state_kb, 100, unit="KB"),
        Figure("B12-dom-per-tile", f"page nodes per done tile (Chrome's Nodes after a forced GC), {where}",
               nodes, 60, unit="nodes"),
        Figure("B13-heap-kb-per-tile", f"JS heap per done tile beyond its thumbnail's bytes, {where}",
               heap, 150, unit="KB"),
        Figure("B14-typing-200-tiles",
               f"typing 11 characters until the kernel has them, {tiles} tiles / none",
               typed_full / typed_empty, 1.2),
        Figure("B15-heap-after-clear", f"JS heap after Clear and a forced GC / before the tiles, {where}",
               cleared["JSHeapUsedSize"] / empty["JSHeapUsedSize"], 1.1),
        Figure("B15-nodes-after-clear", f"page nodes after Clear and a forced GC / before the tiles, {where}",
               cleared["Nodes"] / empty["Nodes"], None),
    ]
    mb = 1024 * 1024
    report = "\n".join([
        f"{tiles} tiles ({runs} runs of {PER_RUN}, emulator latency {LATENCY} s) in {seconds:.1f} s",
        f"saved by JupyterLab with widget state after {STATE_RUNS * PER_RUN} images: {state_kb:.1f} KB, "
        f"{models} widget models",
        f"nodes: empty panel {empty['Nodes']:.0f}, with the tiles {full['Nodes']:.0f}, "
        f"after Clear {cleared['Nodes']:.0f}",
        f"JS heap: empty panel {empty['JSHeapUsedSize'] / mb:.1f} MB, with the tiles "
        f"{full['JSHeapUsedSize'] / mb:.1f} MB, after Clear {cleared['JSHeapUsedSize'] / mb:.1f} MB",
        f"thumbnails: {sources} images, {thumbnails / 1024:.0f} KB in all "
        f"({thumbnails / max(sources, 1) / 1024:.1f} KB each)",
        f"typing 11 characters (median of {rounds}): {typed_empty:.3f} s empty, {typed_full:.3f} s "
        f"with {tiles} tiles",
    ])
    return figures, report


if __name__ == "__main__":
    main(measure)
