"""The command line: ``--version``, ``serve``'s line per request, ``demo`` from any folder."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import imagewidgets as iw
from imagewidgets import __main__ as cli
from imagewidgets.emulator import serve

REPOSITORY = Path(__file__).resolve().parent.parent
LINE = re.compile(r"\d\d:\d\d:\d\d POST /v1/images/generations (\S+) (\S+) (\d{3}) (\d+) ms(.*)")
"""A request's line: time, method, path, model, size, status, milliseconds."""


def test_version_prints_the_version(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "imagewidgets", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"imagewidgets {iw.__version__}\n", "")


@contextmanager
def _serving(*flags: str) -> Iterator[tuple[str, subprocess.Popen[str], queue.Queue[str | None]]]:
    """``python -m imagewidgets serve --port 0 *flags``: its URL, process and stdout's lines
    (None after the last), read by a thread so that a test can wait for a line with a timeout."""
    process = subprocess.Popen([sys.executable, "-m", "imagewidgets", "serve", "--port", "0", *flags],
                               stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=60) or ""
        url = first.rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1"), first
        yield url, process, lines
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(10)
        reader.join(10)
        stdout.close()


def _request_line(lines: queue.Queue[str | None]) -> re.Match[str]:
    deadline = time.monotonic() + 20
    while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
        if found := LINE.fullmatch(line):
            return found
    raise AssertionError("serve ended without a line for the request")


def test_serve_prints_a_line_per_request() -> None:
    with _serving() as (url, _process, lines):
        answer = httpx.post(f"{url}/images/generations", timeout=20,
                            json={"model": "gpt-image-1", "prompt": "A fox", "size": "1024x1024"})
        assert answer.status_code == 200
        assert _request_line(lines).groups()[:3] == ("gpt-image-1", "1024x1024", "200")
        refused = httpx.post(f"{url}/images/generations", json={"model": "gpt-image-1"}, timeout=20)
        assert refused.status_code == 400
        assert _request_line(lines).groups()[:3] == ("gpt-image-1", "-", "400")


def test_serve_quiet_prints_no_request_lines() -> None:
    with _serving("--quiet") as (url, process, lines):
        answer = httpx.post(f"{url}/images/generations", timeout=20,
                            json={"model": "gpt-image-1", "prompt": "A fox", "size": "1024x1024"})
        assert answer.status_code == 200
        process.send_signal(signal.SIGINT)  # as Ctrl+C: it closes and says nothing more
        assert process.wait(10) == 0
        printed = []
        while (line := lines.get(timeout=10)) is not None:
            printed.append(line)
    assert "Press Ctrl+C to stop." in printed
    assert not any(LINE.fullmatch(line) or "POST" in line for line in printed), printed


def _lines_printed(capsys: pytest.CaptureFixture[str], count: int) -> list[str]:
    """The next ``count`` lines the server thread prints: each comes once its answer has ended."""
    printed: list[str] = []
    deadline = time.monotonic() + 10
    while len(printed) < count and time.monotonic() < deadline:
        printed += capsys.readouterr().out.splitlines()
        time.sleep(0.01)
    return printed


def test_a_stream_is_timed_to_its_end_and_a_cut_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"model": "gpt-image-1", "prompt": "A fox", "stream": True, "partial_images": 2}
    with serve(latency=0.4, log=True) as server, httpx.Client(timeout=20) as http:
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
    with serve(log=True, api_key="sk-secret-key") as server, httpx.Client(timeout=20) as http:
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


def test_demo_finds_the_quickstart_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    command = cli.demo_command()
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert command[3] == str(REPOSITORY / "notebooks" / "01_quickstart.ipynb")
    assert cli.demo_command("01_quickstart.ipynb")[3] == command[3]  # a repository notebook by name
    mine = tmp_path / "mine.ipynb"
    mine.write_text("{}")
    assert cli.demo_command("mine.ipynb")[3] == str(mine)  # a path is the working directory's


def test_demo_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "NOTEBOOKS", tmp_path / "site-packages" / "notebooks")  # as from a wheel
    with pytest.raises(FileNotFoundError) as raised:
        cli.demo_command()
    assert str(tmp_path / "site-packages" / "notebooks" / "01_quickstart.ipynb") in str(raised.value)
    assert cli.main(["demo", "lesson.ipynb"]) == 2
    error = capsys.readouterr().err
    assert str(tmp_path / "lesson.ipynb") in error
    assert str(tmp_path / "site-packages" / "notebooks" / "lesson.ipynb") in error
