"""The session's money: totals, days, and a budget that refuses before sending."""

from __future__ import annotations

import math
import sys
import threading
from datetime import date, datetime

import pytest

import imagewidgets as iw
from imagewidgets.errors import BudgetExceededError
from imagewidgets.spending import Spending


def test_total_and_per_day() -> None:
    spending = Spending()
    spending.record(0.04, datetime(2026, 11, 24, 23, 59))
    spending.record(0.12, datetime(2026, 11, 25, 0, 1))
    spending.record(0.011, datetime(2026, 11, 25, 9, 0))
    assert spending.total == pytest.approx(0.171)
    days = spending.per_day()
    assert list(days) == [date(2026, 11, 24), date(2026, 11, 25)]
    assert days[date(2026, 11, 25)] == pytest.approx(0.131)
    spending.record(0.5)  # now: today
    assert spending.per_day()[date.today()] >= 0.5
    assert "$0.671 spent over" in repr(spending) and "no budget" in repr(spending)


def test_a_refusal_names_what_was_spent_the_estimate_and_the_budget() -> None:
    spending = Spending(budget=1.0)
    spending.record(0.98)
    with pytest.raises(BudgetExceededError) as refused:
        spending.check(0.044)
    message = str(refused.value)
    assert message == ("budget exceeded: this request is estimated at $0.044, and $0.980 of the $1.00 "
                       "budget is spent ($0.020 left), so nothing was sent (raise the budget with "
                       "budget=... or choose a cheaper setting)")
    assert (refused.value.spent, refused.value.estimate, refused.value.budget) == (0.98, 0.044, 1.0)
    assert isinstance(refused.value, iw.ParamsError) and isinstance(refused.value, ValueError)
    with pytest.raises(BudgetExceededError, match=r"this grid \(12 images\) is estimated at \$0\.480"):
        spending.check(0.48, what="this grid (12 images)")
    spending.check(0.02)  # what is left still fits


def test_exactly_at_the_budget_is_allowed_despite_float_sums() -> None:
    spending = Spending(budget=0.4)
    for _ in range(3):
        spending.record(0.1)  # 0.30000000000000004 in floats
    spending.check(0.1)
    spending.record(0.1)
    spending.check(0)
    spending.check(None)
    with pytest.raises(BudgetExceededError, match=r"\$0\.001"):
        spending.check(0.001)


def test_past_the_budget_even_an_unpriced_request_is_refused() -> None:
    spending = Spending(budget=0.05)
    spending.record(0.08)
    with pytest.raises(BudgetExceededError, match=r"the price of this request is unknown, and \$0\.080 "
                                                   r"of the \$0\.05 budget is spent \(\$0\.000 left\)"):
        spending.check(None)


def test_no_budget_never_refuses_and_a_budget_can_be_changed() -> None:
    spending = Spending()
    spending.record(1000.0)
    spending.check(1000.0)
    spending.budget = 1.0
    with pytest.raises(BudgetExceededError):
        spending.check(0.01)
    spending.budget = None
    spending.check(0.01)


@pytest.mark.parametrize("budget", [-1, math.nan, math.inf, "5", True])
def test_bad_budgets_are_refused_naming_the_value(budget: object) -> None:
    with pytest.raises(ValueError, match=repr(budget).replace("(", r"\(")):
        Spending(budget=budget)  # type: ignore[arg-type]
    spending = Spending(budget=2)
    with pytest.raises(ValueError, match="budget"):
        spending.budget = budget  # type: ignore[assignment]
    assert spending.budget == 2


def test_unknown_or_nonsense_costs_add_nothing() -> None:
    spending = Spending()
    for dollars in (None, math.nan, -0.5, math.inf):
        spending.record(dollars)
    assert spending.total == 0 and spending.per_day() == {}


def test_records_from_many_threads_add_up() -> None:
    spending = Spending()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(1000):
            spending.record(0.25)  # exact in binary: any lost update shows

    threads = [threading.Thread(target=worker) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switching every microsecond: an unlocked add loses updates
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert spending.total == 8 * 1000 * 0.25
