"""Fixtures shared by the test modules: a real emulator on 127.0.0.1 and clients for it.

Each test module gets its own server (module scope), so faults injected by one
module can never reach another. The server demands ``KEY``, as the API does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import imagewidgets as iw
from imagewidgets import spending
from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.models import MODELS, ModelSpec, register_model, set_today

from hostile import Hostile

KEY = "sk-test-0123456789abcdefSECRET"
"""The key the shared emulator demands; tests assert it never leaks anywhere."""

TODAY = date(2026, 11, 25)
"""The day every test lives on, unless it sets another: lifecycle facts don't age."""


@pytest.fixture(autouse=True)
def fixed_today() -> Iterator[date]:
    """Fix the lifecycle clock on :data:`TODAY`; ``imagewidgets.models.set_today`` moves it."""
    set_today(TODAY)
    yield TODAY
    set_today(None)


@pytest.fixture(autouse=True)
def output_folder(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where panels and grids store images by default: a fresh folder per test, never the
    checkout; and the session's spending starts at zero, with no budget."""
    folder = tmp_path_factory.mktemp("imagewidgets-output")
    monkeypatch.setenv("IMAGEWIDGETS_DIR", str(folder))
    spending.SESSION.reset()
    spending.SESSION.budget = None
    spending.SESSION.allow_unpriced = False
    yield folder
    spending.SESSION.reset()
    spending.SESSION.budget = None
    spending.SESSION.allow_unpriced = False


@pytest.fixture(scope="module")
def api_key() -> str:
    """The key the shared ``server`` demands."""
    return KEY


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """The emulator on a free port: no latency, image URLs valid 60 s, ``KEY`` required."""
    with serve(port=0, api_key=KEY, url_ttl=60) as running:
        yield running


@pytest.fixture
async def client(server: EmulatorServer) -> AsyncIterator[iw.ImagesClient]:
    """An :class:`ImagesClient` for ``server``: never retries (tests see every failure), and
    knows it talks to the emulator (which serves the models the API shut down)."""
    async with iw.ImagesClient(api_key=KEY, base_url=server.url, max_retries=0,
                               is_emulator=True) as made:
        yield made


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    """A plain synchronous httpx client for ``server``, sending ``KEY``."""
    with httpx.Client(base_url=server.url, timeout=120,  # stuck, not slow
                      headers={"Authorization": f"Bearer {KEY}"}) as made:
        yield made


@pytest.fixture
def sdk(server: EmulatorServer, api_key: str) -> Iterator[openai.OpenAI]:
    """The official ``openai`` SDK against ``server``, never retrying: tests see every failure."""
    with openai.OpenAI(base_url=server.url, api_key=api_key, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def slow_server() -> Iterator[EmulatorServer]:
    """An emulator that answers after 600 s: work stays in flight however slowly a test looks
    (its tests cancel; the client's 180 s read timeout comes first)."""
    with serve(port=0, latency=600.0) as slow:
        yield slow


@pytest.fixture
async def slow_client(slow_server: EmulatorServer) -> AsyncIterator[iw.ImagesClient]:
    """A client of ``slow_server`` that never retries; ``max_concurrency`` is the default, 4."""
    async with iw.ImagesClient(base_url=slow_server.url, api_key="sk-test", max_retries=0,
                               is_emulator=True) as made:
        yield made


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    """A hand-written hostile server on 127.0.0.1 (``tests/hostile.py``); a test sets its
    ``answer``."""
    with Hostile() as server:
        yield server


@pytest.fixture
def registered() -> Iterator[Callable[[ModelSpec], ModelSpec]]:
    """``registered(spec)`` adds a model for one test; it is gone afterwards."""
    added: list[str] = []

    def register(spec: ModelSpec) -> ModelSpec:
        added.append(spec.name)
        return register_model(spec)

    yield register
    for name in added:
        del MODELS[name]


@pytest.fixture
def watch_refreshes() -> Callable[[Any], tuple[list[Any], list[Any]]]:
    """``watch_refreshes(controls)``: the list of each ``controls.refresh(names)`` call from
    now on, and the list of each new set of options of the size dropdown."""
    def watch(controls: Any) -> tuple[list[Any], list[Any]]:
        refreshes: list[Any] = []
        option_sets: list[Any] = []
        real = controls.refresh

        def counting(names: Any = None) -> None:
            refreshes.append(names)
            real(names)

        controls.refresh = counting
        controls.widgets["size"].observe(option_sets.append, names="options")
        return refreshes, option_sets

    return watch


# -- reliability figures: what ``make reliability`` prints (the README's table) ----------------

FIGURES: Counter[str] = Counter()
"""Counts the hardening suites record as they run: images made, images kept on disk."""

SUITES = {
    "test_faults.py": "faults tried through the panel and a grid",
    "test_load.py": "load: 100 images with 429s; a cancel mid-run",
    "test_hostile_secrets.py": "hostile servers: the key and URL secrets",
    "test_hostile_reads.py": "hostile servers: bodies and streams past their limits",
    "test_hostile_images.py": "hostile servers: images kept, deadlines, where image URLs point",
    "test_hostile_input.py": "bad input and malformed answers",
    "test_hostile_disk.py": "files on disk: crashes, races, prompts that look like keys",
    "test_hostile_folder.py": "a folder of images: links out, bad costs, big zips",
    "test_hostile_values.py": "SVG, prices and axis values",
    "test_hostile_servers.py": "hostile servers: model lists, image hosts, DNS, streams",
    "test_hostile_cancel.py": "cancellation and deadlines",
    "test_hostile_network.py": "the emulator on a network",
    "test_secrets.py": "the key in state, displays, files and logs",
    "test_secrets_browser.py": "the key in a notebook saved from the browser",
    "test_xss_browser.py": "markup from users and servers, in the browser",
}
"""The hardening suites, by file, as the table names them."""


@pytest.fixture
def figures() -> Counter[str]:
    """Where a hardening test adds to :data:`FIGURES` (``images_made``, ``images_kept``)."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Under a run of any hardening suite, a table of its cases, as the README shows it."""
    counts: dict[str, Counter[str]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            suite = SUITES.get(Path(str(report.nodeid).split("::")[0]).name)
            if suite is not None and getattr(report, "when", "call") in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts.setdefault(suite, Counter())[outcome] += 1
    if not counts:
        return
    write = terminalreporter.write_line
    write("")
    write("| reliability | cases | held |")
    write("|---|---:|---:|")
    for suite in SUITES.values():
        if suite in counts:
            total = sum(counts[suite].values())
            write(f"| {suite} | {total} | {counts[suite]['passed']} |")
    if FIGURES["images_made"]:
        lost = FIGURES["images_made"] - FIGURES["images_kept"]
        write(f"| images finished, and of those lost before reaching disk | "
              f"{FIGURES['images_made']} | {lost} lost |")
