"""The date every lifecycle decision uses, and how close a shutdown counts as near."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

__all__ = ["RETIRING_WITHIN", "set_today", "today"]

RETIRING_WITHIN = timedelta(days=30)
"""A model whose shutdown is this close is marked as retiring."""

_clock: Callable[[], date] = date.today


def today() -> date:
    """The date every lifecycle decision uses: today, unless :func:`set_today` fixed one."""
    return _clock()


def set_today(day: date | None) -> None:
    """Fix the date lifecycle decisions use (tests, a workshop set in the future).

    ``None`` goes back to the real date.
    """
    global _clock
    _clock = date.today if day is None else (lambda: day)
