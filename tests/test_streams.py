"""Stream handling: one streaming request's events, a fan-out of several, and leaving either early."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve

from mock_api import COMPLETED, PARTIAL, STREAM, close_mock, mock_client, sse_answer


async def test_eof_or_done_without_completed_is_incomplete() -> None:
    for tail in (b"", b"data: [DONE]\n\n"):
        client = mock_client(sse_answer([PARTIAL, tail]))
        seen = []
        with pytest.raises(iw.StreamIncompleteError) as info:
            async for event in client.stream(STREAM):
                seen.append(event)
        assert info.value.last_partial is seen[0]
        await close_mock(client)


async def test_an_error_payload_raises_the_matching_error() -> None:
    error = {"error": {"message": "Your request was rejected by the safety system",
                       "type": "image_generation_user_error", "code": "moderation_blocked",
                       "param": None}}
    client = mock_client(sse_answer([PARTIAL, f"event: error\ndata: {json.dumps(error)}\n\n".encode()]))
    with pytest.raises(iw.ContentPolicyError, match="rephrase"):
        _ = [event async for event in client.stream(STREAM)]
    await close_mock(client)


async def test_a_dropped_connection_mid_stream_is_wrapped() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PARTIAL
            raise httpx.RemoteProtocolError("peer closed connection")

    client = mock_client(lambda request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=Broken()))
    with pytest.raises(iw.StreamIncompleteError, match="broke"):
        _ = [event async for event in client.stream(STREAM)]
    await close_mock(client)


async def test_a_partial_before_an_error_in_the_same_chunk_still_arrives() -> None:
    error = {"error": {"message": "the server failed", "type": "server_error", "code": None}}
    one_chunk = PARTIAL + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    client = mock_client(sse_answer([one_chunk]))
    seen = []
    with pytest.raises(iw.APIError, match="the server failed"):
        async for event in client.stream(STREAM):
            seen.append(event)
    assert [type(event).__name__ for event in seen] == ["PartialImage"]
    assert not client._slots.locked()
    await close_mock(client)


async def test_the_final_image_frees_the_slot_before_the_consumer_resumes() -> None:
    client = mock_client(sse_answer([PARTIAL, COMPLETED, b"data: [DONE]\n\n"]), max_concurrency=1)
    async for event in client.stream(STREAM):
        if isinstance(event, iw.GeneratedImage):
            assert not client._slots.locked()
        else:
            assert client._slots.locked()
    await close_mock(client)


async def test_a_dropped_stream_keeps_the_last_partial(server: EmulatorServer,
                                                      client: iw.ImagesClient) -> None:
    server.inject("drop_stream", after=2)
    params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=3)
    seen = []
    with pytest.raises(iw.StreamIncompleteError) as broken:
        async for event in client.stream(params):
            seen.append(event)
    assert len(seen) == 2 and broken.value.last_partial is seen[-1]
    assert isinstance(broken.value.__cause__, iw.APIConnectionError)


# -- leaving a stream early -------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3])  # one stream, and a fan-out of three
async def test_breaking_out_of_a_stream_frees_the_slot_at_once(count: int) -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=3, n=count)
    gc.disable()  # nothing may depend on the garbage collector
    try:
        with serve(port=0, latency=8.0) as slow:
            async with iw.ImagesClient(api_key="k", base_url=slow.url, is_emulator=True,
                                       max_concurrency=count) as client:
                loop = asyncio.get_running_loop()
                async with contextlib.aclosing(client.stream(params)) as events:
                    async for _event in events:
                        break  # the first partial, ~2 s in; the stream has ~6 s to go
                assert not client._slots.locked()  # freed by the close itself, not by a later task
                left = loop.time()
                slow.state.latency = 0.0
                quick = iw.ImageParams(model="dall-e-2", prompt="y", size="256x256")
                results = await asyncio.wait_for(
                    asyncio.gather(*(client.generate(quick) for _ in range(count))), 120)
                assert all(result.images for result in results)
                assert slow.request_count == 2 * count
                # Not after the first stream's remaining 6 s: half of it is a wide margin
                # for a few small images, even on a busy machine.
                assert loop.time() - left < 3.0
    finally:
        gc.enable()


class _Cycle:
    """Keeps what it holds in a reference cycle: only the garbage collector frees it."""

    def __init__(self, held: object) -> None:
        self.held = held
        self.me = self


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("close", [True, False], ids=["aclosing", "bare"])
@pytest.mark.parametrize("leave", ["return", "break", "raise"])
async def test_leaving_a_stream_early_prints_nothing(
        server: EmulatorServer, client: iw.ImagesClient, n: int, close: bool, leave: str,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No "aclose(): asynchronous generator is already running", however the stream is left,
    even when the garbage collector finalizes the stream and everything it holds at once."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=2, n=n)

    async def consume(events: AsyncIterator[Any]) -> Any:
        async for event in events:
            if leave == "return":
                return event
            if leave == "raise":
                raise LookupError("the consumer failed")
            break
        return None

    gc.disable()
    try:
        for _ in range(2):
            held = _Cycle(client.stream(params))
            with contextlib.suppress(LookupError):
                if close:
                    async with contextlib.aclosing(held.held) as events:
                        await consume(events)
                else:
                    await consume(held.held)
            del held
            gc.collect()
            await asyncio.sleep(0.2)  # finalizers run their aclose() as tasks
        # the client is still usable: every slot came back
        await asyncio.wait_for(client.generate(prompt="y", model="dall-e-2", size="256x256"), 120)
    finally:
        gc.enable()
        loop.set_exception_handler(None)
    captured = capsys.readouterr()
    assert "already running" not in captured.err + captured.out + caplog.text
    assert reported == [] and unraisable == []
