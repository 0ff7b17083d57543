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

from .frontend import esm
from .widgets import shared_layout

__all__ = ["PageAssist"]


class PageAssist(anywidget.AnyWidget):
    """Names sliders, keeps disabled ones out of the tab order, scrolls on request.

    Put it anywhere inside a widget with the ``iw-root`` class; it draws nothing.
    """

    _esm = esm("assist.js")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("layout", shared_layout(display="none"))  # draws nothing; its script runs
        super().__init__(**kwargs)

    def show(self, selector: str) -> None:
        """Scroll the root's first element matching ``selector`` into view, if shown."""
        self.send({"event": "show", "selector": selector})

    def __repr__(self) -> str:
        return "PageAssist()"
