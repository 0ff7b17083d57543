"""Views that go leave nothing behind: no listener, observer, timer or frame of ours survives.

Before JupyterLab loads, the page wraps ``addEventListener``/``removeEventListener``,
``MutationObserver.observe``/``disconnect``, ``setTimeout``/``clearTimeout`` and
``requestAnimationFrame``/``cancelAnimationFrame``, and keeps those made by our widget
modules: anywidget runs them from ``blob:`` URLs, which no other code on the page has.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

COUNT = """
(() => {
  const live = { listeners: [], observers: new Map(), timers: new Set(), frames: new Set() };
  window.__iwLive = live;
  const ours = () => (new Error().stack || "").includes("blob:");
  const capture = (options) => typeof options === "boolean" ? options : !!(options && options.capture);
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, handler, options) {
    if (ours()) live.listeners.push([this, type, handler, capture(options)]);
    return add.call(this, type, handler, options);
  };
  EventTarget.prototype.removeEventListener = function (type, handler, options) {
    const at = live.listeners.findIndex(([t, y, h, c]) =>
      t === this && y === type && h === handler && c === capture(options));
    if (at >= 0) live.listeners.splice(at, 1);
    return remove.call(this, type, handler, options);
  };
  const observe = MutationObserver.prototype.observe;
  const disconnect = MutationObserver.prototype.disconnect;
  MutationObserver.prototype.observe = function (target, options) {
    if (ours()) live.observers.set(this, target);
    return observe.call(this, target, options);
  };
  MutationObserver.prototype.disconnect = function () {
    live.observers.delete(this);
    return disconnect.call(this);
  };
  for (const [start, stop, kept] of [["setTimeout", "clearTimeout", live.timers],
                                     ["requestAnimationFrame", "cancelAnimationFrame", live.frames]]) {
    const started = window[start], stopped = window[stop];
    window[start] = function (callback, ...rest) {
      if (!ours() || typeof callback !== "function") return started.call(window, callback, ...rest);
      const id = started.call(window, (...args) => { kept.delete(id); callback(...args); }, ...rest);
      kept.add(id);
      return id;
    };
    window[stop] = function (id) { kept.delete(id); return stopped.call(window, id); };
  }
})();
"""

ATTACHED = "() => window.__iwLive.listeners.length + window.__iwLive.observers.size"
"""What a drawn view keeps while it is shown: its listeners and observers."""

EVERYTHING = ("() => { const l = window.__iwLive; return l.listeners.length + l.observers.size"
              " + l.timers.size + l.frames.size; }")

CELLS = [
    "import imagewidgets as iw\n"
    "params = iw.ImageParams(model='gpt-image-2', prompt='A kite over dunes', quality='low')\n"
    "panel = iw.ImagePanel(params=params)\n"
    "panel",
    "panel",  # the same widget, a second view
]


def _kernel_runs(page: Any, code: str) -> None:
    page.evaluate("async (code) => { const kernel = window.jupyterapp.shell.currentWidget"
                  ".sessionContext.session.kernel; await kernel.requestExecute({ code }).done; }", code)


def _until(page: Any, count: str, expected: int) -> None:
    """Wait until ``count`` reaches ``expected``; a failure says where it stayed."""
    try:
        page.wait_for_function(f"() => ({count})() === {expected}", timeout=120_000)
    except Exception:
        raise AssertionError(f"{page.evaluate(count)} still attached, expected {expected}") from None


def _in_cell_two(page: Any, command: str) -> None:
    page.evaluate("async (command) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1;"
                  " await window.jupyterapp.commands.execute(command); }", command)


def test_views_removed_or_redrawn_leave_no_listener_observer_or_timer(lab: Any, page: Any) -> None:
    page.add_init_script(COUNT)
    lab.write_notebook("cleanup.ipynb", CELLS)
    lab.open(page, "cleanup.ipynb", ready=".iw-panel")
    page.wait_for_function("() => document.querySelectorAll('.iw-panel').length === 2")
    page.locator("button.iw-generate").first.click()
    page.wait_for_function("() => document.querySelectorAll('.iw-tile.iw-status-done').length === 2")
    # Each view has attached its own (the kernel watch's click listener and its observer, the
    # slider observer, the prompt's and the buttons' listeners).
    page.wait_for_function("() => window.__iwLive.observers.size === 4")
    two = page.evaluate(ATTACHED)
    assert two > 8 and two % 2 == 0
    # The observers watch each view's own cell, never the whole page.
    assert page.evaluate("() => [...window.__iwLive.observers.values()].every("
                         "(node) => node instanceof Element && node.closest('.jp-Cell'))")

    _in_cell_two(page, "notebook:clear-cell-output")  # one view gone: half of it all
    _until(page, ATTACHED, two // 2)
    _in_cell_two(page, "notebook:run-cell")  # drawn again: as much as before, not more
    page.wait_for_function("() => document.querySelectorAll('.iw-tile.iw-status-done').length === 2")
    _until(page, ATTACHED, two)

    page.locator(".iw-tile .iw-enlarge button").first.click()  # an overlay with listeners of its own
    page.wait_for_selector(".iw-enlarged img")
    assert page.evaluate(ATTACHED) > two

    _kernel_runs(page, "panel.close()")  # every view goes: so does the open overlay
    page.wait_for_selector(".iw-enlarged", state="detached")
    _until(page, EVERYTHING, 0)
    assert page.locator(".iw-panel").count() == 0
