"""Stream handling: one streaming request's events, and ``n`` streams fanned out and merged.

These are plain objects, not async generators: the client's one async generator
closes them from its ``finally`` (a nested generator could be finalized by the
garbage collector while it is closed). They reach the client only through
:class:`Requests`, so this module does not import it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import httpx

from ..errors import APIConnectionError, APIError, APITimeoutError, ImagesError, StreamIncompleteError
from ..imaging import inspect_off_loop as _inspect
from ..inputs import EditInputs
from ..results import GeneratedImage, PartialImage, Usage
from .answers import Answer, parse_answer, stream_image
from .deadline import Deadline
from .multipart import Form, form_off_loop
from .routing import EDITS, GENERATIONS
from .sse import EventStream, cut_short
from .transport import Body, Limits, Timeouts, guarded, read_answer, wait_out

__all__ = ["FanOut", "Requests", "Stream", "streams_of"]

T = TypeVar("T")


class Requests(Protocol):
    """What a stream needs of the client that made it: sending, reading, its settings."""

    limits: Limits
    timeouts: Timeouts

    async def _open(self, path: str, body: Mapping[str, Any] | None, *, image_index: int = 0,
                    method: str = "POST", on_sent: Callable[[], None] | None = None,
                    variation: int = 0, deadline: Deadline | None = ...,
                    form: Form | None = ...) -> httpx.Response: ...

    async def _close(self, response: httpx.Response) -> None: ...

    async def _images(self, answer: Answer, body: Mapping[str, Any], first_index: int,
                      request_id: str | None) -> list[GeneratedImage]: ...

    def _request_id(self, response: httpx.Response) -> str | None: ...

    def _redacted(self, image: GeneratedImage) -> GeneratedImage: ...

    def _past_deadline(self, what: str) -> str: ...


OnBilled = Callable[[Usage | None, Mapping[str, Any]], None]
"""Told, before any await, that the server finished (so billed): the usage and the answer's fields."""


class Stream:
    """One streaming request of one image: ``next()`` gives its events, then None.

    The response is released when the final image arrives or at ``aclose()``,
    which may be called any number of times. The total timeout counts from
    its first send, and covers retries and every event (and an image URL). With a
    ``form`` (an edit's multipart body, built from ``body``) it is an edit's stream.
    """

    def __init__(self, client: Requests, body: Mapping[str, Any], image_index: int,
                 on_sent: Callable[[], None] | None = None, variation: int = 0,
                 on_billed: OnBilled | None = None, form: Form | None = None) -> None:
        self._client, self._body, self._index, self._form = client, body, image_index, form
        self._on_sent, self._variation, self._on_billed = on_sent, variation, on_billed
        self._response: httpx.Response | None = None
        self._chunks: Body | None = None
        self._events = EventStream(client.limits.event)
        self._ready: list[GeneratedImage] | None = None  # once finished: what is left to give
        self._last: PartialImage | None = None
        self._request_id: str | None = None
        self._started = False
        self._deadline = Deadline(client.timeouts.total)  # from the first send, not from here

    async def next(self) -> PartialImage | GeneratedImage | None:
        if not self._started:
            self._started = True
            await self._in_time(self._start())
        while self._ready is None:
            try:
                event = self._events.next()
                if event is None:
                    self._events.feed(await self._in_time(self._chunk()))  # an event too large: incomplete
                    continue
            except StreamIncompleteError as incomplete:
                incomplete.last_partial = self._last
                raise
            if event.final and self._on_billed is not None:
                self._on_billed(event.usage, event.fields)  # a cancel from here on is still billed
            result = stream_image(event, await _inspect(event.data), self._body, self._index,
                                        self._request_id)
            if isinstance(result, GeneratedImage):
                result = self._client._redacted(result)
                self._ready = []
                await self.aclose()  # the rest of the stream is not needed: free the slot now
            else:
                self._last = result
            return result
        return self._ready.pop(0) if self._ready else None

    async def _in_time(self, step: Awaitable[T]) -> T:
        """Await ``step`` unless the total deadline passes first: then APITimeoutError."""
        scope = self._deadline.scope()
        try:
            async with scope:
                return await step
        except TimeoutError:
            if not scope.expired():
                raise
            raise APITimeoutError(self._client._past_deadline("the stream did not finish"),
                                  self._last) from None

    async def _start(self) -> None:
        self._response = response = await self._client._open(
            GENERATIONS if self._form is None else EDITS, self._body, image_index=self._index,
            on_sent=self._on_sent, variation=self._variation, deadline=self._deadline,
            form=self._form)
        self._request_id = self._client._request_id(response)
        if "text/event-stream" in response.headers.get("content-type", ""):
            self._chunks = Body(response, self._client.limits.stream, "the stream (all its events)",
                                hint="check that base_url is an Images API server, or the proxy "
                                     "in between; a real stream ends after its completed event")
            return
        # A server that ignored stream=true answered in one piece: still one code path.
        answer = parse_answer(await read_answer(response, 1, self._client.limits))
        if self._on_billed is not None:
            self._on_billed(answer.usage, answer.fields)
        self._ready = await self._client._images(answer, self._body, self._index,
                                                 self._request_id)
        await self.aclose()

    async def _chunk(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        chunks = self._chunks
        assert chunks is not None
        timeouts = self._client.timeouts
        try:
            chunk = await guarded(chunks.next())
        except APIError as error:
            if chunks.size <= self._client.limits.stream:
                raise  # not past the limit: an encoding it cannot read
            raise cut_short(error) from None  # next() sets the last partial
        except httpx.TimeoutException:
            raise StreamIncompleteError(f"the stream went quiet for {timeouts.read:g} s",
                                        self._last) from None
        except httpx.TransportError as failure:
            raise StreamIncompleteError(f"the connection broke mid-stream: {failure}",
                                        self._last) from APIConnectionError(str(failure))
        return chunk

    async def aclose(self) -> None:
        response, self._response, self._chunks = self._response, None, None
        if response is not None:  # once only: closing twice must not free two slots
            await self._client._close(response)


class FanOut:
    """Several :class:`Stream` run as tasks, their events merged as they arrive.

    One stream failing stops none of the others: every image that arrives is
    given, and after the last, the first failed image's error is raised holding
    the images (``error.images``) and every failure (``error.failures``).
    """

    def __init__(self, streams: list[Stream]) -> None:
        self._streams = streams
        self._queue: asyncio.Queue[
            PartialImage | GeneratedImage | tuple[int, Exception] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._remaining = len(streams)
        self._finals: list[GeneratedImage] = []
        self._failures: dict[int, ImagesError] = {}

    async def next(self) -> PartialImage | GeneratedImage | None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._pump(stream)) for stream in self._streams]
        while self._remaining:
            item = await self._queue.get()
            if item is None:
                self._remaining -= 1
            elif isinstance(item, tuple):
                index, error = item
                if not isinstance(error, ImagesError):
                    raise error  # a bug, not the server: at once
                self._failures[index] = error
            else:
                if isinstance(item, GeneratedImage):
                    self._finals.append(item)
                return item
        if self._failures:
            failures = dict(sorted(self._failures.items()))
            self._failures = {}  # raised once: a next() after it ends quietly
            first = next(iter(failures.values()))
            first.keep(sorted(self._finals, key=lambda image: image.image_index), failures,
                       len(self._streams))
            raise first
        return None

    async def _pump(self, stream: Stream) -> None:
        try:
            while (event := await stream.next()) is not None:
                self._queue.put_nowait(event)
        except Exception as error:  # handed to the consumer, never lost
            self._queue.put_nowait((stream._index, error))
        finally:
            try:
                await stream.aclose()
            finally:
                self._queue.put_nowait(None)

    async def aclose(self) -> None:
        """Cancel every stream and wait until each has let go of its response."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await wait_out(asyncio.gather(*self._tasks, return_exceptions=True))


async def streams_of(client: Requests, body: Mapping[str, Any], image_index: int,
                     on_sent: Callable[[], None] | None, variation: int, on_billed: OnBilled | None,
                     files: EditInputs | None = None) -> Stream | FanOut:
    """The events of a checked streaming body: one stream, or ``n`` streams of one image
    (events carry no image index); with ``files``, an edit's, sharing one multipart body."""
    count = int(body.get("n") or 1)
    one = {name: value for name, value in body.items() if name != "n"}
    form = None if files is None else await form_off_loop(one, files)
    streams = [Stream(client, one, image_index + offset, on_sent, variation, on_billed, form)
               for offset in range(count)]
    return streams[0] if count == 1 else FanOut(streams)
