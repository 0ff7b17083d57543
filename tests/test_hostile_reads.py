"""Hostile servers on 127.0.0.1 that send too much: every body is read with a byte limit.

A gzip bomb, an endless ``b64_json``, an endless image URL, an endless stream
event, a stream that never ends, an endless error body or model list: the client
stops reading as soon as the limit passes (inflated bytes counted) and says what
came, what it was reading and what to do. Limits are lowered for a test through
``ImagesClient(limits=Limits(...))``; the gzip bomb runs against the real ones.

Hand-written servers, not the emulator, so a bug shared by client and emulator
cannot hide. Each counts what it managed to send before the client hung up.
"""

from __future__ import annotations

import json
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api import transport as _http
from imagewidgets.api.client import Limits
from imagewidgets.api.retry import retryable

from hostile import PNG, SUCCESS, Hostile, Reply

MB = 1 << 20
OPENING = b'{"created": 1, "data": [{"b64_json": "'


def _endless(head: bytes, fill: bytes, total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``head`` then ``fill`` repeated in pieces of ``piece`` bytes, ``total`` bytes in all."""
    if head:  # an empty chunk would end a chunked body
        yield head
    block = fill * (piece // len(fill))
    for _ in range((total - len(head)) // len(block)):
        yield block


def _client(hostile: Hostile, **limits: int) -> iw.ImagesClient:
    # allow_retired: DALL-E 3 (shut down by the API) is the model that answers with URLs
    return iw.ImagesClient(api_key="sk-test-reads", base_url=hostile.url, max_retries=0,
                           allow_retired=True, limits=Limits(**limits) if limits else None)


SENT_AT_MOST = 32 * MB
"""A server trying to send 64 MB gets at most this far before noticing the client left:
the client's limit (1 MB) plus the kernel's socket buffers on 127.0.0.1 (a few MB)."""


def _stopped_early(hostile: Hostile) -> None:
    assert hostile.done.wait(120), "the server is still sending: the client never hung up"
    assert hostile.sent < SENT_AT_MOST, f"the client read {hostile.sent:,} bytes of 64 MB"


# -- the realistic case: a 1 MB gzip that inflates to 1 GB --------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB: a JSON answer whose b64_json never ends."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"A" * MB
    parts = [deflate.compress(OPENING)]
    parts += [deflate.compress(block) for _ in range(1024)]
    parts += [deflate.compress(b'"}]}'), deflate.flush()]
    return b"".join(parts)


def _peak_while(run: Callable[[], Any]) -> int:
    """The most memory Python held (tracemalloc) while ``run()`` ran, above what it held before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_answer_stops_at_the_limit_without_inflating_it(
        hostile: Hostile, gzip_bomb: bytes) -> None:
    import asyncio

    assert len(gzip_bomb) < 2 * MB
    hostile.answer = lambda path, headers: (200, {"Content-Encoding": "gzip",
                                                  "Content-Length": str(len(gzip_bomb))}, [gzip_bomb])
    errors: list[BaseException] = []

    async def generate() -> None:
        client = _client(hostile)  # the real limits
        try:
            await client.generate(prompt="x", model="gpt-image-2")
        except iw.ImagesError as error:
            errors.append(error)
        finally:
            await client.aclose()

    peak = _peak_while(lambda: asyncio.run(generate()))
    limit = _http.MAX_ANSWER_BYTES_PER_IMAGE
    assert len(errors) == 1 and isinstance(errors[0], iw.APIError), errors
    text = str(errors[0])
    assert f"more than {limit // MB} MB" in text and "answer" in text and "n=" in text, text
    # Today's code held 3 GB here; bounded reading holds the limit and a piece more.
    assert peak < limit + 64 * MB, f"{peak / MB:.0f} MB held to refuse a gzip bomb"


# -- limits lowered for the test -----------------------------------------------------------


async def test_an_endless_b64_json_stops_the_read_at_the_limit(hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (200, {}, _endless(OPENING, b"A", 64 * MB))
    client = _client(hostile, answer_per_image=1 * MB)
    with pytest.raises(iw.APIError, match=r"more than 1 MB .*answer") as caught:
        await client.generate(prompt="x", model="gpt-image-2", n=1)
    await client.aclose()
    assert caught.value.status == 200 and not retryable(caught.value)
    _stopped_early(hostile)


async def test_the_answer_limit_grows_with_n(hostile: Hostile) -> None:
    """n images are n times as large: 3 of 0.6 MB each pass a 1 MB-per-image limit."""
    b64 = "A" * (600 * 1024)
    hostile.answer = lambda path, headers: (200, {}, [json.dumps(
        {"created": 1, "data": [{"b64_json": b64}] * 3}).encode()])
    client = _client(hostile, answer_per_image=1 * MB)
    with pytest.raises(iw.ImageDecodeError):  # read whole (not refused for its size), then decoded
        await client.generate(prompt="x", model="gpt-image-2", n=3)
    with pytest.raises(iw.APIError, match="more than 1 MB"):  # but n=1 may not be that large
        await client.generate(prompt="x", model="gpt-image-2", n=1)
    await client.aclose()


async def test_an_endless_image_url_stops_the_read_at_the_limit(hostile: Hostile) -> None:
    def answer(path: str, headers: httpx.Headers) -> Reply:
        if path.endswith("/image.png"):
            return 200, {"Content-Type": "image/png"}, _endless(PNG, b"\0", 64 * MB)
        url = hostile.url.rsplit("/v1", 1)[0] + "/image.png"
        return 200, {}, [json.dumps({"created": 1, "data": [{"url": url}]}).encode()]

    hostile.answer = answer
    client = _client(hostile, download=1 * MB)
    with pytest.raises(iw.APIError, match=r"more than 1 MB .*image URL"):
        await client.generate(prompt="x", model="dall-e-3", response_format="url")
    await client.aclose()
    _stopped_early(hostile)


@pytest.mark.parametrize(("head", "fill", "limit", "what"), [
    (b'event: image_generation.completed\ndata: {"b64_json": "', b"A", "event", "stream event"),
    # Small events (keep-alive comments) are fine one by one; not without end.
    (b"", b": keep-alive\n", "stream", "stream"),
], ids=["one-endless-event", "keep-alives-without-end"])
async def test_an_endless_stream_stops_the_read_at_its_limit(hostile: Hostile, head: bytes,
                                                              fill: bytes, limit: str,
                                                              what: str) -> None:
    hostile.answer = lambda path, headers: (200, {"Content-Type": "text/event-stream"},
                                            _endless(head, fill, 64 * MB))
    client = _client(hostile, **{limit: 1 * MB})
    with pytest.raises(iw.StreamIncompleteError, match=rf"more than 1 MB .*{what}"):  # partials kept
        async for _ in client.stream(prompt="x", model="gpt-image-2", stream=True):
            pass
    await client.aclose()
    _stopped_early(hostile)


async def test_an_endless_model_list_stops_the_read_at_the_limit(hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (200, {}, _endless(b'{"data": [', b'{"id": "m"},', 64 * MB))
    client = _client(hostile, models=1 * MB)
    with pytest.raises(iw.APIError, match=r"more than 1 MB .*model list"):
        await client.list_models()
    await client.aclose()
    _stopped_early(hostile)


async def test_an_endless_error_body_is_cut_and_still_explains(hostile: Hostile) -> None:
    body = _endless(b'{"error": {"message": "', b"x", 64 * MB)
    hostile.answer = lambda path, headers: (400, {}, body)
    client = _client(hostile)
    with pytest.raises(iw.BadRequestError) as caught:  # cut, it is no JSON: its first 500 characters
        await client.generate(prompt="x", model="gpt-image-2")
    await client.aclose()
    assert caught.value.status == 400 and len(str(caught.value)) < 1000
    _stopped_early(hostile)


async def test_a_gzip_error_body_is_cut_after_inflating_its_limit(hostile: Hostile,
                                                                 gzip_bomb: bytes) -> None:
    hostile.answer = lambda path, headers: (500, {"Content-Encoding": "gzip"}, [gzip_bomb])
    client = _client(hostile)
    with pytest.raises(iw.ServerError) as caught:
        await client.generate(prompt="x", model="gpt-image-2")
    await client.aclose()
    assert caught.value.status == 500 and len(str(caught.value)) < 1000


# -- encodings -----------------------------------------------------------------------------


def _gzip(data: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush()


def _raw_deflate(data: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush()


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", _gzip), ("x-gzip", _gzip), ("deflate", zlib.compress), ("deflate", _raw_deflate),
    ("identity", lambda data: data), ("GZIP, identity", _gzip)],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw", "identity", "gzip-then-identity"])
async def test_compressed_answers_still_read(hostile: Hostile, encoding: str,
                                             encode: Callable[[bytes], bytes]) -> None:
    hostile.answer = lambda path, headers: (200, {"Content-Encoding": encoding}, [encode(SUCCESS)])
    client = _client(hostile)
    result = await client.generate(prompt="x", model="gpt-image-2")
    await client.aclose()
    assert result.images[0].data == PNG
    # Only encodings the client inflates with a limit are asked for.
    assert hostile.seen[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip"])
async def test_an_encoding_not_asked_for_is_refused_clearly(hostile: Hostile, encoding: str) -> None:
    hostile.answer = lambda path, headers: (200, {"Content-Encoding": encoding}, [SUCCESS])
    client = _client(hostile)
    with pytest.raises(iw.APIError, match="encoded as") as caught:
        await client.generate(prompt="x", model="gpt-image-2")
    await client.aclose()
    assert repr(encoding) in str(caught.value)


async def test_a_corrupt_gzip_body_is_an_api_error(hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (200, {"Content-Encoding": "gzip"}, [b"\x1f\x8bnot gzip at all"])
    client = _client(hostile)
    with pytest.raises(iw.APIError, match="does not inflate"):
        await client.generate(prompt="x", model="gpt-image-2")
    await client.aclose()
