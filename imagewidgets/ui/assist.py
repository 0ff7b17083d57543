"""What the panel needs of the page that no stock widget gives: named sliders, scrolling.

ipywidgets' sliders draw a ``role="slider"`` handle with no accessible name
(the visible label is a sibling ``<label>`` tied to nothing) and keep that
handle in the tab order while the slider is disabled. :class:`PageAssist`
sits inside a panel and, in the browser, names each slider's handle after its
label, takes disabled handles out of the tab order, and keeps doing so as
controls appear, change and are re-drawn. It also scrolls the panel's controls
into view when asked (after "Use settings"), which only the page can do.
"""

from __future__ import annotations

from typing import Any

import anywidget

__all__ = ["PageAssist"]

_ESM = """
function nameSliders(root) {
  root.querySelectorAll(".widget-slider").forEach((slider) => {
    const label = slider.querySelector(":scope > .widget-label");
    const name = label ? label.textContent.trim() : "";
    const off = !!slider.querySelector(".noUi-target[disabled]");
    slider.querySelectorAll(".noUi-handle").forEach((handle) => {
      // Only what differs is written: the observer below sees these writes too.
      if (name && handle.getAttribute("aria-label") !== name) handle.setAttribute("aria-label", name);
      const tab = off ? "-1" : "0";
      if (handle.getAttribute("tabindex") !== tab) handle.setAttribute("tabindex", tab);
      if (off !== (handle.getAttribute("aria-disabled") === "true")) {
        if (off) handle.setAttribute("aria-disabled", "true");
        else handle.removeAttribute("aria-disabled");
      }
    });
    const readout = slider.querySelector(".widget-readout");
    const typed = `${name}, typed value`;
    if (readout && name && readout.getAttribute("aria-label") !== typed) {
      readout.setAttribute("role", "textbox");
      readout.setAttribute("aria-label", typed);
    }
  });
}

function render({ model, el }) {
  let root = null, observer = null, tries = 0, queued = false;
  const refresh = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; if (root) nameSliders(root); });
  };
  const attach = () => {
    root = el.closest(".iw-root");
    if (!root) {  // not in the page yet
      if (tries++ < 100) setTimeout(attach, 50);
      return;
    }
    nameSliders(root);
    observer = new MutationObserver(refresh);
    observer.observe(root, { subtree: true, childList: true, attributes: true,
                             attributeFilter: ["disabled", "tabindex"] });
  };
  attach();
  const onMessage = (msg) => {
    if (!msg || msg.event !== "show" || !root) return;
    const target = root.querySelector(msg.selector);
    if (target) target.scrollIntoView({ block: "nearest" });
  };
  model.on("msg:custom", onMessage);
  return () => {
    if (observer) observer.disconnect();
    model.off("msg:custom", onMessage);
  };
}
export default { render };
"""


class PageAssist(anywidget.AnyWidget):
    """Names sliders, keeps disabled ones out of the tab order, scrolls on request.

    Put it anywhere inside a widget with the ``iw-root`` class; it draws nothing.
    """

    _esm = _ESM

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout.display = "none"  # draws nothing; its script still runs

    def show(self, selector: str) -> None:
        """Scroll the root's first element matching ``selector`` into view, if shown."""
        self.send({"event": "show", "selector": selector})

    def __repr__(self) -> str:
        return "PageAssist()"
