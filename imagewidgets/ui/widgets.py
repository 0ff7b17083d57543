"""Small helpers shared by the widgets: closing whole trees, cutting long text, the stylesheet."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ..errors import clip
from .frontend import stylesheet

__all__ = ["EMULATOR_BANNER", "SHOWN_CHARS", "STYLE", "Guard", "banner_html", "close_tree", "shown_html"]

SHOWN_CHARS = 500
"""The most of a revised prompt or an error message a widget shows: the whole of it
(20 MB from a hostile server) would travel to the browser."""


EMULATOR_BANNER = "Offline emulator: synthetic images. Set OPENAI_API_KEY to use the API."


def banner_html(client: Any) -> str:
    """The emulator banner when ``client`` is known to talk to the emulator, else nothing."""
    if not getattr(client, "is_emulator", False):
        return ""
    return f'<div class="iw-banner">{html.escape(EMULATOR_BANNER)}</div>'


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


STYLE = stylesheet("widgets.css", "liveness.css")
"""The stylesheet every panel, grid and comparison holds (an ``HTML`` widget's value)."""
