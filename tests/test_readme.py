"""Every code block in README.md runs as written, in the context its fence names.

The fence's info string says where a block runs (GitHub highlights by its first
word, so ```` ```python notebook ```` still renders as Python):

- ``python notebook``: every such block, in README order, is one cell of one
  notebook, executed in one kernel with nbclient (as ``test_notebooks.py`` runs
  the lessons), so top-level ``await`` is allowed and a later block sees an
  earlier block's names. A line ``code  # -> value`` is a claim: the test checks
  that ``repr(code)`` is ``value`` when that line runs. A last cell (the test's,
  not the README's) waits for every image tile the blocks made and fails on any
  that did not end ``done``: a panel or grid fails in its tiles, not in its cell.
- ``python script``: each block is a file run with ``python`` in a subprocess,
  in an empty folder; it must exit 0. The file is padded so that its line
  numbers are README.md's, in a traceback too.
- ``bash``: each line is one command, run with the virtualenv's ``python`` first
  on ``PATH``. The rule for commands that do not exit: a ``python -m imagewidgets
  serve ...`` line is started with ``--port 0`` appended (argparse takes the last
  ``--port``), must print the emulator's URL as its first line, and is then
  stopped. ``make demo``, ``make test`` and ``make bench`` are exempt (:data:`EXEMPT` says why).
  Every other line must exit 0 within :data:`TIMEOUT` seconds.

Everything runs on the emulator with no key: ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` unset, ``IMAGEWIDGETS_EMULATOR_LATENCY=0``, and
``IMAGEWIDGETS_DIR`` in a temporary folder, so nothing is written into the
checkout. A failing block fails with its line number in README.md.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

README = Path(__file__).resolve().parent.parent / "README.md"
CONTEXTS = {"python": ("notebook", "script"), "bash": ()}
"""The languages this test runs, and the contexts a block of each must name (none for bash)."""
TIMEOUT = 600
"""Seconds after which a block, a command or a cell is stuck, not slow: a failure bound only."""
EXEMPT = {
    "make demo": "it serves JupyterLab until stopped: tests/test_cli.py starts `python -m imagewidgets "
                 "demo`, which `make demo` calls, and opens the URL it prints",
    "make test": "it is this test suite (with ruff and mypy)",
    "make bench": "it measures for minutes; .ci/run runs its quick form after the tests",
    "make bench CHECK=1": "the same, then checks the goals",
    "make bench QUICK=1": ".ci/run runs it after the tests",
}
CLAIM = re.compile(r"^(?P<code>\S.*?)\s+# -> (?P<claim>.+)$")
"""``code  # -> value``, at the top level of a notebook block."""
SERVE = ["python", "-m", "imagewidgets", "serve"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Block:
    """One fenced code block of README.md."""

    language: str
    context: str
    line: int
    """README.md's line of the block's first line of code."""
    code: str

    def __str__(self) -> str:
        kind = " ".join(word for word in (self.language, self.context) if word) or "untagged"
        return f"README.md:{self.line} ({kind})"


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        fence = re.fullmatch(r"```(\S*)\s*(.*)", lines[number])
        number += 1
        if fence is None:
            continue
        start = number
        while lines[number] != "```":
            number += 1
        blocks.append(Block(fence[1], fence[2].strip(), start + 1, "\n".join(lines[start:number]) + "\n"))
        number += 1
    return blocks


BLOCKS = _blocks(README.read_text(encoding="utf-8"))
NOTEBOOK = [block for block in BLOCKS if (block.language, block.context) == ("python", "notebook")]
SCRIPTS = [block for block in BLOCKS if (block.language, block.context) == ("python", "script")]
ALL_COMMANDS = [(block.line + offset, line) for block in BLOCKS if block.language == "bash"
                for offset, line in enumerate(block.code.splitlines()) if line.strip()]


def _words(command: str) -> str:
    return " ".join(shlex.split(command, comments=True))


# Exempt commands are left out of the run, not skipped: a skip in CI counts as a failure.
COMMANDS = [(line, command) for line, command in ALL_COMMANDS if _words(command) not in EXEMPT]


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator with no key and no latency; images kept in a temporary folder."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0")
    monkeypatch.setenv("IMAGEWIDGETS_DIR", str(tmp_path / "output"))
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    # `python` in a command is the one running these tests (the virtualenv's).
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    return dict(os.environ)


def test_the_readme_has_blocks_of_each_kind() -> None:
    assert NOTEBOOK and SCRIPTS and COMMANDS, [str(block) for block in BLOCKS]


def _untold(blocks: list[Block]) -> list[str]:
    """What is wrong with where ``blocks`` say they run: one sentence per block, naming its line."""
    wrong = []
    for block in blocks:
        if block.language not in CONTEXTS:
            wrong.append(f"{block}: no rule here runs {block.language or 'an untagged'} block "
                         "(tag it ```python notebook, ```python script or ```bash)")
        elif CONTEXTS[block.language] and block.context not in CONTEXTS[block.language]:
            wrong.append(f"{block}: say where it runs: ```{block.language} "
                         + " or ```python ".join(CONTEXTS[block.language]))
        elif block.context == "script" and "# -> " in block.code:
            wrong.append(f"{block}: `# ->` claims are checked in notebook blocks; a script asserts")
    return wrong


def test_every_block_says_where_it_runs() -> None:
    assert not _untold(BLOCKS), "\n".join(_untold(BLOCKS))


def test_a_block_that_does_not_say_fails() -> None:
    text = "Intro\n\n```python\nx = 1\n```\n\n```python notebook\ny = 2\n```\n\n```\nls\n```\n"
    assert _untold(_blocks(text)) == [
        "README.md:4 (python): say where it runs: ```python notebook or ```python script",
        "README.md:12 (untagged): no rule here runs an untagged block "
        "(tag it ```python notebook, ```python script or ```bash)"]


def _cell(block: Block) -> str:
    """The block as a cell, each ``# ->`` claim wrapped in a check (same line, same value)."""
    lines = []
    for offset, line in enumerate(block.code.splitlines()):
        if claim := CLAIM.match(line):
            compile(claim["code"].removeprefix("await "), str(block), "eval")  # a claim is an expression
            line = f"_readme_claim({claim['code']}, {claim['claim']!r}, {block.line + offset})"
        lines.append(line)
    return "\n".join(lines)


PRELUDE = '''\
def _readme_claim(value, claim, line):
    if repr(value) != claim:
        raise AssertionError(f"README.md:{line} claims {claim}, the value is {value!r}")
    return value
'''

SETTLE = '''\
import asyncio, gc, time
from imagewidgets.ui.tile import ImageTile

def _tiles():
    return [tile for tile in gc.get_objects() if isinstance(tile, ImageTile)]

_deadline = time.monotonic() + 600  # stuck, not slow: the loop ends when the tiles do
while any(tile.status in ("queued", "running", "partial") for tile in _tiles()):
    assert time.monotonic() < _deadline, "tiles still running after 600 s"
    await asyncio.sleep(0.05)
_unfinished = [f"{tile.status}: {tile.error!r}" for tile in _tiles() if tile.status != "done"]
assert _tiles() and not _unfinished, _unfinished
'''


def _failure(notebook: nbformat.NotebookNode, error: CellExecutionError) -> str:
    """Where in README.md the first failing cell failed, and how."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            traceback = ANSI.sub("", "\n".join(output.traceback))
            where = cell.metadata.get("readme", "the test's own check cell")
            if (line := cell.metadata.get("readme_line")) is not None:
                # IPython names the cell's line: "Cell In[3], line 2" (the claim check is In[1]).
                within = re.findall(rf"Cell In\[{cell.execution_count}\], line (\d+)", traceback)
                where = f"README.md:{line + int(within[-1]) - 1 if within else line} ({cell.metadata.readme})"
            return f"{where}: {output.ename}: {output.evalue}\n{traceback}"
    return str(error)


def test_notebook_blocks_run_in_one_kernel_in_order(environment: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(PRELUDE)]
    for block in NOTEBOOK:
        cell = nbformat.v4.new_code_cell(_cell(block))
        cell.metadata.update(readme_line=block.line, readme=f"the notebook block at README.md:{block.line}")
        notebook.cells.append(cell)
    notebook.cells.append(nbformat.v4.new_code_cell(SETTLE))
    # nbclient's default drops a cell's output that comes over 4 s after its reply: wait, and
    # fail only when stuck.
    client = NotebookClient(notebook, timeout=TIMEOUT, startup_timeout=TIMEOUT,
                            iopub_timeout=TIMEOUT, raise_on_iopub_timeout=True, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        failure = _failure(notebook, error)  # failed outside the handler: no chained traceback
    if failure:
        pytest.fail(failure, pytrace=False)
    assert not (work / "imagewidgets-output").exists(), "images were written beside the notebook"
    assert any((tmp_path / "output").iterdir()), "no image was kept in IMAGEWIDGETS_DIR"


@pytest.mark.parametrize("block", SCRIPTS, ids=[f"README.md:{block.line}" for block in SCRIPTS])
def test_script_block_runs_with_python(block: Block, environment: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    script = work / f"readme_line_{block.line}.py"
    script.write_text("\n" * (block.line - 1) + block.code, encoding="utf-8")  # README's line numbers
    done = subprocess.run([sys.executable, script.name], cwd=work, env=environment, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        pytest.fail(f"{block} exited {done.returncode} (the traceback's lines are README.md's):\n"
                    f"{done.stderr}", pytrace=False)
    assert not (work / "imagewidgets-output").exists(), "images were written beside the script"


def test_only_the_commands_that_never_exit_are_exempt() -> None:
    # Each exemption names a command the README has; a stale one, or a new exempt command, fails.
    assert sorted({_words(command) for _line, command in ALL_COMMANDS} & set(EXEMPT)) == sorted(EXEMPT)
    assert len(COMMANDS) >= len(ALL_COMMANDS) - len(EXEMPT) > 0


@pytest.mark.parametrize(("line", "command"), COMMANDS, ids=[f"README.md:{line}" for line, _ in COMMANDS])
def test_command_runs(line: int, command: str, environment: dict[str, str], tmp_path: Path) -> None:
    words = shlex.split(command, comments=True)
    if words[:4] == SERVE:
        _check_serve(line, [*words, "--port", "0"], environment, tmp_path)
        return
    try:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environment, capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        done = None
    if done is None:
        pytest.fail(f"README.md:{line} `{command}` did not exit within {TIMEOUT} s: give commands "
                    "that serve a rule in this module's docstring", pytrace=False)
    assert done.returncode == 0, f"README.md:{line} `{command}` exited {done.returncode}:\n{done.stderr}"


def _check_serve(line: int, words: list[str], environment: dict[str, str], tmp_path: Path) -> None:
    """Start a ``serve`` command, read its first line (the URL), stop it."""
    process = subprocess.Popen(words, cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    # A start that hangs is stopped after TIMEOUT seconds: the read below then ends.
    watchdog = threading.Timer(TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert re.fullmatch(r"imagewidgets emulator: an OpenAI-compatible Images API on "
                            r"http://127\.0\.0\.1:\d+/v1\n", first), \
            f"README.md:{line} `{' '.join(words)}` printed {first!r} first, not the emulator's URL"
    finally:
        watchdog.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()
