"""Cancellation and deadlines: an interrupt, a queue, a deadline mid-download, a cancel mid-save.

Each test waits for an event (the emulator's request log, an event the test sets),
never for time: the emulator's latency is set far longer than any machine takes, and
the only clock read is a safety net or a bound a full latency would exceed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api.client import Timeouts
from imagewidgets.emulator import EmulatorServer, serve

from hostile import PNG, SUCCESS, Hostile, Reply
from waiting import until_sync

LATENCY = 600.0
"""Seconds the slow emulator takes per request: far past any wait a test makes."""

SAFETY = 120.0
"""Seconds a test waits for an event before failing: a net, never what is tested."""


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
        until_sync(lambda: slow.request_count == 1, "the request reached the emulator")
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
    until_sync(lambda: _open_connections(slow) == 0, "the emulator saw the connection closed")
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


# -- the total deadline starts when the request is sent ---------------------------------------

QUEUED_PAST = 5.0
"""The total timeout of the queued request, in seconds; it queues for twice as long. Once sent,
a local answer of a few bytes has all of it: a thousand times what it needs, on a busy machine."""


@pytest.mark.parametrize("how", ["generate", "stream"])
async def test_a_request_queued_for_a_slot_longer_than_its_timeout_is_still_sent(
        hostile: Hostile, how: str) -> None:
    """Concurrency 1: the first request is held by the server until the test lets it go; the
    second, whose timeout is shorter than its time in the queue, must then be sent and answered."""
    def held() -> Iterator[bytes]:
        hostile.release.wait(SAFETY)
        yield SUCCESS

    first = threading.Event()

    def answer(path: str, headers: httpx.Headers) -> Reply:
        if not first.is_set():
            first.set()
            return 200, {"Transfer-Encoding": "chunked"}, held()
        return 200, {}, SUCCESS

    hostile.answer = answer
    async with iw.ImagesClient(api_key="sk-test-queue", base_url=hostile.url, max_retries=0,
                               max_concurrency=1, timeout=Timeouts(total=SAFETY)) as client:
        body = {"model": "gpt-image-2", "prompt": "a lighthouse", "stream": how == "stream"}
        holding = asyncio.create_task(client.generate(**body))
        await asyncio.to_thread(first.wait, SAFETY)  # the first request holds the only slot
        client.timeouts = Timeouts(connect=QUEUED_PAST, read=QUEUED_PAST, total=QUEUED_PAST)

        async def second() -> list[iw.GeneratedImage]:
            if how == "generate":
                return (await client.generate(**body)).images
            return [event async for event in client.stream(**body)
                    if isinstance(event, iw.GeneratedImage)]

        queued = asyncio.create_task(second())
        # Queued twice its timeout: with the clock started at queueing it had failed by now.
        done, _ = await asyncio.wait([queued], timeout=2 * QUEUED_PAST)
        assert not done, f"timed out while queued: {queued.exception()!r}"
        assert len(hostile.seen) == 1  # not sent yet
        hostile.release.set()
        (image,) = await asyncio.wait_for(queued, SAFETY)
        assert image.data == PNG and len(hostile.seen) == 2
        assert len((await holding).images) == 1


# -- n > 1: a deadline mid-download keeps the images already downloaded ----------------------


def _three_urls_third_stalls(hostile: Hostile) -> Callable[[str, httpx.Headers], Reply]:
    """An answer of three image URLs on the server's own origin; the third never finishes."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        if path.endswith("/images/generations"):
            return 200, {}, json.dumps({"created": 1, "data": [
                {"url": f"{hostile.origin}/files/{name}.png"} for name in "abc"]}).encode()
        if path.endswith("c.png"):
            return 200, {"Content-Type": "image/png"}, hostile.stall(PNG[:20])
        return 200, {"Content-Type": "image/png"}, PNG
    return answer


async def test_a_deadline_during_the_third_download_keeps_the_first_two(hostile: Hostile) -> None:
    hostile.answer = _three_urls_third_stalls(hostile)
    # The answer and two small downloads fit a thousand times in it; the third never ends.
    async with iw.ImagesClient(api_key="sk-test-urls", base_url=hostile.url, max_retries=0,
                               timeout=Timeouts(connect=5, read=SAFETY, total=5)) as client:
        with pytest.raises(iw.APITimeoutError) as info:
            await asyncio.wait_for(client.generate(model="gpt-image-2", prompt="a fox", n=3), SAFETY)
    error = info.value
    assert [image.image_index for image in error.images] == [0, 1]
    assert all(image.data == PNG for image in error.images)
    assert list(error.failures) == [2] and "2 of 3 images arrived" in str(error)
    assert "5 s total timeout" in str(error)


def test_generate_saves_the_images_an_error_holds_and_raises_it(
        hostile: Hostile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One of three URLs is gone: iw.generate keeps the two that arrived on disk, in the error."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        if path.endswith("/images/generations"):
            return 200, {}, json.dumps({"created": 1, "data": [
                {"url": f"{hostile.origin}/files/{name}.png"} for name in "abc"]}).encode()
        return (404, {}, b"gone") if path.endswith("b.png") else (200, {"Content-Type": "image/png"}, PNG)

    hostile.answer = answer
    monkeypatch.setenv("OPENAI_BASE_URL", hostile.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-urls-0123456789")
    with pytest.raises(iw.ImageExpiredError) as info:
        iw.generate("a fox", model="gpt-image-2", quality="low", n=3, store=tmp_path)
    assert [image.image_index for image in info.value.images] == [0, 2]
    assert len(list(tmp_path.glob("*.png"))) == 2 and len(list(tmp_path.glob("*.json"))) == 2


# -- a cancel during saving ---------------------------------------------------------------


class _HeldStore(iw.ImageStore):
    """A real store whose writes wait, once started, until the test lets them go on."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.writing = threading.Event()
        self.go_on = threading.Event()

    def save(self, *args: Any, **options: Any) -> Any:
        self.writing.set()
        self.go_on.wait(SAFETY)
        return super().save(*args, **options)


async def test_a_cancel_during_saving_leaves_a_saved_image_and_a_tile_that_says_so(
        client: iw.ImagesClient, tmp_path: Path) -> None:
    store = _HeldStore(tmp_path / "out")
    tile = iw.ImageTile(iw.ImageParams(model="gpt-image-2", prompt="a lighthouse", quality="low"),
                        store=store)
    running = asyncio.create_task(tile.run(client))
    await asyncio.to_thread(store.writing.wait, SAFETY)  # the image is being written
    running.cancel()  # Cancel, as the panel's button does
    await asyncio.sleep(0)  # the cancel reaches the tile while its write is held
    store.go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, SAFETY)
    # The file on disk and the tile agree: saved, done (the image was billed and made).
    (written,) = (store.folder).glob("*.png")
    assert tile.status == "done" and tile.saved is not None and tile.saved.path == written
    tile.click("retry_save")  # Retry save: never a second copy of a saved image
    others = asyncio.all_tasks() - {asyncio.current_task()}  # what the click started, if anything
    await asyncio.wait_for(asyncio.gather(*others), SAFETY)
    assert len(list(store.folder.glob("*.png"))) == 1 and len(list(store.folder.glob("*.json"))) == 1
    tile.close()
