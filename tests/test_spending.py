"""What may be spent: reservations before sending, settled or released, budgets, emulated apart."""

from __future__ import annotations

import asyncio
import html
import math
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.api import streams as streams_module
from imagewidgets.emulator import EmulatorServer
from imagewidgets.errors import BudgetExceededError
from imagewidgets.spending import SESSION, Spending, reserve_all
from imagewidgets.ui import tile as tile_module

from waiting import until

PROMPT = "A lighthouse at dusk"


def _params(**fields: Any) -> iw.ImageParams:
    return iw.ImageParams(**{"prompt": PROMPT, "model": "gpt-image-2", "quality": "low",
                             "size": "1024x1024", **fields})


def _one_image() -> float:
    estimate = _params().estimate()
    assert estimate is not None
    return estimate.dollars


# -- the ledger ----------------------------------------------------------------------------------

def test_settled_costs_add_up_per_day_and_released_ones_add_nothing() -> None:
    spending = Spending()
    spending.reserve(0.05).settle(0.04, when=datetime(2026, 11, 24, 23, 59))
    spending.reserve(0.10).settle(0.12, when=datetime(2026, 11, 25, 0, 1))
    spending.reserve(0.01).settle(0.011, when=datetime(2026, 11, 25, 9, 0))
    spending.reserve(0.30).release()  # failed before billing
    assert spending.total == pytest.approx(0.171) and spending.reserved == 0
    days = spending.per_day()
    assert list(days) == [date(2026, 11, 24), date(2026, 11, 25)]
    assert days[date(2026, 11, 25)] == pytest.approx(0.131)
    spending.reserve(None).settle(0.5)  # now: today
    assert spending.per_day()[date.today()] >= 0.5
    assert "$0.671 spent over" in repr(spending) and "no budget" in repr(spending)


def test_a_refusal_names_the_ledger_whose_budget_refused() -> None:
    panel_ledger = Spending(budget=1.0, name="panel.spending")
    session = Spending(budget=0.05, name="iw.spending.SESSION")
    with pytest.raises(BudgetExceededError, match=r"raise it: iw\.spending\.SESSION\.budget = "):
        reserve_all([panel_ledger, session], [0.08])
    assert panel_ledger.reserved == 0  # all or none: the panel's hold let go too


def test_a_refusal_names_what_was_spent_the_estimate_and_the_budget() -> None:
    spending = Spending(budget=1.0)
    spending.reserve(0.98).settle(0.98)
    with pytest.raises(BudgetExceededError) as refused:
        spending.reserve(0.044)
    message = str(refused.value)
    assert message == ("budget exceeded: this request is estimated at $0.044, and $0.980 of the $1.00 "
                       "budget is spent ($0.020 left), so nothing was sent (raise it: "
                       "spending.budget = ...; or choose a cheaper setting)")
    assert (refused.value.spent, refused.value.estimate, refused.value.budget) == (0.98, 0.044, 1.0)
    assert isinstance(refused.value, iw.ParamsError) and isinstance(refused.value, ValueError)
    with pytest.raises(BudgetExceededError, match=r"this grid \(12 images\) is estimated at \$0\.480"):
        spending.reserve(0.48, what="this grid (12 images)")
    spending.reserve(0.02).release()  # what is left still fits


def test_what_is_reserved_for_requests_in_flight_counts_until_settled_or_released() -> None:
    spending = Spending(budget=0.10)
    first = spending.reserve(0.06)
    with pytest.raises(BudgetExceededError, match=r"\$0\.000 of the \$0\.10 budget is spent and "
                                                  r"\$0\.060 reserved for requests in flight "
                                                  r"\(\$0\.040 left\)"):
        spending.reserve(0.06)
    first.release()
    with spending.reserve(0.06) as second:  # the hold went with the release
        second.settle(0.07)  # the actual cost may pass the estimate
    second.release()  # too late: settled once, counted once
    second.settle(0.07)
    assert spending.total == pytest.approx(0.07) and spending.reserved == 0
    with spending.reserve(0.03):  # left without settling: released
        assert spending.reserved == pytest.approx(0.03)
    assert spending.reserved == 0 and spending.total == pytest.approx(0.07)


def test_exactly_at_the_budget_is_allowed_despite_float_sums() -> None:
    spending = Spending(budget=0.4)
    for _ in range(3):
        spending.reserve(0.1).settle(0.1)  # 0.30000000000000004 in floats
    spending.reserve(0.1).settle(0.1)
    spending.reserve(0).release()
    with pytest.raises(BudgetExceededError, match=r"\$0\.001"):
        spending.reserve(0.001)


def test_an_unknown_price_under_a_budget_is_refused_unless_allowed() -> None:
    spending = Spending(budget=5.0, name="panel.spending")
    with pytest.raises(BudgetExceededError) as refused:
        spending.reserve(None)
    assert str(refused.value) == (
        "budget: the price of this request is unknown (no price is published for these settings), "
        "so the $5.00 budget could not be kept and nothing was sent (to send requests of unknown "
        "price anyway, set panel.spending.allow_unpriced = True; or choose settings with a known price)")
    spending.reserve(None, allow_unpriced=True).settle(0.3)  # counted once its cost is known
    spending.allow_unpriced = True
    spending.reserve(None).settle(None)  # still unknown: nothing to add
    assert spending.total == pytest.approx(0.3)
    Spending().reserve(None).release()  # no budget: nothing to keep


def test_a_reservation_is_all_or_none_across_ledgers() -> None:
    mine, session = Spending(budget=1.0), Spending(budget=0.05)
    with pytest.raises(BudgetExceededError, match=r"these 2 requests is estimated at \$0\.060"):
        reserve_all([mine, session], [0.03, 0.03], what="these 2 requests")
    assert mine.reserved == 0 and session.reserved == 0  # the first ledger's hold was let go
    held = reserve_all([mine, session], [0.02, 0.02])
    assert mine.reserved == pytest.approx(0.04) == session.reserved
    held[0].settle(0.025)
    held[1].release()
    assert (mine.total, session.total, mine.reserved) == (pytest.approx(0.025),) * 2 + (0,)


def test_emulated_costs_are_kept_apart_and_the_budget_holds_against_them() -> None:
    spending = Spending(budget=0.10)
    spending.reserve(0.04).settle(0.04, emulated=True)
    spending.reserve(0.04).settle(0.05)
    assert spending.total == pytest.approx(0.05) and spending.emulated == pytest.approx(0.04)
    assert spending.per_day(emulated=True) == {date.today(): pytest.approx(0.04)}
    spending.reserve(0.04).settle(0.05, emulated=True)  # a rehearsal: 0.09 would be spent
    with pytest.raises(BudgetExceededError, match=r"\$0\.090 of the \$0\.10 budget is spent"):
        spending.reserve(0.02)
    assert "emulated: $0 billed (would cost $0.090)" in repr(spending)


def test_no_budget_never_refuses_and_a_budget_can_be_changed() -> None:
    spending = Spending()
    spending.reserve(1000.0).settle(1000.0)
    spending.reserve(1000.0).release()
    spending.budget = 1.0
    with pytest.raises(BudgetExceededError):
        spending.reserve(0.01)
    spending.budget = None
    spending.reserve(0.01).release()


@pytest.mark.parametrize("budget", [-1, math.nan, math.inf, "5", True])
def test_bad_budgets_are_refused_naming_the_value(budget: object) -> None:
    with pytest.raises(ValueError, match=repr(budget).replace("(", r"\(")):
        Spending(budget=budget)  # type: ignore[arg-type]
    spending = Spending(budget=2)
    with pytest.raises(ValueError, match="budget"):
        spending.budget = budget  # type: ignore[assignment]
    assert spending.budget == 2


def test_nonsense_costs_count_the_estimate_instead() -> None:
    spending = Spending()
    for dollars in (None, math.nan, -0.5, math.inf):
        spending.reserve(0.25).settle(dollars)
    assert spending.total == 1.0 and spending.reserved == 0


def test_reservations_from_many_threads_add_up_and_never_pass_the_budget() -> None:
    spending = Spending(budget=1000.0)
    start = threading.Barrier(8)
    refused = []

    def worker() -> None:
        start.wait()
        for _ in range(1000):
            try:
                held = spending.reserve(0.25)
            except BudgetExceededError:
                refused.append(1)
                continue
            held.settle(0.25)  # exact in binary: any lost update shows

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
    assert spending.total == 1000.0 and len(refused) == 8000 - 4000 and spending.reserved == 0


# -- every way in goes through it ------------------------------------------------------------------

async def test_a_panel_a_grid_and_generate_at_once_send_one_request_under_a_budget_of_one_and_a_half(
        client: iw.ImagesClient, server: EmulatorServer, api_key: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    one = _one_image()
    SESSION.budget = 1.5 * one
    panel = iw.ImagePanel(client=client, params=_params(), store=None)
    grid = iw.CompareGrid(_params(), rows=("model", ["gpt-image-2"]), columns=("quality", ["low"]),
                          client=client, store=None)
    before = server.request_count
    outcomes = await asyncio.gather(
        panel.generate(), grid.run(),
        asyncio.to_thread(iw.generate, PROMPT, model="gpt-image-2", quality="low",
                          size="1024x1024", store=None),
        return_exceptions=True)
    assert server.request_count - before == 1  # not three
    refused = [isinstance(outcome, BudgetExceededError) for outcome in outcomes[1:]]
    refused.append("budget exceeded" in html.unescape(panel.status.value))
    assert sum(refused) == 2, outcomes
    assert SESSION.reserved == 0
    # Actual costs may differ from estimates, by no more than one request's worth.
    assert SESSION.total + SESSION.emulated <= SESSION.budget + one
    panel.close()
    grid.close()


async def test_a_request_in_flight_holds_its_estimate_and_a_cancel_before_billing_lets_it_go(
        slow_client: iw.ImagesClient, slow_server: EmulatorServer,
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    one = _one_image()
    SESSION.budget = 1.5 * one
    slow = iw.ImagePanel(client=slow_client, params=_params(), store=None)
    running = asyncio.ensure_future(slow.generate())
    await until(lambda: slow.tiles and slow.tiles[0].status == "running")  # sent, not answered
    grid = iw.CompareGrid(_params(), rows=("model", ["gpt-image-2"]), columns=("quality", ["low"]),
                          client=client, store=None)
    with pytest.raises(BudgetExceededError, match=r"reserved for requests in flight"):
        await grid.run()
    slow.cancel()
    (tile,) = await running
    assert tile.status == "cancelled" and SESSION.reserved == 0 and SESSION.emulated == 0
    before = server.request_count
    await grid.run()  # the hold went with the cancel
    assert server.request_count == before + 1 and grid.cells[0].status == "done"
    slow.close()
    grid.close()


async def test_a_stream_cancelled_after_the_server_finished_is_counted(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    reached, never = asyncio.Event(), asyncio.Event()

    async def stalled(data: bytes, longest: int) -> Any:
        reached.set()  # the completed event arrived: the image is being shown
        await never.wait()

    monkeypatch.setattr(tile_module, "thumbnail_off_loop", stalled)
    panel = iw.ImagePanel(client=client, params=_params(stream=True, partial_images=0), store=None)
    running = asyncio.ensure_future(panel.generate())
    await reached.wait()
    panel.cancel()
    (tile,) = await running
    assert tile.status == "cancelled"
    assert SESSION.emulated > 0 and panel.spending.emulated == SESSION.emulated  # billed: counted
    assert SESSION.reserved == 0 and SESSION.total == 0
    panel.close()


async def test_a_cancel_between_the_completed_event_and_the_image_is_still_counted(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # The client's own step after `completed`: the image's bytes checked off the loop.
    reached, never = asyncio.Event(), asyncio.Event()

    async def stalled(data: bytes) -> Any:
        reached.set()
        await never.wait()

    monkeypatch.setattr(streams_module, "_inspect", stalled)  # no partials: only the final's
    panel = iw.ImagePanel(client=client, params=_params(stream=True, partial_images=0), store=None)
    running = asyncio.ensure_future(panel.generate())
    await reached.wait()
    panel.cancel()
    (tile,) = await running
    assert tile.status == "cancelled" and tile.result is None
    assert SESSION.emulated > 0  # billed: the server finished before the cancel
    assert panel.spending.emulated == SESSION.emulated and SESSION.reserved == 0
    panel.close()


async def test_an_answer_whose_image_is_bad_is_billed_and_counted(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    server.inject("not_an_image", times=1)
    panel = iw.ImagePanel(client=client, params=_params(stream=False), store=None)
    (tile,) = await panel.generate()
    assert tile.status == "failed" and "ImageDecodeError" in tile.caption
    assert SESSION.emulated > 0 and SESSION.reserved == 0  # the server finished: it bills


async def test_an_unknown_price_is_refused_under_a_budget_and_let_through_when_allowed(
        client: iw.ImagesClient, server: EmulatorServer) -> None:
    params = _params(model="gpt-image-2.6-flare", output_format="gif")
    assert params.estimate() is None  # no price per GIF frame is published
    SESSION.budget = 5.0
    panel = iw.ImagePanel(client=client, params=params, store=None)
    before = server.request_count
    assert await panel.generate() == []
    message = html.unescape(panel.status.value)
    assert "the price of this request is unknown" in message
    assert "set iw.spending.SESSION.allow_unpriced = True" in message
    assert server.request_count == before
    SESSION.allow_unpriced = True
    try:
        (tile,) = await panel.generate()
    finally:
        SESSION.allow_unpriced = False
    assert tile.status == "done" and server.request_count == before + 1
    assert SESSION.emulated == pytest.approx(tile.cost or 0) and SESSION.reserved == 0
    panel.close()


def test_generate_reserves_and_counts_on_the_session(
        server: EmulatorServer, api_key: str, monkeypatch: pytest.MonkeyPatch,
        output_folder: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)  # a workshop's: known from its answers
    (image,) = iw.generate(PROMPT, model="gpt-image-2", quality="low", store=None)
    assert SESSION.emulated == pytest.approx(image.cost()) and SESSION.reserved == 0
    assert SESSION.total == 0  # the emulator bills nothing
    SESSION.budget = SESSION.emulated + 0.5 * _one_image()  # a rehearsal's budget holds too
    before = server.request_count
    with pytest.raises(BudgetExceededError, match="budget exceeded"):
        iw.generate(PROMPT, model="gpt-image-2", quality="low", store=None)
    assert server.request_count == before
