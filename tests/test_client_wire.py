"""Wire edge cases a server cannot easily produce, through httpx mock transports; retries."""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api.client import retry_delay

from mock_api import (
    B64,
    COMPLETED,
    PARTIAL,
    PNG,
    STREAM,
    Script,
    close_mock,
    error_answer,
    mock_client,
    ok_answer,
    png,
    run_generate,
    stream_events,
)


async def test_events_split_at_every_byte_offset() -> None:
    whole = PARTIAL + COMPLETED
    for cut in range(1, len(whole), 97):
        events = await stream_events([whole[:cut], whole[cut:]])
        assert [type(e).__name__ for e in events] == ["PartialImage", "GeneratedImage"], cut
    one_by_one = await stream_events([bytes([b]) for b in whole[:400]] + [whole[400:]])
    assert len(one_by_one) == 2 and one_by_one[-1].data == PNG


async def test_crlf_comments_and_multiline_data() -> None:
    crlf = (PARTIAL + COMPLETED).replace(b"\n", b"\r\n")
    assert len(await stream_events([crlf[:5], crlf[5:]])) == 2
    payload = json.dumps({"type": "image_generation.completed", "b64_json": B64}, indent=1)
    multiline = "".join(f"data: {line}\n" for line in payload.splitlines()).encode()
    events = await stream_events([b": keep-alive\n\n", b":comment\n", multiline, b"\n"])
    assert len(events) == 1 and events[0].data == PNG


async def test_an_8_mib_event() -> None:
    big = png(2200, 2200)  # noisy enough? pad it to be sure the event passes 8 MiB
    padded = base64.b64encode(big).decode()
    event = json.dumps({"type": "image_generation.completed", "b64_json": padded, "pad": "p" * (
        8 * 1024 * 1024 - len(padded))})
    body = f"event: image_generation.completed\ndata: {event}\n\n".encode()
    assert len(body) > 8 * 1024 * 1024
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    (final,) = await stream_events(chunks)  # linear in its size: test_sse.py counts the bytes scanned
    assert (final.width, final.height) == (2200, 2200)


async def test_done_marker_and_plain_end() -> None:
    events = await stream_events([COMPLETED, b"data: [DONE]\n\n"])
    assert len(events) == 1
    no_blank_line = COMPLETED.rstrip(b"\n")
    assert len(await stream_events([no_blank_line])) == 1


# -- retries -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retried_statuses(status: int) -> None:
    script = Script(error_answer(status), error_answer(status), ok_answer())
    delays, result = await run_generate(script)
    assert isinstance(result, iw.Generation) and len(script.requests) == 3 and len(delays) == 2
    keys = {request.headers["idempotency-key"] for request in script.requests}
    assert len(keys) == 1  # the same key on every retry of one request
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0  # 0.5·2^n less jitter


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_not_retried_statuses(status: int) -> None:
    script = Script(error_answer(status), ok_answer())
    delays, result = await run_generate(script)
    assert isinstance(result, iw.APIError) and result.status == status
    assert len(script.requests) == 1 and delays == []


async def test_retries_run_out_and_quota_is_never_retried() -> None:
    script = Script(error_answer(500))
    delays, result = await run_generate(script, max_retries=3)
    assert isinstance(result, iw.ServerError) and len(script.requests) == 4
    assert delays[2] <= 2.0
    quota = Script(error_answer(429, error_code="insufficient_quota"), ok_answer())
    _, error = await run_generate(quota)
    assert isinstance(error, iw.InsufficientQuotaError) and len(quota.requests) == 1


async def test_connection_errors_are_retried_then_wrapped() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok_answer())
    delays, result = await run_generate(script)
    assert isinstance(result, iw.Generation) and len(delays) == 2
    failing = Script(httpx.ConnectError("refused"))
    _, error = await run_generate(failing, max_retries=1)
    assert isinstance(error, iw.APIConnectionError) and not isinstance(error, httpx.HTTPError)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms wins
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "120"}, 120.0),
        ({"retry-after-ms": "garbage", "retry-after": "2"}, 2.0),
    ],
)
def test_retry_after_is_honoured(headers: dict[str, str], expected: float) -> None:
    assert retry_delay(0, httpx.Headers(headers)) == pytest.approx(expected)


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_delay(0, httpx.Headers({"retry-after": when})) or 0) <= 30.5


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "soon"}, {"retry-after": "-5"}, {"retry-after": "inf"},
     {"retry-after": "1e309"}, {"retry-after-ms": "-1"}, {"retry-after": "nan"}, {}],
)
def test_unusable_retry_after_falls_back_to_backoff(headers: dict[str, str]) -> None:
    for attempt, ceiling in ((0, 0.5), (1, 1.0), (4, 8.0), (9, 8.0)):
        delay = retry_delay(attempt, httpx.Headers(headers))
        assert delay is not None and 0.75 * ceiling <= delay <= ceiling


@pytest.mark.parametrize("headers", [{"retry-after": "121"}, {"retry-after-ms": "600000"}])
async def test_retry_after_over_the_cap_is_not_retried(headers: dict[str, str]) -> None:
    assert retry_delay(0, httpx.Headers(headers)) is None
    script = Script(error_answer(429, headers), ok_answer())
    delays, error = await run_generate(script)
    assert isinstance(error, iw.RateLimitError) and delays == [] and len(script.requests) == 1


async def test_a_started_stream_is_never_retried() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PARTIAL
            raise httpx.ReadError("reset")

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"},
                                   stream=Broken()))
    client = mock_client(script)
    with pytest.raises(iw.StreamIncompleteError):
        _ = [event async for event in client.stream(STREAM)]
    assert len(script.requests) == 1
    await close_mock(client)


async def test_non_json_error_bodies_still_explain() -> None:
    script = Script(httpx.Response(502, text="<html>Bad gateway</html>"))
    _, error = await run_generate(script, max_retries=0)
    assert isinstance(error, iw.ServerError) and "Bad gateway" in str(error)


async def test_headers_sent() -> None:
    script = Script(ok_answer())
    client = iw.ImagesClient(api_key="sk-h", base_url="https://api.test/v1", organization="org-1",
                             project="proj-1",
                             http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)))
    await client.generate(prompt="x", model="gpt-image-2.6-flare")
    sent = script.requests[0].headers
    assert sent["authorization"] == "Bearer sk-h"
    assert (sent["openai-organization"], sent["openai-project"]) == ("org-1", "proj-1")
    assert "x-emulator-image-index" not in sent
    await client._http.aclose()


# -- bodies, paths and slots -------------------------------------------------------------


async def test_open_posts_to_the_path_it_is_given_and_close_frees_the_slot() -> None:
    script = Script(httpx.Response(200, json={"ok": True}))
    client = mock_client(script, max_concurrency=1)
    response = await client._open("/images/edits", {"model": "gpt-image-1", "prompt": "x"},
                                  image_index=2)
    assert client._slots.locked()  # held while the response is open
    await client._close(response)
    assert not client._slots.locked()
    sent = script.requests[0]
    assert sent.url == "https://api.test/v1/images/edits" and sent.headers["x-emulator-image-index"] == "2"
    assert json.loads(sent.content) == {"model": "gpt-image-1", "prompt": "x"}
    await close_mock(client)


async def test_failed_attempts_give_their_slot_back() -> None:
    script = Script(error_answer(500), httpx.ConnectError("refused"), error_answer(400))
    client = mock_client(script, max_concurrency=1)
    client._sleep = _no_sleep
    with pytest.raises(iw.BadRequestError):
        await client.generate(prompt="x", model="gpt-image-1")
    assert not client._slots.locked() and len(script.requests) == 3
    await close_mock(client)


async def _no_sleep(_seconds: float) -> None:
    return None
