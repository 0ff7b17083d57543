"""The emulator's line per request (``serve(log=True)``): timed to the answer's end, a cut said,
never forged by what a request holds, never the key; nothing printed unless asked."""

from __future__ import annotations

import time

import httpx
import pytest

from imagewidgets.emulator import serve

from emulator_http import LINE


def _lines_printed(capsys: pytest.CaptureFixture[str], count: int) -> list[str]:
    """The next ``count`` lines the server thread prints: each comes once its answer has ended."""
    printed: list[str] = []
    deadline = time.monotonic() + 120  # stuck, not slow: the loop ends when the lines come
    while len(printed) < count and time.monotonic() < deadline:
        printed += capsys.readouterr().out.splitlines()
        time.sleep(0.01)
    return printed


def test_a_stream_is_timed_to_its_end_and_a_cut_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"model": "gpt-image-1", "prompt": "A fox", "stream": True, "partial_images": 2}
    with serve(latency=0.4, log=True) as server, httpx.Client(timeout=120) as http:
        with http.stream("POST", f"{server.url}/images/generations", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            response.read()
        server.inject("drop_stream")
        with pytest.raises(httpx.RemoteProtocolError), http.stream(
                "POST", f"{server.url}/images/generations", json=body) as response:
            response.read()
        lines = _lines_printed(capsys, 2)
    whole, cut = (LINE.fullmatch(line) for line in lines)
    assert whole is not None and cut is not None, lines
    # The latency is spread over the stream's events: timing only to the headers shows ~0 ms.
    assert int(whole.group(4)) >= 350 and whole.group(5) == ""
    assert cut.group(5) == " (connection cut)"


def test_a_line_cannot_be_forged_by_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(log=True, api_key="sk-secret-key") as server, httpx.Client(timeout=120) as http:
        http.post(f"{server.url}/images/generations", headers={"Authorization": "Bearer sk-secret-key"},
                  json={"model": "x\n12:00:00 POST /v1/images/generations é", "prompt": "A fox"})
        lines = _lines_printed(capsys, 1)
    assert len(lines) == 1 and "sk-secret-key" not in lines[0]
    found = LINE.fullmatch(lines[0])
    assert found is not None and found.group(1) == "x?12:00:00?POST?/v1/images/generations??"


def test_the_python_api_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with serve() as server:
        assert httpx.post(f"{server.url}/images/generations", json={"prompt": "A fox"}).status_code == 200
    assert capsys.readouterr().out == ""
