"""Cancellation and deadlines: an interrupt, a queue, a deadline mid-download, a cancel mid-save.

Each test waits for an event (the emulator's request log, an event the test sets),
never for time: the emulator's latency is set far longer than any machine takes, and
the only clock read is a safety net or a bound a full latency would exceed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve

LATENCY = 60.0
"""Seconds the slow emulator takes per request: far past any wait a test makes."""

SAFETY = 30.0
"""Seconds a test waits for an event before failing: a net, never what is tested."""


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait (in this thread) until ``condition()`` holds; fail after :data:`SAFETY` seconds."""
    deadline = time.monotonic() + SAFETY
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {SAFETY:g} s")
        time.sleep(0.005)


def _open_connections(server: EmulatorServer) -> int:
    """Connections the emulator holds open now, as its HTTP server (uvicorn) counts them."""
    return len(server._server.server_state.connections)


@contextlib.contextmanager
def _sigint_interrupts() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here, as ipykernel sets it while a cell runs."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def slow() -> Iterator[EmulatorServer]:
    """An emulator taking :data:`LATENCY` per request, iw.generate's server (as OPENAI_BASE_URL)."""
    with serve(port=0, latency=LATENCY) as server:
        yield server


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> Callable[[EmulatorServer], None]:
    """Point ``iw.generate`` at a server, as OPENAI_BASE_URL and OPENAI_API_KEY do."""
    def to(server: EmulatorServer) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cancel-0123456789")
    return to


# -- iw.generate: a kernel interrupt -------------------------------------------------------


async def test_an_interrupt_during_generate_in_a_cell_cancels_its_request_at_once(
        slow: EmulatorServer, routed: Callable[[EmulatorServer], None], output_folder: Path) -> None:
    routed(slow)
    asyncio.get_running_loop()  # a notebook cell: the request runs on a worker thread
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main

    def interrupt_once_received() -> None:
        _until(lambda: slow.request_count == 1, "the request reached the emulator")
        signal.pthread_kill(main, signal.SIGINT)  # the kernel's interrupt button

    interrupter = threading.Thread(target=interrupt_once_received)
    started = time.monotonic()
    with _sigint_interrupts(), pytest.raises(KeyboardInterrupt):
        interrupter.start()
        iw.generate("A lighthouse at dusk", model="gpt-image-2", quality="low")
    took = time.monotonic() - started
    interrupter.join()
    # Back long before the server's answer was due; the request was given up, not waited out.
    assert took < LATENCY / 2, f"iw.generate came back {took:.1f} s after an interrupt"
    _until(lambda: _open_connections(slow) == 0, "the emulator saw the connection closed")
    assert not [thread for thread in threading.enumerate()
                if thread.name.startswith("imagewidgets-generate")]
    assert iw.spending.SESSION.reserved == 0 and not list(output_folder.iterdir())
    assert slow.request_count == 1  # never sent again


# -- iw.generate: a failed save ---------------------------------------------------------


def test_generate_whose_save_fails_warns_and_still_returns_the_billed_images(
        server: EmulatorServer, api_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")  # no folder can be made here
    with pytest.warns(RuntimeWarning) as caught:
        images = iw.generate("A lighthouse at dusk", model="gpt-image-2", quality="low", n=2,
                             store=blocked)
    assert len(images) == 2 and all(image.data for image in images)
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 2  # one per image: each was tried
    assert all(str(blocked) in text and "Errno" in text and api_key not in text for text in messages)
    assert iw.spending.SESSION.emulated > 0 and iw.spending.SESSION.reserved == 0  # counted
