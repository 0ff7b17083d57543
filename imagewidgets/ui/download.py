"""Full-size image actions: Download and Enlarge, fetched from the kernel on click.

Tiles carry only thumbnails. The full image crosses to the browser only when
a person asks for it: the button sends a request, the kernel answers with the
bytes as binary buffers (whole, or in parts: see :mod:`.delivery`, shared with
the tile), and the browser builds a ``Blob`` from them. No ``data:`` URL and no
base64 ever sits in widget state or in a saved notebook. ``progress`` says what
a long delivery is doing beside the button.

The bytes are exactly the server's, an SVG's too, so they are never rendered
as a document: Download hands them to a link with ``download`` set (saved,
not opened); Enlarge shows them in an ``<img>`` (an SVG there runs no script
and fetches nothing) and revokes the ``blob:`` URL once drawn, so "Open image
in new tab" cannot open an SVG as a document of the notebook's origin.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import traitlets

from .delivery import ANSWER_SECONDS, PART_BYTES, WINDOW, Delivery, Payload
from .frontend import esm
from .shared import Declared

__all__ = ["ANSWER_SECONDS", "PART_BYTES", "WINDOW", "FullImageButton"]

logger = logging.getLogger("imagewidgets")

_ESM = esm("download.js")



class FullImageButton(Declared):
    """A button that fetches the full image from the kernel, then downloads or shows it.

    Parameters
    ----------
    action : {"download", "enlarge"}
        What the browser does with the bytes.
    label : str
        The button's text.
    aria_label : str
        Its accessible name, e.g. which image it acts on; empty means its text.
    off_loop : bool
        Make the bytes on a worker thread (a contact sheet takes a second to
        draw): the kernel keeps answering meanwhile. ``source`` must then only
        read plain objects, never change a widget (:meth:`show_progress` may be
        called). A click while one delivery runs is ignored.
    on_error : callable, optional
        Told of an error making the bytes; without it the error is logged.
    """

    # Declared on the class (see shared.Declared): no class of its own per button.
    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    _anywidget_id = traitlets.Unicode(f"{__module__}.FullImageButton").tag(sync=True)
    action = traitlets.Unicode("download", help="download or enlarge").tag(sync=True)
    label = traitlets.Unicode("Download", help="The button's text.").tag(sync=True)
    tooltip_text = traitlets.Unicode("", help="Shown on hover.").tag(sync=True)
    aria_label = traitlets.Unicode(
        "", help="The button's accessible name, when its text alone does not say what it acts on."
    ).tag(sync=True)
    disabled = traitlets.Bool(False, help="Greyed out until an image exists.").tag(sync=True)

    progress = traitlets.Unicode(
        "", help="What a long delivery is doing, beside the button: 'zipping 3/40', 'sending 12 of 80 MB'."
    ).tag(sync=True)

    def __init__(self, *, off_loop: bool = False,
                 on_error: Callable[[BaseException], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What to send, asked for only on click: (bytes or a binary file, filename, mime type).
        # A file is read a part at a time and closed once sent.
        self.source: Callable[[], tuple[Payload, str, str] | None] = lambda: None
        self.off_loop = off_loop
        self.on_error = on_error
        self._delivery = Delivery(lambda: self.send, self.show_progress)
        self._making: asyncio.Task[bool] | None = None  # held: the loop keeps only weak refs
        self._loop: asyncio.AbstractEventLoop | None = None  # where progress is set from a worker thread
        self._loop_thread = 0
        self.on_msg(self._on_request)

    @property
    def part_bytes(self) -> int:
        """Largest buffer of one message: a larger file is sent in parts of this size."""
        return self._delivery.part_bytes

    @part_bytes.setter
    def part_bytes(self, size: int) -> None:
        self._delivery.part_bytes = size

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "received":
            self._delivery.received(content)
            return
        if content.get("event") != "request":
            return
        if self._making is not None and not self._making.done():
            # One at a time: a second click while a zip is made or sent is ignored, and never
            # makes the file on the loop (which would freeze the kernel).
            return
        if self.off_loop:
            try:
                self._making = asyncio.get_running_loop().create_task(self.deliver_off_loop())
                return
            except RuntimeError:
                pass  # no loop in this thread: make it here
        self._guarded(self.deliver)

    def show_progress(self, text: str) -> None:
        """Show ``text`` beside the button; callable from the worker thread making the file."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self.set_trait, "progress", text)
        else:
            self.progress = text

    def deliver(self) -> bool:
        """Send the image to the browser now (what a click does); False if none yet.

        All at once: a file larger than :attr:`part_bytes` goes in parts, one after another.
        """
        found = self.source()
        if found is None:
            return False
        self._delivery.send_now(found)
        return True

    async def deliver_off_loop(self) -> bool:
        """:meth:`deliver`, the file made on a worker thread and sent as the browser takes it.

        A file larger than :attr:`part_bytes` goes in parts, read on a worker thread, at most
        :data:`WINDOW` of them ahead of what the browser says it has: the kernel holds a few
        megabytes of a gigabyte's zip. False if there is no file yet, or it failed (said to
        ``on_error``).
        """
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        try:
            found = await asyncio.to_thread(self.source)
            if found is None:
                return False
            await self._delivery.send_paced(found)
            return True
        except Exception as error:
            self._report(error)
            return False
        finally:
            self.progress = ""

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

