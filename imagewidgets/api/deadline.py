"""A call's total deadline, counted from when its request is first sent, not while it queues."""

from __future__ import annotations

import asyncio
import math
import time
from types import TracebackType

__all__ = ["Deadline"]


class Deadline:
    """The total timeout of one call: sending, retries and their waits, reading, image URLs.

    The clock starts at :meth:`start`, when the request first goes out (it holds
    one of the client's ``max_concurrency`` slots): time spent queued behind
    other requests is not counted, so in a big grid a request is never timed
    out before it is sent. Steps run under it with ``async with deadline.scope():``:
    no limit while queued, the deadline's end from :meth:`start` on.

    Parameters
    ----------
    total : float
        Seconds, from the first send.
    """

    def __init__(self, total: float) -> None:
        self.total = total
        self.started: float | None = None  # time.monotonic() of the first send
        self._scopes: set[asyncio.Timeout] = set()  # entered and not left: moved by start()

    def start(self) -> None:
        """The request goes out: start the clock (once; a retry does not restart it)."""
        if self.started is None:
            self.started = time.monotonic()
            for scope in self._scopes:
                scope.reschedule(self._when())

    def left(self) -> float:
        """Seconds left; infinite until started, negative once past."""
        return math.inf if self.started is None else self.started + self.total - time.monotonic()

    def scope(self) -> Scope:
        """An ``asyncio.timeout`` ending with this deadline (none until it starts)."""
        return Scope(self)

    def _when(self) -> float | None:
        """The end as the event loop's clock reads it; None until started."""
        left = self.left()
        return None if math.isinf(left) else asyncio.get_running_loop().time() + left

    def __repr__(self) -> str:
        return f"Deadline(total={self.total:g}, started={self.started is not None})"


class Scope:
    """``async with`` a step under a :class:`Deadline`; ``expired()`` says whether it cut the step
    short (the step's own ``TimeoutError`` is not the deadline's)."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._timeout = asyncio.timeout(None)

    async def __aenter__(self) -> Scope:
        await self._timeout.__aenter__()
        self._timeout.reschedule(self._deadline._when())
        self._deadline._scopes.add(self._timeout)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self._deadline._scopes.discard(self._timeout)
        await self._timeout.__aexit__(kind, error, traceback)  # a cancel of its own: TimeoutError

    def expired(self) -> bool:
        """Whether the deadline passed while the step ran."""
        return self._timeout.expired()
