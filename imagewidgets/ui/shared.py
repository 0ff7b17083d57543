"""A front-end module's code held once, in one model every widget running it names.

anywidget keeps a widget's ``_esm`` in its state, so each instance carries its code, and a
notebook saved with widget state holds it once per instance: 200 tiles, 200 copies. A
widget whose ``_esm`` is the small loader ``ui/js/shared.js`` names instead a
:class:`SharedCode` model (``anywidget:<model id>``), which holds the code and its
stylesheet once for the kernel; the loader imports the code once per page and adds the
stylesheet once to the document.

anywidget's page gives up on a model whose ``_esm`` is not loaded within 2 s of its
creation (a page busy that long: hundreds of tiles on a loaded machine) and then drops
every message for it: the view shows the state it was created with, forever. A
:class:`Declared` widget says it is live by an update sent right after its model opens;
a tile view that finds it not live (``ui/js/tile.js``) says so, and the widget is opened
again as a new model (:meth:`Declared.reopen`).
"""

from __future__ import annotations

import logging
from typing import Any

import anywidget
import traitlets
from ipywidgets import Widget
from ipywidgets.widgets.widget import _instances  # every open widget: Widget.widgets, not deprecated

from .frontend import css, esm

__all__ = ["LOADER", "Declared", "SharedCode", "shared_code"]

logger = logging.getLogger("imagewidgets")

REOPENS = 3
"""How many times a widget whose model the page lost is opened again, at most."""

LOADER = esm("shared.js")
"""The ``_esm`` of a widget whose code is shared: it loads the module its ``_code`` names."""


class Declared(anywidget.AnyWidget):
    """An anywidget whose ``_esm`` and ``_anywidget_id`` are declared on its class.

    anywidget adds them to every instance (``add_traits``), and traitlets then makes each
    instance a class of its own (~5 KB each); declared with the same default, none is made.
    """

    _live = traitlets.Bool(False, help="Set by the first update: a view finding it False "
                           "holds a model the page lost.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._reopened = 0
        self._live = True  # an update: the page's model takes it unless it lost the model
        self.on_msg(self._on_lost)

    def _on_lost(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "lost":
            self.reopen()

    def reopen(self) -> None:
        """Open this widget again as a new model, its whole state sent, and have every box
        holding it name the new one (the old model and its views go)."""
        if self.comm is None or self._reopened >= REOPENS:
            logger.warning("the page lost the model of %r; not opened again", self)
            return
        self._reopened += 1
        Widget.close(self)  # the base's: a subclass's close lets its content go
        self._model_id = None  # a new model id: the page's manager may still hold the old
        self.__dict__.pop("_repr_mimebundle_", None)  # unset by close(); the class's again
        self._live = False  # no comm: nothing sent; the state opened with says not live yet
        self.open()
        self._live = True
        for holder in list(_instances.values()):
            if self in (getattr(holder, "children", None) or ()):
                holder.send_state("children")

    def add_traits(self, **traits: Any) -> None:
        """Add the traits not declared already with the same default."""
        traits = {name: trait for name, trait in traits.items()
                  if not self.has_trait(name) or self.trait_defaults(name) != trait.default_value}
        if traits:
            super().add_traits(**traits)


class SharedCode(Widget):
    """The code (an ES module) and stylesheet of one kind of widget; drawn nowhere."""

    code = traitlets.Unicode("", help="The ES module, its imports inlined.").tag(sync=True)
    css = traitlets.Unicode("", help="The stylesheet, added once to the page.").tag(sync=True)
    name = traitlets.Unicode("", help="Which module: the stylesheet's id in the page.").tag(sync=True)

    def __repr__(self) -> str:
        return f"SharedCode({self.name!r})"


_SHARED: dict[str, SharedCode] = {}


def shared_code(module: str, stylesheet: str) -> str:
    """The reference (``anywidget:<id>``) to the shared model of ``ui/js/<module>``.

    Made on first use, and again when it was closed (``Widget.close_all()``).
    """
    found = _SHARED.get(module)
    if found is None or found.comm is None:
        found = _SHARED[module] = SharedCode(code=esm(module), css=css(stylesheet),
                                             name=module.removesuffix(".js"))
    return f"anywidget:{found.model_id}"
