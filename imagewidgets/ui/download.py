"""Full-size image actions: Download and Enlarge, fetched from the kernel on click.

Tiles carry only thumbnails. The full image crosses to the browser only when
a person asks for it: the button sends a request, the kernel answers with the
bytes as a binary buffer, and the browser builds a ``Blob`` from them. No
``data:`` URL and no base64 ever sits in widget state or in a saved notebook.

The bytes are exactly the server's, an SVG's too, so they are never rendered
as a document: Download hands them to a link with ``download`` set (saved,
not opened); Enlarge shows them in an ``<img>`` (an SVG there runs no script
and fetches nothing) and revokes the ``blob:`` URL once drawn, so "Open image
in new tab" cannot open an SVG as a document of the notebook's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

__all__ = ["FullImageButton"]

_ESM = """
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "jupyter-button widget-button iw-full-image-button";
  const sync = () => {
    button.textContent = model.get("label");
    button.title = model.get("tooltip_text");
    button.disabled = model.get("disabled");
    button.dataset.action = model.get("action");
  };
  sync();
  model.on("change", sync);
  button.addEventListener("click", () => model.send({ event: "request" }));

  const onMessage = (msg, buffers) => {
    if (!msg || msg.event !== "image" || !buffers || !buffers.length) return;
    const view = buffers[0];
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const url = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
    if (model.get("action") === "download") {
      const link = document.createElement("a");
      link.href = url;
      link.download = msg.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      return;
    }
    showOverlay(url, msg.filename);
  };
  model.on("msg:custom", onMessage);
  el.appendChild(button);
  return () => model.off("msg:custom", onMessage);
}

function showOverlay(url, title) {
  const overlay = document.createElement("div");
  overlay.className = "iw-enlarged";
  overlay.tabIndex = 0;
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-label", title);
  overlay.style.cssText =
    "position:fixed;inset:0;z-index:10000;background:rgba(0,0,0,.85);display:flex;" +
    "align-items:center;justify-content:center;cursor:zoom-out";
  const img = document.createElement("img");
  const revoke = () => URL.revokeObjectURL(url);  // drawn: the URL has done its work
  img.addEventListener("load", revoke, { once: true });
  img.addEventListener("error", revoke, { once: true });
  img.src = url;
  img.alt = title;
  img.style.cssText = "max-width:95vw;max-height:95vh;box-shadow:0 0 24px #000";
  overlay.appendChild(img);
  const close = () => { overlay.remove(); revoke(); };
  overlay.addEventListener("click", close);
  overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  document.body.appendChild(overlay);
  overlay.focus();
}

export default { render };
"""


class FullImageButton(anywidget.AnyWidget):
    """A button that fetches the full image from the kernel, then downloads or shows it.

    Parameters
    ----------
    action : {"download", "enlarge"}
        What the browser does with the bytes.
    label : str
        The button's text.
    """

    _esm = _ESM
    action = traitlets.Unicode("download", help="download or enlarge").tag(sync=True)
    label = traitlets.Unicode("Download", help="The button's text.").tag(sync=True)
    tooltip_text = traitlets.Unicode("", help="Shown on hover.").tag(sync=True)
    disabled = traitlets.Bool(False, help="Greyed out until an image exists.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What to send, asked for only on click: (bytes, filename, mime type).
        self.source: Callable[[], tuple[bytes, str, str] | None] = lambda: None
        self.on_msg(self._on_request)

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "request":
            return
        self.deliver()

    def deliver(self) -> bool:
        """Send the image to the browser now (what a click does); False if none yet."""
        found = self.source()
        if found is None:
            return False
        data, filename, mime = found
        self.send({"event": "image", "filename": filename, "mime": mime}, buffers=[data])
        return True

    def __repr__(self) -> str:
        return f"FullImageButton(action={self.action!r})"
