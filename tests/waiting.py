"""Waiting for a condition, not for a time: the bound only says a test is stuck."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

STUCK = 120.0
"""Seconds after which a wait fails: far past any slow machine, reached only when stuck."""


async def until(condition: Callable[[], Any], what: str = "the condition", stuck: float = STUCK) -> None:
    """Return once ``condition()`` holds, giving the loop a turn between looks."""
    deadline = time.monotonic() + stuck
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held in {stuck:g} s"
        await asyncio.sleep(0.005)


def until_sync(condition: Callable[[], Any], what: str = "the condition", stuck: float = STUCK) -> None:
    """:func:`until` for code outside an event loop."""
    deadline = time.monotonic() + stuck
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held in {stuck:g} s"
        time.sleep(0.005)
