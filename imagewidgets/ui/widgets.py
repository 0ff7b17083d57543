"""Small helpers shared by the widgets: closing whole trees, cutting long text, the stylesheet."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ..errors import clip

__all__ = ["EMULATOR_BANNER", "SHOWN_CHARS", "STYLE", "Guard", "close_tree", "shown_html"]

SHOWN_CHARS = 500
"""The most of a revised prompt or an error message a widget shows: the whole of it
(20 MB from a hostile server) would travel to the browser."""


EMULATOR_BANNER = "Offline emulator: synthetic images. Set OPENAI_API_KEY to use the API."


def shown_html(text: str, where: str) -> str:
    """``text`` escaped for HTML: at most :data:`SHOWN_CHARS` of it, and ``where`` the rest is."""
    return html.escape(clip(text, SHOWN_CHARS, where))


class Guard:
    """True while a ``with`` block runs (nested blocks too), false otherwise.

    A control sets its widgets from the params under ``with self._syncing:``; its
    observers skip what ``self._syncing`` says it did itself.
    """

    def __init__(self) -> None:
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1


def close_tree(widget: Any) -> None:
    """Close ``widget``, its children, and the layout and style widgets each one made.

    ``Widget.close()`` closes only the widget itself; its ``Layout`` and style
    are widgets too and would stay alive (and hold comms) without this.
    """
    seen: set[int] = set()
    pending = [widget]
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, widgets.Widget):
            continue
        seen.add(id(current))
        pending.extend(getattr(current, "children", ()) or ())
        for name in ("layout", "style"):
            part = getattr(current, name, None)
            if isinstance(part, widgets.Widget):
                pending.append(part)
        # Call the base close: subclasses route their own close() here.
        widgets.Widget.close(current)


STYLE = """
<style>
.iw-root .iw-banner { padding: 4px 10px; border-radius: 4px;
  background: var(--jp-layout-color2, #eee);
  background: color-mix(in srgb, var(--jp-warn-color1, #f57c00) 15%, var(--jp-layout-color1, white));
  border: 1px solid var(--jp-warn-color0, #e65100); color: var(--jp-ui-font-color1, rgba(0, 0, 0, .87)); }
.iw-root .iw-tile { border-color: var(--jp-border-color2, #e0e0e0) !important; }
.iw-root .iw-tile-image { background: repeating-linear-gradient(45deg,
  var(--jp-layout-color2, #eee), var(--jp-layout-color2, #eee) 10px,
  var(--jp-layout-color3, #bdbdbd) 10px, var(--jp-layout-color3, #bdbdbd) 20px); }
.iw-root .iw-tile-caption, .iw-root .iw-tile-status { font-size: 12px; line-height: 1.35;
  color: var(--jp-ui-font-color1, rgba(0, 0, 0, .87)); }
.iw-root .iw-error { color: var(--jp-error-color1, #d32f2f); }
.iw-root .iw-count-over { color: var(--jp-error-color1, #d32f2f); font-weight: bold; }
.iw-root .iw-status-failed { border-color: var(--jp-error-color2, #e57373) !important; }
.iw-root .iw-status-cancelled { opacity: .6; }
.iw-root .iw-prompt textarea { width: 100%; min-height: 4.5em; font-family: inherit;
  font-size: 13px; box-sizing: border-box; }
.iw-compare .iw-compare-title { font-size: 15px; font-weight: 600; margin: 2px 0; }
.iw-compare .iw-compare-estimate, .iw-compare .iw-cell-facts, .iw-compare .iw-cell-note {
  font-size: 12px; line-height: 1.35; }
.iw-compare .iw-col-header, .iw-compare .iw-row-header, .iw-compare .iw-corner {
  font-weight: 600; font-size: 13px; padding: 4px; }
.iw-compare .iw-corner { color: var(--jp-ui-font-color2, rgba(0, 0, 0, .54)); font-weight: normal; }
.iw-compare .iw-row-header { max-width: 7em; overflow-wrap: anywhere; }
.iw-root .iw-full-image-button { width: auto; padding: 0 12px; }
.iw-compare .iw-cell-unavailable { border: 1px dashed var(--jp-border-color1, #bdbdbd); padding: 8px;
  max-width: 224px; color: var(--jp-ui-font-color2, rgba(0, 0, 0, .54)); }
</style>
"""
