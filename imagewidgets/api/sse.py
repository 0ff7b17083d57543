"""Server-sent events: the framing of a stream's bytes into its image events; no I/O."""

from __future__ import annotations

import collections
import re

from ..errors import APIError, StreamIncompleteError
from .answers import StreamEvent, stream_event
from .transport import MAX_EVENT_BYTES, too_large

__all__ = ["EventParser", "EventStream", "cut_short"]


_LINE_END = re.compile(rb"[\r\n]")


def cut_short(error: APIError) -> StreamIncompleteError:
    """A stream read no further (``error``: past a size limit) is incomplete, not malformed:
    its partial images still count, the last one kept (the caller sets ``last_partial``)."""
    return StreamIncompleteError(f"{error.message}; {error.hint}")


class EventParser:
    """Incremental server-sent events: any chunking, LF/CRLF/CR, comments, multi-line data.

    ``feed(chunk)`` returns the ``(event, data)`` pairs completed so far, ``data`` as bytes
    (as sent: a stream event's JSON, read by :func:`.answers.stream_event`);
    ``close()`` those a stream ending without a final blank line still holds.

    Linear in its input: each byte is looked at once for a line end (a line arriving
    in many small chunks is not scanned again for each; ``scanned`` counts the bytes
    looked at). An event, its data lines and the line still arriving together, may
    hold at most ``max_event_bytes``; past it, :class:`StreamIncompleteError`.
    """

    def __init__(self, max_event_bytes: int | None = MAX_EVENT_BYTES) -> None:
        self._buffer = bytearray()
        self._checked = 0  # bytes at the start of the buffer known to hold no line end
        self._event = ""
        self._data: list[bytes] = []
        self._held = 0  # bytes of the data lines of the event being read
        self.max_event_bytes = max_event_bytes
        self.scanned = 0
        """Bytes looked at for a line end, in all: about the bytes fed, however chunked."""

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        self._buffer += chunk
        events: list[tuple[str, bytes]] = []
        start = 0
        while True:
            newline = self._find_newline(start)
            if newline is None:
                break
            end, after = newline
            event = self._line(start, end)
            start = after
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        self._checked -= start
        if self.max_event_bytes is not None and self._held + len(self._buffer) > self.max_event_bytes:
            raise self._too_large()
        return events

    def _find_newline(self, start: int) -> tuple[int, int] | None:
        """Where the next line ends and the one after starts; None until a whole line is here.

        Only bytes not looked at before are scanned: ``_checked`` remembers how far the
        line still arriving is known to hold no CR or LF.
        """
        buffer = self._buffer
        begin = max(start, self._checked)
        # One pass for CR or LF: two finds would each scan ahead to their own byte, again
        # for every line of a CR-only stream.
        match = _LINE_END.search(buffer, begin)
        self.scanned += (match.end() if match else len(buffer)) - begin
        if match is None:
            self._checked = len(buffer)
            return None
        found = match.start()
        if buffer[found] == 0x0D:
            if found + 1 == len(buffer):
                self._checked = found  # a CR at the end may be the first half of CRLF: wait for more
                return None
            after = found + 2 if buffer[found + 1] == 0x0A else found + 1
        else:
            after = found + 1
        self._checked = after
        return found, after

    def _line(self, start: int, end: int) -> tuple[str, bytes] | None:
        """The line ``buffer[start:end]``; a data line's value kept as bytes (one copy: the
        image's base64 is decoded from them, never made a string)."""
        buffer = self._buffer
        if start == end:
            if not self._data:
                self._event = ""
                return None
            event = (self._event or "message", b"\n".join(self._data))
            self._event, self._data, self._held = "", [], 0
            return event
        if buffer[start] == 0x3A:
            return None  # a comment, e.g. a keep-alive
        colon = buffer.find(b":", start, end)
        name_end = end if colon == -1 else colon
        value = min(name_end + 1, end)
        if buffer[value:value + 1] == b" ":
            value += 1
        name = buffer[start:name_end] if name_end - start <= 5 else b""  # a long name is no field of ours
        if name == b"event":
            self._event = buffer[value:end].decode("utf-8", "replace")
        elif name == b"data":
            with memoryview(buffer) as view:
                self._data.append(view[value:end].tobytes())
            self._held += end - start
            if self.max_event_bytes is not None and self._held > self.max_event_bytes:
                raise self._too_large()
        return None

    def _too_large(self) -> StreamIncompleteError:
        return cut_short(too_large(self.max_event_bytes or 0, "a stream event",
                                   hint="check that base_url is an Images API server, or the proxy "
                                        "in between; if it is, ask for a smaller size or fewer "
                                        "partial images"))

    def close(self) -> list[tuple[str, bytes]]:
        """What a stream ending without a final blank line still holds."""
        return self.feed(b"\n\n") if (self._buffer or self._data) else []


class EventStream:
    """The image events of one stream, from its body's chunks; no I/O.

    ``feed()`` each chunk as it arrives (``b""`` at the end of the body) and take
    ``next()`` until it returns None, meaning it needs more bytes. The events are
    decoded one at a time, so an error later in a chunk never hides the partial
    image before it. An event past ``max_event_bytes`` ends it: :class:`StreamIncompleteError`.
    """

    def __init__(self, max_event_bytes: int | None = MAX_EVENT_BYTES) -> None:
        self._parser = EventParser(max_event_bytes)
        self._pending: collections.deque[tuple[str, bytes]] = collections.deque()
        self._ended = False
        self._partials = 0

    def feed(self, chunk: bytes) -> None:
        if not self._ended:
            self._ended = not chunk
            self._pending.extend(self._parser.feed(chunk) if chunk else self._parser.close())

    def next(self) -> StreamEvent | None:
        """The next event; None when more bytes are needed.

        Raises
        ------
        StreamIncompleteError
            The body ended, or sent ``[DONE]``, before a ``completed`` event
            (the caller stops at ``completed``), or an event was too large. Its ``last_partial`` is None:
            the caller knows the last partial image and sets it.
        APIError, ImageDecodeError
            As :func:`stream_event`.
        """
        if not self._pending:
            if self._ended:
                raise StreamIncompleteError("the stream ended before its completed event")
            return None
        event = stream_event(*self._pending.popleft(), partials_seen=self._partials)
        if event is None:
            raise StreamIncompleteError("the stream ended before its completed event")
        self._partials += not event.final
        return event
