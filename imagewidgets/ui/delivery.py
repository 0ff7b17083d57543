"""Full images to the browser on demand: whole in one binary buffer, or in parts it confirms.

Shared by :class:`~imagewidgets.ui.download.FullImageButton` (a gallery's Download and zip)
and :class:`~imagewidgets.ui.tile.ImageTile` (Download and Enlarge), with ``ui/js/delivery.js``
on the browser's side. No message is larger than :data:`PART_BYTES`: a larger file goes in
parts, which the browser puts together into one ``Blob``. When the file is sent as the
browser takes it, its parts are read at most :data:`WINDOW` ahead of what the browser says it
has, so a gigabyte's zip costs the kernel a few megabytes. No ``data:`` URL, no base64.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

__all__ = ["ANSWER_SECONDS", "PART_BYTES", "WINDOW", "Delivery", "Found", "Payload"]

Payload = bytes | BinaryIO
Found = tuple[Payload, str, str]
"""What a source gives: the bytes or a binary file (closed once sent), the file name, the mime type."""
PART_BYTES = 2 * 1024 * 1024
"""Largest buffer of one message to the browser: a larger file goes in parts of this size."""
WINDOW = 2
"""Parts sent ahead of what the browser says it has (kernel memory: about this many parts)."""
ANSWER_SECONDS = 300.0
"""A safety net, not a speed: a page closed mid-download frees its file after this long."""

Send = Callable[..., None]  # a widget's send(content, buffers=...)


class Delivery:
    """One widget's deliveries of files to its views.

    Parameters
    ----------
    send : callable
        The widget's ``send(content, buffers=...)``, looked up at each message (tests replace it).
    progress : callable
        Told what a delivery in parts is doing (``"sending 12 of 80 MB"``, then ``""``).
    """

    def __init__(self, send: Callable[[], Send], progress: Callable[[str], None]) -> None:
        self._send, self._progress = send, progress
        self.part_bytes = PART_BYTES
        self._sending = 0  # the id of the last delivery in parts
        self._received = -1  # the last part of it the browser said it has
        self._answer: asyncio.Event | None = None  # set when the browser says so

    def received(self, content: Mapping[str, Any]) -> None:
        """The browser's ``{"event": "received", "id", "index"}``: the next parts may go."""
        index = content.get("index")
        if content.get("id") == self._sending and isinstance(index, int) and self._answer is not None:
            self._received = max(self._received, index)
            self._answer.set()

    def send_now(self, found: Found, extra: Mapping[str, Any] | None = None) -> None:
        """Send ``found`` at once: a file larger than :attr:`part_bytes` in parts, one after another.

        ``extra`` goes into every message (a tile's ``action``: what the browser does with it).
        """
        payload, filename, mime = found
        extra = extra or {}
        with _opened(payload) as file:
            size = _size(file)
            if size <= self.part_bytes:
                self._whole(file.read(), filename, mime, extra)
                return
            self._sending += 1
            count = -(-size // self.part_bytes)
            for index in range(count):
                self._part(file.read(self.part_bytes), index, count, size, filename, mime, extra)

    async def send_paced(self, found: Found, extra: Mapping[str, Any] | None = None) -> None:
        """Send ``found`` as the browser takes it, each part read on a worker thread.

        Raises TimeoutError when the browser confirms nothing for :data:`ANSWER_SECONDS`.
        """
        payload, filename, mime = found
        extra = extra or {}
        try:
            with _opened(payload) as file:
                size = _size(file)
                if size <= self.part_bytes:
                    self._whole(await asyncio.to_thread(file.read), filename, mime, extra)
                else:
                    await self._paced_parts(file, size, filename, mime, extra)
        finally:
            self._progress("")
            self._answer = None

    async def _paced_parts(self, file: BinaryIO, size: int, filename: str, mime: str,
                           extra: Mapping[str, Any]) -> None:
        self._sending += 1
        self._received, self._answer = -1, asyncio.Event()
        count = -(-size // self.part_bytes)
        try:
            for index in range(count):
                while index - self._received > WINDOW:  # WINDOW parts the browser has not confirmed
                    await self._wait_for_browser()
                piece = await asyncio.to_thread(file.read, self.part_bytes)
                self._part(piece, index, count, size, filename, mime, extra)
                self._progress(f"sending {_megabytes(min(size, (index + 1) * self.part_bytes), size)}")
            while self._received < count - 1:  # done when the browser has it all
                await self._wait_for_browser()
        except TimeoutError as error:
            self._send()({"event": "abort", "id": self._sending, **extra})
            raise TimeoutError(f"the browser took no part of {filename} for {ANSWER_SECONDS:.0f} s "
                               "(page closed or kernel busy); click again") from error

    async def _wait_for_browser(self) -> None:
        assert self._answer is not None
        self._answer.clear()
        await asyncio.wait_for(self._answer.wait(), ANSWER_SECONDS)

    def _whole(self, data: bytes, filename: str, mime: str, extra: Mapping[str, Any]) -> None:
        self._send()({"event": "image", "filename": filename, "mime": mime, **extra}, buffers=[data])

    def _part(self, piece: bytes, index: int, count: int, size: int, filename: str, mime: str,
              extra: Mapping[str, Any]) -> None:
        self._send()({"event": "part", "id": self._sending, "index": index, "count": count,
                      "size": size, "filename": filename, "mime": mime, **extra}, buffers=[piece])


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
