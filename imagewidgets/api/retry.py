"""When a failed request may be sent again, and after how long: as the official SDK does it."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping

from ..errors import APIConnectionError, APIError, ImagesError, InsufficientQuotaError

__all__ = ["MAX_RETRY_AFTER", "RETRY_STATUSES", "next_retry", "retry_after", "retry_delay",
           "retryable"]

MAX_RETRY_AFTER = 120.0
"""Seconds: a server asking for a longer wait is not retried."""

RETRY_STATUSES = frozenset({408, 409, 429})


def retryable(error: ImagesError) -> bool:
    """Whether a request that failed so may be sent again: 408, 409, 429 (but not
    ``insufficient_quota``), 5xx and connection errors."""
    if isinstance(error, InsufficientQuotaError):
        return False
    if isinstance(error, APIError):
        status = error.status or 0
        return status in RETRY_STATUSES or status >= 500
    return isinstance(error, APIConnectionError)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for, in seconds: ``retry-after-ms``, then ``retry-after``
    (seconds or an HTTP date); None when it asked for none we can use."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms) / 1000
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_delay(attempt: int, headers: Mapping[str, str] | None = None) -> float | None:
    """Seconds to wait before retry ``attempt`` (0-based); None means do not retry.

    ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date), are
    honoured up to 120 s; a longer wait is not retried. Otherwise
    ``min(0.5 * 2**attempt, 8)`` seconds, less up to a quarter of jitter.
    """
    asked = retry_after(headers) if headers is not None else None
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER else None
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())


def next_retry(error: ImagesError, attempt: int, max_retries: int, headers: Mapping[str, str] | None,
               left: float, total: float) -> float | None:
    """Seconds to wait before sending again after ``error`` on try ``attempt`` (0-based); None
    means raise it, and its message then says why not retried (past the deadline) or how
    often it was tried. ``left`` is what remains of the ``total`` timeout, in seconds."""
    delay = retry_delay(attempt, headers) if attempt < max_retries and retryable(error) else None
    if delay is not None and delay > left:
        # Waiting would pass the total deadline: the retry could not finish in time.
        asked = retry_after(headers) if headers is not None else None
        wait = (f"the server asked to wait {delay:g} s" if asked is not None
                else f"a retry would wait {delay:.1f} s")
        error.note(f"not retried: {wait}, more than the {max(left, 0):.1f} s left of "
                   f"the {total:g} s total timeout")
        delay = None
    if delay is None and attempt:  # retried and still failing: say so, or it reads like one try
        error.tried(attempt + 1)
    return delay
