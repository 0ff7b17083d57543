"""Hostile servers on 127.0.0.1 that echo the key: it shows up in no error, log, repr or tile.

Hand-written servers, not the emulator, so a bug shared by client and emulator
cannot hide. Every key is ``sk-test-`` and random hex, so a leak is unmistakable.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api.redact import REDACTED

from hostile import B64, SUCCESS, Answer, Hostile, Reply


@pytest.fixture
def key() -> str:
    return "sk-test-" + secrets.token_hex(8)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _echoing_key(key: str, header: bool = True) -> Answer:
    """A server that answers 401 quoting the Authorization header in its error body, and
    the key in its request id (``header``)."""
    def answer(path: str, headers: httpx.Headers) -> Reply:
        body = {"error": {"message": f"bad key {headers.get('Authorization')}; you sent {key}",
                          "type": f"invalid_request_error {key}", "code": key, "param": key}}
        return 401, {"x-request-id": f"req_{key}"} if header else {}, json.dumps(body).encode()
    return answer


def _texts(value: Any, depth: int = 0, seen: set[int] | None = None) -> Iterator[str]:
    """Every text reachable from ``value``: exception chains, args, attributes, httpx
    requests' URLs and headers, dataclass fields, containers."""
    seen = set() if seen is None else seen
    if depth > 8 or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, (str, bytes)):
        yield value if isinstance(value, str) else value.decode("latin-1")
        return
    yield repr(value)
    if isinstance(value, httpx.Request):
        yield str(value.url)
        yield from (f"{name}: {text}" for name, text in value.headers.multi_items())
    if isinstance(value, httpx.Response):
        yield from _texts(value.request, depth + 1, seen)
        yield from (f"{name}: {text}" for name, text in value.headers.multi_items())
    if isinstance(value, BaseException):
        yield str(value)
        yield from _texts(value.args, depth + 1, seen)
        yield from _texts(value.__cause__, depth + 1, seen)
        yield from _texts(value.__context__, depth + 1, seen)
        if isinstance(value, httpx.RequestError):  # .request raises when unset
            with contextlib.suppress(RuntimeError):
                yield from _texts(value.request, depth + 1, seen)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _texts(getattr(value, item.name), depth + 1, seen)
    if isinstance(value, dict):
        for item in value.items():
            yield from _texts(item, depth + 1, seen)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _texts(item, depth + 1, seen)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        yield from _texts(vars(value), depth + 1, seen)


def _assert_hidden(value: Any, *hidden: str) -> None:
    for text in _texts(value):
        for secret in hidden:
            assert secret not in text, f"{secret!r} leaked in {text[:300]!r}"


# -- the key, when a server echoes it ----------------------------------------------------

async def test_error_body_and_request_id_echoing_the_key_are_redacted(hostile: Hostile,
                                                                       key: str) -> None:
    hostile.answer = _echoing_key(key)
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.AuthenticationError) as caught:
            await client.generate(prompt="a cat", model="gpt-image-2")
    assert hostile.seen[0].headers["Authorization"] == f"Bearer {key}"  # it was sent, and echoed
    error = caught.value
    assert error.status == 401 and "bad key Bearer" in error.message and REDACTED in str(error)
    assert error.request_id == f"req_{REDACTED}"
    _assert_hidden(error, key)


async def test_an_error_event_echoing_the_key_is_redacted(hostile: Hostile, key: str) -> None:
    event = json.dumps({"type": "error", "error": {"message": f"no: {key}", "code": key}})
    hostile.answer = lambda path, headers: (
        200, {"Content-Type": "text/event-stream", "x-request-id": key}, f"data: {event}\n\n".encode())
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.APIError) as caught:
            async for _ in client.stream(prompt="a cat", model="gpt-image-2", stream=True):
                pass
    assert "no: " in str(caught.value)
    _assert_hidden(caught.value, key)


async def test_a_request_id_holding_the_key_is_redacted_on_success(hostile: Hostile,
                                                                   key: str) -> None:
    hostile.answer = lambda path, headers: (200, {"x-request-id": key}, SUCCESS)
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        generation = await client.generate(prompt="a cat", model="gpt-image-2")
    assert generation.request_id == generation.images[0].request_id == REDACTED
    _assert_hidden(generation, key)


def test_base_url_userinfo_is_refused_redacted(closed_port: int, key: str) -> None:
    """httpx would send it as Basic auth in place of the key: refused, the password unshown
    (the refusal's other cases: test_hostile_servers.py)."""
    password = "secret-" + secrets.token_hex(8)
    url = f"http://ann:{password}@127.0.0.1:{closed_port}/v1"
    with pytest.raises(ValueError, match="base_url") as refused:
        iw.ImagesClient(api_key=key, base_url=url, max_retries=0)
    assert f"127.0.0.1:{closed_port}" in str(refused.value)
    _assert_hidden(refused.value, key, password)


async def test_a_given_http_client_keeps_its_own_auth(hostile: Hostile, key: str) -> None:
    async with httpx.AsyncClient(auth=httpx.BasicAuth("ann", "pw-word")) as http, \
            iw.ImagesClient(api_key=key, base_url=hostile.url, http_client=http) as client:
        await client.generate(prompt="a cat", model="gpt-image-2")
    assert hostile.seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"ann:pw-word").decode()


async def test_no_httpx_request_with_the_key_is_reachable_from_an_error(
        hostile: Hostile, closed_port: int, key: str) -> None:
    """httpx errors hold their request, and its headers the key: none is in any chain."""
    async with iw.ImagesClient(api_key=key, base_url=f"http://127.0.0.1:{closed_port}/v1",
                               max_retries=0) as client:
        with pytest.raises(iw.APIConnectionError) as refused:
            await client.generate(prompt="a cat", model="gpt-image-2")
    _assert_hidden(refused.value, key)

    # A body cut short mid-stream: httpx raises RemoteProtocolError inside our stream.
    event = json.dumps({"type": "image_generation.partial_image", "partial_image_index": 0,
                        "b64_json": B64})
    chunk = f"data: {event}\n\n".encode()
    hostile.answer = lambda path, headers: (
        200, {"Content-Type": "text/event-stream", "Content-Length": str(len(chunk) + 999)}, chunk)
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.StreamIncompleteError) as broke:
            async for _ in client.stream(prompt="a cat", model="gpt-image-2", stream=True):
                pass
    _assert_hidden(broke.value, key)


async def test_debug_logs_hold_no_secret(hostile: Hostile, closed_port: int, key: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    """Also a key the server echoes in a response header: httpcore logs the response headers
    it received, verbatim, at DEBUG, before the client sees them (the client's log filter
    hides its secrets there)."""
    for name in ("imagewidgets", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        await client.generate(prompt="a cat", model="gpt-image-2")
        hostile.answer = _echoing_key(key)  # in the body and in x-request-id
        with pytest.raises(iw.AuthenticationError):
            await client.generate(prompt="a cat", model="gpt-image-2")
    async with iw.ImagesClient(api_key=key, base_url=f"http://127.0.0.1:{closed_port}/v1",
                               max_retries=1) as client:
        client._sleep = lambda seconds: _no_wait()
        with pytest.raises(iw.APIConnectionError):
            await client.generate(prompt="a cat", model="gpt-image-2")
    messages = [record.getMessage() for record in caplog.records]
    assert any("httpcore" in record.name for record in caplog.records)  # it did log
    assert any(f"127.0.0.1:{closed_port}" in message for message in messages)
    for message in messages:
        assert key not in message, message


async def _no_wait() -> None:
    pass


async def test_a_failed_tile_shows_no_key(hostile: Hostile, key: str, tmp_path: Any) -> None:
    """The tile's caption (widget state, so a saved notebook) holds the redacted message."""
    hostile.answer = _echoing_key(key)
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=0) as client:
        panel = iw.ImagePanel(client=client, store=tmp_path,
                              params=iw.ImageParams(model="gpt-image-2", prompt="a cat"))
        await panel.generate()
        (tile,) = panel.tiles
        assert tile.status == "failed"
        states = [json.dumps(widget.get_state(), default=repr) for widget in _widgets(panel)]
        assert any(REDACTED in state for state in states)
        for state in states:
            assert key not in state
        panel.close()


def _widgets(root: Any) -> Iterator[Any]:
    import ipywidgets

    yield root
    for child in getattr(root, "children", ()):
        if isinstance(child, ipywidgets.Widget):
            yield from _widgets(child)


# -- max_concurrency ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "2", None])
def test_max_concurrency_that_would_hang_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match=r"max_concurrency") as caught:
        iw.ImagesClient(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_concurrency=value)
    assert repr(value) in str(caught.value) and "whole number of at least 1" in str(caught.value)


async def test_max_concurrency_one_is_accepted(hostile: Hostile) -> None:
    async with iw.ImagesClient(api_key="sk-test", base_url=hostile.url, max_concurrency=1) as client:
        assert (await client.generate(prompt="a cat", model="gpt-image-2")).images


# -- redirects ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_explained_not_followed(hostile: Hostile, key: str, status: int) -> None:
    location = f"http://ann:pw-{key[-8:]}@elsewhere.example:8443/v1/images/generations"
    hostile.answer = lambda path, headers: (status, {"Location": location}, b"")
    async with iw.ImagesClient(api_key=key, base_url=hostile.url, max_retries=2) as client:
        with pytest.raises(iw.APIError) as caught:
            await client.generate(prompt="a cat", model="gpt-image-2")
    text = str(caught.value)
    assert caught.value.status == status and len(hostile.seen) == 1  # neither followed nor retried
    assert f"{status}" in text and "redirect" in text and "elsewhere.example" in text
    assert "base_url" in text and "JSON" not in text
    _assert_hidden(caught.value, key, key[-8:])


async def test_a_redirect_without_location_is_explained(hostile: Hostile) -> None:
    hostile.answer = lambda path, headers: (307, {}, b"")
    async with iw.ImagesClient(api_key="sk-test", base_url=hostile.url, max_retries=0) as client:
        with pytest.raises(iw.APIError, match=r"307 .*redirect.*no Location"):
            await client.list_models()
