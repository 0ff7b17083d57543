"""The emulator's app over real sockets on 127.0.0.1: answers in the API's wire format, streams,
image URLs, what a model's answers carry. Validation, pictures, faults, ``/v1/models``, the
server and its activity log: ``test_emulator_<module>.py``."""

from __future__ import annotations

import asyncio
import base64
import io
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from PIL import Image

import imagewidgets
from imagewidgets.emulator import EmulatorServer, EmulatorState, serve
from imagewidgets.emulator.app import _Resolved, _seconds
from imagewidgets.emulator.validation import validate
from imagewidgets.models import (
    MODELS,
    ModelSpec,
    output_tokens,
)

from emulator_http import b64_image, error_of, events_of, post

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


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
    response = post(http, prompt="A lighthouse", **body)
    assert response.status_code == 200 and response.headers["x-request-id"].startswith("req_")
    image = b64_image(response.json()["data"][0]["b64_json"])
    assert image.size == size and image.format == fmt


def test_gpt_answers_carry_usage_and_resolved_fields(http: httpx.Client) -> None:
    answer = post(http, prompt="A lighthouse at dusk", model="gpt-image-1", quality="high",
                   size="1024x1536", n=2).json()
    assert answer["usage"]["output_tokens"] == 2 * 6240
    assert answer["usage"]["input_tokens_details"]["text_tokens"] == answer["usage"]["input_tokens"]
    assert answer["usage"]["total_tokens"] == answer["usage"]["input_tokens"] + 2 * 6240
    assert (answer["quality"], answer["size"], answer["background"], answer["output_format"]) == (
        "high", "1024x1536", "opaque", "png")
    assert len(answer["data"]) == 2 and answer["data"][0] != answer["data"][1]
    auto = post(http, prompt="x", model="gpt-image-1").json()
    assert (auto["size"], auto["quality"]) == ("1024x1024", "medium")


def test_dall_e_3_revises_and_serves_urls_that_expire() -> None:
    with serve(port=0, url_ttl=60) as short, httpx.Client(timeout=120) as http:
        answer = http.post(f"{short.url}/images/generations",
                           json={"prompt": "A cat", "model": "dall-e-3"}).json()
        item = answer["data"][0]
        assert item["revised_prompt"].startswith("A cat") and "usage" not in answer
        assert item["url"].startswith(short.url)
        fresh = http.get(item["url"])
        assert fresh.status_code == 200 and fresh.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(fresh.content)).size == (1024, 1024)
        # No sleep: a URL handed out with no time to live has expired when it is asked for.
        short.state.url_ttl = 0
        gone = http.post(f"{short.url}/images/generations",
                         json={"prompt": "A cat", "model": "dall-e-3"}).json()["data"][0]["url"]
        expired = http.get(gone)
        assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]
        assert http.get(f"{short.url}/images/files/nope.png").status_code == 404


def test_every_answer_has_a_request_id_and_the_emulator_header(http: httpx.Client) -> None:
    ids = set()
    for response in (http.get("/images/files/nope.png"), http.post("/images/edits", json={}),
                     http.get("/images/generations"), post(http, model="gpt-image-1")):
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        ids.add(response.headers["x-request-id"])
        # It names itself on every answer, errors too: how a client knows it serves retired models.
        assert response.headers["x-imagewidgets-emulator"] == imagewidgets.__version__
    assert len(ids) == 4
    unknown = http.post("/images/variations", json={})
    assert unknown.status_code == 404 and "POST /v1/images/variations" in error_of(unknown)["message"]
    assert http.get("/images/generations").status_code == 405


def test_streaming_sends_partials_then_completed(http: httpx.Client) -> None:
    with http.stream("POST", "/images/generations",
                     json={"prompt": "A lighthouse", "model": "gpt-image-1", "stream": True,
                           "partial_images": 3, "quality": "low"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = events_of(response)
    kinds = [kind for kind, _ in events]
    assert kinds == ["image_generation.partial_image"] * 3 + ["image_generation.completed"]
    partials = [payload for kind, payload in events if kind.endswith("partial_image")]
    assert [p["partial_image_index"] for p in partials] == [0, 1, 2]
    for _, payload in events:
        assert payload["type"] in kinds and {"b64_json", "created_at", "size", "quality",
                                             "background", "output_format"} <= set(payload)
    final = events[-1][1]
    assert final["usage"]["output_tokens"] == 272
    rendered = [b64_image(payload["b64_json"]) for _, payload in events]
    assert all(image.size == (1024, 1024) for image in rendered)
    assert len({image.tobytes() for image in rendered}) == 4  # each one refined further
    alone = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1",
                                                   "stream": True, "partial_images": 0})
    assert [kind for kind, _ in events_of(alone)] == ["image_generation.completed"]


async def test_a_dozen_streams_at_once_do_not_wait_on_each_other() -> None:
    latency = 2.0  # one after another they would take 24 s at least; at once about 2 s
    with serve(port=0, latency=latency) as slow:
        async with httpx.AsyncClient(base_url=slow.url, timeout=120) as http:
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
    # Half the serial time: a margin of about 10 s of drawing for a dozen small pictures.
    assert elapsed < 12 * latency / 2, f"12 streams took {elapsed:.1f} s: they waited on each other"


def test_stream_with_n_sends_the_images_one_after_another(http: httpx.Client) -> None:
    response = http.post("/images/generations", json={
        "prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 1, "n": 2,
        "quality": "low"})
    events = events_of(response)
    assert [kind.rsplit(".", 1)[1] for kind, _ in events] == [
        "partial_image", "completed", "partial_image", "completed"]
    assert events[1][1]["b64_json"] != events[3][1]["b64_json"]


def test_latency_spreads_stream_events_over_the_time() -> None:
    with serve(port=0, latency=4.0) as slow, httpx.Client(base_url=slow.url, timeout=120) as http:
        start, arrivals = time.monotonic(), []
        with http.stream("POST", "/images/generations", json={
                "prompt": "x", "model": "gpt-image-1", "stream": True, "partial_images": 1,
                "quality": "low"}) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    arrivals.append(time.monotonic() - start)
    # The partial is due at 2 s, the final at 4 s: the partial comes well before the end
    # (1.5 s to spare for drawing one small picture), the final not before its time.
    assert len(arrivals) == 2 and arrivals[0] < 3.5 and arrivals[-1] >= 4.0


def test_realistic_timing_grows_with_quality_and_size() -> None:
    state = EmulatorState(realistic=True)
    spec = MODELS["gpt-image-1"]

    def seconds(**fields: Any) -> float:
        return _seconds(state, _Resolved.of(spec, fields))

    assert seconds(quality="low") < seconds(quality="medium") < seconds(quality="high")
    assert seconds(quality="high", size="1536x1024") > seconds(quality="high")
    assert _seconds(EmulatorState(latency=0.25), _Resolved.of(spec, {})) == 0.25


def test_the_emulator_never_imports_the_client() -> None:
    code = ("import sys, imagewidgets.emulator, imagewidgets.__main__; "
            "sys.exit('imagewidgets.api.client' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_copy_of_dall_e_3_answers_as_dall_e_3(http: httpx.Client, registered: Any) -> None:
    registered(ModelSpec.like("dall-e-3", name="my-dalle"))
    registered(ModelSpec.like("dall-e-3", name="literal-dalle", revises_prompt=False))
    answer = post(http, prompt="A cat", model="my-dalle", response_format="b64_json").json()
    assert answer["data"][0]["revised_prompt"].startswith("A cat, as a detailed vivid")
    assert "usage" not in answer and "quality" not in answer
    refused = error_of(post(http, prompt="Something forbidden", model="my-dalle"))
    assert refused["code"] == "content_policy_violation"
    literal = post(http, prompt="A cat", model="literal-dalle").json()
    assert "revised_prompt" not in literal["data"][0]


def test_a_copy_of_gpt_image_1_reports_usage(server: EmulatorServer, http: httpx.Client,
                                              registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-1", name="my-gpt"))
    registered(ModelSpec.like("gpt-image-1", name="quiet-gpt", reports_usage=False,
                              refusal_code="content_policy_violation"))
    answer = post(http, prompt="A lighthouse", model="my-gpt").json()
    assert answer["usage"]["output_tokens"] == 1056  # auto is medium at 1024x1024
    assert (answer["quality"], answer["size"], answer["background"]) == (
        "medium", "1024x1024", "opaque")
    assert "revised_prompt" not in answer["data"][0]
    server.inject("content_policy")
    assert error_of(post(http, prompt="x", model="my-gpt"))["code"] == "moderation_blocked"
    quiet = post(http, prompt="A lighthouse", model="quiet-gpt").json()
    assert "usage" not in quiet and "quality" not in quiet
    refused = error_of(post(http, prompt="Something forbidden", model="quiet-gpt"))
    assert refused["code"] == "content_policy_violation"


def test_what_auto_means_comes_from_the_table() -> None:
    for model, quality in (("dall-e-2", "standard"), ("dall-e-3", "standard"),
                           ("gpt-image-1", "medium"), ("gpt-image-2", "medium")):
        resolved = _Resolved.of(MODELS[model], validate({"prompt": "x", "model": model})[1])
        assert (resolved.quality, resolved.size) == (quality, "1024x1024"), model
    high = ModelSpec.like("gpt-image-1", name="x", auto={"quality": "high", "background": "opaque"})
    resolved = _Resolved.of(high, {"quality": "auto", "background": "auto"})
    assert (resolved.quality, resolved.size, resolved.background) == ("high", "1024x1024", "opaque")


# -- today's API: the 2.5 and 2.6 families ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "quality"),
    [("gpt-image-2.6-sunburst", "1280x720", "high"), ("gpt-image-2.6-flare", "1024x1536", "low"),
     ("gpt-image-2.5-flare", "2048x1152", "xhigh"), ("gpt-image-2.5-sunburst-2026-09-08",
                                                      "1536x1024", "max"),
     ("gpt-image-2-2026-04-21", "1920x1088", "high")],
)
def test_new_models_take_their_sizes_and_qualities(http: httpx.Client, model: str, size: str,
                                                   quality: str) -> None:
    answer = post(http, prompt="A harbour", model=model, size=size, quality=quality).json()
    assert (answer["size"], answer["quality"]) == (size, quality)
    width, height = map(int, size.split("x"))
    assert b64_image(answer["data"][0]["b64_json"]).size == (width, height)
    # xhigh and max have no published token table: counted as high, scaled by area.
    counted = "high" if quality in ("xhigh", "max") else quality
    assert answer["usage"]["output_tokens"] == output_tokens(counted, size)


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
