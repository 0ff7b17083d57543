"""Real JupyterLab and headless Chromium, started for the browser tests and the browser benchmark.

``tests/browser/conftest.py`` wraps these in fixtures; ``benchmarks/bench_browser.py`` (B12 to B15)
and ``make screenshots`` use them directly. Nothing here imports pytest: a missing browser raises
:class:`Missing`, a server that never answers raises :class:`LabFailed`, and each caller decides
whether that is a skip or a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]


class Missing(Exception):
    """Chromium or playwright is not installed."""


class LabFailed(Exception):
    """JupyterLab did not start; the message ends with its log's tail."""


def chromium_path() -> str:
    """Debian's Chromium (playwright cannot download its own here)."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                         else None)
    if found is None:
        raise Missing("chromium was not found")
    return str(found)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium through playwright's sync API; raises :class:`Missing` before starting."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise Missing("playwright is not installed") from None
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lab:
    """A running JupyterLab server and helpers to drive notebooks in a page."""

    def __init__(self, root: Path, url: str, token: str) -> None:
        self.root, self.url, self.token = root, url, token

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        path = self.root / name
        nbformat.write(notebook, path)
        return path

    def open(self, page: Any, name: str, ready: str = ".jp-OutputArea-output") -> None:
        """Open a notebook and run every cell until ``ready`` shows in the page.

        JupyterLab in a fresh settings folder has races a person would fix by
        hand: a "Select Kernel" dialog, a run sent while the kernel was still
        connecting (run again), or a kernel connection replaced right after it
        opened, after which the widget manager answers "model not found" for
        every widget (reload the page). Each is handled here.
        """
        url = f"{self.url}/lab/tree/{name}?token={self.token}&reset"
        for attempt in range(3):
            page.goto(url)
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            if self._run_until(page, ready):
                return
            print(f"{name}: attempt {attempt + 1} did not show {ready}; reloading the page")
        raise AssertionError(f"{ready} never showed in {name}")

    @staticmethod
    def _run_until(page: Any, ready: str) -> bool:
        """True once ``ready`` shows; False when the page needs a reload."""
        deadline = time.monotonic() + 120  # stuck, not slow: then the page is reloaded
        ran_at: float | None = None
        while not page.locator(ready).count():
            if time.monotonic() > deadline or page.get_by_text("Error displaying widget").count():
                return False
            busy = page.locator(".jp-Notebook-ExecutionIndicator[data-status='busy']").count()
            dialog = page.locator(".jp-Dialog .jp-mod-accept")
            if dialog.count():
                dialog.first.click()
                ran_at = None
            elif ran_at is not None and not busy and time.monotonic() - ran_at > 30:
                ran_at = None  # sent while the kernel was still connecting: it was lost
            elif ran_at is None and page.locator(
                    ".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
                page.wait_for_timeout(1000)  # let the widget manager's comm settle first
                # Not awaited in the page: the command's promise may wait on the kernel for long.
                page.evaluate(
                    "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
                ran_at = time.monotonic()
            page.wait_for_timeout(250)
        return True

    def kernel_id(self, name: str) -> str:
        """The id of the kernel of notebook ``name``."""
        sessions = httpx.get(f"{self.url}/api/sessions", headers=self._auth, timeout=60).json()
        return str(next(s["kernel"]["id"] for s in sessions if s["path"].endswith(name)))

    def restart_kernel(self, name: str) -> None:
        httpx.post(f"{self.url}/api/kernels/{self.kernel_id(name)}/restart", headers=self._auth,
                   timeout=60).raise_for_status()

    def shut_down_kernel(self, name: str) -> None:
        httpx.delete(f"{self.url}/api/kernels/{self.kernel_id(name)}", headers=self._auth,
                     timeout=60).raise_for_status()

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def save(self, page: Any, name: str) -> dict[str, Any]:
        # The command's promise settles once the file is written: reading before could find
        # it half-written. The loop is for outputs still arriving: saved again until they are.
        path = self.root / name
        deadline = time.monotonic() + 120  # stuck, not slow: returns when the outputs are saved
        while True:
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            data = json.loads(path.read_text())
            if any(cell.get("outputs") for cell in data["cells"]) or time.monotonic() > deadline:
                return dict(data)
            page.wait_for_timeout(200)


KERNEL = """async ([code, expression, expected, bound]) => {
  // The notebook's own kernel: its shell channel takes requests in order, after the comm messages.
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const deadline = Date.now() + bound;
  for (;;) {
    const reply = await kernel.requestExecute({code, silent: true, store_history: false,
                                               user_expressions: {value: expression}}).done;
    if (reply.content.status !== 'ok') throw new Error(`${code}: ${reply.content.evalue}`);
    const value = reply.content.user_expressions.value;
    const text = value.status === 'ok' ? value.data['text/plain'] : value.evalue;
    if (expected === null || text === expected) return text;
    if (Date.now() > deadline) throw new Error(`${expression} is ${text}, never ${expected}`);
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}"""


def kernel(page: Any, expression: str, expected: str | None = None, code: str = "",
           bound_ms: int = 600_000) -> str:
    """Run ``code`` in the open notebook's kernel and the repr of ``expression`` after it; with
    ``expected``, ask again until that is the repr (``bound_ms``: stuck, not slow)."""
    return str(page.evaluate(KERNEL, [code, expression, expected, bound_ms]))


# The page's widget models (ipywidgets' manager of the open notebook, found through the
# renderer of a widget output), counted by anywidget id; every model under "".
MODELS = """async () => {
  const seen = new Set();
  const find = (widget) => {
    if (!widget || seen.has(widget)) return null;
    seen.add(widget);
    if (widget._manager && widget._manager.promise) return widget._manager.promise;
    for (const child of widget.widgets || []) { const found = find(child); if (found) return found; }
    for (const key of ['content', 'outputArea', 'layout']) {
      if (widget[key] && widget[key] !== widget) { const found = find(widget[key]); if (found) return found; }
    }
    return null;
  };
  const manager = await find(window.jupyterapp.shell.currentWidget);
  const counts = {'': 0};
  for (const model of await Promise.all(Object.values(manager._models))) {
    const id = model.get('_anywidget_id') || model.get('_model_name');
    counts[''] += 1;
    counts[id] = (counts[id] || 0) + 1;
  }
  return counts;
}"""


def page_models(page: Any) -> dict[str, int]:
    """How many widget models the page's widget manager holds: by anywidget id (else model
    name), and all of them under ``""``."""
    return dict(page.evaluate(MODELS))


@contextlib.contextmanager
def running_lab(base: Path, latency: float = 1.0, widget_state: bool = False) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a fresh config, settings and workspace under ``base``.

    Its kernels use the built-in emulator answering after ``latency`` seconds, and store
    images beside the notebook, as a user's do. Widget state is saved with the notebook
    only with ``widget_state`` (JupyterLab's "Save Widget State Automatically"; off by
    default, as in JupyterLab). Raises :class:`LabFailed` when it never answers.
    """
    root, home = base / "root", base / "home"
    root.mkdir()
    settings = home / "settings"
    for folder, content in (
        ("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
         {"fetchNews": "false", "checkForUpdates": False}),
        # Start the notebook's own kernel without asking (the "Select Kernel" dialog).
        ("@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
         {"autoStartDefaultKernel": True}),
        # Notebooks are saved when a test saves them (lab.save), never by a timer: "before
        # autosave" is then a state a test can rely on, however long a loaded machine takes.
        ("@jupyterlab/docmanager-extension/plugin.jupyterlab-settings", {"autosave": False}),
        ("@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings", {"saveState": widget_state}),
    ):
        target = settings / folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(content))
    port, token = _free_port(), secrets.token_hex(16)
    env = {key: value for key, value in os.environ.items()
           if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMAGEWIDGETS_DIR")}
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTER_PLATFORM_DIRS="1", IMAGEWIDGETS_EMULATOR_LATENCY=str(latency),
               PYTHONWARNINGS="ignore")
    log = (base / "jupyter.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url="],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # stuck, not slow
        while True:
            try:
                if httpx.get(f"{url}/api/status", headers={"Authorization": f"token {token}"},
                             timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (base / "jupyter.log").read_text()[-3000:]
                raise LabFailed(f"JupyterLab did not start:\n{tail}")
            time.sleep(0.25)
        yield Lab(root, url, token)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
