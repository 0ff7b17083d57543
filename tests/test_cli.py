"""The command line: ``--version``, ``serve``'s line per request, ``demo`` (from any folder,
in a working copy, its URL opening the quickstart)."""

from __future__ import annotations

import os
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
from typing import IO, Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets import __main__ as cli

from emulator_http import LINE
from waiting import until_sync

REPOSITORY = Path(__file__).resolve().parent.parent
STUCK = 120
"""Seconds after which a process or a read is stuck, not slow: every wait here ends on an
event (a line, an exit, an answer); this bound only turns a hang into a failure."""


def test_version_prints_the_version(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "imagewidgets", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=STUCK, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"imagewidgets {iw.__version__}\n", "")


def _read_lines(stdout: IO[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The lines of ``stdout`` (None after the last), read by a thread so that a test can
    wait for a line with a timeout; and that thread, to join."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


@contextmanager
def _serving(*flags: str) -> Iterator[tuple[str, subprocess.Popen[str], queue.Queue[str | None]]]:
    """``python -m imagewidgets serve --port 0 *flags``: its URL, process and stdout's lines
    (None after the last), read by a thread so that a test can wait for a line with a timeout."""
    # -X faulthandler: a hung serve prints every thread's stack on SIGABRT (see _exit_code).
    # preexec_fn: Ctrl+C as a terminal delivers it. A child inherits an ignored SIGINT, and in
    # the full suite under load the test process's SIGINT and SIGQUIT were ignored as serve
    # started (as C's system() does while it runs): serve rightly kept ignoring it, and hung.
    process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "imagewidgets", "serve",
                                "--port", "0", *flags], stdout=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout is not None
    stdout = process.stdout
    lines, reader = _read_lines(stdout)
    try:
        first = lines.get(timeout=STUCK) or ""
        url = first.rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1"), first
        yield url, process, lines
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(STUCK)
        reader.join(STUCK)
        stdout.close()


def _exit_code(process: subprocess.Popen[str]) -> int:
    """The exit code of ``process``; if it hangs, its threads' stacks (on stderr) and a failure."""
    try:
        return process.wait(STUCK)
    except subprocess.TimeoutExpired:
        # Which signals it blocks, ignores or holds pending, and which this thread blocks (a
        # child inherits its mask): a Ctrl+C that never lands shows there.
        status = [line for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                  if line.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"))]
        blocked = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        process.send_signal(signal.SIGABRT)
        process.wait(STUCK)
        raise AssertionError(f"serve did not exit in {STUCK} s: its stacks are on stderr; "
                             f"its {status}; blocked here: {blocked}") from None


def _request_line(lines: queue.Queue[str | None]) -> re.Match[str]:
    deadline = time.monotonic() + STUCK
    while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
        if found := LINE.fullmatch(line):
            return found
    raise AssertionError("serve ended without a line for the request")


def test_serve_prints_a_line_per_request() -> None:
    with _serving() as (url, _process, lines):
        answer = httpx.post(f"{url}/images/generations", timeout=STUCK,
                            json={"model": "gpt-image-1", "prompt": "A fox", "size": "1024x1024"})
        assert answer.status_code == 200
        assert _request_line(lines).groups()[:3] == ("gpt-image-1", "1024x1024", "200")
        refused = httpx.post(f"{url}/images/generations", json={"model": "gpt-image-1"}, timeout=STUCK)
        assert refused.status_code == 400
        assert _request_line(lines).groups()[:3] == ("gpt-image-1", "-", "400")


def test_serve_runs_batches_at_the_pace_asked() -> None:
    line = ('{"custom_id": "a", "method": "POST", "url": "/v1/images/generations", '
            '"body": {"model": "gpt-image-1", "prompt": "A fox", "size": "1024x1024"}}\n')
    with _serving("--quiet", "--batch-line-seconds", "600") as (url, _process, _lines):
        uploaded = httpx.post(f"{url}/files", data={"purpose": "batch"}, timeout=STUCK,
                              files={"file": ("lines.jsonl", line.encode())}).json()
        batch = httpx.post(f"{url}/batches", timeout=STUCK, json={
            "input_file_id": uploaded["id"], "endpoint": "/v1/images/generations",
            "completion_window": "24h"}).json()

        def running() -> dict[str, Any]:
            return dict(httpx.get(f"{url}/batches/{batch['id']}", timeout=STUCK).json())
        until_sync(lambda: running()["status"] == "in_progress", "the batch running")
        # Ten minutes a line: the one line is not done, and a demo can watch it run.
        assert running()["request_counts"] == {"total": 1, "completed": 0, "failed": 0}
        cancelled = httpx.post(f"{url}/batches/{batch['id']}/cancel", timeout=STUCK).json()
        assert cancelled["status"] in ("cancelling", "cancelled")


def test_serve_quiet_prints_no_request_lines() -> None:
    with _serving("--quiet") as (url, process, lines):
        answer = httpx.post(f"{url}/images/generations", timeout=STUCK,
                            json={"model": "gpt-image-1", "prompt": "A fox", "size": "1024x1024"})
        assert answer.status_code == 200
        process.send_signal(signal.SIGINT)  # as Ctrl+C: it closes and says nothing more
        assert _exit_code(process) == 0
        printed = []
        while (line := lines.get(timeout=STUCK)) is not None:
            printed.append(line)
    assert "Press Ctrl+C to stop." in printed
    assert not any(LINE.fullmatch(line) or "POST" in line for line in printed), printed


def _option(command: list[str], name: str) -> str:
    values = [word.split("=", 1)[1] for word in command if word.startswith(f"--{name}=")]
    assert len(values) == 1, command
    return values[0]


def test_demo_finds_the_quickstart_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    command = cli.demo_command()
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    # JupyterLab's root is the working copy, and the URL it prints opens the notebook, not the launcher.
    assert _option(command, "ServerApp.root_dir") == str(REPOSITORY / "demo")
    assert _option(command, "LabApp.default_url") == "/lab/tree/01_quickstart.ipynb"
    compare = cli.demo_command("02_compare_models_and_qualities.ipynb")  # a repository notebook by name
    assert _option(compare, "ServerApp.root_dir") == str(REPOSITORY / "demo")
    assert _option(compare, "LabApp.default_url") == "/lab/tree/02_compare_models_and_qualities.ipynb"
    tracked = cli.demo_command(str(REPOSITORY / "notebooks" / "01_quickstart.ipynb"))  # by its path
    assert _option(tracked, "ServerApp.root_dir") == str(REPOSITORY / "demo")
    mine = tmp_path / "my lesson.ipynb"
    mine.write_text("{}")
    own = cli.demo_command("my lesson.ipynb")  # a path is the working directory's, opened where it is
    assert _option(own, "ServerApp.root_dir") == str(tmp_path)
    assert _option(own, "LabApp.default_url") == "/lab/tree/my%20lesson.ipynb"
    elsewhere = cli.demo_command(folder="class", options=["--ServerApp.port=8889"])
    assert _option(elsewhere, "ServerApp.root_dir") == str(tmp_path / "class")
    assert elsewhere[-1] == "--ServerApp.port=8889"


def test_the_working_copy_keeps_what_is_there(tmp_path: Path) -> None:
    lessons = sorted(path.name for path in (REPOSITORY / "notebooks").glob("*.ipynb"))
    folder = tmp_path / "demo"
    assert [path.name for path in cli.working_copy(folder)] == lessons
    assert (folder / lessons[0]).read_bytes() == (REPOSITORY / "notebooks" / lessons[0]).read_bytes()
    (folder / lessons[0]).write_text('{"edited": true}')  # the user's edits
    (folder / lessons[1]).unlink()  # deleted: the lesson comes back
    assert cli.working_copy(folder) == [folder / lessons[1]]
    assert (folder / lessons[0]).read_text() == '{"edited": true}'
    assert cli.working_copy(folder) == []


def test_demo_runs_the_command_in_the_working_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ran: list[list[str]] = []

    def call(command: list[str]) -> int:  # JupyterLab is not started here: the next test does
        ran.append(command)
        return 0

    monkeypatch.setattr(subprocess, "call", call)
    assert cli.main(["demo", "--dir", "class", "--ServerApp.port=8889"]) == 0
    assert _option(ran[0], "ServerApp.root_dir") == str(tmp_path / "class")
    assert ran[0][-1] == "--ServerApp.port=8889"
    assert (tmp_path / "class" / "01_quickstart.ipynb").is_file()
    lessons = len(list((REPOSITORY / "notebooks").glob("*.ipynb")))
    printed = capsys.readouterr().out
    assert f"The notebooks run in a working copy: {tmp_path / 'class'} ({lessons} copied from" in printed
    assert "the built-in emulator" in printed
    assert cli.main(["demo", "--dir", "class"]) == 0
    again = capsys.readouterr().out
    assert "(0 copied from" in again and f"{lessons} kept as you left them" in again
    for wrong in (["demo", "--nope"], ["demo", "--ServerApp.port", "8889"], ["serve", "--ServerApp.port=1"]):
        with pytest.raises(SystemExit) as refused:
            cli.main(wrong)
        assert refused.value.code == 2, wrong


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


def _jupyter_environment(tmp_path: Path) -> dict[str, str]:
    """JupyterLab's config, runtime, settings and workspaces in ``tmp_path``: nothing of the user's."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("JUPYTER")}
    for name, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
        environment[name] = str(tmp_path / "jupyter" / folder)
    environment["JUPYTER_PLATFORM_DIRS"] = "1"
    environment.pop("OPENAI_API_KEY", None)
    return environment


def _tracked_notebooks() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((REPOSITORY / "notebooks").glob("*.ipynb"))}


def test_demo_serves_the_quickstart_of_the_working_copy(tmp_path: Path) -> None:
    before = _tracked_notebooks()
    work = tmp_path / "work"
    # From another folder, as `make demo` runs it; no browser, any free port.
    process = subprocess.Popen(
        [sys.executable, "-m", "imagewidgets", "demo", "--dir", str(work), "--ServerApp.port=0",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.open_browser=False",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url="],
        cwd=tmp_path, env=_jupyter_environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    assert process.stdout is not None
    stdout = process.stdout
    lines, reader = _read_lines(stdout)
    printed: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + STUCK
        while url is None and (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
            printed.append(line)
            if found := re.search(r"http://127\.0\.0\.1:\d+/\S+", line):
                url = found[0]
        assert url is not None, "\n".join(printed)
        assert f"The notebooks run in a working copy: {work} (" in printed[0]
        page = httpx.get(url, timeout=STUCK, follow_redirects=True)
        assert page.status_code == 200
        assert page.url.path == "/lab/tree/01_quickstart.ipynb"  # the notebook, not the launcher
        assert '"treePath": "01_quickstart.ipynb"' in page.text
        # The notebook JupyterLab opens (and saves) is the working copy's.
        token = httpx.URL(url).params["token"]
        contents = httpx.URL(url).copy_with(path="/api/contents/01_quickstart.ipynb", params={"token": token})
        notebook = httpx.get(contents, timeout=STUCK).json()
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]
        notebook["content"]["cells"][0]["source"] = "# edited in the demo"
        saved = httpx.put(contents, json={"type": "notebook", "format": "json",
                                          "content": notebook["content"]}, timeout=STUCK)
        assert saved.status_code == 200, saved.text
        assert "# edited in the demo" in (work / "01_quickstart.ipynb").read_text()
        assert _tracked_notebooks() == before
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STUCK)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STUCK)
        reader.join(STUCK)
        stdout.close()


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
        answer = httpx.post(f"{url}/images/generations", json={"prompt": "x", "size": "256x256"},
                            timeout=STUCK)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(STUCK)
        if process.stdout:
            process.stdout.close()


def test_command_line_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "imagewidgets", "serve", "--port", "0",
                                "--as-of", "2026-12-02"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        rest = "".join(process.stdout.readline() for _ in range(7))
        assert "as the API on 2026-12-02" in rest and '"model": "gpt-image-2.6-flare"' in rest
        refused = httpx.post(f"{url}/images/generations",
                             json={"prompt": "x", "model": "gpt-image-1.5"}, timeout=STUCK)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    finally:
        process.terminate()
        process.wait(STUCK)
        if process.stdout:
            process.stdout.close()
    with pytest.raises(SystemExit):
        cli.main(["serve", "--as-of", "2026-13-01"])
    assert "is not a date such as" in capsys.readouterr().err
