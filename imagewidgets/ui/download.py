"""Full-size image actions: Download and Enlarge, fetched from the kernel on click.

Tiles carry only thumbnails. The full image crosses to the browser only when
a person asks for it: the button sends a request, the kernel answers with the
bytes as a binary buffer, and the browser builds a ``Blob`` from them. No
``data:`` URL and no base64 ever sits in widget state or in a saved notebook.

No message is larger than :data:`PART_BYTES`: a larger file (a gallery's zip)
goes in parts, which the browser puts together into one ``Blob``. When the file
is made off the loop its parts are read from disk as the browser confirms the
ones before, so a gigabyte's zip costs the kernel a few megabytes; ``progress``
says what is happening beside the button.

The bytes are exactly the server's, an SVG's too, so they are never rendered
as a document: Download hands them to a link with ``download`` set (saved,
not opened); Enlarge shows them in an ``<img>`` (an SVG there runs no script
and fetches nothing) and revokes the ``blob:`` URL once drawn, so "Open image
in new tab" cannot open an SVG as a document of the notebook's origin.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

import anywidget
import traitlets

from .frontend import esm

__all__ = ["ANSWER_SECONDS", "PART_BYTES", "WINDOW", "FullImageButton"]

logger = logging.getLogger("imagewidgets")

_ESM = esm("download.js")

Payload = bytes | BinaryIO
PART_BYTES = 2 * 1024 * 1024
"""Largest buffer of one message to the browser: a larger file goes in parts of this size."""
WINDOW = 2
"""Parts sent ahead of what the browser says it has (kernel memory: about this many parts)."""
ANSWER_SECONDS = 300.0
"""A safety net, not a speed: a page closed mid-download frees its file after this long."""


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
        read plain objects, never change a widget (:meth:`show_progress` may be
        called). A click while one delivery runs is ignored.
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
        self.part_bytes = PART_BYTES
        """Largest buffer of one message: a larger file is sent in parts of this size."""
        self._making: asyncio.Task[bool] | None = None  # held: the loop keeps only weak refs
        self._loop: asyncio.AbstractEventLoop | None = None  # where progress is set from a worker thread
        self._loop_thread = 0
        self._sending = 0  # the id of the last delivery in parts
        self._received = -1  # the last part of it the browser said it has
        self._answer: asyncio.Event | None = None  # set when the browser says so
        self.on_msg(self._on_request)

    def add_traits(self, **traits: Any) -> None:
        """Add the traits not declared already with the same default (see ``_esm`` above)."""
        traits = {name: trait for name, trait in traits.items()
                  if not self.has_trait(name) or self.trait_defaults(name) != trait.default_value}
        if traits:
            super().add_traits(**traits)

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "received":
            self._on_received(content)
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

    def _on_received(self, content: dict[str, Any]) -> None:
        index = content.get("index")
        if content.get("id") == self._sending and isinstance(index, int) and self._answer is not None:
            self._received = max(self._received, index)
            self._answer.set()

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
        payload, filename, mime = found
        with _opened(payload) as file:
            size = _size(file)
            if size <= self.part_bytes:
                self._send_whole(file.read(), filename, mime)
                return True
            self._sending += 1
            count = -(-size // self.part_bytes)
            for index in range(count):
                self._send_part(file.read(self.part_bytes), index, count, size, filename, mime)
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
            payload, filename, mime = found
            with _opened(payload) as file:
                size = _size(file)
                if size <= self.part_bytes:
                    self._send_whole(await asyncio.to_thread(file.read), filename, mime)
                else:
                    await self._send_parts(file, size, filename, mime)
            return True
        except Exception as error:
            self._report(error)
            return False
        finally:
            self.progress = ""
            self._answer = None

    async def _send_parts(self, file: BinaryIO, size: int, filename: str, mime: str) -> None:
        self._sending += 1
        self._received, self._answer = -1, asyncio.Event()
        count = -(-size // self.part_bytes)
        try:
            for index in range(count):
                while index - self._received > WINDOW:  # WINDOW parts the browser has not confirmed
                    await self._wait_for_browser()
                piece = await asyncio.to_thread(file.read, self.part_bytes)
                self._send_part(piece, index, count, size, filename, mime)
                self.progress = f"sending {_megabytes(min(size, (index + 1) * self.part_bytes), size)}"
            while self._received < count - 1:  # done when the browser has it all
                await self._wait_for_browser()
        except TimeoutError as error:
            self.send({"event": "abort", "id": self._sending})
            raise TimeoutError(f"the browser took no part of {filename} for {ANSWER_SECONDS:.0f} s "
                               "(page closed or kernel busy); click again") from error

    async def _wait_for_browser(self) -> None:
        assert self._answer is not None
        self._answer.clear()
        await asyncio.wait_for(self._answer.wait(), ANSWER_SECONDS)

    def _send_whole(self, data: bytes, filename: str, mime: str) -> None:
        self.send({"event": "image", "filename": filename, "mime": mime}, buffers=[data])

    def _send_part(self, piece: bytes, index: int, count: int, size: int, filename: str, mime: str) -> None:
        self.send({"event": "part", "id": self._sending, "index": index, "count": count, "size": size,
                   "filename": filename, "mime": mime}, buffers=[piece])

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


def _opened(payload: Payload) -> BinaryIO:
    """The payload as a file to read from its start; a file handed over is closed with it."""
    return io.BytesIO(payload) if isinstance(payload, bytes | bytearray | memoryview) else payload


def _size(file: BinaryIO) -> int:
    start = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(start)
    return end - start


def _megabytes(done: int, size: int) -> str:
    """``12 of 80 MB``; to a tenth below 10 MB."""
    digits = 1 if size < 10_000_000 else 0
    return f"{done / 1e6:.{digits}f} of {size / 1e6:.{digits}f} MB"
