"""Faults the emulator can inject, for the tests of clients and widgets.

``server.inject(name, times=N, **options)`` applies a fault to the next N
requests to ``POST /v1/images/generations``; a request header
``x-emulator-fault: name;key=value`` applies one to that request alone (and
leaves the injected ones waiting).

=====================  ==========================================================
name                   what the client sees (options)
=====================  ==========================================================
status_408, _409       that status with an error body
status_429             429 ``rate_limit_exceeded`` (``retry_after=`` seconds sets
                       ``retry-after``, ``retry_after_ms=`` sets ``retry-after-ms``)
insufficient_quota     429 with type and code ``insufficient_quota``: not retryable
status_500, _502, _503 that status with an error body
slow                   ``seconds=`` (2) of silence before any byte
drop_stream            the connection cut after ``after=`` (1) stream events, always
                       before ``completed``; without streaming, mid-body
trickle                the body in 64-byte pieces, ``seconds=`` (1) apart
malformed_json         200 with a broken JSON body, or broken ``data:`` lines
bad_base64             ``b64_json`` that is not valid base64
not_an_image           valid base64 of bytes that are no image (also behind URLs)
bomb                   a valid PNG whose header claims 100000x100000 (also URLs)
content_policy         400 ``content_policy_violation`` (DALL·E) or
                       ``moderation_blocked`` (GPT image models)
=====================  ==========================================================
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
            raise ValueError(f"unknown fault {self.name!r}; choose one of "
                             f"{', '.join(sorted(FAULTS))}")

    def number(self, key: str, default: float) -> float:
        """Option ``key`` as a number (header options arrive as text)."""
        value = self.options.get(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"fault option {key}={value!r} is not a number") from None


class FaultQueue:
    """Faults waiting for the next requests; safe across the server's threads."""

    def __init__(self) -> None:
        self._pending: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, fault: Fault, times: int = 1) -> None:
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        with self._lock:
            self._pending.extend([fault] * times)

    def take(self) -> Fault | None:
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def parse_fault_header(value: str) -> Fault:
    """``drop_stream;after=1`` -> ``Fault("drop_stream", {"after": "1"})``."""
    name, *pairs = (part.strip() for part in value.split(";"))
    options = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return Fault(name, {key.strip(): text.strip() for key, text in options.items()})
