"""A front-end module's code held once, in one model every widget running it names.

anywidget keeps a widget's ``_esm`` in its state, so each instance carries its code, and a
notebook saved with widget state holds it once per instance: 200 tiles, 200 copies. A
widget whose ``_esm`` is the small loader ``ui/js/shared.js`` names instead a
:class:`SharedCode` model (``anywidget:<model id>``), which holds the code and its
stylesheet once for the kernel; the loader imports the code once per page and adds the
stylesheet once to the document.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets
from ipywidgets import Widget

from .frontend import css, esm

__all__ = ["LOADER", "Declared", "SharedCode", "shared_code"]

LOADER = esm("shared.js")
"""The ``_esm`` of a widget whose code is shared: it loads the module its ``_code`` names."""


class Declared(anywidget.AnyWidget):
    """An anywidget whose ``_esm`` and ``_anywidget_id`` are declared on its class.

    anywidget adds them to every instance (``add_traits``), and traitlets then makes each
    instance a class of its own (~5 KB each); declared with the same default, none is made.
    """

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
