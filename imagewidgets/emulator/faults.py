"""Faults the emulator can inject, for the tests of clients and widgets.

``server.inject(name, times=N, **options)`` applies a fault to the next N
requests; a request header ``x-emulator-fault: name;key=value`` applies one to
that request alone.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULTS", "Fault", "FaultQueue", "parse_fault_header"]

FAULTS = frozenset({
    "status_408", "status_409", "status_429", "insufficient_quota", "status_500", "status_502",
    "status_503", "slow", "drop_stream", "trickle", "malformed_json", "bad_base64",
    "not_an_image", "bomb", "content_policy",
})


@dataclass(frozen=True)
class Fault:
    """One fault and its options (``retry_after``, ``seconds``, ``after``, ...)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in FAULTS:
            raise ValueError(f"unknown fault {self.name!r}; choose one of {', '.join(sorted(FAULTS))}")

    def number(self, key: str, default: float) -> float:
        value = self.options.get(key, default)
        return float(value)


class FaultQueue:
    """Faults waiting for the next requests; safe across the server's threads."""

    def __init__(self) -> None:
        self._pending: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, fault: Fault, times: int) -> None:
        with self._lock:
            self._pending.extend([fault] * times)

    def take(self) -> Fault | None:
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


def parse_fault_header(value: str) -> Fault:
    """``drop_stream;after=1`` -> Fault("drop_stream", {"after": "1"})."""
    name, *pairs = (part.strip() for part in value.split(";"))
    options = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return Fault(name, options)
