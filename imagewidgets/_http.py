"""httpx steps that a double Cancel cannot cut short, the one way a body is read, and deadlines.

A Cancel that lands while httpx sends or closes would leave its connection
checked out of the pool; a second Cancel while cleaning up, the same. These
steps run in their own task and are waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx

from .errors import APIConnectionError, APITimeoutError

__all__ = ["Timeouts", "guarded", "read_body", "release", "wait_out"]

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


async def guarded(step: Awaitable[T]) -> T:
    """Await ``step`` in its own task, so a second Cancel cannot cut httpx's cleanup short.

    On cancellation the step is cancelled once and waited for: httpcore then
    closes the connection it was using instead of leaving it checked out.
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        raise


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


async def read_body(response: httpx.Response, limit: int | None = None, *,
                    when: str = "while reading the answer") -> bytes:
    """The body, or its first ``limit`` bytes or so: the one way every body is read.

    One cancellation-guarded step; a failure while reading is ours
    (:class:`APIConnectionError` or :class:`APITimeoutError`), never a raw httpx error.
    """
    try:
        return await guarded(_collect(response, limit))
    except httpx.TimeoutException:
        raise APITimeoutError(f"the server went quiet {when} (read timeout)") from None
    except httpx.HTTPError as failure:
        raise APIConnectionError(f"the connection broke {when}: {failure}") from None


async def _collect(response: httpx.Response, limit: int | None) -> bytes:
    parts, size = [], 0
    async with contextlib.aclosing(cast(AsyncGenerator[bytes, None], response.aiter_bytes())) as chunks:
        async for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                break
    return b"".join(parts)
