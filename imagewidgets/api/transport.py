"""httpx steps that a double Cancel cannot cut short, the one way a body is read, and deadlines.

A Cancel that lands while httpx sends or closes would leave its connection
checked out of the pool; a second Cancel while cleaning up, the same. These
steps run in their own task and are waited out.

Every body is read through :class:`Body`, with a byte limit counted on the
inflated bytes while they arrive: a server (or anything between it and us) can
send a body without end, or a small gzip that inflates to gigabytes. We inflate
gzip and deflate ourselves, a bounded piece at a time, and ask for nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

from ..errors import APIConnectionError, APIError, APITimeoutError
from ..imaging import MAX_BASE64_CHARS
from .answers import api_error

__all__ = ["ACCEPT_ENCODING", "Body", "Limits", "Timeouts", "close_unused", "error_of", "guarded",
           "read_answer", "read_body", "release", "wait_out"]

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Seconds: to connect, of read inactivity, and for a whole request.

    A high-quality image can take well over a minute before its first byte,
    so the read limit is generous; ``total`` bounds everything, retries included.
    """

    connect: float = 10.0
    read: float = 180.0
    total: float = 600.0

    @classmethod
    def of(cls, value: float | Timeouts | httpx.Timeout | None) -> Timeouts:
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, httpx.Timeout):
            read = value.read if value.read is not None else cls.read
            return cls(connect=value.connect or cls.connect, read=read, total=max(read, cls.total))
        seconds = float(value)
        return cls(connect=min(cls.connect, seconds), read=min(cls.read, seconds), total=seconds)


_STEPS: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
"""The tasks :func:`guarded` runs: only their guard cancels them, and once."""


def _in_step() -> bool:
    """Whether the running task is a guarded step: what it awaits needs no guard of its own."""
    return asyncio.current_task() in _STEPS


async def guarded(step: Awaitable[T], http: httpx.AsyncClient | None = None) -> T:
    """Await ``step`` in its own task, so a second Cancel cannot cut httpx's cleanup short.

    On cancellation the step is cancelled once and waited for: httpcore then
    closes the connection it was using instead of leaving it checked out.
    Inside a guarded step (a whole request, see ``ImagesClient.generate``) ``step``
    is awaited as it is: that task is cancelled once at most already, and each
    task more costs three turns of the event loop. A guarded step must therefore
    not cancel itself (no ``asyncio.timeout`` inside it: put it around the guard).

    ``http``: the client ``step`` sends with (``http.send(...)``). httpcore connects,
    then takes a lock before the connection's first request: a cancel landing there
    leaves the new connection open and unused (state NEW), never handed out nor
    closed by the pool, and counted against its limit. So after a cancel
    :func:`close_unused` closes such connections of ``http``.
    """
    try:
        if _in_step():
            return await step
        task = asyncio.ensure_future(step)
        _STEPS.add(task)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([task])
            # The step may have ended just as the cancel landed: a response it made is
            # ours to close, or its connection stays checked out of the pool for good.
            if not task.cancelled() and isinstance(made := task.exception() or task.result(),
                                                   httpx.Response):
                await release(made)
            raise
    except asyncio.CancelledError:
        if http is not None:
            await wait_out(asyncio.ensure_future(close_unused(http)))
        raise


async def close_unused(http: httpx.AsyncClient) -> None:
    """Close the connections of ``http``'s pools that are open and were never used (NEW).

    One that another request was about to use is given up by its pool
    (``ConnectionNotAvailable``), which connects again: nothing fails for it.
    """
    # httpx keeps its transports private; of a pool, httpcore tells its connections and info().
    for transport in (http._transport, *http._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool):
            continue  # another transport (a test's, a user's): its own business
        for connection in list(pool.connections):
            if ", NEW, " in connection.info():
                with contextlib.suppress(Exception):  # closing: nothing left to report
                    await connection.aclose()


async def release(response: httpx.Response) -> None:
    """Close ``response`` even when cancelled again while closing (a double Cancel).

    An interrupted close would leave its connection checked out of the pool.
    """
    await wait_out(asyncio.ensure_future(response.aclose()))


async def wait_out(step: asyncio.Future[Any]) -> None:
    """Wait until ``step`` is done, however often we are cancelled meanwhile; then re-raise."""
    cancelled = False
    while not step.done():
        try:
            await asyncio.shield(step)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


# -- reading bodies, with limits ----------------------------------------------------------

MB = 1 << 20
"""A megabyte, as the messages say it (2**20 bytes)."""

MAX_ANSWER_BYTES_PER_IMAGE = MAX_BASE64_CHARS + 1 * MB
"""Bytes of a JSON answer per image asked for (``n``), so 65 MB for one and 650 MB for
the API's most, ten. The largest real image, a 3840x2160 PNG, is at most 33 MB even of
pure noise (44 MB as base64); ``imaging`` refuses base64 past :data:`MAX_BASE64_CHARS`
(64 MB) anyway; 1 MB more holds a revised prompt and the other fields."""

MAX_EVENT_BYTES = MAX_BASE64_CHARS + 1 * MB
"""Bytes of one stream event (one image, base64, in JSON): as one image of an answer."""

MAX_STREAM_BYTES = 6 * MAX_EVENT_BYTES
"""Bytes of one whole stream: at most 3 partial images and the completed one, 4 events of
at most :data:`MAX_EVENT_BYTES`, and room for 2 more (390 MB). Keep-alive comments over
the 600 s deadline are a few KB."""

MAX_DOWNLOAD_BYTES = MAX_BASE64_CHARS * 3 // 4
"""Bytes of an image downloaded from its URL: the largest image a ``b64_json`` may hold
(48 MB); a 1792x1024 DALL-E 3 PNG is about 3 MB."""

MAX_MODELS_BYTES = 16 * MB
"""Bytes of ``GET /models``: the API's list is some 20 KB."""

MAX_ERROR_BYTES = 64 * 1024
"""Bytes of an error answer kept (the rest is not read): a message, a type, a code."""

PIECE = 1 * MB
"""Most bytes inflated at once: a 64 KB chunk of a gzip bomb inflates to 64 MB in one call
otherwise, all held at once and the event loop stalled while it inflates."""

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings :class:`Body` inflates with a limit: all we ask for (httpx would also ask
for br and zstd when their packages are installed, and inflate them whole)."""


@dataclass(frozen=True)
class Limits:
    """Most bytes read of each kind of body, counted after inflating (gzip, deflate).

    A body past its limit is not read further: :class:`APIError` says what came, what
    was being read and what to do. Real answers stay far below the defaults (see
    :data:`MAX_ANSWER_BYTES_PER_IMAGE` and the others); tests lower them.
    An error answer past ``error`` is cut there, not refused: its status still explains.
    """

    answer_per_image: int = MAX_ANSWER_BYTES_PER_IMAGE
    event: int = MAX_EVENT_BYTES
    stream: int = MAX_STREAM_BYTES
    download: int = MAX_DOWNLOAD_BYTES
    models: int = MAX_MODELS_BYTES
    error: int = MAX_ERROR_BYTES

    def answer(self, n: Any) -> int:
        """The limit for a JSON answer holding ``n`` images (n as asked for; 1 if not a count)."""
        return self.answer_per_image * self.count(n)

    @staticmethod
    def count(n: Any) -> int:
        """How many images a request's ``n`` asks for: 1 when it is not a count."""
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def shown_size(size: int) -> str:
    """``size`` bytes for a message: in MB from 1 MB on, else in bytes."""
    return f"{size / MB:.0f} MB" if size >= MB else f"{size:,} bytes"


def too_large(limit: int, what: str, hint: str | None = None, status: int | None = 200) -> APIError:
    """The error for a server sending more than ``limit`` bytes of ``what``."""
    return APIError(
        f"the server sent more than {shown_size(limit)} for {what}, far more than a real one "
        "holds, so the client stopped reading", status=status,
        hint=hint or "check that base_url is an Images API server, or the proxy in between; "
                     "if it is, ask for fewer or smaller images")


class Body:
    """The bytes of a response's body as they arrive, inflated, at most ``limit`` of them.

    ``await next()`` gives the next piece (at most :data:`PIECE` bytes when inflated) and
    ``b""`` at the end. Past ``limit`` bytes it raises :func:`too_large` naming ``what``;
    with ``cut`` it ends there instead, the body cut at ``limit`` bytes. A plain object,
    not an async generator: nothing for the garbage collector to finalize mid-close.

    Raises
    ------
    APIError
        Past the limit, for an encoding we did not ask for (or two of them), or a
        compressed body that does not inflate.
    httpx.HTTPError
        When reading breaks; :func:`read_body` and the stream turn it into ours.
    """

    def __init__(self, response: httpx.Response, limit: int, what: str, *, cut: bool = False,
                 hint: str | None = None) -> None:
        self._limit, self._what, self._cut, self._hint = limit, what, cut, hint
        self._status = response.status_code
        self._inflate: _Inflater | None = None
        try:
            # An in-memory response (a transport's or a test's) was read and decoded when made.
            loaded = response.content
        except httpx.ResponseNotRead:
            self._raw: AsyncIterator[bytes] = response.aiter_raw()
            self._inflate = _inflater(response.headers.get("content-encoding", ""), what)
        else:
            self._raw = _pieces(loaded)
        self._tail = b""  # compressed bytes not yet inflated
        self._started = False  # whether any byte came out of the inflater yet
        self._ended = False
        self.size = 0
        """Bytes given so far (inflated)."""

    async def next(self) -> bytes:
        while not self._ended:
            if self._tail:
                piece = self._inflate_piece()
                if piece:
                    await asyncio.sleep(0)  # many pieces of one chunk: let the loop run between
                    return self._counted(piece)
                continue
            raw = await anext(self._raw, None)
            if raw is None:
                self._ended = True
                return self._counted(self._flush()) if self._inflate is not None else b""
            if not raw:
                continue  # an empty piece is not the end
            if self._inflate is None:
                return self._counted(raw)
            self._tail = raw
        return b""

    def _inflate_piece(self) -> bytes:
        assert self._inflate is not None
        data, self._tail = self._tail, b""
        try:
            piece = self._inflate.decompress(data, PIECE)
        except zlib.error:
            if self._started or self._inflate.name != "deflate":
                raise self._corrupt() from None
            # "deflate" is zlib-wrapped by the standard, raw deflate from some servers (as httpx)
            self._inflate = _Inflater("deflate", -zlib.MAX_WBITS)
            try:
                piece = self._inflate.decompress(data, PIECE)
            except zlib.error:
                raise self._corrupt() from None
        self._started = True
        self._tail = b"" if self._inflate.eof else self._inflate.unconsumed_tail
        return piece

    def _flush(self) -> bytes:
        assert self._inflate is not None
        try:
            return self._inflate.flush()
        except zlib.error:
            raise self._corrupt() from None

    def _corrupt(self) -> APIError:
        assert self._inflate is not None
        return APIError(f"the server sent {self._what} as {self._inflate.name} that does not "
                        "inflate (it is corrupt or not compressed)", status=self._status)

    def _counted(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self._limit:
            if not self._cut:
                raise too_large(self._limit, self._what, self._hint, self._status)
            self._ended = True
            piece = piece[:len(piece) - (self.size - self._limit)]
            self.size = self._limit
        return piece


async def _pieces(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), PIECE):
        yield data[start:start + PIECE]


class _Inflater:
    """A zlib decompressor that knows the name of the encoding it inflates."""

    def __init__(self, name: str, wbits: int) -> None:
        self.name = name
        self._zlib = zlib.decompressobj(wbits)
        self.decompress = self._zlib.decompress

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def unconsumed_tail(self) -> bytes:
        return self._zlib.unconsumed_tail

    def flush(self) -> bytes:
        # Everything fed was inflated in pieces already (no unconsumed tail): what is
        # left is at most the decompressor's window, not a bomb.
        return self._zlib.flush()


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _inflater(header: str, what: str) -> _Inflater | None:
    """What inflates a body of ``Content-Encoding: header``; None for none (identity)."""
    codings = [name.strip().lower() for name in header.split(",")]
    codings = [name for name in codings if name and name != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in _WBITS:
        raise APIError(
            f"the server sent {what} encoded as {', '.join(codings)!r}, which the client did "
            f"not ask for (it asks for {ACCEPT_ENCODING!r}, once) and does not read", status=200,
            hint="check that base_url is an Images API server, or the proxy in between")
    return _Inflater("gzip" if codings[0] == "x-gzip" else codings[0], _WBITS[codings[0]])


async def read_body(response: httpx.Response, limit: int, what: str, *, cut: bool = False,
                    hint: str | None = None) -> bytes:
    """The whole body, of at most ``limit`` bytes (inflated): the one way a body is read whole.

    ``what`` names the body in messages ("the model list"). Past ``limit``:
    :func:`too_large`, or with ``cut`` the first ``limit`` bytes. One cancellation-guarded
    step; a failure while reading is ours (:class:`APIConnectionError` or
    :class:`APITimeoutError`), never a raw httpx error.
    """
    try:
        return await guarded(_collect(Body(response, limit, what, cut=cut, hint=hint)))
    except httpx.TimeoutException:
        raise APITimeoutError(f"the server went quiet while reading {what} (read timeout)") from None
    except httpx.HTTPError as failure:
        raise APIConnectionError(f"the connection broke while reading {what}: {failure}") from None


async def _collect(body: Body) -> bytes:
    parts = []
    while piece := await body.next():
        parts.append(piece)
    return b"".join(parts)


async def read_answer(response: httpx.Response, n: Any, limits: Limits) -> bytes:
    """The body of a JSON answer to a request for ``n`` images, within its limit."""
    count = Limits.count(n)
    return await read_body(
        response, limits.answer(count),
        f"a JSON answer of {count} image{'s' if count > 1 else ''} (n={count})",
        hint="check that base_url is an Images API server, or the proxy in between; if it "
             "is, ask for fewer images (n) or a smaller size")


async def error_of(response: httpx.Response, limit: int) -> APIError:
    """The error an answer of status 400 or more means; its body cut at ``limit`` bytes."""
    try:
        raw = await read_body(response, limit, "an error answer", cut=True)
    except (APIConnectionError, APIError):  # broken, or an encoding we cannot read
        raw = b""  # the status alone still makes a useful error
    return api_error(response.status_code, raw, response.headers.get("x-request-id"))
