"""Every benchmark, each in a fresh process, then one table of every figure against its goal.

Run: ``make bench`` (``python benchmarks/run.py``). ``--quick`` (``make bench QUICK=1``, what CI
runs): few rounds and small sizes, checking only that every figure (B1 to B17) is computed, with
nothing written. Otherwise the figures go to ``benchmarks/results.json``; ``--check``
(``make bench CHECK=1``) exits 1 when a goal is missed. ``--only client,memory`` runs some scripts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import Figure, machine, save, table

HERE = Path(__file__).parent
EXPECTED = [f"B{number}" for number in range(1, 18)]
"""Every figure id has one of these before its first ``-``: each must be computed."""


def run(script: Path, quick: bool) -> list[Figure]:
    """``script`` in its own process (memory and imports start fresh); its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        out = Path(folder) / "figures.json"
        command = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if quick else [])
        environment = {key: value for key, value in os.environ.items() if key not in ("CHECK", "QUICK")}
        done = subprocess.run(command, env=environment, check=False)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"{script.name} failed (exit {done.returncode})")
        return [Figure(**entry) for entry in json.loads(out.read_text())]


def missing(figures: list[Figure]) -> list[str]:
    """The expected ids without a finite figure."""
    computed = {figure.id.split("-")[0] for figure in figures if math.isfinite(figure.value)}
    return [key for key in EXPECTED if key not in computed]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    parser.add_argument("--check", action="store_true", default=os.environ.get("CHECK") == "1")
    parser.add_argument("--only", default="", help="comma-separated script names, e.g. client,memory")
    args = parser.parse_args()
    chosen = {f"bench_{name.strip()}.py" for name in args.only.split(",") if name.strip()}
    scripts = [path for path in sorted(HERE.glob("bench_*.py")) if not chosen or path.name in chosen]
    start = time.perf_counter()
    figures: list[Figure] = []
    for script in scripts:
        print(f"## {script.name}{' (quick)' if args.quick else ''}", flush=True)
        figures += run(script, args.quick)
    figures.sort(key=lambda figure: (int(figure.id[1:].split("-")[0]), figure.id))
    minutes = (time.perf_counter() - start) / 60
    print(f"# every figure: {machine()}, {minutes:.1f} min"
          f"{', quick: not a measurement' if args.quick else ''}", "", table(figures), "", sep="\n")
    if args.quick or chosen:
        absent = [] if chosen else missing(figures)
        if absent:
            print(f"not computed: {', '.join(absent)}")
            return 1
        if args.quick:
            print(f"quick: all {len(figures)} figures computed (goals not enforced)")
            return 0
    save(figures)
    if not chosen and missing(figures):
        print(f"not computed: {', '.join(missing(figures))}")
        return 1
    failed = [figure.id for figure in figures if figure.passed is False]
    if failed:
        print(f"goals missed: {', '.join(failed)}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
