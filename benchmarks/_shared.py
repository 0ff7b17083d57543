"""What the benchmarks share: figures and their goals, the emulator in its own process, a script's main.

Not a benchmark itself (``make bench`` runs ``run.py``, which runs every ``bench_*.py``);
the scripts import it from their own folder. A script defines
``measure(quick: bool) -> tuple[list[Figure], str]`` (its figures, and a report of what
was measured) and ends with ``main(measure)``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")
Measure = Callable[[bool], tuple[list["Figure"], str]]


@dataclass(frozen=True)
class Figure:
    """One figure: its value and goal; ``higher`` when more is better (goal is a floor)."""

    id: str
    what: str
    value: float
    goal: float | None
    unit: str = "ratio"
    higher: bool = False

    @property
    def passed(self) -> bool | None:
        """Whether the goal is met; None for a figure that is only reported."""
        if self.goal is None:
            return None
        if not math.isfinite(self.value):
            return False
        return self.value >= self.goal if self.higher else self.value <= self.goal

    def goal_text(self) -> str:
        if self.goal is None:
            return "reported"
        return f"{'>=' if self.higher else '<='} {self.goal:g}"

    def record(self) -> dict[str, Any]:
        """The entry of ``results.json``."""
        return {"value": round(self.value, 4), "goal": self.goal, "unit": self.unit,
                "pass": self.passed, "what": self.what, "better": "higher" if self.higher else "lower",
                "measured": machine()}


def machine() -> str:
    """The day, the cores and the Python a figure was measured with."""
    return (f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()}")


def table(figures: list[Figure]) -> str:
    """The figures as the Markdown table the README shows."""
    lines = ["| id | what | value | goal | pass |", "|---|---|---:|---:|---|"]
    for figure in figures:
        # Three decimals for a ratio: 1.1 would hide whether 1.104 missed a goal of 1.10.
        value = f"{figure.value:.3f}" if figure.unit == "ratio" else f"{figure.value:.4g} {figure.unit}"
        verdict = {True: "yes", False: "**NO**", None: ""}[figure.passed]
        lines.append(f"| {figure.id} | {figure.what} | {value} | {figure.goal_text()} | {verdict} |")
    return "\n".join(lines)


def turns(names: list[str], rounds: int) -> Iterator[str]:
    """``names`` round after round, who goes first rotating: it spreads the machine's drift
    and the first call's cost alike."""
    for round_number in range(rounds):
        shift = round_number % len(names)
        yield from names[shift:] + names[:shift]


def interleaved(contenders: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median seconds of each contender over ``rounds`` rounds, taking :func:`turns`.

    Each contender returns the seconds it measured itself (so setup is left out).
    """
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for name in turns(list(contenders), rounds):
        timings[name].append(contenders[name]())
    return {name: statistics.median(values) for name, values in timings.items()}


async def interleaved_async(contenders: Mapping[str, Callable[[], Awaitable[float]]],
                            rounds: int) -> dict[str, float]:
    """:func:`interleaved` for coroutines, in the running loop."""
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for name in turns(list(contenders), rounds):
        timings[name].append(await contenders[name]())
    return {name: statistics.median(values) for name, values in timings.items()}


async def same_bytes_medians(runs: Mapping[str, Callable[[], Awaitable[bytes]]], reference: str,
                             rounds: int) -> tuple[dict[str, float], bytes]:
    """Each contender's median seconds over interleaved ``rounds``, and the bytes they all got.

    Every contender runs once first (connections, caches, imports) and must get the
    bytes ``reference`` gets: a faster run of something else would prove nothing.
    """
    expected = await runs[reference]()
    for run in runs.values():
        assert await run() == expected, "every contender must get the same bytes"

    def clocked(run: Callable[[], Awaitable[bytes]]) -> Callable[[], Awaitable[float]]:
        async def call() -> float:
            start = time.perf_counter()
            await run()
            return time.perf_counter() - start
        return call

    medians = await interleaved_async({name: clocked(run) for name, run in runs.items()}, rounds)
    return medians, expected


def timed(call: Callable[[], Any]) -> float:
    """Seconds ``call()`` took."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@contextlib.contextmanager
def emulator(*options: str) -> Iterator[str]:
    """The emulator in its own process, so it never competes with the clients for the GIL.

    ``options`` go to ``python -m imagewidgets serve`` (e.g. ``"--latency", "1"`` or
    ``"--photographic"``); yields its base URL.
    """
    process = subprocess.Popen([sys.executable, "-m", "imagewidgets", "serve", "--port", "0",
                                "--quiet", *options], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def save(figures: list[Figure], path: Path = RESULTS) -> None:
    """Merge ``figures`` into ``path`` (``results.json``), keyed by id."""
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update({figure.id: figure.record() for figure in figures})
    path.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")


def main(measure: Measure) -> None:
    """A benchmark script's command line: measure, print the report and the figures, save them.

    ``--quick`` (or ``QUICK=1``): few rounds, small sizes, to check the figures are computed;
    nothing is written to ``results.json``. ``--check`` (or ``CHECK=1``): exit 1 when a goal
    is missed. ``--json PATH``: write the figures there too (``run.py`` collects them so).
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    parser.add_argument("--check", action="store_true", default=os.environ.get("CHECK") == "1")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures, report = measure(args.quick)
    # Under run.py the figures go into its one table at the end; alone, they end the report.
    print(report, "", *([] if args.json else [table(figures), ""]), sep="\n", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(figure) for figure in figures]))
    elif not args.quick:
        save(figures)
    sys.exit(1 if args.check and any(figure.passed is False for figure in figures) else 0)
