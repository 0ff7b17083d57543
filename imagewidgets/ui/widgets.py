"""Small helpers shared by the widgets: closing whole trees, cutting long text, the stylesheet."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ..errors import clip
from .frontend import stylesheet

__all__ = ["EMULATOR_BANNER", "HIDDEN_CLASS", "SHOWN_CHARS", "STYLE", "Guard", "banner_html", "close_tree",
           "is_shown", "plain", "set_shown", "shared_layout", "shared_style", "shown_html"]

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
            if isinstance(part, widgets.Widget) and not isinstance(part, _Shared):
                pending.append(part)  # a shared one still serves other widgets
        # Call the base close: subclasses route their own close() here.
        widgets.Widget.close(current)


HIDDEN_CLASS = "iw-hidden"
"""The class that hides a widget (``ui/css/widgets.css``): its layout may be shared, never changed."""


def set_shown(widget: widgets.DOMWidget, shown: bool) -> None:
    """Show or hide ``widget`` by its class, leaving its (perhaps shared) layout as it is."""
    if shown:
        widget.remove_class(HIDDEN_CLASS)
    else:
        widget.add_class(HIDDEN_CLASS)


def is_shown(widget: widgets.DOMWidget) -> bool:
    """Whether ``widget`` is drawn: not hidden by :func:`set_shown` nor by its layout."""
    return HIDDEN_CLASS not in widget._dom_classes and widget.layout.display != "none"


class _Shared(widgets.Widget):
    """A layout or style drawn by many widgets: changing it would change them all, so it refuses.

    Made by :func:`shared_layout` and :func:`shared_style`; a widget that changes how it
    looks has its own (or a class, as :func:`set_shown` does).
    """

    _frozen = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen and name in self.keys:  # what the front end draws
            raise AttributeError(
                f"{type(self).__name__}.{name} cannot be set to {value!r}: this {type(self).__name__} "
                "is shared by many widgets; give the widget its own (or a CSS class) instead")
        super().__setattr__(name, value)

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """The synced state; the whole of it (what the front end is sent once) without nulls.

        The front end's defaults are null too, and it never changes (frozen): a saved
        notebook holds ~45 lines less per layout, as JupyterLab's own save drops defaults.
        """
        state: dict[str, Any] = super().get_state(key, drop_defaults)
        if key is None:
            state = {name: value for name, value in state.items() if value is not None}
        return state


_SHARED: dict[tuple[type, tuple[tuple[str, Any], ...]], widgets.Widget] = {}


def _shared(kind: type[widgets.Widget], settings: dict[str, Any]) -> Any:
    key = (kind, tuple(sorted(settings.items())))
    found = _SHARED.get(key)
    if found is None or found.comm is None:  # made again after Widget.close_all()
        shared = type(f"Shared{kind.__name__}", (_Shared, kind), {"__module__": __name__})
        found = _SHARED[key] = shared(**settings)
        found._frozen = True
    return found


def shared_layout(**settings: Any) -> widgets.Layout:
    """The one ``Layout`` with these ``settings`` (a dict of CSS properties), never changed.

    Each ``Layout`` is a model of its own (about 1.1 KB of a notebook saved with widget
    state, nearly all nulls); widgets laid out alike share one.
    """
    layout: widgets.Layout = _shared(widgets.Layout, settings)
    return layout


def shared_style(widget: type[widgets.DOMWidget], **settings: Any) -> Any:
    """The one style of ``widget``'s kind (``HTMLStyle`` for ``HTML``) with these ``settings``."""
    kind = widget.class_traits()["style"].klass
    return _shared(kind, settings)


def plain(kind: type[widgets.DOMWidget]) -> dict[str, Any]:
    """``layout=`` and ``style=`` for a ``kind`` of widget drawn as ipywidgets draws it: shared ones."""
    parts: dict[str, Any] = {"layout": shared_layout()}
    if "style" in kind.class_traits():
        parts["style"] = shared_style(kind)
    return parts


STYLE = stylesheet("widgets.css", "liveness.css")
"""The stylesheet every panel, grid and comparison holds (an ``HTML`` widget's value)."""
