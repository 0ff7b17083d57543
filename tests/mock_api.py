"""An ImagesClient on an httpx mock transport, and the answers such tests script: for the wire
cases a real server cannot easily produce."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import httpx2
import openai
from PIL import Image

import imagewidgets as iw


def png(width: int = 8, height: int = 8) -> bytes:
    """A small teal PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = png()
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


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> iw.ImagesClient:
    """A client of https://api.test/v1 whose requests ``handler`` answers; ``close_mock`` it."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("allow_retired", True)  # the wire cases use models the API shut down
    client = iw.ImagesClient(api_key="sk-wire", base_url="https://api.test/v1", http_client=http,
                             **options)
    client._owned_for_test = http  # type: ignore[attr-defined]
    return client


async def close_mock(client: iw.ImagesClient) -> None:
    """Close the mock transport of a :func:`mock_client`."""
    await client._owned_for_test.aclose()  # type: ignore[attr-defined]


def sse_answer(pieces: Iterable[bytes]) -> Callable[[httpx.Request], httpx.Response]:
    """A server answering every request with a stream of these pieces."""
    frozen = list(pieces)
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                          stream=Chunks(frozen))


STREAM = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=1)
"""A streaming request of one image, with one partial image before it."""


async def stream_events(pieces: Iterable[bytes]) -> list[Any]:
    """The events ``client.stream(STREAM)`` gives for a stream of these pieces."""
    client = mock_client(sse_answer(pieces))
    try:
        return [event async for event in client.stream(STREAM)]
    finally:
        await close_mock(client)


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


def ok_answer() -> httpx.Response:
    """A generation of one image."""
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": B64}]})


def error_answer(code: int, headers: dict[str, str] | None = None, error_code: str | None = None
            ) -> httpx.Response:
    """An error answer of status ``code``."""
    return httpx.Response(code, headers=headers or {},
                          json={"error": {"message": f"status {code}", "type": "x", "param": None,
                                          "code": error_code}})


async def run_generate(script: Script, **options: Any) -> tuple[list[float], Any]:
    """One ``generate`` against ``script``: the delays it slept between retries, and its result
    or error."""
    client = mock_client(script, **options)
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    client._sleep = sleep
    try:
        return delays, await client.generate(prompt="x", model="gpt-image-1")
    except iw.ImagesError as error:
        return delays, error
    finally:
        await close_mock(client)


def url_answer(file: httpx.Response,
                seen: list[httpx.Request] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A server answering with an image URL on files.test, which serves ``file``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.headers["host"] == "files.test":  # its address in the URL: see image_urls
            return file
        return httpx.Response(200, json={"created": 1, "data": [{"url": "https://files.test/a.png"}]})

    return handler


def parts(content_type: str, body: bytes) -> list[tuple[str, str | None, str | None, bytes]]:
    """Each part of a multipart body: its field name, file name, Content-Type and bytes."""
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                                       policy=email.policy.HTTP)
    found = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        found.append((str(name), filename, part.get_content_type() if filename else None, payload))
    return found


async def sdk_edit_parts(**arguments: Any) -> list[tuple[str, str | None, str | None, bytes]]:
    """The :func:`parts` the official SDK sends for ``images.edit(**arguments)`` (on a mock)."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"created": 1, "data": [{"b64_json": B64}]})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http, \
            openai.AsyncOpenAI(api_key="sk-wire", base_url="https://api.test/v1", http_client=http) as sdk:
        await sdk.images.edit(**arguments)
    (request,) = seen
    return parts(request.headers["content-type"], request.read())
