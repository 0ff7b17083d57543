"""Hostile servers on 127.0.0.1 that cost images, time, or a request to elsewhere.

- Images thrown away: a fan-out with one request refused keeps the others'
  images; a Retry-After past the total deadline is not waited for; a stream (or
  an image URL) that stalls fails at the total deadline, its last partial kept.
- Requests to places the user did not choose: image URLs are fetched only from
  base_url's own origin or over https from public hosts, and a redirect from
  one is never followed.
- A key echoed in ``revised_prompt`` never reaches the image or its tile.

Hand-written servers (and ``httpx.MockTransport`` where a server cannot easily
produce the case), not the emulator, so a bug shared by client and emulator
cannot hide. Timeouts are lowered so each case ends within a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api.client import Timeouts
from imagewidgets.api.redact import REDACTED
from imagewidgets.results import GeneratedImage, PartialImage

from hostile import B64, PNG, SUCCESS, Hostile, Reply


def _event(kind: str, **payload: Any) -> bytes:
    body = {"type": f"image_generation.{kind}", "b64_json": B64, **payload}
    return f"event: image_generation.{kind}\ndata: {json.dumps(body)}\n\n".encode()


PARTIAL = _event("partial_image", partial_image_index=0)
COMPLETED = _event("completed", usage={"input_tokens": 3, "output_tokens": 272, "total_tokens": 275})
SSE = {"Content-Type": "text/event-stream"}
REFUSED = json.dumps({"error": {"message": "refused by the safety system",
                                "type": "image_generation_user_error",
                                "code": "content_policy_violation", "param": None}}).encode()


@pytest.fixture
def other() -> Iterator[Hostile]:
    """A second server on 127.0.0.1: another origin than ``hostile``."""
    with Hostile() as server:
        yield server


def _generations(hostile: Hostile) -> list[httpx.Headers]:
    return [seen.headers for seen in hostile.seen if seen.path.endswith("/images/generations")]


# -- 1. images thrown away: a fan-out with one request refused -------------------------------


async def test_a_fan_out_keeps_the_images_that_arrived_when_one_request_is_refused(
        hostile: Hostile) -> None:
    refused = threading.Event()

    def answer(path: str, headers: httpx.Headers) -> Reply:
        if headers.get("x-emulator-image-index") == "1":
            refused.set()
            return 400, {}, [REFUSED]  # at once: before the others' images arrive

        def slow() -> Iterator[bytes]:
            refused.wait(120)  # the refusal first, however the server's threads are scheduled
            yield PARTIAL
            yield COMPLETED
        return 200, SSE, slow()

    hostile.answer = answer
    events: list[Any] = []
    async with iw.ImagesClient(api_key="sk-test-fanout", base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.ContentPolicyError) as info:  # the refusal, holding the others
            async for event in client.stream(model="gpt-image-2", prompt="a fox", n=3, stream=True,
                                             partial_images=1):
                events.append(event)
    finals = [event for event in events if isinstance(event, GeneratedImage)]
    assert sorted(image.image_index for image in finals) == [0, 2]  # yielded before the error
    error = info.value
    assert [image.image_index for image in error.images] == [0, 2]
    assert list(error.failures) == [1] and error.failures[1] is error
    assert "2 of 3 images arrived" in str(error) and "image 1" in str(error)
    assert "refused by the safety system" in str(error)


async def test_the_failures_a_fan_out_holds_are_redacted(hostile: Hostile) -> None:
    key = "sk-test-" + secrets.token_hex(8)

    def answer(path: str, headers: httpx.Headers) -> Reply:
        if headers.get("x-emulator-image-index") in ("1", "2"):
            return 400, {}, [json.dumps({"error": {"message": f"bad key {key}"}}).encode()]
        return 200, SSE, [COMPLETED]
    hostile.answer = answer
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.BadRequestError) as info:
            async for _ in client.stream(model="gpt-image-2", prompt="a fox", n=3, stream=True):
                pass
    assert sorted(info.value.failures) == [1, 2] and len(info.value.images) == 1
    for failure in info.value.failures.values():
        assert key not in str(failure) and REDACTED in str(failure)
    assert key not in str(info.value)


async def test_a_fan_out_with_every_request_refused_raises_the_refusal(hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (400, {}, [REFUSED])
    async with iw.ImagesClient(api_key="sk-test-fanout", base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.ContentPolicyError):
            async for _ in client.stream(model="gpt-image-2", prompt="a fox", n=2, stream=True):
                pass


def _url_client(handler: Callable[[httpx.Request], httpx.Response], *,
                resolved: dict[str, list[str]] | None = None,
                base_url: str = "https://api.test/v1") -> iw.ImagesClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = iw.ImagesClient(api_key="sk-test-urls", base_url=base_url, http_client=http,
                             max_retries=0, allow_retired=True)  # DALL-E answers with URLs

    async def resolve(host: str, port: int) -> list[str]:
        return (resolved or {}).get(host, [])
    client._resolve = resolve  # type: ignore[method-assign]
    return client


def _three_urls(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/images/generations"):
        return httpx.Response(200, json={"created": 1, "data": [
            {"url": f"https://api.test/files/{name}.png"} for name in ("a", "b", "c")]})
    if request.url.path == "/files/b.png":
        return httpx.Response(404, text="gone")
    return httpx.Response(200, content=PNG)


@pytest.mark.parametrize("streaming", [False, True])
async def test_n_images_in_one_answer_keep_those_that_arrived(streaming: bool) -> None:
    """One of three URLs answers 404: generate() raises with the other two; stream() yields them."""
    client = _url_client(_three_urls)
    body = {"model": "dall-e-2", "prompt": "a fox", "n": 3, "size": "256x256"}
    yielded: list[Any] = []
    with pytest.raises(iw.ImageExpiredError) as info:  # image 1's error, holding 0 and 2
        if streaming:
            async for event in client.stream(**body):
                yielded.append(event)
        else:
            await client.generate(**body)
    error = info.value
    assert [image.image_index for image in error.images] == [0, 2]
    assert all(image.data == PNG for image in error.images)
    assert list(error.failures) == [1] and error.failures[1] is error
    assert "2 of 3 images arrived" in str(error)
    if streaming:
        assert [image.image_index for image in yielded] == [0, 2]
    await client.aclose()


# -- 1. retries within the total deadline ------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_retry_after_past_the_total_deadline_is_not_waited_for(hostile: Hostile,
                                                                       streaming: bool) -> None:
    answers = iter([(429, {"Retry-After": "30"}, [b'{"error": {"message": "slow down"}}'])])
    hostile.answer = lambda path, headers: next(answers, (200, SSE, [PARTIAL, COMPLETED]) if streaming
                                                else (200, {}, [SUCCESS]))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with iw.ImagesClient(api_key="sk-test-retry", base_url=hostile.url, max_retries=2,
                               timeout=Timeouts(connect=10, read=10, total=10)) as client:
        client._sleep = sleep  # type: ignore[assignment]
        with pytest.raises(iw.RateLimitError) as info:
            if streaming:
                async for _ in client.stream(model="gpt-image-2", prompt="a fox", stream=True):
                    pass
            else:
                await client.generate(model="gpt-image-2", prompt="a fox")
    assert waits == [] and len(_generations(hostile)) == 1  # not waited, not sent again
    message = str(info.value)
    assert "the server asked to wait 30 s" in message
    assert "left of the 10 s total timeout" in message


async def test_a_retry_within_the_deadline_still_happens(hostile: Hostile) -> None:
    answers = iter([(429, {"Retry-After-Ms": "50"}, [b"{}"])])
    hostile.answer = lambda path, headers: next(answers, (200, {}, [SUCCESS]))
    async with iw.ImagesClient(api_key="sk-test-retry", base_url=hostile.url, max_retries=2,
                               timeout=Timeouts(connect=120, read=120, total=120)) as client:
        result = await client.generate(model="gpt-image-2", prompt="a fox")
    assert len(result.images) == 1 and len(_generations(hostile)) == 2


# -- 1. the total deadline on streams and downloads ----------------------------------------------


async def test_a_stalled_stream_fails_at_the_total_deadline_keeping_its_partial(
        hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (200, SSE, hostile.stall(PARTIAL))
    events: list[Any] = []
    async with iw.ImagesClient(api_key="sk-test-stall", base_url=hostile.url, max_retries=0,
                               timeout=Timeouts(connect=5, read=600, total=5)) as client:
        started = time.monotonic()

        async def drain() -> None:
            async for event in client.stream(model="gpt-image-2", prompt="a fox", stream=True,
                                             partial_images=2):
                events.append(event)
        with pytest.raises(iw.APITimeoutError) as info:
            await asyncio.wait_for(drain(), 120)  # stuck, not slow
        elapsed = time.monotonic() - started
    # The 5 s deadline (a thousand times what the partial needs), not the read timeout.
    assert elapsed > 4.5 and "5 s total timeout" in str(info.value), (elapsed, str(info.value))
    assert isinstance(info.value.last_partial, PartialImage)
    assert [type(event) for event in events] == [PartialImage]


async def test_a_stalled_stream_shows_its_partial_on_the_tile(hostile: Hostile, tmp_path: Any) -> None:
    hostile.answer = lambda path, headers: (200, SSE, hostile.stall(PARTIAL))
    async with iw.ImagesClient(api_key="sk-test-stall", base_url=hostile.url, max_retries=0,
                               timeout=Timeouts(connect=5, read=600, total=5)) as client:
        tile = iw.ImageTile(iw.ImageParams(model="gpt-image-2", prompt="a fox"))
        await asyncio.wait_for(tile.run(client, {"model": "gpt-image-2", "prompt": "a fox",
                                                 "stream": True, "partial_images": 2}), 120)
    assert tile.status == "failed" and isinstance(tile.error, iw.APITimeoutError)
    assert tile.last_partial is not None and tile.thumbnail  # the partial stays shown
    tile.close()


async def test_a_stalled_image_url_in_a_stream_fails_at_the_total_deadline(hostile: Hostile) -> None:
    """A server that ignores stream=true and answers with a URL whose download stalls."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        if path.endswith("/images/generations"):
            return 200, {}, [json.dumps({"created": 1, "data": [
                {"url": f"{hostile.origin}/files/a.png"}]}).encode()]
        return 200, {"Content-Type": "image/png"}, hostile.stall()
    hostile.answer = answer
    async with iw.ImagesClient(api_key="sk-test-stall", base_url=hostile.url, max_retries=0,
                               timeout=Timeouts(connect=5, read=600, total=5)) as client:
        async def drain() -> None:
            async for _ in client.stream(model="gpt-image-2", prompt="a fox", stream=True):
                pass
        with pytest.raises(iw.APITimeoutError, match="5 s total timeout"):  # not the read timeout
            await asyncio.wait_for(drain(), 120)  # stuck, not slow


# -- 2. image URLs: only where the user chose ---------------------------------------------------


async def test_an_image_url_to_another_origin_on_loopback_is_not_fetched(hostile: Hostile,
                                                                         other: Hostile) -> None:
    hostile.answer = lambda path, headers: (200, {}, [json.dumps({"created": 1, "data": [
        {"url": f"{other.origin}/admin/secret.png"}]}).encode()])
    other.answer = lambda path, headers: (200, {"Content-Type": "image/png"}, [PNG])
    async with iw.ImagesClient(api_key="sk-test-url", base_url=hostile.url, max_retries=0,
                               allow_retired=True) as client:
        with pytest.raises(iw.ImagesError) as info:
            await client.generate(model="dall-e-3", prompt="a fox")
    assert other.seen == []  # no request reached the other place
    message = str(info.value)
    assert "127.0.0.1" in message and "not fetch" in message and "b64_json" in message


@pytest.mark.parametrize(("url", "host", "why"), [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "https"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
    ("https://10.0.0.5/a.png", "10.0.0.5", "private"),
    ("https://[::1]/a.png", "::1", "loopback"),
    ("https://[::ffff:127.0.0.1]/a.png", "::ffff:127.0.0.1", "loopback"),
    ("https://224.0.0.1/a.png", "224.0.0.1", "multicast"),
    ("https://0.0.0.0/a.png", "0.0.0.0", "unspecified"),
    ("https://user:pa55word-secret@192.168.1.1/a.png", "192.168.1.1", "private"),
    ("https://internal.example/a.png", "internal.example", "private"),  # resolves to 10.1.2.3
    ("https://nowhere.example/a.png", "nowhere.example", "does not resolve"),  # httpx could resolve again
    ("file:///etc/passwd", "file:", "https"),
    ("http://files.example/a.png", "files.example", "https"),
])
async def test_an_image_url_to_a_place_the_user_did_not_choose_is_refused(url: str, host: str,
                                                                          why: str) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path.endswith("/images/generations"):
            return httpx.Response(200, json={"created": 1, "data": [{"url": url}]})
        return httpx.Response(200, content=PNG)

    client = _url_client(handler, resolved={"internal.example": ["10.1.2.3"],
                                            "files.example": ["93.184.216.34"]})
    with pytest.raises(iw.ImagesError) as info:
        await client.generate(model="dall-e-3", prompt="a fox")
    await client.aclose()
    assert len(asked) == 1  # the generation only: the URL was never asked for
    message = str(info.value)
    assert host in message and why in message and "not fetch" in message
    assert "pa55word" not in message


@pytest.mark.parametrize(("base_url", "url", "resolved"), [
    ("https://api.test/v1", "https://api.test/files/a.png", {}),  # same origin
    ("http://api.test:8080/v1", "http://api.test:8080/files/a.png", {}),  # same origin, http
    ("https://api.test/v1", "https://files.example/a.png", {"files.example": ["93.184.216.34"]}),
])
async def test_image_urls_from_the_same_origin_or_public_https_are_fetched(
        base_url: str, url: str, resolved: dict[str, list[str]]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/images/generations"):
            return httpx.Response(200, json={"created": 1, "data": [{"url": url}]})
        return httpx.Response(200, content=PNG)

    client = _url_client(handler, base_url=base_url, resolved=resolved)
    result = await client.generate(model="dall-e-3", prompt="a fox")
    await client.aclose()
    assert result.images[0].data == PNG and result.images[0].url == url


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_a_redirect_from_an_image_url_is_an_error_not_the_image(status: int) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path.endswith("/images/generations"):
            return httpx.Response(200, json={"created": 1, "data": [
                {"url": "https://api.test/files/a.png"}]})
        if request.url.host == "api.test":
            return httpx.Response(status, content=PNG,
                                  headers={"Location": "http://169.254.169.254/latest/"})
        return httpx.Response(200, content=PNG)

    # An http_client that follows redirects must not follow this one either.
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    client = iw.ImagesClient(api_key="sk-test-urls", base_url="https://api.test/v1",
                             http_client=http, max_retries=0, allow_retired=True)
    with pytest.raises(iw.APIError) as info:
        await client.generate(model="dall-e-3", prompt="a fox")
    await http.aclose()
    assert len(asked) == 2  # the generation and the URL; never the redirect's target
    message = str(info.value)
    assert "redirect" in message and "169.254.169.254" in message and "not follow" in message


# -- 3. a key echoed in the revised prompt -------------------------------------------------------


async def test_a_key_echoed_in_the_revised_prompt_is_redacted(hostile: Hostile, tmp_path: Any) -> None:
    key = "sk-test-" + secrets.token_hex(8)

    def answer(path: str, headers: httpx.Headers) -> Reply:
        echoed = f"A fox. Sent with {headers.get('authorization')} (key {key})"
        return 200, {}, [json.dumps({"created": 1, "data": [
            {"b64_json": B64, "revised_prompt": echoed}]}).encode()]
    hostile.answer = answer
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0,
                               allow_retired=True) as client:
        result = await client.generate(model="dall-e-3", prompt="a fox")
        (image,) = result.images
        assert image.revised_prompt is not None and key not in image.revised_prompt
        assert image.revised_prompt.startswith("A fox. Sent with Bearer ")
        assert REDACTED in image.revised_prompt
        streamed = [event async for event in client.stream(model="dall-e-3", prompt="a fox")]
        assert key not in str(streamed[0].revised_prompt)
        tile = iw.ImageTile(iw.ImageParams(model="dall-e-3", prompt="a fox"))
        await tile.run(client, {"model": "dall-e-3", "prompt": "a fox"})
        assert tile.status == "done"
        assert key not in tile.caption and key not in json.dumps(tile.record(), default=str)
        tile.close()
