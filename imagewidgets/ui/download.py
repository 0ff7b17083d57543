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

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from .frontend import esm

__all__ = ["FullImageButton"]

logger = logging.getLogger("imagewidgets")

_ESM = esm("download.js")


class FullImageButton(anywidget.AnyWidget):
    """A button that fetches the full image from the kernel, then downloads or shows it.

    Parameters
    ----------
    action : {"download", "enlarge"}
        What the browser does with the bytes.
    label : str
        The button's text.
    aria_label : str
        Its accessible name, e.g. which image it acts on; empty means its text.
    image_alt : str
        Alt text for the tile image beside it (``img.iw-tile-image`` in the
        same ``.iw-tile``): the ``Image`` widget has no alt of its own.
    off_loop : bool
        Make the bytes on a worker thread (a contact sheet takes a second to
        draw): the kernel keeps answering meanwhile. ``source`` must then only
        read plain objects, never change a widget.
    on_error : callable, optional
        Told of an error making the bytes; without it the error is logged.
    """

    # anywidget adds these to every instance (add_traits), and traitlets then makes each
    # instance a class of its own: ~5 KB a button, two a tile. Declared here, none is made.
    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    _anywidget_id = traitlets.Unicode(f"{__module__}.FullImageButton").tag(sync=True)
    action = traitlets.Unicode("download", help="download or enlarge").tag(sync=True)
    label = traitlets.Unicode("Download", help="The button's text.").tag(sync=True)
    tooltip_text = traitlets.Unicode("", help="Shown on hover.").tag(sync=True)
    aria_label = traitlets.Unicode(
        "", help="The button's accessible name, when its text alone does not say what it acts on."
    ).tag(sync=True)
    image_alt = traitlets.Unicode(
        "", help="Alt text set on the ``img.iw-tile-image`` of the tile holding this button."
    ).tag(sync=True)
    disabled = traitlets.Bool(False, help="Greyed out until an image exists.").tag(sync=True)

    def __init__(self, *, off_loop: bool = False,
                 on_error: Callable[[BaseException], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What to send, asked for only on click: (bytes, filename, mime type).
        self.source: Callable[[], tuple[bytes, str, str] | None] = lambda: None
        self.off_loop = off_loop
        self.on_error = on_error
        self._making: asyncio.Task[bool] | None = None  # held: the loop keeps only weak refs
        self.on_msg(self._on_request)

    def add_traits(self, **traits: Any) -> None:
        """Add the traits not declared already with the same default (see ``_esm`` above)."""
        traits = {name: trait for name, trait in traits.items()
                  if not self.has_trait(name) or self.trait_defaults(name) != trait.default_value}
        if traits:
            super().add_traits(**traits)

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "request":
            return
        if self.off_loop and (self._making is None or self._making.done()):
            try:
                self._making = asyncio.get_running_loop().create_task(self.deliver_off_loop())
                return
            except RuntimeError:
                pass  # no loop in this thread: make it here
        self._guarded(self.deliver)

    def deliver(self) -> bool:
        """Send the image to the browser now (what a click does); False if none yet."""
        return self._hand_over(self.source())

    async def deliver_off_loop(self) -> bool:
        """:meth:`deliver`, the bytes made on a worker thread; False if none yet or it failed."""
        try:
            found = await asyncio.to_thread(self.source)
        except Exception as error:
            self._report(error)
            return False
        return self._hand_over(found)

    def _hand_over(self, found: tuple[bytes, str, str] | None) -> bool:
        if found is None:
            return False
        data, filename, mime = found
        self.send({"event": "image", "filename": filename, "mime": mime}, buffers=[data])
        return True

    def _guarded(self, make: Callable[[], bool]) -> None:
        try:
            make()
        except Exception as error:  # a click's failure must not vanish in a comm handler
            self._report(error)

    def _report(self, error: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(error)
        else:
            logger.error("could not make the file to download: %s", error, exc_info=error)

    def __repr__(self) -> str:
        return f"FullImageButton(action={self.action!r})"
