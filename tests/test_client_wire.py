"""Wire edge cases a server cannot easily produce, through httpx mock transports; retries."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest
from PIL import Image

import imagewidgets as iw
from imagewidgets.api.client import retry_delay


def _png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
B64 = base64.b64encode(PNG).decode()


def _event(kind: str, **payload: Any) -> bytes:
    body = {"type": f"image_generation.{kind}", "b64_json": B64, **payload}
    return f"event: image_generation.{kind}\ndata: {json.dumps(body)}\n\n".encode()


PARTIAL = _event("partial_image", partial_image_index=0)
COMPLETED = _event("completed", usage={"input_tokens": 3, "output_tokens": 272, "total_tokens": 275})


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in exactly these pieces."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = list(pieces)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> iw.ImagesClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("allow_retired", True)  # the wire cases use models the API shut down
    client = iw.ImagesClient(api_key="sk-wire", base_url="https://api.test/v1", http_client=http,
                             **options)
    client._owned_for_test = http  # type: ignore[attr-defined]
    return client


async def _close(client: iw.ImagesClient) -> None:
    await client._owned_for_test.aclose()  # type: ignore[attr-defined]


def _sse(pieces: Iterable[bytes]) -> Callable[[httpx.Request], httpx.Response]:
    frozen = list(pieces)
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                          stream=Chunks(frozen))


STREAM = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=1)


async def _events(pieces: Iterable[bytes]) -> list[Any]:
    client = _client(_sse(pieces))
    try:
        return [event async for event in client.stream(STREAM)]
    finally:
        await _close(client)


async def test_events_split_at_every_byte_offset() -> None:
    whole = PARTIAL + COMPLETED
    for cut in range(1, len(whole), 97):
        events = await _events([whole[:cut], whole[cut:]])
        assert [type(e).__name__ for e in events] == ["PartialImage", "GeneratedImage"], cut
    one_by_one = await _events([bytes([b]) for b in whole[:400]] + [whole[400:]])
    assert len(one_by_one) == 2 and one_by_one[-1].data == PNG


async def test_crlf_comments_and_multiline_data() -> None:
    crlf = (PARTIAL + COMPLETED).replace(b"\n", b"\r\n")
    assert len(await _events([crlf[:5], crlf[5:]])) == 2
    payload = json.dumps({"type": "image_generation.completed", "b64_json": B64}, indent=1)
    multiline = "".join(f"data: {line}\n" for line in payload.splitlines()).encode()
    events = await _events([b": keep-alive\n\n", b":comment\n", multiline, b"\n"])
    assert len(events) == 1 and events[0].data == PNG


async def test_an_8_mib_event() -> None:
    big = _png(2200, 2200)  # noisy enough? pad it to be sure the event passes 8 MiB
    padded = base64.b64encode(big).decode()
    event = json.dumps({"type": "image_generation.completed", "b64_json": padded, "pad": "p" * (
        8 * 1024 * 1024 - len(padded))})
    body = f"event: image_generation.completed\ndata: {event}\n\n".encode()
    assert len(body) > 8 * 1024 * 1024
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    started = time.perf_counter()
    (final,) = await _events(chunks)
    assert (final.width, final.height) == (2200, 2200)
    assert time.perf_counter() - started < 10  # linear, not quadratic, in the event's size


async def test_done_marker_and_plain_end() -> None:
    events = await _events([COMPLETED, b"data: [DONE]\n\n"])
    assert len(events) == 1
    no_blank_line = COMPLETED.rstrip(b"\n")
    assert len(await _events([no_blank_line])) == 1


async def test_eof_or_done_without_completed_is_incomplete() -> None:
    for tail in (b"", b"data: [DONE]\n\n"):
        client = _client(_sse([PARTIAL, tail]))
        seen = []
        with pytest.raises(iw.StreamIncompleteError) as info:
            async for event in client.stream(STREAM):
                seen.append(event)
        assert info.value.last_partial is seen[0]
        await _close(client)


async def test_an_error_payload_raises_the_matching_error() -> None:
    error = {"error": {"message": "Your request was rejected by the safety system",
                       "type": "image_generation_user_error", "code": "moderation_blocked",
                       "param": None}}
    client = _client(_sse([PARTIAL, f"event: error\ndata: {json.dumps(error)}\n\n".encode()]))
    with pytest.raises(iw.ContentPolicyError, match="rephrase"):
        _ = [event async for event in client.stream(STREAM)]
    await _close(client)


async def test_a_dropped_connection_mid_stream_is_wrapped() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PARTIAL
            raise httpx.RemoteProtocolError("peer closed connection")

    client = _client(lambda request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=Broken()))
    with pytest.raises(iw.StreamIncompleteError, match="broke"):
        _ = [event async for event in client.stream(STREAM)]
    await _close(client)


# -- retries -----------------------------------------------------------------------------


class Script:
    """Answers in order, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _ok() -> httpx.Response:
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": B64}]})


def _status(code: int, headers: dict[str, str] | None = None, error_code: str | None = None
            ) -> httpx.Response:
    return httpx.Response(code, headers=headers or {},
                          json={"error": {"message": f"status {code}", "type": "x", "param": None,
                                          "code": error_code}})


async def _run(script: Script, **options: Any) -> tuple[list[float], Any]:
    client = _client(script, **options)
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    client._sleep = sleep
    try:
        return delays, await client.generate(prompt="x", model="gpt-image-1")
    except iw.ImagesError as error:
        return delays, error
    finally:
        await _close(client)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retried_statuses(status: int) -> None:
    script = Script(_status(status), _status(status), _ok())
    delays, result = await _run(script)
    assert isinstance(result, iw.Generation) and len(script.requests) == 3 and len(delays) == 2
    keys = {request.headers["idempotency-key"] for request in script.requests}
    assert len(keys) == 1  # the same key on every retry of one request
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0  # 0.5·2^n less jitter


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_not_retried_statuses(status: int) -> None:
    script = Script(_status(status), _ok())
    delays, result = await _run(script)
    assert isinstance(result, iw.APIError) and result.status == status
    assert len(script.requests) == 1 and delays == []


async def test_retries_run_out_and_quota_is_never_retried() -> None:
    script = Script(_status(500))
    delays, result = await _run(script, max_retries=3)
    assert isinstance(result, iw.ServerError) and len(script.requests) == 4
    assert delays[2] <= 2.0
    quota = Script(_status(429, error_code="insufficient_quota"), _ok())
    _, error = await _run(quota)
    assert isinstance(error, iw.InsufficientQuotaError) and len(quota.requests) == 1


async def test_connection_errors_are_retried_then_wrapped() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), _ok())
    delays, result = await _run(script)
    assert isinstance(result, iw.Generation) and len(delays) == 2
    failing = Script(httpx.ConnectError("refused"))
    _, error = await _run(failing, max_retries=1)
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
    script = Script(_status(429, headers), _ok())
    delays, error = await _run(script)
    assert isinstance(error, iw.RateLimitError) and delays == [] and len(script.requests) == 1


async def test_a_started_stream_is_never_retried() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PARTIAL
            raise httpx.ReadError("reset")

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"},
                                   stream=Broken()))
    client = _client(script)
    with pytest.raises(iw.StreamIncompleteError):
        _ = [event async for event in client.stream(STREAM)]
    assert len(script.requests) == 1
    await _close(client)


async def test_non_json_error_bodies_still_explain() -> None:
    script = Script(httpx.Response(502, text="<html>Bad gateway</html>"))
    _, error = await _run(script, max_retries=0)
    assert isinstance(error, iw.ServerError) and "Bad gateway" in str(error)


async def test_headers_sent() -> None:
    script = Script(_ok())
    client = iw.ImagesClient(api_key="sk-h", base_url="https://api.test/v1", organization="org-1",
                             project="proj-1",
                             http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)))
    await client.generate(prompt="x", model="gpt-image-2.6-flare")
    sent = script.requests[0].headers
    assert sent["authorization"] == "Bearer sk-h"
    assert (sent["openai-organization"], sent["openai-project"]) == ("org-1", "proj-1")
    assert "x-emulator-image-index" not in sent
    await client._http.aclose()


def _url_answer(file: httpx.Response,
                seen: list[httpx.Request] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A server answering with an image URL on files.test, which serves ``file``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.url.host == "files.test":
            return file
        return httpx.Response(200, json={"created": 1, "data": [{"url": "https://files.test/a.png"}]})

    return handler


async def test_url_downloads_carry_no_key() -> None:
    seen: list[httpx.Request] = []
    client = _client(_url_answer(httpx.Response(200, content=PNG), seen))
    result = await client.generate(prompt="x", model="dall-e-2", size="256x256")
    assert result.images[0].data == PNG
    assert "authorization" not in seen[1].headers
    await _close(client)


# -- bodies, paths and slots -------------------------------------------------------------


async def test_an_error_body_that_breaks_still_gives_the_status_error() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"error": {"mess'
            raise httpx.ReadError("reset")

    script = Script(httpx.Response(502, stream=Broken()))
    _, error = await _run(script, max_retries=0)
    assert isinstance(error, iw.ServerError) and error.status == 502 and "HTTP 502" in str(error)


async def test_a_download_that_breaks_is_ours() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PNG[:100]
            raise httpx.RemoteProtocolError("peer closed connection")

    client = _client(_url_answer(httpx.Response(200, stream=Broken())))
    with pytest.raises(iw.APIConnectionError, match="while reading the image URL"):
        await client.generate(prompt="x", model="dall-e-2", size="256x256")
    await _close(client)


async def test_a_download_error_status_explains() -> None:
    client = _client(_url_answer(httpx.Response(500, text="storage is down")))
    with pytest.raises(iw.ServerError, match="storage is down"):
        await client.generate(prompt="x", model="dall-e-2", size="256x256")
    await _close(client)


async def test_open_posts_to_the_path_it_is_given_and_close_frees_the_slot() -> None:
    script = Script(httpx.Response(200, json={"ok": True}))
    client = _client(script, max_concurrency=1)
    response = await client._open("/images/edits", {"model": "gpt-image-1", "prompt": "x"},
                                  image_index=2)
    assert client._slots.locked()  # held while the response is open
    await client._close(response)
    assert not client._slots.locked()
    sent = script.requests[0]
    assert sent.url == "https://api.test/v1/images/edits" and sent.headers["x-emulator-image-index"] == "2"
    assert json.loads(sent.content) == {"model": "gpt-image-1", "prompt": "x"}
    await _close(client)


async def test_failed_attempts_give_their_slot_back() -> None:
    script = Script(_status(500), httpx.ConnectError("refused"), _status(400))
    client = _client(script, max_concurrency=1)
    client._sleep = _no_sleep
    with pytest.raises(iw.BadRequestError):
        await client.generate(prompt="x", model="gpt-image-1")
    assert not client._slots.locked() and len(script.requests) == 3
    await _close(client)


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_a_partial_before_an_error_in_the_same_chunk_still_arrives() -> None:
    error = {"error": {"message": "the server failed", "type": "server_error", "code": None}}
    one_chunk = PARTIAL + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    client = _client(_sse([one_chunk]))
    seen = []
    with pytest.raises(iw.APIError, match="the server failed"):
        async for event in client.stream(STREAM):
            seen.append(event)
    assert [type(event).__name__ for event in seen] == ["PartialImage"]
    assert not client._slots.locked()
    await _close(client)


async def test_the_final_image_frees_the_slot_before_the_consumer_resumes() -> None:
    client = _client(_sse([PARTIAL, COMPLETED, b"data: [DONE]\n\n"]), max_concurrency=1)
    async for event in client.stream(STREAM):
        if isinstance(event, iw.GeneratedImage):
            assert not client._slots.locked()
        else:
            assert client._slots.locked()
    await _close(client)
