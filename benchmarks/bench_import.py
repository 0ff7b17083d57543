"""Importing the panel (``import imagewidgets as iw; iw.ImagePanel``), against importing what it builds on.

Run: ``python benchmarks/bench_import.py`` (or ``make bench``); ``--quick`` for a few rounds.
Every import runs in a fresh ``python -c`` process (nothing is cached in ``sys.modules``), the
contenders taking turns round after round in rotating order. The bytecode is cached, as pip's
install leaves it, in a temporary ``PYTHONPYCACHEPREFIX`` that one warm-up run of each fills
(for both sides alike, ``PYTHONDONTWRITEBYTECODE`` unset: without it, a source checkout would be
compiled on every import and ipywidgets' installed bytecode not). The child times its own
import with ``time.perf_counter`` and prints it, so the interpreter's startup is left out of
the figure; the parent times the whole process too, which the report gives, with
``python -c pass`` for the startup alone.

Goal, on medians: panel import / ``import ipywidgets, anywidget, traitlets, httpx, asyncio`` (the
libraries the panel builds on: its widgets, its traits, its client, its loop) <= 1.05 (B8): the
toolkit's own modules should add little until it is used (Pillow, httpx and the emulator load
when an image arrives, a client is made or the emulator is started). Reported beside it: the
panel against the libraries its import alone loads (the same without httpx, B8-own), and against
``import ipywidgets`` alone (B8-ipywidgets, the old B8, whose floor was above its goal).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _shared import Figure, interleaved, main

import imagewidgets

ROOT = Path(imagewidgets.__file__).resolve().parent.parent
"""Where the children import imagewidgets from: the copy this script imports."""
IMPORTS = {"panel": "import imagewidgets as iw; iw.ImagePanel",
           "libraries": "import ipywidgets, anywidget, traitlets, httpx, asyncio",
           "floor": "import ipywidgets, anywidget, traitlets, asyncio",
           "ipywidgets": "import ipywidgets", "startup": "pass"}
"""The contenders: ``libraries`` is what the panel builds on (B8's denominator); ``floor`` is what
its import loads besides its own modules (httpx waits for a client); ``startup`` is only reported."""
CHILD = "import time; start = time.perf_counter(); {}; print(time.perf_counter() - start)"


def child(statement: str, walls: list[float], cache: str) -> Callable[[], float]:
    """A contender: ``statement`` in a fresh process; the seconds it took there (the wall into ``walls``)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment.update(PYTHONPYCACHEPREFIX=cache, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))

    def run() -> float:
        start = time.perf_counter()
        # In ROOT: ``python -c`` puts its working folder first on sys.path, before PYTHONPATH.
        done = subprocess.run([sys.executable, "-c", CHILD.format(statement)], env=environment, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
        return float(done.stdout)
    return run


def measure(quick: bool) -> tuple[list[Figure], str]:
    rounds = 5 if quick else 60
    walls: dict[str, list[float]] = {name: [] for name in IMPORTS}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as cache:
        contenders = {name: child(statement, walls[name], cache) for name, statement in IMPORTS.items()}
        for run in contenders.values():  # warm up: the bytecode caches
            run()
        for values in walls.values():
            values.clear()
        medians = interleaved(contenders, rounds)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    ratio = medians["panel"] / medians["libraries"]
    lines = [f"each import in a fresh `python -c` process, median of {rounds} interleaved rounds "
             f"(imagewidgets from {ROOT})", "",
             "| contender | import ms (in the child) | whole process ms |", "|---|---:|---:|"]
    lines += [f"| `{IMPORTS[name]}` | {medians[name] * 1e3:.1f} | {wall[name] * 1e3:.1f} |"
              for name in IMPORTS]
    lines += ["", f"import: panel / the libraries it builds on = {ratio:.3f} (B8); whole process: "
              f"{wall['panel'] / wall['libraries']:.3f}; panel / what its import loads = "
              f"{medians['panel'] / medians['floor']:.3f} (B8-own); panel / ipywidgets = "
              f"{medians['panel'] / medians['ipywidgets']:.3f} (B8-ipywidgets, the old B8); "
              f"that floor / ipywidgets = {medians['floor'] / medians['ipywidgets']:.3f}"]
    figures = [Figure("B8", "import imagewidgets; iw.ImagePanel / import ipywidgets, anywidget, traitlets, "
                      "httpx, asyncio (fresh processes)", ratio, 1.05),
               # The toolkit's own share: against only what the panel's import loads (no httpx).
               Figure("B8-own", "the panel's import / import ipywidgets, anywidget, traitlets, asyncio",
                      medians["panel"] / medians["floor"], None),
               # The old B8, kept to compare with earlier runs; its floor alone was above its goal.
               Figure("B8-ipywidgets", "the panel's import / import ipywidgets",
                      medians["panel"] / medians["ipywidgets"], None),
               Figure("B8-floor", "import ipywidgets, anywidget, traitlets, asyncio / import ipywidgets",
                      medians["floor"] / medians["ipywidgets"], None)]
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
