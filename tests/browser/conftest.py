"""Real JupyterLab in headless Chromium: fixtures that start both and drive a notebook.

With ``CI=true`` a missing browser or playwright is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab import Lab, LabFailed, Missing, chromium, running_lab


def _missing(what: str) -> None:
    message = f"{what}; the browser tests need it (apt-get install chromium; pip install playwright)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# Module scope: playwright's sync API keeps its own event loop current while it lives,
# which would stop pytest-asyncio from running the async tests of later modules.
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a fresh config, settings and workspace (see lab.py); its
    emulator answers after the test module's ``LATENCY`` seconds, if it sets one, else 1 s."""
    latency = float(getattr(request.module, "LATENCY", 1.0))
    started = contextlib.ExitStack()
    try:
        server = started.enter_context(running_lab(tmp_path_factory.mktemp("lab"), latency))
    except LabFailed as error:
        pytest.fail(str(error), pytrace=False)
    with started:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    started = contextlib.ExitStack()
    try:
        launched = started.enter_context(chromium())
    except Missing as error:
        _missing(str(error))
    with started:
        yield launched


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(120_000)  # every wait a stuck-bound
    console: list[str] = []
    opened.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        yield opened
    finally:
        if request.node.stash.get(_FAILED, False):
            # What a person would have seen: kept next to the test's temporary files.
            opened.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            (tmp_path / "failure.txt").write_text(
                opened.inner_text("body") + "\n\n--- console ---\n" + "\n".join(console))
            print(f"browser state saved in {tmp_path}")
        context.close()
