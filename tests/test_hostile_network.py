"""The emulator on a network (``serve --host 0.0.0.0`` for a workshop): what anyone in reach can send.

A request without the key is refused before its body is read; a body past its
path's limit gets a 413 in the API's error shape; the request log and the image
URLs stay within their bytes; the key is compared in constant time; two threads
asking for the shared emulator at once start one.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import imagewidgets.emulator as emulator_package
from imagewidgets.api import routing
from imagewidgets.emulator import EmulatorServer, serve, state as emulator_state, validation
from imagewidgets.emulator.app import PREVIEW
from imagewidgets.emulator.guard import BODY_LIMITS

from emulator_http import error_of

STUCK = 120.0
"""Seconds after which a socket read is stuck, not slow: a failure bound, never a measure."""
GENERATIONS = "/v1/images/generations"
KEY = "sk-test-network-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed() -> Iterator[EmulatorServer]:
    with serve(port=0, api_key=KEY) as running:
        yield running


def _raw(server: EmulatorServer, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send ``head`` (and ``body``, maybe less than it declares) on a socket; the answer's
    status and JSON. Only an answer sent before the rest of the body ends this."""
    with socket.create_connection((server.host, server.port), timeout=STUCK) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    header, _, payload = received.partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(payload)


def _complete(received: bytes) -> bool:
    header, _, payload = received.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in header.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    return length is not None and len(payload) >= length


def _post_head(server: EmulatorServer, length: int, auth: str = "") -> str:
    return (f"POST {GENERATIONS} HTTP/1.1\nHost: {server.host}:{server.port}\n"
            f"Content-Type: application/json\nContent-Length: {length}\n{auth}")


def test_a_request_without_the_key_is_refused_before_its_body_is_read(keyed: EmulatorServer) -> None:
    before = keyed.request_count
    # 100 MB announced, not one byte sent: only a server that never waits for the body answers.
    status, answer = _raw(keyed, _post_head(keyed, 100 << 20))
    assert status == 401 and answer["error"]["code"] == "invalid_api_key"
    wrong = _raw(keyed, _post_head(keyed, 100 << 20, "Authorization: Bearer sk-wrong-0123456789\n"))
    assert wrong[0] == 401 and "0123456789" not in json.dumps(wrong[1])
    assert keyed.request_count == before + 2  # counted, but nothing was read, so nothing logged
    assert all("sk-wrong" not in json.dumps(entry) for entry in keyed.requests)


def test_a_key_of_another_alphabet_is_refused_not_crashed_on(keyed: EmulatorServer) -> None:
    # Header bytes arrive as latin-1 text: a comparison of str with non-ASCII would raise (a 500).
    status, answer = _raw(keyed, _post_head(keyed, 2, "Authorization: Bearer sk-\xe9\xe9\xe9\n"), b"{}")
    assert status == 401 and answer["error"]["code"] == "invalid_api_key"


def test_the_key_is_compared_in_constant_time(keyed: EmulatorServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    real = validation.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(validation.hmac, "compare_digest", spy)
    with httpx.Client(base_url=keyed.url, timeout=STUCK) as http:
        right = http.get("/models", headers={"Authorization": f"Bearer {KEY}"})
        wrong = http.get("/models", headers={"Authorization": f"Bearer {KEY[:-1]}x"})
    assert (right.status_code, wrong.status_code) == (200, 401)
    assert compared and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)


def test_an_oversized_body_gets_a_413_in_the_api_shape(keyed: EmulatorServer) -> None:
    auth = f"Authorization: Bearer {KEY}\n"
    limit = BODY_LIMITS[GENERATIONS]
    status, answer = _raw(keyed, _post_head(keyed, limit + 1, auth))  # declared: refused unread
    assert status == 413 and answer["error"]["code"] == "request_too_large"
    assert f"{limit:,} bytes" in answer["error"]["message"]
    logged = len(keyed.requests)
    with httpx.Client(base_url=keyed.url, timeout=STUCK,
                      headers={"Authorization": f"Bearer {KEY}"}) as http:
        # No length said (chunked): refused once the bytes read pass the limit.
        chunked = http.post("/images/generations", content=iter([b" " * 65536] * 40))
        assert chunked.status_code == 413 and error_of(chunked)["code"] == "request_too_large"
        assert len(keyed.requests) == logged  # refused unread: nothing logged
        # The largest legitimate body fits: a 32,000-character prompt, every character escaped.
        largest = json.dumps({"model": "gpt-image-1", "prompt": "\u00e9" * 32000,
                              "size": "1024x1024", "quality": "low"}, ensure_ascii=True)
        assert len(largest) > 190_000
        fits = http.post("/images/generations", content=largest,
                         headers={"Content-Type": "application/json"})
        assert fits.status_code == 200, fits.text
    entry = keyed.requests[-1]
    assert len(entry["body"]) == PREVIEW  # the log keeps a preview, not the body
    assert entry["json"] is None


def test_body_limits_are_set_per_path() -> None:
    with serve(port=0, body_limits={GENERATIONS: 100}) as small, \
            httpx.Client(base_url=small.url, timeout=STUCK) as http:
        refused = http.post("/images/generations", json={"model": "dall-e-2", "prompt": "x" * 200})
        taken = http.post("/images/generations", json={"model": "dall-e-2", "prompt": "x",
                                                        "size": "256x256"})
        assert refused.status_code == 413 and "100 bytes" in error_of(refused)["message"]
        assert taken.status_code == 200


def test_the_request_log_stays_within_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_state, "LOG_BYTES", 1 << 20)
    body = {"model": "no-such-model", "prompt": "x" * 60_000}  # refused at once, JSON kept
    with serve(port=0) as server, httpx.Client(base_url=server.url, timeout=STUCK) as http:
        for _ in range(40):  # 2.4 MB sent in all
            assert http.post("/images/generations", json=body).status_code == 400
        assert server.request_count == 40
        assert server.state.log_bytes <= 1 << 20
        assert 10 <= len(server.requests) < 40  # the oldest went; the newest are there
        assert server.requests[-1]["json"] == body


def test_url_images_are_bounded_by_bytes_oldest_first() -> None:
    request = {"model": "dall-e-2", "prompt": "A lighthouse", "size": "256x256",
               "response_format": "url"}
    with serve(port=0) as server, httpx.Client(base_url=server.url, timeout=STUCK) as http:
        first = http.post("/images/generations", json=request).json()["data"][0]["url"]
        one = len(http.get(first).content)  # the same request draws the same picture: same bytes
        server.state.url_bytes = 2 * one + one // 2  # room for two
        urls = [first] + [http.post("/images/generations", json=request).json()["data"][0]["url"]
                          for _ in range(3)]
        assert server.state.file_bytes <= server.state.url_bytes
        gone = http.get(urls[0])
        assert gone.status_code == 404 and error_of(gone)["code"] == "not_found"
        assert "generate again" in error_of(gone)["message"]
        assert [http.get(url).status_code for url in urls[2:]] == [200, 200]


def test_two_threads_start_one_shared_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "_emulator", None)
    started: list[EmulatorServer] = []
    real_serve = emulator_package.serve

    def counted(*args: Any, **options: Any) -> EmulatorServer:
        server = real_serve(*args, **options)
        started.append(server)
        return server

    monkeypatch.setattr(emulator_package, "serve", counted)
    threads = 8
    barrier = threading.Barrier(threads)
    urls: list[str] = []

    def ask() -> None:
        barrier.wait(STUCK)
        urls.append(routing.emulator_url())

    askers = [threading.Thread(target=ask) for _ in range(threads)]
    try:
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(STUCK)
        assert len(urls) == threads and len(set(urls)) == 1
        assert len(started) == 1
    finally:
        for server in started:
            server.close()
