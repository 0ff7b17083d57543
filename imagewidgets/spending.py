"""What may be spent: budgets, reservations for requests in flight, and what was spent per day.

The one owner of spending. Before a request is sent its estimate is
reserved on every ledger involved (the widget's own :class:`Spending` and
:data:`SESSION`); once the server has finished (billed) the reservation is
settled with the actual cost, and on a failure or a cancel before billing it
is released. A budget refuses a request whose estimate, added to what is
spent and reserved, would pass it, so work started together cannot overspend.

On the emulator nothing is billed: what the requests would cost is kept apart
(:attr:`Spending.emulated`) and never added to money spent; budgets hold
against it too, so a class can rehearse one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from datetime import date, datetime
from types import TracebackType

from .errors import BudgetExceededError

__all__ = ["SESSION", "Reservation", "Spending", "emulated_text", "reserve_all"]

# Sums of float dollars drift by about 1e-16; a request exactly at the budget is allowed.
_TOLERANCE = 1e-9


def _dollars(value: object) -> float | None:
    """``value`` as an amount of dollars, or None when it is not a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def emulated_text(dollars: float) -> str:
    """How emulated spending is shown: what it would cost, never as money spent."""
    return f"emulated: $0 billed (would cost ${dollars:.3f})"


class Spending:
    """A ledger: what was spent (billed, and emulated apart), per day; what is reserved; a budget.

    Parameters
    ----------
    budget : float or None
        The most that may be spent in all, in USD; None for no limit. It holds
        against what was billed and, apart, against what emulated requests
        would have cost; reservations count against both.
    allow_unpriced : bool
        Under a budget, a request whose price is unknown (an animated GIF, a
        model without prices) is refused, as the budget could not be kept;
        True lets such requests through (their cost is counted once known).
    name : str
        How the ledger is named in messages (``panel.spending``).

    Examples
    --------
    >>> spending = Spending(budget=0.10)
    >>> with spending.reserve(0.04) as held:   # before sending
    ...     held.settle(0.042)                 # the server finished: its actual cost
    >>> spending.reserve(0.07)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    imagewidgets.errors.BudgetExceededError: budget exceeded: this request is estimated at $0.070, ...
    """

    def __init__(self, budget: float | None = None, *, allow_unpriced: bool = False,
                 name: str = "spending") -> None:
        # Images finish on worker threads: every read and write of the ledger holds the lock.
        self._lock = threading.Lock()
        self._days: dict[date, float] = {}
        self._emulated_days: dict[date, float] = {}
        self._held: dict[Reservation, float] = {}
        self.budget = budget
        self.allow_unpriced = allow_unpriced
        self.name = name

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

    def reserve(self, estimate: float | None, *, what: str = "this request",
                allow_unpriced: bool = False) -> Reservation:
        """Hold ``estimate`` on this ledger before sending; :func:`reserve_all` for several."""
        return reserve_all([self], [estimate], what=what, allow_unpriced=allow_unpriced)[0]

    @property
    def total(self) -> float:
        """Dollars billed in all (emulated requests not included)."""
        with self._lock:
            return sum(self._days.values())

    @property
    def emulated(self) -> float:
        """Dollars the emulated requests would have cost; nothing of it was billed."""
        with self._lock:
            return sum(self._emulated_days.values())

    @property
    def reserved(self) -> float:
        """Dollars held for requests in flight."""
        with self._lock:
            return sum(self._held.values())

    def per_day(self, *, emulated: bool = False) -> dict[date, float]:
        """Dollars billed (or, with ``emulated``, that would have been), by day, oldest first."""
        with self._lock:
            return dict(sorted((self._emulated_days if emulated else self._days).items()))

    def reset(self) -> None:
        """Forget what was spent (a new day of teaching); the budget and reservations stay."""
        with self._lock:
            self._days.clear()
            self._emulated_days.clear()

    def _hold(self, held: Sequence[tuple[Reservation, float | None]], what: str,
              allow_unpriced: bool) -> None:
        """Reserve every ``(reservation, estimate)`` here at once, or raise and hold none."""
        with self._lock:
            budget = self._budget
            if budget is not None:
                if not (allow_unpriced or self.allow_unpriced) and any(
                        estimate is None for _, estimate in held):
                    raise BudgetExceededError(0.0, None, budget, what,
                                              opt_in=f"{self.name}.allow_unpriced = True")
                spent = max(sum(self._days.values()), sum(self._emulated_days.values()))
                reserved = sum(self._held.values())
                asked = sum(estimate or 0.0 for _, estimate in held)
                if spent + reserved + asked > budget + _TOLERANCE:
                    raise BudgetExceededError(spent, asked, budget, what, reserved=reserved,
                                              ledger=self.name)
            for reservation, estimate in held:
                self._held[reservation] = estimate or 0.0

    def _close(self, reservation: Reservation, amount: float | None, emulated: bool,
               when: datetime | None) -> None:
        """Let ``reservation``'s hold go; add ``amount`` (None: nothing was billed)."""
        day = (when or datetime.now()).date()
        with self._lock:
            self._held.pop(reservation, None)
            if amount is not None:
                days = self._emulated_days if emulated else self._days
                days[day] = days.get(day, 0.0) + amount

    def __repr__(self) -> str:
        budget = "no budget" if self._budget is None else f"budget ${self._budget:.2f}"
        days = len(self.per_day())
        text = f"Spending(${self.total:.3f} spent over {days} day{'s' * (days != 1)}"
        if self.emulated:
            text += f", {emulated_text(self.emulated)}"
        return f"{text}, {budget})"


class Reservation:
    """Dollars held on one or more ledgers for one request: settle it, or release it, once.

    As a context manager it is released on leaving unless settled inside.
    Settling and releasing from any thread is safe; only the first of them counts.
    """

    def __init__(self, ledgers: Sequence[Spending], estimate: float | None) -> None:
        self.ledgers = tuple(ledgers)
        self.estimate = estimate
        self._lock = threading.Lock()
        self.closed = False

    def settle(self, actual: float | None, *, emulated: bool = False,
               when: datetime | None = None) -> None:
        """The server finished (billed): record ``actual`` dollars and let the hold go.

        ``actual`` None (the cost is unknown) counts the estimate instead. ``emulated``
        (read from the client now, not when the request was made) keeps it apart.
        """
        if self._closing():
            amount = _dollars(actual)
            if amount is None:
                amount = self.estimate
            for ledger in self.ledgers:
                ledger._close(self, amount, emulated, when)

    def release(self) -> None:
        """Nothing was billed (a failure, a cancel before the server finished): let the hold go."""
        if self._closing():
            for ledger in self.ledgers:
                ledger._close(self, None, False, None)

    def _closing(self) -> bool:
        with self._lock:
            first, self.closed = not self.closed, True
            return first

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        estimate = "price unknown" if self.estimate is None else f"${self.estimate:.3f}"
        return f"Reservation({estimate}, {'closed' if self.closed else 'held'})"


def reserve_all(ledgers: Sequence[Spending], estimates: Sequence[float | None], *,
                what: str = "this request", allow_unpriced: bool = False) -> list[Reservation]:
    """One reservation per request (``estimates``, dollars or None when unknown), on every ledger.

    All or none: when a ledger refuses, what the others had taken is released.

    Raises
    ------
    BudgetExceededError
        When what a ledger has spent and reserved, plus the estimates, would pass its
        budget; or a price is unknown under a budget without ``allow_unpriced``.
    """
    made = [Reservation(ledgers, _dollars(estimate)) for estimate in estimates]
    held = [(reservation, reservation.estimate) for reservation in made]
    taken: list[Spending] = []
    try:
        for ledger in ledgers:
            ledger._hold(held, what, allow_unpriced)
            taken.append(ledger)
    except BaseException:
        for ledger in taken:
            for reservation in made:
                ledger._close(reservation, None, False, None)
        for reservation in made:
            reservation.closed = True
        raise
    return made


SESSION = Spending(name="iw.spending.SESSION")
"""The session's ledger, shared by every panel, grid and ``iw.generate``."""
