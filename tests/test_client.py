"""ImagesClient against the emulator over real sockets, for every model and shape of answer."""

from __future__ import annotations

import asyncio
import base64
import http.server
import io
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from PIL import Image

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.errors import ModelRetiredError
from imagewidgets.models import set_today

SEED_MODELS = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
               "chatgpt-image-latest"]
GPT = [m for m in SEED_MODELS if m.startswith(("gpt", "chatgpt"))] + ["gpt-image-2"]


def _size(image: iw.GeneratedImage) -> tuple[int, int]:
    with Image.open(io.BytesIO(image.data)) as opened:
        assert opened.format.lower() == image.format
        return opened.size


@pytest.mark.parametrize("model", [*SEED_MODELS, "gpt-image-2"])
async def test_generate_every_model(client: iw.ImagesClient, model: str) -> None:
    generation = await client.generate(prompt="A lighthouse at dusk", model=model)
    (image,) = generation.images
    assert _size(image) == (image.width, image.height) == (1024, 1024)
    assert generation.request_id and generation.elapsed > 0 and generation.created > 0
    if model in GPT:
        assert generation.usage is not None and generation.usage.output_tokens == 1056
    else:
        assert generation.usage is None
    if model == "dall-e-3":
        assert image.revised_prompt and image.url  # DALL·E answers with a URL by default
    assert image.params["model"] == model


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3"])
async def test_dall_e_url_and_b64(client: iw.ImagesClient, model: str, response_format: str) -> None:
    size = "512x512" if model == "dall-e-2" else "1024x1792"
    generation = await client.generate(prompt="A cat", model=model, size=size,
                                       response_format=response_format)
    image = generation.images[0]
    assert (image.url is not None) == (response_format == "url")
    assert f"{image.width}x{image.height}" == size and _size(image) == (image.width, image.height)


async def test_n_images_in_one_request_and_fanned_out_streams(client: iw.ImagesClient) -> None:
    plain = await client.generate(prompt="A fox", model="dall-e-2", n=3, size="256x256")
    assert [image.image_index for image in plain.images] == [0, 1, 2]
    assert len({image.data for image in plain.images}) == 3
    params = iw.ImageParams(model="gpt-image-1", prompt="A fox", n=3, stream=True, partial_images=2,
                            quality="low", output_format="webp")
    events = [event async for event in client.stream(params)]
    finals = [event for event in events if isinstance(event, iw.GeneratedImage)]
    partials = [event for event in events if isinstance(event, iw.PartialImage)]
    assert sorted(image.image_index for image in finals) == [0, 1, 2]
    assert len(partials) == 6 and {p.format for p in partials} == {"webp"}
    assert len({image.data for image in finals}) == 3  # each fanned-out request its own picture
    for index in range(3):
        mine = [e.partial_index for e in partials if e.image_index == index]
        assert mine == [0, 1]


@pytest.mark.parametrize("model", GPT)
async def test_streaming_every_gpt_model(client: iw.ImagesClient, model: str) -> None:
    params = iw.ImageParams(model=model, prompt="A lighthouse", stream=True, partial_images=2)
    events = [event async for event in client.stream(params, image_index=4)]
    assert [type(event).__name__ for event in events] == ["PartialImage", "PartialImage",
                                                          "GeneratedImage"]
    assert [event.partial_index for event in events[:2]] == [0, 1]  # type: ignore[union-attr]
    assert {event.image_index for event in events} == {4}
    assert events[-1].usage is not None  # type: ignore[union-attr]


@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3"])
async def test_stream_of_a_model_that_cannot_stream_yields_its_finals(
        client: iw.ImagesClient, model: str) -> None:
    events = [event async for event in client.stream(prompt="A cat", model=model)]
    assert len(events) == 1 and isinstance(events[0], iw.GeneratedImage)


async def test_bad_params_are_never_sent(server: EmulatorServer, client: iw.ImagesClient) -> None:
    before = server.request_count
    with pytest.raises(iw.ParamsError, match="prompt is empty"):
        await client.generate(prompt="", model="gpt-image-1")
    with pytest.raises(iw.ParamsError, match="size '512x512' is not available for gpt-image-1"):
        await client.generate(prompt="x", model="gpt-image-1", size="512x512")
    with pytest.raises(iw.ParamsError, match="4,001 characters"):
        await client.generate(iw.ImageParams(model="dall-e-3", prompt="y" * 4001))
    assert server.request_count == before


async def test_server_errors_become_the_matching_error(server: EmulatorServer,
                                                       client: iw.ImagesClient) -> None:
    with pytest.raises(iw.ContentPolicyError) as refused:
        await client.generate(prompt="a forbidden thing", model="gpt-image-1")
    assert refused.value.code == "moderation_blocked" and "rephrase" in str(refused.value)
    assert isinstance(refused.value, iw.BadRequestError) and refused.value.request_id
    server.inject("insufficient_quota")
    with pytest.raises(iw.InsufficientQuotaError, match="billing"):
        await client.generate(prompt="x", model="gpt-image-1")
    bad = iw.ImagesClient(api_key="sk-wrong-key-for-the-test", base_url=server.url, is_emulator=True,
                          max_retries=0)
    with pytest.raises(iw.AuthenticationError, match="OPENAI_API_KEY") as denied:
        await bad.generate(prompt="x", model="gpt-image-1")
    assert denied.value.status == 401 and denied.value.code == "invalid_api_key"
    await bad.aclose()


@pytest.mark.parametrize(
    ("fault", "error"),
    [("bad_base64", iw.ImageDecodeError), ("not_an_image", iw.ImageDecodeError),
     ("bomb", iw.ImageDecodeError), ("malformed_json", iw.APIError)],
)
async def test_broken_payloads_are_refused_safely(server: EmulatorServer, client: iw.ImagesClient,
                                                  fault: str, error: type[Exception]) -> None:
    server.inject(fault)
    with pytest.raises(error):
        await client.generate(prompt="x", model="gpt-image-1")
    server.inject(fault)
    params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=1)
    with pytest.raises(error):
        _ = [event async for event in client.stream(params)]


async def test_read_timeout_is_wrapped() -> None:
    with serve(port=0) as slow:
        slow.inject("trickle", seconds=600)  # a piece, then silence past any read timeout
        async with iw.ImagesClient(api_key="k", base_url=slow.url, is_emulator=True, max_retries=0,
                                   timeout=iw.api.client.Timeouts(read=0.3)) as client:
            with pytest.raises(iw.APITimeoutError):
                await client.generate(prompt="x", model="gpt-image-1")
            slow.inject("trickle", seconds=600)  # a piece, then silence past any read timeout
            params = iw.ImageParams(model="gpt-image-1", prompt="x", stream=True)
            with pytest.raises(iw.StreamIncompleteError, match="quiet"):
                _ = [event async for event in client.stream(params)]


async def test_connection_refused_is_wrapped_and_retried(api_key: str) -> None:
    client = iw.ImagesClient(api_key=api_key, base_url="http://127.0.0.1:9/v1", max_retries=2)
    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    client._sleep = no_sleep
    with pytest.raises(iw.APIConnectionError) as failed:
        await client.generate(prompt="x", model="gpt-image-2")  # live: not refused before sending
    assert len(delays) == 2 and api_key not in str(failed.value)
    await client.aclose()


async def _drain(client: iw.ImagesClient, params: iw.ImageParams) -> list[Any]:
    return [event async for event in client.stream(params)]


async def test_concurrency_is_capped() -> None:
    with serve(port=0, latency=0.3) as slow:
        async with iw.ImagesClient(api_key="k", base_url=slow.url, is_emulator=True,
                                   max_concurrency=2) as client:
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.gather(*(client.generate(prompt=f"p{i}", model="dall-e-2", size="256x256")
                                   for i in range(4)))
            assert loop.time() - start >= 0.6  # two rounds of two


async def test_the_key_never_shows(server: EmulatorServer, api_key: str,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("imagewidgets", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    client = iw.ImagesClient(api_key=api_key, base_url=server.url, is_emulator=True, max_retries=1)
    client._sleep = _instant
    assert api_key not in repr(client) and "SECRET" not in repr(client) and "***" in repr(client)
    texts = []
    await client.generate(prompt="x", model="gpt-image-1")
    server.inject("status_500", times=2)
    for attempt in (
        client.generate(prompt="x", model="gpt-image-1"),
        client.generate(prompt="a forbidden word", model="gpt-image-1"),
        iw.ImagesClient(api_key=api_key + "x", base_url=server.url, is_emulator=True).generate(prompt="x"),
        iw.ImagesClient(api_key=api_key, base_url="http://127.0.0.1:9/v1", max_retries=0).generate(
            prompt="x"),
    ):
        with pytest.raises(iw.ImagesError) as caught:
            await attempt
        texts.append(f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}")
    await client.aclose()
    assert caplog.records, "DEBUG logging was captured"
    assert api_key not in caplog.text and api_key not in " ".join(texts)
    assert all(api_key not in str(request) for request in server.requests)


async def _instant(_seconds: float) -> None:
    return None


async def test_no_key_and_no_url_uses_the_emulator_and_says_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0")
    with caplog.at_level(logging.WARNING, logger="imagewidgets"):
        client = iw.ImagesClient()
    async with client:
        assert client.is_emulator and client.base_url.startswith("http://127.0.0.1:")
        assert "no OPENAI_API_KEY: using the built-in emulator" in caplog.text
        assert (await client.generate(prompt="x", model="gpt-image-1", quality="low")).images


async def test_an_empty_key_for_the_real_api_is_refused_before_sending(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with iw.ImagesClient(api_key="") as client:
        with pytest.raises(iw.AuthenticationError, match="OPENAI_API_KEY"):
            await client.generate(prompt="x")


# -- parameters are checked once per request ------------------------------------------


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of ``ImageParams.problems``: one entry per call."""
    calls: list[int] = []
    original = iw.ImageParams.problems

    def counting(self: iw.ImageParams) -> list[str]:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(iw.ImageParams, "problems", counting)
    return calls


async def test_parameters_are_checked_once_per_request(client: iw.ImagesClient,
                                                       checks: list[int]) -> None:
    p = iw.ImageParams(model="gpt-image-1", prompt="A fox", quality="low")
    await client.generate(p)
    assert len(checks) == 1
    checks.clear()
    _ = [event async for event in client.stream(p)]  # not streaming: one ordinary request
    assert len(checks) == 0  # nothing changed since: checked already
    p.quality = "medium"
    _ = [event async for event in client.stream(p)]
    assert len(checks) == 1  # changed: checked again
    checks.clear()
    streaming = iw.ImageParams(model="gpt-image-1", prompt="A fox", quality="low", stream=True,
                               partial_images=1)
    _ = [event async for event in client.stream(streaming)]
    assert len(checks) == 1
    checks.clear()
    body = streaming.to_request()
    assert len(checks) == 0
    streaming.prompt = "A fox at dusk"
    body = streaming.to_request()
    assert len(checks) == 1
    events = [event async for event in client.stream(body)]
    assert len(checks) == 1 and len(events) == 2  # a checked body is sent as it is
    await client.generate(body)
    assert len(checks) == 1
    await client.generate({"model": "gpt-image-1", "prompt": "A fox"})  # a plain mapping: checked
    assert len(checks) == 2


async def test_a_checked_body_with_changes_is_checked_again(server: EmulatorServer,
                                                            client: iw.ImagesClient) -> None:
    body = iw.ImageParams(model="gpt-image-1", prompt="A fox").to_request()
    before = server.request_count
    with pytest.raises(iw.ParamsError, match="size '512x512'"):
        await client.generate(body, size="512x512")
    assert server.request_count == before
    assert (await client.generate(body, quality="low")).images[0].params["quality"] == "low"
    assert body["quality"] == "auto"  # the caller's body is never changed


# -- today's API: the models a server offers, retired models, GIF and SVG ----------------------


async def test_list_models_from_the_emulator(client: iw.ImagesClient) -> None:
    models = await client.list_models()
    assert [model.id for model in models] == list(iw.MODELS)
    by_id = {model.id: model for model in models}
    assert by_id["dall-e-3"].shutdown_date == date(2026, 5, 12) and by_id["dall-e-3"].retired()
    assert by_id["gpt-image-1.5"].shutdown_date == date(2026, 12, 1)
    assert not by_id["gpt-image-1.5"].retired() and by_id["gpt-image-1.5"].retired(date(2026, 12, 2))
    flare = by_id["gpt-image-2.6-flare"]
    assert (flare.owned_by, flare.shutdown_date, flare.extra, flare.known) == ("system", None, {}, True)
    assert flare.created == int(datetime(2026, 11, 4, tzinfo=UTC).timestamp())


async def test_list_models_of_a_dated_emulator_leaves_out_shut_down_ones() -> None:
    with serve(port=0, as_of=date(2026, 12, 2)) as dated:
        async with iw.ImagesClient(api_key="k", base_url=dated.url, is_emulator=True) as client:
            names = {model.id for model in await client.list_models()}
            assert "gpt-image-1.5" not in names and "gpt-image-2.6-sunburst" in names
            # The emulator itself refuses them then, as the API does: a 404 model_not_found.
            with pytest.raises(iw.NotFoundError) as gone:
                await client.generate(prompt="x", model="gpt-image-1.5")
            assert gone.value.code == "model_not_found" and "deprecated" in gone.value.message


class _PlainAPI:
    """A plain HTTP server on 127.0.0.1 standing in for the API: it counts what arrives."""

    def __init__(self) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), "teal").save(buffer, "PNG")
        answer = json.dumps({"created": 1, "data": [
            {"b64_json": base64.b64encode(buffer.getvalue()).decode()}]}).encode()
        self.paths: list[str] = []
        paths = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                paths.append(self.path)
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _PlainAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(
    ("today", "model", "refused"),
    [(date(2026, 11, 25), "dall-e-3", True), (date(2026, 11, 25), "gpt-image-1", True),
     (date(2026, 11, 25), "gpt-image-1.5", False), (date(2026, 12, 2), "gpt-image-1.5", True),
     (date(2026, 12, 2), "chatgpt-image-latest", True), (date(2026, 12, 2), "gpt-image-2", False),
     (date(2026, 12, 2), "gpt-image-2.6-sunburst", False)],
)
async def test_a_retired_model_is_never_sent_to_the_api(today: date, model: str,
                                                       refused: bool) -> None:
    set_today(today)  # the shared fixture puts the clock back afterwards
    streams = iw.MODELS[model].takes("stream")
    params = iw.ImageParams(model=model, prompt="A cat", **({"stream": True, "n": 2} if streams else {}))
    with _PlainAPI() as api:
        async with iw.ImagesClient(api_key="sk-plain", base_url=api.url, max_retries=0) as client:
            assert not client.is_emulator and not client.allow_retired
            attempts: list[Callable[[], Awaitable[Any]]] = [
                lambda: client.generate(prompt="A cat", model=model),
                lambda: _drain(client, params)]  # a fanned-out stream when the model streams
            for attempt in attempts:
                if refused:
                    with pytest.raises(ModelRetiredError) as info:
                        await attempt()
                    spec = iw.MODELS[model]
                    assert (info.value.model, info.value.shutdown) == (model, spec.shutdown)
                    assert str(spec.shutdown) in str(info.value) and spec.replacement
                    assert spec.replacement in str(info.value)
                    assert "allow_retired=True" in str(info.value)
                else:
                    await attempt()
    assert len(api.paths) == (0 if refused else 3 if streams else 2)


async def test_allow_retired_sends_it_and_the_emulator_serves_it() -> None:
    with _PlainAPI() as api:
        async with iw.ImagesClient(api_key="sk-plain", base_url=api.url, allow_retired=True,
                                   max_retries=0) as client:
            generation = await client.generate(prompt="A cat", model="dall-e-3",
                                               response_format="b64_json")
            assert generation.images[0].format == "png"
    assert api.paths == ["/v1/images/generations"]
    with serve(port=0) as emulator:
        async with iw.ImagesClient(api_key="k", base_url=emulator.url, is_emulator=True) as client:
            assert client.is_emulator
            assert (await client.generate(prompt="A cat", model="dall-e-3")).images
        assert emulator.request_count == 1


@pytest.mark.parametrize(("fmt", "size"), [("gif", (1024, 1024)), ("svg", (1280, 720))])
async def test_gif_and_svg_results(client: iw.ImagesClient, fmt: str,
                                   size: tuple[int, int]) -> None:
    params = iw.ImageParams(model="gpt-image-2.6-flare", prompt="A lighthouse", output_format=fmt,
                            size=f"{size[0]}x{size[1]}", quality="low")
    (image,) = (await client.generate(params)).images
    assert (image.format, (image.width, image.height)) == (fmt, size)
    # GIF and SVG do not stream (openai 3.57's types): choosing stream gives the format way
    assert params.copy(stream=True).output_format == "png"
    events = [event async for event in client.stream(params)]  # the final image, in one piece
    assert [type(event).__name__ for event in events] == ["GeneratedImage"]
    assert events[0].data == image.data


async def test_a_refused_provisional_field_says_where_it_came_from(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No field of today's table is provisional any more; a model known from a blog post is.
    source = iw.models.Source("https://blog.example/gpt-image-9", False, "frame_count")
    monkeypatch.setitem(iw.MODELS, "gpt-image-9-preview", iw.ModelSpec.like(
        "gpt-image-2.6-flare", name="gpt-image-9-preview", provisional=frozenset({"frame_count"}),
        sources={"frame_count": source}))
    refusal = {"error": {"message": "Unknown parameter: 'frame_count'.", "type":
                         "invalid_request_error", "param": "frame_count", "code": "unknown_parameter"}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=refusal)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http_client, \
            iw.ImagesClient(api_key="k", base_url="https://api.test/v1", http_client=http_client,
                            max_retries=0) as client:
        with pytest.raises(iw.BadRequestError) as info:
            await client.generate(prompt="x", model="gpt-image-9-preview", output_format="gif",
                                  frame_count=4)
        assert info.value.param == "frame_count" and info.value.code == "unknown_parameter"
        assert "provisional" in str(info.value) and source.url in str(info.value)
        refusal["error"]["param"] = "size"
        with pytest.raises(iw.BadRequestError) as plain:
            await client.generate(prompt="x", model="gpt-image-9-preview")
        assert "provisional" not in str(plain.value)


@pytest.mark.parametrize("stream", [False, True])
async def test_each_image_carries_its_request_id(client: iw.ImagesClient, stream: bool) -> None:
    # To quote to support, and kept in the image's sidecar: one id per request of a fan-out.
    images = [event async for event in client.stream(
        model="gpt-image-1", prompt="A lighthouse", quality="low", n=2, stream=stream)
        if isinstance(event, iw.GeneratedImage)]
    ids = [image.request_id for image in images]
    assert all(re.fullmatch(r"req_[0-9a-f]{24}", str(found)) for found in ids), ids
    assert len(set(ids)) == (2 if stream else 1)  # without streaming, one request made both
