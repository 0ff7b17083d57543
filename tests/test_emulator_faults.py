"""The emulator's faults, injected or asked for by header: what each does on the wire."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from imagewidgets.emulator import EmulatorServer, faults
from imagewidgets.emulator.faults import FAULTS, NO_FAULT, Fault

from emulator_http import error_of, events_of, post

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503])
def test_status_faults(server: EmulatorServer, http: httpx.Client, status: int) -> None:
    server.inject(f"status_{status}")
    assert post(http, prompt="x", model="gpt-image-1").status_code == status
    assert post(http, prompt="x", model="gpt-image-1").status_code == 200  # only the next one


def test_rate_limit_and_quota_faults(server: EmulatorServer, http: httpx.Client) -> None:
    server.inject("status_429", times=2, retry_after=0.2, retry_after_ms=150)
    for _ in range(2):
        limited = post(http, prompt="x", model="gpt-image-1")
        assert limited.status_code == 429
        assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("0.2", "150")
    server.inject("insufficient_quota")
    quota = post(http, prompt="x", model="gpt-image-1")
    assert quota.status_code == 429 and error_of(quota)["code"] == "insufficient_quota"
    header = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1"},
                       headers={"x-emulator-fault": "status_429;retry_after=3"})
    assert header.status_code == 429 and header.headers["retry-after"] == "3"


def test_content_faults(server: EmulatorServer, http: httpx.Client) -> None:
    refused = error_of(post(http, prompt="Something forbidden here", model="dall-e-2"))
    assert refused["code"] == "content_policy_violation" and "rephrase" in refused["message"]
    server.inject("content_policy")
    refused = error_of(post(http, prompt="harmless", model="gpt-image-1"))
    assert refused["code"] == "moderation_blocked"

    def b64_of(fault: str) -> bytes:
        server.inject(fault)
        answer = post(http, prompt="x", model="gpt-image-1").json()
        return str(answer["data"][0]["b64_json"]).encode()

    with pytest.raises(ValueError):
        base64.b64decode(b64_of("bad_base64"), validate=True)
    assert not base64.b64decode(b64_of("not_an_image")).startswith(b"\x89PNG")
    bomb = base64.b64decode(b64_of("bomb"))
    assert bomb.startswith(b"\x89PNG") and int.from_bytes(bomb[16:20], "big") == 100_000
    server.inject("malformed_json")
    with pytest.raises(ValueError):
        post(http, prompt="x", model="gpt-image-1").json()


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
        post(http, prompt="x", model="gpt-image-1")
    server.inject("trickle", seconds=600)  # a piece, then silence past the read timeout
    with pytest.raises(httpx.ReadTimeout):
        http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1"},
                  timeout=httpx.Timeout(5, read=0.3))
    server.inject("slow", seconds=0.4)
    start = time.monotonic()
    assert post(http, prompt="x", model="gpt-image-1").status_code == 200
    assert time.monotonic() - start >= 0.4


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
    assert unknown.status_code == 400 and "status_429" in error_of(unknown)["message"]
    with pytest.raises(ValueError, match="unknown fault"):
        server.inject("gremlins")


def test_faults_reach_image_urls_and_stream_events(server: EmulatorServer,
                                                   http: httpx.Client) -> None:
    server.inject("not_an_image")
    url = post(http, prompt="x", model="dall-e-2", size="256x256").json()["data"][0]["url"]
    assert http.get(url).content.startswith(b"this is not an image")
    server.inject("bad_base64")
    event = events_of(http.post("/images/generations", json={
        "prompt": "x", "model": "gpt-image-1", "stream": True, "quality": "low"}))[0][1]
    with pytest.raises(ValueError):
        base64.b64decode(event["b64_json"], validate=True)
    server.inject("malformed_json")
    broken = http.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1",
                                                     "stream": True, "quality": "low"})
    data = [line for line in broken.text.splitlines() if line.startswith("data: ")]
    with pytest.raises(ValueError):
        json.loads(data[0][6:])


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
