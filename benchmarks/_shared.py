"""What the benchmarks share: the emulator in its own process, and ``results.json``.

Not a benchmark itself (``make bench`` runs ``bench_*.py``); the scripts import it
from their own folder.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")


@contextlib.contextmanager
def emulator(*options: str) -> Iterator[str]:
    """The emulator in its own process, so it never competes with the clients for the GIL.

    ``options`` go to ``python -m imagewidgets serve`` (e.g. ``"--latency", "1"``);
    yields its base URL.
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


def save(values: Mapping[str, float], goals: Mapping[str, float | None]) -> None:
    """Merge ``values`` (ratios, at most their goal; a None goal is only reported) into RESULTS."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for key, value in values.items():
        goal = goals[key]
        results[key] = {"value": round(value, 4), "goal": goal, "unit": "ratio",
                        "pass": None if goal is None else value <= goal}
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
