"""Where requests go: one decision from the key, base_url and environment; an emulator
started anywhere is recognised without flags; the API never receives a retired model."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.api import default_client, routing
from imagewidgets.api.routing import DEFAULT_BASE_URL, EMULATOR_HEADER, Route, route
from imagewidgets.errors import ModelRetiredError

from hostile import B64
from waiting import STUCK, until_sync

BUILT_IN = "http://127.0.0.1:9/v1"  # stands for the shared emulator: never started here


@pytest.fixture
def built_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "emulator_url", lambda: BUILT_IN)


@pytest.mark.parametrize(
    ("key", "url", "environ", "expected"),
    [
        (None, None, {}, Route(BUILT_IN, "emulator", True, fallback=True)),
        (None, None, {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}, Route(BUILT_IN, "emulator", True, True)),
        (None, None, {"OPENAI_API_KEY": "sk-env"}, Route(DEFAULT_BASE_URL, "sk-env", False)),
        ("sk-arg", None, {"OPENAI_API_KEY": "sk-env"}, Route(DEFAULT_BASE_URL, "sk-arg", False)),
        ("", None, {}, Route(DEFAULT_BASE_URL, "", False)),  # given empty: the API refuses it
        (None, "http://host:8000/v1/", {}, Route("http://host:8000/v1", None, None)),
        ("k", None, {"OPENAI_BASE_URL": "http://host:8000/v1"}, Route("http://host:8000/v1", "k", None)),
        ("k", "http://other/v1", {"OPENAI_BASE_URL": "http://host:8000/v1"},
         Route("http://other/v1", "k", None)),
        ("k", "https://api.openai.com/v1/", {}, Route(DEFAULT_BASE_URL, "k", False)),
    ],
)
def test_route_decides_from_key_base_url_and_environment(
        built_in: None, key: str | None, url: str | None, environ: dict[str, str],
        expected: Route) -> None:
    # None for emulator: another server, asked what it is once it matters.
    assert route(key, url, environ) == expected


def test_a_route_never_shows_the_key_or_the_password() -> None:
    with pytest.raises(ValueError, match="base_url 'http://\\[redacted\\]@host:8000/v1'") as refused:
        route("sk-secret-key-123", "http://user:pa55word@host:8000/v1", {})
    assert "pa55word" not in str(refused.value) and "sk-secret-key-123" not in str(refused.value)
    shown = repr(Route("http://user:pa55word@host:8000/v1", "sk-secret-key-123", emulator=None))
    assert "sk-secret-key-123" not in shown and "pa55word" not in shown and "host:8000" in shown


def test_default_client_uses_the_api_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    client = default_client()
    assert not client.is_emulator and client.base_url == "https://api.openai.com/v1"
    assert client._auth["Authorization"] == "Bearer sk-from-env"


async def test_the_emulator_of_this_process_is_known_without_asking(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0")
    url = routing.emulator_url()
    async with iw.ImagesClient(api_key="k", base_url=url) as client:
        assert client.is_emulator  # before any request


# -- an emulator in another process ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def other_process() -> Iterator[str]:
    """``python -m imagewidgets serve --port N`` in another process; its base URL once it listens."""
    port = _free_port()
    root = Path(iw.__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "imagewidgets", "serve", "--port", str(port), "--latency", "0", "--quiet"],
        env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening() -> bool:  # the server accepts (or the process died: that fails at once)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=STUCK).close()
        except OSError:
            return False
        return True

    try:
        until_sync(listening, "the emulator listening")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=STUCK)


async def test_an_emulator_in_another_process_serves_dall_e_3_with_no_flag(other_process: str) -> None:
    async with iw.ImagesClient(api_key="anything", base_url=other_process) as client:
        assert not client.is_emulator  # not known yet: nothing is asked in __init__
        client.check_model({"model": "dall-e-3"})  # the quick check sends nothing and passes
        generation = await client.generate(prompt="A lighthouse", model="dall-e-3")
        assert client.is_emulator  # it said so when asked
        (image,) = generation.images
        assert (image.format, image.width, image.height) == ("png", 1024, 1024)


async def test_a_workshop_notebook_pointed_by_environment_gets_every_seed_model(
        other_process: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", other_process)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with default_client() as client:
        for model in ("dall-e-2", "gpt-image-1"):
            assert (await client.generate(prompt="A fox", model=model, size="1024x1024")).images


# -- a server that is not the emulator -------------------------------------------------------


class _Recorder:
    """An httpx transport answering as a plain OpenAI-compatible server; it records requests."""

    def __init__(self, emulator: bool = False) -> None:
        self.requests: list[httpx.Request] = []
        self._headers = {EMULATOR_HEADER: "0.1.0"} if emulator else {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "data": []}, headers=self._headers)
        return httpx.Response(200, json={"created": 1, "data": [{"b64_json": B64}]},
                              headers=self._headers)

    def seen(self) -> list[str]:
        return [f"{request.method} {request.url.path}" for request in self.requests]


def _client(recorder: _Recorder) -> iw.ImagesClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return iw.ImagesClient(api_key="sk-plain-secret-1234", base_url="http://compatible.test/v1",
                           http_client=http, max_retries=0)


async def test_a_server_that_is_not_the_emulator_never_receives_a_retired_model() -> None:
    recorder = _Recorder()
    client = _client(recorder)
    for _ in range(2):
        with pytest.raises(ModelRetiredError) as refused:
            await client.generate(prompt="A cat", model="dall-e-3")
        message = str(refused.value)
        assert "allow_retired=True" in message and "http://compatible.test/v1" in message
        assert "sk-plain-secret-1234" not in message and "sk-plain-secret-1234" not in repr(client)
    assert recorder.seen() == ["GET /v1/models"]  # asked once; no generation request at all
    assert not client.is_emulator
    client.allow_retired = True  # for servers that still serve them
    assert (await client.generate(prompt="A cat", model="dall-e-3")).images
    assert recorder.seen()[-1] == "POST /v1/images/generations"


async def test_live_models_cost_no_extra_request_and_their_answers_say_what_the_server_is() -> None:
    plain, emulator = _Recorder(), _Recorder(emulator=True)
    for recorder in (plain, emulator):
        client = _client(recorder)
        await client.generate(prompt="A cat", model="gpt-image-2", quality="low")
        if recorder is emulator:
            assert client.is_emulator
            await client.generate(prompt="A cat", model="dall-e-3")
        else:
            with pytest.raises(ModelRetiredError):
                await client.generate(prompt="A cat", model="dall-e-3")
    assert plain.seen() == ["POST /v1/images/generations"]
    assert emulator.seen() == ["POST /v1/images/generations"] * 2


async def test_concurrent_first_requests_ask_the_server_once() -> None:
    recorder = _Recorder(emulator=True)
    client = _client(recorder)
    await asyncio.gather(*(client.generate(prompt=f"p{i}", model="dall-e-3") for i in range(4)))
    assert recorder.seen().count("GET /v1/models") == 1
    assert recorder.seen().count("POST /v1/images/generations") == 4


async def test_the_api_itself_is_never_asked() -> None:
    recorder = _Recorder(emulator=True)  # even if it claimed to be
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = iw.ImagesClient(api_key="sk-x", base_url=DEFAULT_BASE_URL, http_client=http)
    with pytest.raises(ModelRetiredError):
        await client.generate(prompt="A cat", model="dall-e-3")
    as_the_api = iw.ImagesClient(api_key="sk-x", base_url="http://compatible.test/v1",
                                 http_client=http, is_emulator=False)  # told: never asked
    with pytest.raises(ModelRetiredError):
        await as_the_api.generate(prompt="A cat", model="dall-e-3")
    assert recorder.requests == []


async def test_a_server_that_cannot_be_reached_is_a_connection_error() -> None:
    client = iw.ImagesClient(api_key="sk-x", base_url=f"http://127.0.0.1:{_free_port()}/v1")
    with pytest.raises(iw.APIConnectionError):
        await client.generate(prompt="A cat", model="dall-e-3")
    assert not client.is_emulator
    await client.aclose()
