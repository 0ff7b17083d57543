"""The date every lifecycle decision uses: fixed for a workshop set in the future, or the real one."""

from __future__ import annotations

from datetime import date, timedelta

from imagewidgets.models import MODELS, RETIRING_WITHIN, set_today, today


def test_a_fixed_day_decides_what_is_retiring_and_none_goes_back_to_the_real_date() -> None:
    spec = MODELS["gpt-image-1.5"]  # shut down on 2026-12-01
    assert spec.shutdown is not None
    set_today(spec.shutdown - RETIRING_WITHIN - timedelta(days=1))  # the shared fixture resets it
    assert spec.status() == "live"
    set_today(spec.shutdown - RETIRING_WITHIN)
    assert spec.status() == "retiring" and "shuts down 2026-12-01" in spec.label()
    set_today(spec.shutdown)
    assert spec.status() == "retired" and today() == date(2026, 12, 1)
    before = date.today()
    set_today(None)
    assert before <= today() <= date.today()
