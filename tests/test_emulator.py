"""The emulator over real sockets on 127.0.0.1: wire format, validation, images, faults."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import subprocess
import sys
import time
import zlib
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

import imagewidgets
from imagewidgets.__main__ import main
from imagewidgets.emulator import EmulatorServer, EmulatorState, faults, serve
from imagewidgets.emulator.app import IMAGE_INDEX_HEADER, _Resolved, _seconds
from imagewidgets.emulator.faults import FAULTS, NO_FAULT, Fault
from imagewidgets.emulator.render import bomb_png, final_bytes, picture
from imagewidgets.emulator.validation import Refusal, validate
from imagewidgets.models import (
    FIELDS,
    MODELS,
    Choice,
    ModelSpec,
    output_tokens,
)

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


def _post(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/images/generations", json=body)


def _image(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def _error(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, kind = [], ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
    return events


@pytest.mark.parametrize(
    ("body", "size", "fmt"),
    [
        ({"model": "gpt-image-1", "size": "1536x1024", "output_format": "webp"}, (1536, 1024),
         "WEBP"),
        ({"model": "gpt-image-1-mini", "output_format": "jpeg", "output_compression": 30},
         (1024, 1024), "JPEG"),
        ({"model": "gpt-image-2", "size": "1920x1088"}, (1920, 1088), "PNG"),
        ({"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}, (256, 256),
         "PNG"),
    ],
)
def test_images_have_the_size_and_format_asked_for(http: httpx.Client, body: dict[str, Any],
                                                   size: tuple[int, int], fmt: str) -> None:
    response = _post(http, prompt="A lighthouse", **body)
    assert response.status_code == 200 and response.headers["x-request-id"].startswith("req_")
    image = _image(response.json()["data"][0]["b64_json"])
    assert image.size == size and image.format == fmt


def test_gpt_answers_carry_usage_and_resolved_fields(http: httpx.Client) -> None:
    answer = _post(http, prompt="A lighthouse at dusk", model="gpt-image-1", quality="high",
                   size="1024x1536", n=2).json()
    assert answer["usage"]["output_tokens"] == 2 * 6240
    assert answer["usage"]["input_tokens_details"]["text_tokens"] == answer["usage"]["input_tokens"]
    assert answer["usage"]["total_tokens"] == answer["usage"]["input_tokens"] + 2 * 6240
    assert (answer["quality"], answer["size"], answer["background"], answer["output_format"]) == (
        "high", "1024x1536", "opaque", "png")
    assert len(answer["data"]) == 2 and answer["data"][0] != answer["data"][1]
    auto = _post(http, prompt="x", model="gpt-image-1").json()
    assert (auto["size"], auto["quality"]) == ("1024x1024", "medium")


def test_same_request_same_bytes_and_prompts_differ(http: httpx.Client) -> None:
    body = {"prompt": "A red fox", "model": "gpt-image-1", "quality": "low"}
    first, again = (_post(http, **body).json()["data"][0]["b64_json"] for _ in range(2))
    other = _post(http, **{**body, "prompt": "A blue whale"}).json()["data"][0]["b64_json"]
    assert first == again and first != other
    picture.cache_clear()
    final_bytes.cache_clear()  # a fresh render, not a cached one, gives the same bytes
    assert _post(http, **body).json()["data"][0]["b64_json"] == first
    index_one = http.post("/images/generations", json=body, headers={IMAGE_INDEX_HEADER: "1"})
    two = _post(http, **body, n=2).json()["data"]
    assert index_one.json()["data"][0]["b64_json"] == two[1]["b64_json"] != first


def test_quality_style_and_transparency_show(http: httpx.Client) -> None:
    def colourfulness(style: str) -> float:
        image = _image(_post(http, prompt="A garden", model="dall-e-3", style=style,
                             response_format="b64_json").json()["data"][0]["b64_json"])
        return float(ImageStat.Stat(image.convert("HSV").getchannel("S")).mean[0])

    assert colourfulness("vivid") > colourfulness("natural") * 1.3
    sizes = {q: len(_post(http, prompt="A garden", model="gpt-image-1", quality=q).content)
             for q in ("low", "high")}
    assert sizes["high"] > sizes["low"]  # more detail, more bytes
    clear = _image(_post(http, prompt="A logo", model="gpt-image-1.5", background="transparent")
                   .json()["data"][0]["b64_json"])
    assert clear.mode == "RGBA" and clear.getchannel("A").getextrema()[0] == 0
    alpha = clear.getchannel("A")
    middle = (clear.width // 2, clear.height // 2)
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel(middle) == 255  # a subject, clear around


def test_output_compression_is_applied(http: httpx.Client) -> None:
    def size_of(fmt: str, compression: int) -> int:
        answer = _post(http, prompt="A garden", model="gpt-image-1", output_format=fmt,
                       output_compression=compression).json()
        return len(base64.b64decode(answer["data"][0]["b64_json"]))

    assert size_of("jpeg", 20) < size_of("jpeg", 90)
    assert size_of("webp", 20) < size_of("webp", 90)


def test_dall_e_3_revises_and_serves_urls_that_expire() -> None:
    with serve(port=0, url_ttl=0.3) as short, httpx.Client(timeout=10) as http:
        answer = http.post(f"{short.url}/images/generations",
                           json={"prompt": "A cat", "model": "dall-e-3"}).json()
        item = answer["data"][0]
        assert item["revised_prompt"].startswith("A cat") and "usage" not in answer
        assert item["url"].startswith(short.url)
        fresh = http.get(item["url"])
        assert fresh.status_code == 200 and fresh.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(fresh.content)).size == (1024, 1024)
        time.sleep(0.35)
        expired = http.get(item["url"])
        assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]
        assert http.get(f"{short.url}/images/files/nope.png").status_code == 404


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "gpt-image-1", "style": "vivid"}, "style", "unknown_parameter"),
        ({"model": "dall-e-3", "background": "opaque"}, "background", "unknown_parameter"),
        ({"model": "dall-e-2", "stream": True}, "stream", "unknown_parameter"),
        ({"model": "gpt-image-1", "response_format": "url"}, "response_format",
         "unknown_parameter"),
        ({"model": "gpt-image-1", "colour": "red"}, "colour", "unknown_parameter"),
        ({"model": "dall-e-3", "size": "256x256"}, "size", "invalid_value"),
        ({"model": "gpt-image-1", "quality": "hd"}, "quality", "invalid_value"),
        ({"model": "gpt-image-1", "n": 11}, "n", "integer_above_max_value"),
        ({"model": "dall-e-3", "n": 2}, "n", "integer_above_max_value"),
        ({"model": "gpt-image-1", "n": 0}, "n", "integer_below_min_value"),
        ({"model": "gpt-image-1", "partial_images": 4, "stream": True}, "partial_images",
         "integer_above_max_value"),
        ({"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"},
         "output_format", "invalid_value"),
        ({"model": "gpt-image-1", "output_compression": 50}, "output_compression",
         "invalid_png_output_compression"),
        ({"model": "gpt-image-1", "n": "2"}, "n", "invalid_type"),
        ({"model": "gpt-image-1", "stream": "yes"}, "stream", "invalid_type"),
        ({"model": "dall-e-3", "stream": False}, "stream", "unknown_parameter"),
        ({"model": 3}, "model", "invalid_type"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "size", "invalid_value"),
        ({"model": "dall-e-4"}, "model", "invalid_value"),
    ],
)
def test_validation_answers_like_the_api(http: httpx.Client, body: dict[str, Any], param: str,
                                         code: str) -> None:
    response = _post(http, prompt="A cat", **body)
    assert response.status_code == 400
    error = _error(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    if code == "invalid_value" and param in ("size", "quality"):
        assert "choose" in error["message"]


def test_prompt_rules_and_bad_bodies(http: httpx.Client) -> None:
    long = _error(_post(http, prompt="y" * 4001, model="dall-e-3"))
    assert long["code"] == "string_above_max_length" and "4000" in long["message"]
    assert _post(http, prompt="y" * 4001, model="gpt-image-1").status_code == 200
    assert _error(_post(http, model="gpt-image-1"))["code"] == "missing_required_parameter"
    broken = http.post("/images/generations", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "parse the JSON" in _error(broken)["message"]
    assert _post(http, prompt="x", model="gpt-image-1", stream=None, user=None).status_code == 200
    assert _error(_post(http, prompt="", model="gpt-image-1"))["code"] == "empty_string"
    assert _error(_post(http, prompt=["x"], model="gpt-image-1"))["code"] == "invalid_type"
    listed = http.post("/images/generations", json=["prompt"])
    assert listed.status_code == 400 and _error(listed)["code"] == "invalid_type"


def test_fields_that_do_not_apply(http: httpx.Client) -> None:
    # 100 is what png is anyway; the API refuses only lower compression with png.
    assert _post(http, prompt="x", model="gpt-image-1", output_compression=100).status_code == 200
    message = _error(_post(http, prompt="x", model="gpt-image-1", output_compression=80))["message"]
    assert "PNG" in message
    # partial_images without stream: accepted and ignored, an ordinary JSON answer.
    plain = _post(http, prompt="x", model="gpt-image-1", partial_images=2)
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    assert _post(http, prompt="x", model="gpt-image-1", stream=False).json()["data"]


def test_every_answer_has_a_request_id_and_the_emulator_header(http: httpx.Client) -> None:
    ids = set()
    for response in (http.get("/images/files/nope.png"), http.post("/images/edits", json={}),
                     http.get("/images/generations"), _post(http, model="gpt-image-1")):
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        ids.add(response.headers["x-request-id"])
        # It names itself on every answer, errors too: how a client knows it serves retired models.
        assert response.headers["x-imagewidgets-emulator"] == imagewidgets.__version__
    assert len(ids) == 4
    unknown = http.post("/images/edits", json={})
    assert unknown.status_code == 404 and "POST /v1/images/edits" in _error(unknown)["message"]
    assert http.get("/images/generations").status_code == 405


def test_an_omitted_model_follows_the_api_default(http: httpx.Client) -> None:
    plain = _post(http, prompt="x", size="256x256")
    assert plain.status_code == 200 and "usage" not in plain.json()  # dall-e-2
    gpt = _post(http, prompt="x", output_format="webp")
    assert gpt.status_code == 200 and gpt.json()["output_format"] == "webp"


def test_streaming_sends_partials_then_completed(http: httpx.Client) -> None:
    with http.stream("POST", "/images/generations",
                     json={"prompt": "A lighthouse", "model": "gpt-image-1", "stream": True,
                           "partial_images": 3, "quality": "low"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
    kinds = [kind for kind, _ in events]
    assert kinds == ["image_generation.partial_image"] * 3 + ["image_generation.completed"]
    partials = [payload for kind, payload in events if kind.endswith("partial_image")]
    assert [p["partial_image_index"] for p in partials] == [0, 1, 2]
    for _, payload in events:
        assert payload["type"] in kinds and {"b64_json", "created_at", "size", "quality",
                                             "background", "output_format"} <= set(payload)
    final = events[-1][1]
    assert final["usage"]["output_tokens"] == 272
    rendered = [_image(payload["b64_json"]) for _, payload in events]
    assert all(image.size == (1024, 1024) for image in rendered)
    assert len({image.tobytes() for image in rendered}) == 4  # each one refined further
    alone = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1",
                                                   "stream": True, "partial_images": 0})
    assert [kind for kind, _ in _events(alone)] == ["image_generation.completed"]


def test_auth_when_a_key_is_set(server: EmulatorServer, api_key: str) -> None:
    with httpx.Client() as http:
        url = f"{server.url}/images/generations"
        missing = http.post(url, json={"prompt": "x"})
        wrong = http.post(url, json={"prompt": "x"},
                          headers={"Authorization": "Bearer sk-wrong-key-5678"})
        right = http.post(url, json={"prompt": "x", "size": "256x256"},
                          headers={"Authorization": f"Bearer {api_key}"})
        assert missing.status_code == wrong.status_code == 401
        assert "x-imagewidgets-emulator" in wrong.headers  # a wrong key still learns what it is
        assert _error(wrong)["code"] == "invalid_api_key"
        assert "sk-wrong-key-5678" not in wrong.text and "5678" in wrong.text  # masked
        assert right.status_code == 200
        assert all("authorization" not in r["headers"] for r in server.requests)
        assert all(api_key not in r["body"] for r in server.requests)


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503])
def test_status_faults(server: EmulatorServer, http: httpx.Client, status: int) -> None:
    server.inject(f"status_{status}")
    assert _post(http, prompt="x", model="gpt-image-1").status_code == status
    assert _post(http, prompt="x", model="gpt-image-1").status_code == 200  # only the next one


def test_rate_limit_and_quota_faults(server: EmulatorServer, http: httpx.Client) -> None:
    server.inject("status_429", times=2, retry_after=0.2, retry_after_ms=150)
    for _ in range(2):
        limited = _post(http, prompt="x", model="gpt-image-1")
        assert limited.status_code == 429
        assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("0.2", "150")
    server.inject("insufficient_quota")
    quota = _post(http, prompt="x", model="gpt-image-1")
    assert quota.status_code == 429 and _error(quota)["code"] == "insufficient_quota"
    header = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1"},
                       headers={"x-emulator-fault": "status_429;retry_after=3"})
    assert header.status_code == 429 and header.headers["retry-after"] == "3"


def test_content_faults(server: EmulatorServer, http: httpx.Client) -> None:
    refused = _error(_post(http, prompt="Something forbidden here", model="dall-e-2"))
    assert refused["code"] == "content_policy_violation" and "rephrase" in refused["message"]
    server.inject("content_policy")
    refused = _error(_post(http, prompt="harmless", model="gpt-image-1"))
    assert refused["code"] == "moderation_blocked"

    def b64_of(fault: str) -> bytes:
        server.inject(fault)
        answer = _post(http, prompt="x", model="gpt-image-1").json()
        return str(answer["data"][0]["b64_json"]).encode()

    with pytest.raises(ValueError):
        base64.b64decode(b64_of("bad_base64"), validate=True)
    assert not base64.b64decode(b64_of("not_an_image")).startswith(b"\x89PNG")
    bomb = base64.b64decode(b64_of("bomb"))
    assert bomb.startswith(b"\x89PNG") and int.from_bytes(bomb[16:20], "big") == 100_000
    server.inject("malformed_json")
    with pytest.raises(ValueError):
        _post(http, prompt="x", model="gpt-image-1").json()


def test_drop_trickle_and_slow(server: EmulatorServer, http: httpx.Client) -> None:
    server.inject("drop_stream", after=1)
    seen: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), http.stream(
            "POST", "/images/generations",
            json={"prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 2}
    ) as response:
        seen.extend(line for line in response.iter_lines() if line.startswith("event:"))
    assert seen == ["event: image_generation.partial_image"]
    server.inject("drop_stream")
    with pytest.raises(httpx.RemoteProtocolError):
        _post(http, prompt="x", model="gpt-image-1")
    server.inject("trickle", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1"},
                  timeout=httpx.Timeout(5, read=0.3))
    server.inject("slow", seconds=0.4)
    start = time.monotonic()
    assert _post(http, prompt="x", model="gpt-image-1").status_code == 200
    assert time.monotonic() - start >= 0.4


async def test_a_dozen_streams_at_once_do_not_wait_on_each_other() -> None:
    with serve(port=0, latency=0.5) as slow:
        async with httpx.AsyncClient(base_url=slow.url, timeout=30) as http:
            async def one(index: int) -> int:
                body = {"prompt": f"stream {index}", "model": "gpt-image-1", "stream": True,
                        "partial_images": 1, "quality": "low"}
                async with http.stream("POST", "/images/generations", json=body) as response:
                    lines = [line async for line in response.aiter_lines()]
                    return sum(line.startswith("data:") for line in lines)

            start = time.monotonic()
            counts = await asyncio.gather(*(one(i) for i in range(12)))
            elapsed = time.monotonic() - start
    assert counts == [2] * 12
    assert elapsed < 12 * 0.5 / 2, f"12 streams took {elapsed:.1f} s: they waited on each other"


def test_command_line_serves_and_says_how(tmp_path: Any) -> None:
    process = subprocess.Popen([sys.executable, "-m", "imagewidgets", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        rest = "".join(process.stdout.readline() for _ in range(3))
        assert "OPENAI_BASE_URL" in rest and "OpenAI(base_url=" in rest
        answer = httpx.post(f"{url}/images/generations", json={"prompt": "x", "size": "256x256"})
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


def test_partials_refine_towards_the_final_picture(http: httpx.Client) -> None:
    response = http.post("/images/generations", json={
        "prompt": "A harbour", "model": "gpt-image-1.5", "stream": True, "partial_images": 3,
        "size": "1536x1024", "output_format": "webp", "background": "transparent"})
    events = _events(response)
    assert all(payload["size"] == "1536x1024" and payload["output_format"] == "webp"
               and payload["background"] == "transparent" for _, payload in events)
    final = _image(events[-1][1]["b64_json"]).convert("RGBA").resize((96, 64))

    def distance(b64: str) -> float:
        diff = ImageChops.difference(_image(b64).convert("RGBA").resize((96, 64)), final)
        return sum(ImageStat.Stat(diff).mean)

    distances = [distance(payload["b64_json"]) for _, payload in events[:-1]]
    assert distances == sorted(distances, reverse=True) and distances[-1] > 0


def test_stream_with_n_sends_the_images_one_after_another(http: httpx.Client) -> None:
    response = http.post("/images/generations", json={
        "prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 1, "n": 2,
        "quality": "low"})
    events = _events(response)
    assert [kind.rsplit(".", 1)[1] for kind, _ in events] == [
        "partial_image", "completed", "partial_image", "completed"]
    assert events[1][1]["b64_json"] != events[3][1]["b64_json"]


def test_fault_options_by_header_and_the_request_log(server: EmulatorServer,
                                                     http: httpx.Client) -> None:
    before = server.request_count
    body = {"prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 3}
    kinds: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), http.stream(
            "POST", "/images/generations", json=body,
            headers={"x-emulator-fault": "drop_stream; after=2", "Idempotency-Key": "abc-1"}
    ) as response:
        kinds.extend(line for line in response.iter_lines() if line.startswith("event:"))
    assert kinds == ["event: image_generation.partial_image"] * 2
    assert server.request_count == before + 1
    assert server.last_headers["idempotency-key"] == "abc-1"
    assert server.last_body == body and server.requests[-1]["fault"] == "drop_stream"
    server.inject("drop_stream", after=0)
    with pytest.raises(httpx.RemoteProtocolError), http.stream(
            "POST", "/images/generations", json=body) as response:
        assert response.status_code == 200
        response.read()
    unknown = http.post("/images/generations", json=body, headers={"x-emulator-fault": "gremlins"})
    assert unknown.status_code == 400 and "status_429" in _error(unknown)["message"]
    with pytest.raises(ValueError, match="unknown fault"):
        server.inject("gremlins")


def test_faults_reach_image_urls_and_stream_events(server: EmulatorServer,
                                                   http: httpx.Client) -> None:
    server.inject("not_an_image")
    url = _post(http, prompt="x", model="dall-e-2", size="256x256").json()["data"][0]["url"]
    assert http.get(url).content.startswith(b"this is not an image")
    server.inject("bad_base64")
    event = _events(http.post("/images/generations", json={
        "prompt": "x", "model": "gpt-image-1", "stream": True, "quality": "low"}))[0][1]
    with pytest.raises(ValueError):
        base64.b64decode(event["b64_json"], validate=True)
    server.inject("malformed_json")
    broken = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1",
                                                     "stream": True, "quality": "low"})
    data = [line for line in broken.text.splitlines() if line.startswith("data: ")]
    with pytest.raises(ValueError):
        json.loads(data[0][6:])


def test_the_bomb_is_a_valid_png_that_pillow_refuses() -> None:
    bomb = bomb_png()
    length = int.from_bytes(bomb[8:12], "big")
    assert zlib.crc32(bomb[12:16 + length]) == int.from_bytes(bomb[16 + length:20 + length], "big")
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))


def test_latency_spreads_stream_events_over_the_time() -> None:
    with serve(port=0, latency=0.6) as slow, httpx.Client(base_url=slow.url, timeout=10) as http:
        start, arrivals = time.monotonic(), []
        with http.stream("POST", "/images/generations", json={
                "prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 2,
                "quality": "low"}) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 3 and arrivals[0] < 0.45 and arrivals[-1] >= 0.6


def test_realistic_timing_grows_with_quality_and_size() -> None:
    state = EmulatorState(realistic=True)
    spec = MODELS["gpt-image-1"]

    def seconds(**fields: Any) -> float:
        return _seconds(state, _Resolved.of(spec, fields))

    assert seconds(quality="low") < seconds(quality="medium") < seconds(quality="high")
    assert seconds(quality="high", size="1536x1024") > seconds(quality="high")
    assert _seconds(EmulatorState(latency=0.25), _Resolved.of(spec, {})) == 0.25


@pytest.mark.parametrize("model", sorted(MODELS))
def test_validation_follows_the_capabilities_table(model: str) -> None:
    spec = MODELS[model]
    for name, kind in spec.fields.items():
        if isinstance(kind, Choice):
            for value in kind.values:
                # Alone, each value meets only defaults (png, auto), which exclude none.
                assert validate({"prompt": "x", "model": model, name: value})[1][name] == value
    for name in FIELDS:
        if not spec.takes(name):
            with pytest.raises(Refusal) as info:
                validate({"prompt": "x", "model": model, name: "x"})
            assert (info.value.param, info.value.code) == (name, "unknown_parameter")


def test_the_emulator_never_imports_the_client() -> None:
    code = ("import sys, imagewidgets.emulator, imagewidgets.__main__; "
            "sys.exit('imagewidgets.api.client' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_copy_of_dall_e_3_answers_as_dall_e_3(http: httpx.Client, registered: Any) -> None:
    registered(ModelSpec.like("dall-e-3", name="my-dalle"))
    registered(ModelSpec.like("dall-e-3", name="literal-dalle", revises_prompt=False))
    answer = _post(http, prompt="A cat", model="my-dalle", response_format="b64_json").json()
    assert answer["data"][0]["revised_prompt"].startswith("A cat, as a detailed vivid")
    assert "usage" not in answer and "quality" not in answer
    refused = _error(_post(http, prompt="Something forbidden", model="my-dalle"))
    assert refused["code"] == "content_policy_violation"
    literal = _post(http, prompt="A cat", model="literal-dalle").json()
    assert "revised_prompt" not in literal["data"][0]


def test_a_copy_of_gpt_image_1_reports_usage(server: EmulatorServer, http: httpx.Client,
                                              registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-1", name="my-gpt"))
    registered(ModelSpec.like("gpt-image-1", name="quiet-gpt", reports_usage=False,
                              refusal_code="content_policy_violation"))
    answer = _post(http, prompt="A lighthouse", model="my-gpt").json()
    assert answer["usage"]["output_tokens"] == 1056  # auto is medium at 1024x1024
    assert (answer["quality"], answer["size"], answer["background"]) == (
        "medium", "1024x1024", "opaque")
    assert "revised_prompt" not in answer["data"][0]
    server.inject("content_policy")
    assert _error(_post(http, prompt="x", model="my-gpt"))["code"] == "moderation_blocked"
    quiet = _post(http, prompt="A lighthouse", model="quiet-gpt").json()
    assert "usage" not in quiet and "quality" not in quiet
    refused = _error(_post(http, prompt="Something forbidden", model="quiet-gpt"))
    assert refused["code"] == "content_policy_violation"


def test_what_auto_means_comes_from_the_table() -> None:
    for model, quality in (("dall-e-2", "standard"), ("dall-e-3", "standard"),
                           ("gpt-image-1", "medium"), ("gpt-image-2", "medium")):
        resolved = _Resolved.of(MODELS[model], validate({"prompt": "x", "model": model})[1])
        assert (resolved.quality, resolved.size) == (quality, "1024x1024"), model
    high = ModelSpec.like("gpt-image-1", name="x", auto={"quality": "high", "background": "opaque"})
    resolved = _Resolved.of(high, {"quality": "auto", "background": "auto"})
    assert (resolved.quality, resolved.size, resolved.background) == ("high", "1024x1024", "opaque")


def _table_names() -> set[str]:
    """The fault names in the table of the faults module's docstring (``status_408, _409``)."""
    doc = faults.__doc__ or ""
    rows = doc.split("=====\n", 2)[2].split("\n=====")[0].splitlines()
    names: set[str] = set()
    for row in rows:
        first = row[:23].strip()
        if first:
            head, *tails = first.split(", ")
            names |= {head} | {head.rsplit("_", 1)[0] + tail for tail in tails}
    return names


async def _effects(fault: Fault) -> tuple[Any, ...]:
    sample = b'event: image_generation.completed\ndata: {"b64_json": "aGk="}\n\n' * 3
    pieces = fault.deliver_body(sample)
    events = [piece async for piece in fault.deliver_event(sample)]
    refusal = fault.refusal()
    return (fault.delay(), refusal and refusal.status, fault.refuses_content, fault.image(b"PNG"),
            fault.b64("aGk="), fault.body(sample), pieces is not None, fault.event(sample),
            events, fault.cut_after())


async def test_every_fault_changes_something_and_no_fault_nothing() -> None:
    assert _table_names() == set(FAULTS)
    sample = b'event: image_generation.completed\ndata: {"b64_json": "aGk="}\n\n' * 3
    nothing = await _effects(NO_FAULT)
    assert nothing == (0.0, None, False, b"PNG", "aGk=", sample, False, sample, [sample], None)
    for name in sorted(FAULTS):
        fault = Fault(name, {"seconds": 0} if name == "trickle" else {})  # trickle, not waiting
        assert await _effects(fault) != nothing, f"{name} changes nothing"
    with pytest.raises(ValueError, match="unknown fault 'none'"):
        Fault("none")


def test_quiet_logging_is_set_when_a_server_starts_not_at_import() -> None:
    code = """if True:
        import logging
        import imagewidgets.emulator as emulator
        log = logging.getLogger("uvicorn.error")
        assert log.filters == [], log.filters
        with emulator.serve(port=0), emulator.serve(port=0):
            pass
        with emulator.serve(port=0):
            pass
        print(*(type(f).__name__ for f in log.filters))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["_QuietDrops"]


# -- today's API: lifecycle, /v1/models, the 2.5 and 2.6 families ------------------------------

DEPRECATED = ("The model `{}` has been deprecated, learn more here: "
              "https://platform.openai.com/docs/deprecations")


@pytest.mark.parametrize(
    ("as_of", "refused", "served"),
    [
        (None, (), ("dall-e-3", "gpt-image-1", "gpt-image-1.5", "gpt-image-2.6-sunburst")),
        (date(2026, 11, 25), ("dall-e-2", "dall-e-3", "gpt-image-1"),
         ("gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "gpt-image-2.6-flare")),
        (date(2026, 12, 2), ("dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
                             "gpt-image-1.5-2025-12-16", "chatgpt-image-latest"),
         ("gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-flare",
          "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-sunburst")),
    ],
    ids=["teaching", "2026-11-25", "2026-12-02"],
)
def test_as_of_refuses_shut_down_models_as_the_api_does(
        as_of: date | None, refused: tuple[str, ...], served: tuple[str, ...]) -> None:
    with serve(port=0, as_of=as_of) as dated, httpx.Client(base_url=dated.url, timeout=20) as http:
        for model in refused:
            # Whatever else the body holds (here a field dall-e-3 does not take): the model first.
            response = _post(http, prompt="A cat", model=model, output_format="webp")
            assert response.status_code == 404, model
            assert _error(response) == {"message": DEPRECATED.format(model),
                                        "type": "invalid_request_error", "param": None,
                                        "code": "model_not_found"}
            assert http.get(f"/models/{model}").status_code == 404
        for model in served:
            assert _post(http, prompt="A cat", model=model).status_code == 200, model
        listed = {entry["id"] for entry in http.get("/models").json()["data"]}
        assert listed.isdisjoint(refused) and listed >= set(served)


def test_as_of_from_a_string_and_an_omitted_model() -> None:
    with serve(port=0, as_of="2026-12-02") as dated, \
            httpx.Client(base_url=dated.url, timeout=20) as http:
        assert dated.state.as_of == date(2026, 12, 2)
        # The API's default for an omitted model stays dall-e-2 (gpt-image-1 with GPT-only
        # fields), and so does its refusal once that model is shut down.
        assert _error(_post(http, prompt="x"))["message"] == DEPRECATED.format("dall-e-2")
        assert _error(_post(http, prompt="x", output_format="webp"))["code"] == "model_not_found"


def test_models_list_has_the_official_shape(server: EmulatorServer, http: httpx.Client) -> None:
    before = server.request_count
    answer = http.get("/models").json()
    assert answer["object"] == "list" and [m["id"] for m in answer["data"]] == list(MODELS)
    by_id = {entry["id"]: entry for entry in answer["data"]}
    for entry in answer["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by", "shutdown_date"}
        assert entry["object"] == "model" and entry["owned_by"] == "system"
    assert by_id["dall-e-3"]["shutdown_date"] == "2026-05-12"
    assert by_id["gpt-image-1.5"]["shutdown_date"] == "2026-12-01"
    assert by_id["gpt-image-2.6-sunburst"]["shutdown_date"] is None
    released = datetime.fromtimestamp(by_id["gpt-image-2.6-flare"]["created"], UTC).date()
    assert released == MODELS["gpt-image-2.6-flare"].released == date(2026, 11, 4)
    assert by_id["chatgpt-image-latest"]["created"] == 0  # the table does not know its release
    one = http.get("/models/gpt-image-2.6-flare")
    assert one.status_code == 200 and one.json() == by_id["gpt-image-2.6-flare"]
    missing = http.get("/models/gpt-image-9")
    assert missing.status_code == 404 and _error(missing) == {
        "message": "The model `gpt-image-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": None, "code": "model_not_found"}
    assert server.request_count == before  # the request log is of generations only
    with httpx.Client(base_url=server.url, timeout=20) as anonymous:
        for path in ("/models", "/models/dall-e-3"):
            denied = anonymous.get(path)
            assert denied.status_code == 401 and _error(denied)["code"] == "invalid_api_key"


def test_a_registered_model_is_listed(http: httpx.Client, registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-2", name="gpt-image-2.7-test"))
    assert "gpt-image-2.7-test" in {m["id"] for m in http.get("/models").json()["data"]}


@pytest.mark.parametrize(
    ("model", "size", "quality"),
    [("gpt-image-2.6-sunburst", "1280x720", "high"), ("gpt-image-2.6-flare", "1024x1536", "low"),
     ("gpt-image-2.5-flare", "2048x1152", "xhigh"), ("gpt-image-2.5-sunburst-2026-09-08",
                                                      "1536x1024", "max"),
     ("gpt-image-2-2026-04-21", "1920x1088", "high")],
)
def test_new_models_take_their_sizes_and_qualities(http: httpx.Client, model: str, size: str,
                                                   quality: str) -> None:
    answer = _post(http, prompt="A harbour", model=model, size=size, quality=quality).json()
    assert (answer["size"], answer["quality"]) == (size, quality)
    width, height = map(int, size.split("x"))
    assert _image(answer["data"][0]["b64_json"]).size == (width, height)
    # xhigh and max have no published token table: counted as high, scaled by area.
    counted = "high" if quality in ("xhigh", "max") else quality
    assert answer["usage"]["output_tokens"] == output_tokens(counted, size)


def test_new_model_refusals(http: httpx.Client) -> None:
    small = _error(_post(http, prompt="x", model="gpt-image-2.6-flare", size="800x800"))
    assert (small["param"], small["code"]) == ("size", "invalid_value")
    assert "655,360" in small["message"]
    assert _error(_post(http, prompt="x", model="gpt-image-2", quality="xhigh"))["param"] == "quality"
    assert _error(_post(http, prompt="x", model="gpt-image-2.5-flare", complexity="low"))[
        "code"] == "unknown_parameter"
    svg_many = _post(http, prompt="x", model="gpt-image-2.6-flare", output_format="svg", n=2)
    assert svg_many.status_code == 400
    error = _error(svg_many)
    assert (error["param"], error["code"], error["type"]) == ("n", "invalid_value",
                                                              "invalid_request_error")
    assert "'svg'" in error["message"] and "1" in error["message"]
    frames = _error(_post(http, prompt="x", model="gpt-image-2.6-flare", frame_count=4))
    assert frames["param"] == "frame_count" and "gif" in frames["message"]
    assert _post(http, prompt="x", model="gpt-image-2.6-flare", frame_count=9).status_code == 200
    too_many = _error(_post(http, prompt="x", model="gpt-image-2.6-flare", output_format="gif",
                            frame_count=17))
    assert (too_many["param"], too_many["code"]) == ("frame_count", "integer_above_max_value")
    lossy_gif = _error(_post(http, prompt="x", model="gpt-image-2.6-flare", output_format="gif",
                             output_compression=50))
    assert lossy_gif["param"] == "output_compression" and "GIF" in lossy_gif["message"]


def _detail(data: bytes) -> float:
    """Mean edge strength: more shapes, more edges."""
    with Image.open(io.BytesIO(data)) as image:
        return float(ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0])


def test_complexity_shows_in_the_picture(http: httpx.Client) -> None:
    pictures = {level: base64.b64decode(_post(http, prompt="A valley", model="gpt-image-2.6-flare",
                                              complexity=level, quality="low").json()
                                        ["data"][0]["b64_json"])
                for level in ("low", "medium", "high")}
    assert len(set(pictures.values())) == 3
    assert _detail(pictures["low"]) < _detail(pictures["medium"]) < _detail(pictures["high"])
    default = _post(http, prompt="A valley", model="gpt-image-2.6-flare", quality="low").json()
    assert base64.b64decode(default["data"][0]["b64_json"]) == pictures["high"]  # high by default


@pytest.mark.parametrize(("frames", "duration", "encoded"),
                         [(2, 20, 20), (9, 200, 200), (16, 2000, 2000), (3, 125, 130), (4, 24, 20)])
def test_gif_has_the_frames_and_durations_asked_for(http: httpx.Client, frames: int,
                                                    duration: int, encoded: int) -> None:
    answer = _post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format="gif",
                   frame_count=frames, frame_duration_ms=duration, quality="low").json()
    assert answer["output_format"] == "gif"
    with Image.open(io.BytesIO(base64.b64decode(answer["data"][0]["b64_json"]))) as gif:
        assert (gif.format, gif.size, gif.n_frames, gif.info["loop"]) == ("GIF", (1024, 1024),
                                                                          frames, 0)
        durations, seen = [], set()
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            seen.add(gif.convert("RGB").tobytes())
    # Every frame moves; durations are rounded to the nearest 10 ms, as the API does.
    assert durations == [encoded] * frames and len(seen) == frames
    still = _post(http, prompt="A balloon", model="gpt-image-2.6-flare", quality="low").json()
    assert answer["usage"]["output_tokens"] == math.ceil(
        still["usage"]["output_tokens"] * (1 + (frames - 1) / 4))


def test_gif_and_svg_refuse_transparency_and_streaming(http: httpx.Client) -> None:
    # openai 3.57's types: transparent needs png or webp; GIF and SVG do not stream.
    for fmt in ("gif", "svg"):
        clear = _post(http, prompt="A logo", model="gpt-image-2.6-sunburst", output_format=fmt,
                      background="transparent")
        assert clear.status_code == 400 and _error(clear)["param"] in ("background", "output_format")
        streamed = _post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format=fmt,
                         stream=True)
        assert streamed.status_code == 400 and _error(streamed)["param"] in ("stream", "output_format")
    answer = _post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format="gif",
                   frame_count=4, quality="low").json()
    assert answer["output_format"] == "gif"
    assert _image(answer["data"][0]["b64_json"]).n_frames == 4


def test_svg_is_a_small_valid_document_with_the_prompt_escaped(http: httpx.Client) -> None:
    prompt = 'A <script>alert("x")</script> & an "onload" \x01 \ud800 lighthouse'
    raw = json.dumps({"prompt": prompt, "model": "gpt-image-2.6-sunburst", "output_format": "svg",
                      "size": "1280x720"})  # ASCII: a lone surrogate travels as \ud800
    answer = http.post("/images/generations", content=raw,
                       headers={"content-type": "application/json"}).json()
    assert answer["output_format"] == "svg"
    data = base64.b64decode(answer["data"][0]["b64_json"])
    assert len(data) < 64_000 and b"<script" not in data and b"onload=" not in data
    root = ElementTree.fromstring(data)  # well-formed XML
    svg = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{svg}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("1280", "720",
                                                                             "0 0 1280 720")
    title = root.find(f"{svg}title")
    assert title is not None and title.text == 'A <script>alert("x")</script> & an "onload"   lighthouse'
    assert len(root.findall(f".//{svg}polygon")) >= 3 and root.findall(f".//{svg}ellipse")
    assert not [element for element in root.iter() if any(
        name.startswith("on") or "href" in name for name in element.attrib)]


def test_command_line_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "imagewidgets", "serve", "--port", "0",
                                "--as-of", "2026-12-02"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        rest = "".join(process.stdout.readline() for _ in range(7))
        assert "as the API on 2026-12-02" in rest and '"model": "gpt-image-2.6-flare"' in rest
        refused = httpx.post(f"{url}/images/generations",
                             json={"prompt": "x", "model": "gpt-image-1.5"})
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()
    with pytest.raises(SystemExit):
        main(["serve", "--as-of", "2026-13-01"])
    assert "is not a date such as" in capsys.readouterr().err


def test_a_variation_draws_another_picture_and_none_keeps_the_usual_one(http: httpx.Client) -> None:
    body = {"model": "gpt-image-1", "prompt": "A lighthouse", "quality": "low", "size": "1024x1024"}

    def picture(**headers: str) -> bytes:
        answer = http.post("/images/generations", json=body, headers=headers).json()
        return base64.b64decode(answer["data"][0]["b64_json"])

    usual = picture()
    assert picture(**{"x-emulator-variation": "0"}) == usual  # the raw request stays deterministic
    first = picture(**{"x-emulator-variation": "1"})
    assert first != usual and picture(**{"x-emulator-variation": "1"}) == first
    assert picture(**{"x-emulator-variation": "2"}) not in (usual, first)
    assert picture(**{"x-emulator-variation": "junk"}) == usual


def test_photographic_pictures_are_as_large_as_photos_and_still_deterministic() -> None:
    body = {"model": "gpt-image-2", "prompt": "A lighthouse at dusk", "size": "1024x1024",
            "quality": "medium", "output_format": "png"}
    with serve(port=0, photographic=True) as photo, serve(port=0) as plain, \
            httpx.Client(timeout=30) as http:
        def image(server: EmulatorServer) -> bytes:
            answer = http.post(f"{server.url}/images/generations", json=body)
            assert answer.status_code == 200, answer.text
            return base64.b64decode(answer.json()["data"][0]["b64_json"])

        grainy, again, synthetic = image(photo), image(photo), image(plain)
    # What a benchmark of image size needs: about the 2.5 MB of an API photo, not ~100 KB.
    assert 2_000_000 < len(grainy) < 3_000_000, len(grainy)
    assert len(synthetic) < 500_000
    assert grainy == again
    with Image.open(io.BytesIO(grainy)) as picture_a, Image.open(io.BytesIO(synthetic)) as picture_b:
        assert picture_a.size == picture_b.size == (1024, 1024)
        # The same scene under the grain: the mean colour stays close.
        means = [ImageStat.Stat(image.convert("RGB")).mean for image in (picture_a, picture_b)]
        assert all(abs(a - b) < 30 for a, b in zip(*means, strict=True))

