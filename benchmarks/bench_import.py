"""Importing the panel (``import imagewidgets as iw; iw.ImagePanel``), against ``import ipywidgets``.

Run: ``python benchmarks/bench_import.py`` (or ``make bench``); ``--quick`` for a few rounds.
Every import runs in a fresh ``python -c`` process (nothing is cached in ``sys.modules``), the
contenders taking turns round after round in rotating order. The bytecode is cached, as pip's
install leaves it, in a temporary ``PYTHONPYCACHEPREFIX`` that one warm-up run of each fills
(for both sides alike, ``PYTHONDONTWRITEBYTECODE`` unset: without it, a source checkout would be
compiled on every import and ipywidgets' installed bytecode not). The child times its own
import with ``time.perf_counter`` and prints it, so the interpreter's startup is left out of
the figure; the parent times the whole process too, which the report gives, with
``python -c pass`` for the startup alone, and ``import ipywidgets, anywidget, asyncio``: what the
panel's modules are made of (its widgets subclass ``anywidget.AnyWidget``, its modules use
asyncio at the top), the floor of any panel import.

Goal, on medians: panel import / ``import ipywidgets`` <= 1.3 (B8): the panel needs
ipywidgets anyway, and should add little on top until it is used (Pillow, httpx and the
emulator load when an image arrives, a client is made or the emulator is started).
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
IMPORTS = {"panel": "import imagewidgets as iw; iw.ImagePanel", "ipywidgets": "import ipywidgets",
           "floor": "import ipywidgets, anywidget, asyncio", "startup": "pass"}
"""The contenders; ``floor`` (what the panel's widgets are made of) and ``startup`` are only reported."""
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
    ratio = medians["panel"] / medians["ipywidgets"]
    lines = [f"each import in a fresh `python -c` process, median of {rounds} interleaved rounds "
             f"(imagewidgets from {ROOT})", "",
             "| contender | import ms (in the child) | whole process ms |", "|---|---:|---:|"]
    lines += [f"| `{IMPORTS[name]}` | {medians[name] * 1e3:.1f} | {wall[name] * 1e3:.1f} |"
              for name in IMPORTS]
    lines += ["", f"import: panel / ipywidgets = {ratio:.3f} (B8); whole process: panel / ipywidgets = "
              f"{wall['panel'] / wall['ipywidgets']:.3f}; the floor / ipywidgets = "
              f"{medians['floor'] / medians['ipywidgets']:.3f}, panel / the floor = "
              f"{medians['panel'] / medians['floor']:.3f}"]
    figures = [Figure("B8", "import imagewidgets; iw.ImagePanel / import ipywidgets (fresh processes)",
                      ratio, 1.3),
               # What the panel is built of costs this much over ipywidgets already: reported
               # beside B8 so a miss shows how much of it is the toolkit's own.
               Figure("B8-floor", "import ipywidgets, anywidget, asyncio / import ipywidgets",
                      medians["floor"] / medians["ipywidgets"], None),
               Figure("B8-own", "the panel's import / that floor", medians["panel"] / medians["floor"],
                      None)]
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
