"""Hostile servers, round 2: model lists, image hosts, DNS rebinding, base URLs, streams.

Hand-written servers on 127.0.0.1 (``hostile.py``), not the emulator, so a bug
shared by client and emulator cannot hide; a mock transport only where the
wire cannot be made here (an image host at a public address).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import socket
import threading
import tracemalloc

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api.model_list import MAX_MODELS
from imagewidgets.api.redact import REDACTED
from imagewidgets.api.sse import EventStream
from imagewidgets.api.transport import MB, Limits

import mock_api
from hostile import PNG, Hostile, Reply
from mock_api import PARTIAL

PUBLIC = "93.184.216.34"
"""A public address: what an image host's name resolves to, for the SSRF check."""


@pytest.fixture
def key() -> str:
    return "sk-test-" + secrets.token_hex(8)


# -- image URLs on another host: nothing of the user's client, the address checked ----------


class _Internet(httpx.AsyncBaseTransport):
    """The internet, for a test: every connection lands on ``hostile`` (plain HTTP on
    127.0.0.1) whatever address it was for; ``addresses`` notes each address asked for."""

    def __init__(self, hostile: Hostile) -> None:
        self.addresses: list[str] = []
        self._port = hostile.port
        self._wire = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.addresses.append(request.url.host)
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await self._wire.handle_async_request(request)

    async def aclose(self) -> None:
        await self._wire.aclose()


def _image_host(hostile: Hostile, url: str) -> None:
    """``hostile`` answers a generation with ``url``, and any other path with ``PNG``."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        if path.endswith("/images/generations"):
            return 200, {}, json.dumps({"created": 1, "data": [{"url": url}]}).encode()
        return 200, {"Content-Type": "image/png"}, PNG
    hostile.answer = answer


async def test_an_image_host_gets_nothing_of_the_users_http_client(hostile: Hostile, key: str) -> None:
    """The user's client carries auth, a header and a cookie for the API's server: none of
    them reaches a third-party image host (nor the key)."""
    _image_host(hostile, "https://images.example/a.png")
    internet = _Internet(hostile)
    async with httpx.AsyncClient(transport=internet, auth=httpx.BasicAuth("ann", "gateway-pw"),
                                 headers={"X-Gateway-Token": "tok-" + key},
                                 cookies={"session": "cookie-" + key}) as http, \
            iw.ImagesClient(api_key=key, base_url="https://api.example/v1", http_client=http,
                            max_retries=0, allow_retired=True) as client:
        async def resolve(host: str, port: int) -> list[str]:
            return [PUBLIC]
        client._resolve = resolve  # type: ignore[method-assign]
        result = await client.generate(model="dall-e-3", prompt="a fox")
    assert result.images[0].data == PNG
    to_api, to_images = hostile.seen
    assert "tok-" + key == to_api.headers["x-gateway-token"]  # the client does carry them
    assert "cookie-" + key in to_api.headers["cookie"]
    assert to_images.path == "/a.png" and to_images.headers["host"] == "images.example"
    for name in ("authorization", "x-gateway-token", "cookie"):
        assert name not in to_images.headers, name
    assert key not in str(to_images.headers)


async def test_dns_rebinding_connects_to_the_address_that_was_checked(hostile: Hostile) -> None:
    """The name resolves to a public address for the check and to 127.0.0.1 after: the
    download goes to the public one, and the name is not resolved a second time."""
    _image_host(hostile, "https://rebind.example/a.png")
    answers = [[PUBLIC], ["127.0.0.1"]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers.pop(0)

    internet = _Internet(hostile)
    async with httpx.AsyncClient(transport=internet) as http, \
            iw.ImagesClient(api_key="sk-test-rebind", base_url="https://api.example/v1",
                            http_client=http, max_retries=0, allow_retired=True) as client:
        client._resolve = rebinding  # type: ignore[method-assign]
        result = await client.generate(model="dall-e-3", prompt="a fox")
    assert result.images[0].data == PNG
    assert asked == ["rebind.example"]
    assert internet.addresses == ["api.example", PUBLIC]  # never 127.0.0.1, never the name
    assert hostile.seen[1].headers["host"] == "rebind.example"


async def test_a_name_that_does_not_resolve_for_the_check_is_not_fetched(hostile: Hostile) -> None:
    """No answer for the check must not leave the connection to resolve it (to 127.0.0.1)."""
    _image_host(hostile, "https://rebind.example/a.png")
    internet = _Internet(hostile)
    async with httpx.AsyncClient(transport=internet) as http, \
            iw.ImagesClient(api_key="sk-test-rebind", base_url="https://api.example/v1",
                            http_client=http, max_retries=0, allow_retired=True) as client:
        async def nothing(host: str, port: int) -> list[str]:
            return []
        client._resolve = nothing  # type: ignore[method-assign]
        with pytest.raises(iw.APIError, match=r"rebind\.example, whose name does not resolve here"):
            await client.generate(model="dall-e-3", prompt="a fox")
    assert internet.addresses == ["api.example"]


# -- base_url with user:password@ ---------------------------------------------------------------


@pytest.mark.parametrize("userinfo", ["ann:pw-secret-word", "ann", "ann:"])
def test_a_base_url_with_userinfo_is_refused_saying_what_to_do(userinfo: str, key: str) -> None:
    with pytest.raises(ValueError) as refused:
        iw.ImagesClient(api_key=key, base_url=f"http://{userinfo}@127.0.0.1:9/v1")
    message = str(refused.value)
    assert message.startswith(f"base_url 'http://{REDACTED}@127.0.0.1:9/v1'")
    assert "Basic auth" in message and "http_client" in message
    assert "pw-secret-word" not in message and key not in message


def test_openai_base_url_with_userinfo_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://ann:pw-secret-word@gateway.example/v1")
    with pytest.raises(ValueError, match=r"^OPENAI_BASE_URL 'https://") as refused:
        iw.ImagesClient(api_key="sk-test-env")
    assert "pw-secret-word" not in str(refused.value)


# -- GET /v1/models: redacted and bounded -------------------------------------------------------


def _model_list(hostile: Hostile, models: list[dict[str, object]]) -> None:
    body = json.dumps({"object": "list", "data": models}).encode()
    hostile.answer = lambda path, headers: (200, {}, body)


async def test_a_model_list_echoing_the_key_shows_it_nowhere(hostile: Hostile, key: str) -> None:
    """Not in a ModelInfo's repr, nor in the panel's model note (saved with the notebook)."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        echoed = headers["authorization"]  # "Bearer sk-test-..."
        return 200, {}, json.dumps({"data": [
            {"id": "gpt-image-2"},
            {"id": f"gpt-image-9 {echoed}", "owned_by": echoed, "note": [echoed, {"k": key}]},
        ]}).encode()
    hostile.answer = answer
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        models = await client.list_models()
        panel = iw.ImagePanel(client=client)
        await panel.load_models()
    echoing = models[1]
    assert key not in repr(models) and REDACTED in echoing.id and REDACTED in echoing.owned_by
    assert echoing.extra == {"note": [f"Bearer {REDACTED}", {"k": REDACTED}]}
    assert "gpt-image-9" in panel.model_note.value  # it is named, the key is not
    assert key not in json.dumps(panel.get_state(), default=str)
    assert key not in panel.model_note.value
    panel.close()


async def test_fifty_thousand_listed_models_make_a_short_note(hostile: Hostile) -> None:
    _model_list(hostile, [{"id": "gpt-image-2"}]
                + [{"id": f"gpt-image-x{index:05d}", "owned_by": "system"} for index in range(50_000)])
    async with iw.ImagesClient(api_key="sk-test-many", base_url=hostile.url, max_retries=0) as client:
        models = await client.list_models()
        panel = iw.ImagePanel(client=client)
        await panel.load_models()
    assert len(models) == MAX_MODELS
    note = panel.model_note.value
    assert len(note) < 2_000, len(note)  # it was 10,499,996 characters
    assert "gpt-image-x00000" in note and "gpt-image-x49999" not in note
    assert "996 more image models" in note
    panel.close()


async def test_over_long_fields_of_a_model_list_are_dropped_or_cut(hostile: Hostile) -> None:
    """A 200 KB id is dropped (cut, it is no name the server knows); a long owned_by is cut,
    saying so; a large unknown field is dropped."""
    _model_list(hostile, [
        {"id": "gpt-image-2", "owned_by": "o" * 200_000, "tiers": list(range(100_000)),
         "tier": "t" * 200_000},
        {"id": "gpt-image-" + "x" * 200_000}])
    async with iw.ImagesClient(api_key="sk-test-long", base_url=hostile.url, max_retries=0) as client:
        models = await client.list_models()
        panel = iw.ImagePanel(client=client)
        await panel.load_models()
    (model,) = models
    assert model.owned_by == "o" * 127 + "\u2026"
    assert model.extra == {"tier": "t" * 127 + "\u2026"}
    assert len(repr(models)) < 1_000
    assert panel.model_note.value == ""  # it was 400,194 characters
    panel.close()


# -- streams: an oversized event ends the stream, the last partial kept ------------------------


@pytest.mark.parametrize("limit", ["event", "stream"])
async def test_an_oversized_stream_keeps_the_last_partial(hostile: Hostile, limit: str) -> None:
    """Past the limit of one event, or of the whole stream: StreamIncompleteError (as a stream
    that breaks), holding the partial image that did arrive, not an APIError losing it."""
    huge = b'event: image_generation.completed\ndata: {"b64_json": "' + b"A" * (2 * MB)
    hostile.answer = lambda path, headers: (200, {"Content-Type": "text/event-stream"}, [PARTIAL, huge])
    seen = []
    async with iw.ImagesClient(api_key="sk-test-big", base_url=hostile.url, max_retries=0,
                               limits=Limits(**{limit: 1 * MB})) as client:
        with pytest.raises(iw.StreamIncompleteError, match="more than 1 MB") as caught:
            async for event in client.stream(prompt="x", model="gpt-image-2", stream=True):
                seen.append(event)
    assert [type(event) for event in seen] == [iw.PartialImage]
    assert caught.value.last_partial is seen[0] and caught.value.last_partial.data == mock_api.PNG


def test_a_4_mb_partial_event_is_decoded_without_a_second_copy() -> None:
    """The image's base64 is decoded from the event's bytes: no string of it, then a second
    one from json.loads. Peak memory to frame and decode a 4 MB event, arriving in 64 KB
    chunks, was 16.5 MB (4.1 times the event); it is about 8.5 MB now."""
    b64 = base64.b64encode(bytes(range(256)) * (3 * 4096)).decode()  # 4 MB of base64
    raw = ("event: image_generation.partial_image\ndata: " + json.dumps(
        {"type": "image_generation.partial_image", "partial_image_index": 0, "b64_json": b64,
         "size": "1024x1024"}) + "\n\n").encode()
    events = EventStream()
    tracemalloc.start()
    try:
        for start in range(0, len(raw), 64 * 1024):
            events.feed(raw[start:start + 64 * 1024])
        event = events.next()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert event is not None and event.data == base64.b64decode(b64)
    assert event.fields == {"size": "1024x1024"}
    assert peak < 2.5 * len(raw), f"{peak / MB:.1f} MB for a {len(raw) / MB:.1f} MB event"


# -- a cancel leaves no connection open ------------------------------------------------------------


class _Silent:
    """A server on 127.0.0.1 that reads requests and never answers; ``open`` counts the
    connections the client holds open (each until the client closes it)."""

    def __init__(self) -> None:
        self.open = 0
        self.changed = threading.Condition()
        self._held: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed at the end of the test
            while True:
                connection, _ = self._listener.accept()
                with self.changed:
                    self.open += 1
                    self._held.append(connection)
                threading.Thread(target=self._hold, args=(connection,), daemon=True).start()

    def _hold(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):  # closed by close()
            while connection.recv(65536):
                pass
        with self.changed:
            self.open -= 1
            self.changed.notify_all()

    def close(self) -> None:
        """Stop, and end every connection still held (so their threads end)."""
        self._listener.close()
        with self.changed:
            for connection in self._held:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()


async def test_a_cancelled_request_leaves_no_connection_open() -> None:
    """Cancelled at every step of a fresh connection (40 places, by turns of the event loop):
    httpcore left a connection open and unused when the cancel came between its connect and
    its first request (the server held one, and the pool counted it, for ever)."""
    silent = _Silent()
    try:
        async with iw.ImagesClient(api_key="sk-test-cancel", base_url=silent.url,
                                   max_retries=0) as client:
            for turns in range(40):
                task = asyncio.ensure_future(client.generate(prompt="x", model="gpt-image-2"))
                for _ in range(turns):
                    await asyncio.sleep(0)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # Each close reaches the server's thread in its own time: wait for it (120 s: a net).
            with silent.changed:
                closed = silent.changed.wait_for(lambda: silent.open == 0, timeout=120)
            assert closed, f"{silent.open} connections left open"
    finally:
        silent.close()
