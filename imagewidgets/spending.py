"""What the session spent, per day, and a budget that refuses a request before it is sent.

Every panel and grid records into :data:`SESSION` unless given its own
:class:`Spending`; its total is what "spent this session" shows.
"""

from __future__ import annotations

import math
import threading
from datetime import date, datetime

from .errors import BudgetExceededError

__all__ = ["SESSION", "Spending"]

# Sums of float dollars drift by about 1e-16; a request exactly at the budget is allowed.
_TOLERANCE = 1e-9


def _dollars(value: object) -> float | None:
    """``value`` as an amount of dollars, or None when it is not a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


class Spending:
    """What this session spent, per day, and an optional budget in USD.

    Parameters
    ----------
    budget : float or None
        The most that may be spent in all; None for no limit.

    Examples
    --------
    >>> spending = Spending(budget=1.0)
    >>> spending.record(0.98)
    >>> spending.check(0.044)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    imagewidgets.errors.BudgetExceededError: budget exceeded: this request is estimated at $0.044, ...
    """

    def __init__(self, budget: float | None = None) -> None:
        # Images finish on worker threads: every read and write of the days holds the lock.
        self._lock = threading.Lock()
        self._days: dict[date, float] = {}
        self.budget = budget

    @property
    def budget(self) -> float | None:
        """The most that may be spent in all, in USD; None for no limit."""
        return self._budget

    @budget.setter
    def budget(self, value: float | None) -> None:
        checked = _dollars(value)
        if value is not None and checked is None:
            raise ValueError(f"budget must be None or a number of dollars, 0 or more; not {value!r}")
        self._budget = checked

    def record(self, dollars: float | None, when: datetime | None = None) -> None:
        """Add what an image cost (from its usage), on the day of ``when`` (default: now).

        None, negative and NaN amounts are ignored: an unknown cost adds nothing.
        """
        amount = _dollars(dollars)
        if amount is None:
            return
        day = (when or datetime.now()).date()
        with self._lock:
            self._days[day] = self._days.get(day, 0.0) + amount

    @property
    def total(self) -> float:
        """Dollars spent in all."""
        with self._lock:
            return sum(self._days.values())

    def per_day(self) -> dict[date, float]:
        """Dollars spent, by day, oldest first."""
        with self._lock:
            return dict(sorted(self._days.items()))

    def reset(self) -> None:
        """Forget what was spent (a new day of teaching); the budget stays."""
        with self._lock:
            self._days.clear()

    def check(self, estimate: float | None, *, what: str = "this request") -> None:
        """Refuse, before sending, a request whose estimate would take the total past the budget.

        Raises
        ------
        BudgetExceededError
            When a budget is set and the total plus ``estimate`` (0 when None) exceeds it.
        """
        budget = self._budget
        if budget is None:
            return
        spent, known = self.total, _dollars(estimate)
        if spent + (known or 0.0) > budget + _TOLERANCE:
            raise BudgetExceededError(spent, known, budget, what)

    def __repr__(self) -> str:
        budget = "no budget" if self._budget is None else f"budget ${self._budget:.2f}"
        days = len(self.per_day())
        return f"Spending(${self.total:.3f} spent over {days} day{'s' * (days != 1)}, {budget})"


SESSION = Spending()
"""The session's running total, shared by every panel and grid."""
