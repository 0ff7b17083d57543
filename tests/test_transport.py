"""httpx steps a double Cancel cannot cut short, and the one way a body is read: limits, inflating.

Bodies past their limits from hostile servers: tests/test_hostile_reads.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api import transport as _http
from imagewidgets.emulator import serve

from mock_api import Script, run_generate
from waiting import until

MB = 1 << 20


def _gzip(data: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush()


async def _drain(client: iw.ImagesClient, params: iw.ImageParams, events: list[Any]) -> None:
    async for event in client.stream(params):
        events.append(event)


async def test_cancelling_mid_stream_releases_the_connection() -> None:
    with serve(port=0, latency=8.0) as slow:  # the first partial after 2 s, the last after 8 s
        transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=transport) as http:
            client = iw.ImagesClient(api_key="k", base_url=slow.url, is_emulator=True, http_client=http,
                                     max_concurrency=1)
            params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=3)
            for times in (1, 2):
                events: list[Any] = []
                task = asyncio.ensure_future(_drain(client, params, events))
                await until(lambda got=events: bool(got), "the first partial")  # mid-stream
                for _ in range(times):
                    task.cancel()
                    await asyncio.sleep(0)
                with pytest.raises(asyncio.CancelledError):
                    await task
                pool = transport._pool
                assert all(connection.is_idle() or connection.is_closed()
                           for connection in pool.connections)
            # one connection in all: a new request only works if the cancelled ones let go of it
            fast = iw.ImageParams(model="dall-e-2", prompt="x", size="256x256")
            slow.state.latency = 0.0
            result = await asyncio.wait_for(client.generate(fast), 120)  # stuck, not slow
            assert result.images


async def test_cancelling_generate_at_any_step_releases_the_connection() -> None:
    """Cancelled once or twice while sending, waiting, reading or closing: the connection is let go."""
    params = iw.ImageParams(model="dall-e-2", prompt="x", size="256x256")
    with serve(port=0) as server:
        async with iw.ImagesClient(api_key="k", base_url=server.url, is_emulator=True) as warm:
            await warm.generate(params)  # the picture drawn and cached: each request is quick
            took = (await warm.generate(params)).elapsed
        # Turns of the loop, then waits over the whole request: together they land in every step.
        # Last, once it ended (inf): a cancel too late, however slow the machine.
        waits = [(turns, 0.0) for turns in range(12)] + [(0, took * step / 8) for step in range(20)]
        waits.append((0, float("inf")))
        outcomes = set()
        for turns, seconds in waits:
            for times in (1, 2):
                # A pool of one connection, fresh each time, connected before the clock starts.
                transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))
                async with httpx.AsyncClient(transport=transport) as http:
                    client = iw.ImagesClient(api_key="k", base_url=server.url, is_emulator=True,
                                             http_client=http, max_concurrency=1)
                    await client.list_models()
                    task = asyncio.ensure_future(client.generate(params))
                    for _ in range(turns):
                        await asyncio.sleep(0)
                    if seconds == float("inf"):
                        await asyncio.wait([task])
                    else:
                        await asyncio.sleep(seconds)
                    for _ in range(times):
                        task.cancel()
                        await asyncio.sleep(0)
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    outcomes.add(task.cancelled())
                    assert all(connection.is_idle() or connection.is_closed()
                               for connection in transport._pool.connections), (turns, seconds, times)
                    assert not transport._pool._requests and client._slots._value == 1
        assert outcomes == {True, False}  # cancelled in time, and too late (the request done)


async def test_an_error_body_that_breaks_still_gives_the_status_error() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"error": {"mess'
            raise httpx.ReadError("reset")

    script = Script(httpx.Response(502, stream=Broken()))
    _, error = await run_generate(script, max_retries=0)
    assert isinstance(error, iw.ServerError) and error.status == 502 and "HTTP 502" in str(error)


async def test_the_reader_inflates_in_bounded_pieces_and_counts_inflated_bytes() -> None:
    """One 1 MB raw chunk of gzip must not become one 1 GB piece: pieces stay small."""
    inflated = 256 * MB
    raw = _gzip(bytes(inflated))
    pulled: list[int] = []

    class Once(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            pulled.append(len(raw))
            yield raw

    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Once())
    body = _http.Body(response, 8 * MB, "a test body")
    sizes = []
    with pytest.raises(iw.APIError, match=r"more than 8 MB .*a test body"):
        while piece := await body.next():
            sizes.append(len(piece))
    assert pulled == [len(raw)]
    assert max(sizes) <= _http.PIECE and sum(sizes) <= 8 * MB


async def test_a_response_made_just_as_the_cancel_lands_is_closed() -> None:
    # The step ends (its response made) and the cancel reaches the waiting request before
    # it resumes: the response is closed, or its connection stays checked out for good.
    closed: list[bool] = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b""

        async def aclose(self) -> None:
            closed.append(True)

    made = asyncio.Event()

    async def step() -> httpx.Response:
        made.set()  # wakes the test before the guard hears the step has ended
        return httpx.Response(200, stream=Body())

    request = asyncio.ensure_future(_http.guarded(step()))
    await made.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert closed == [True]
