"""Faults the emulator can inject, for the tests of clients and widgets.

``server.inject(name, times=N, **options)`` applies a fault to the next N
image requests (``POST /v1/images/generations`` and ``/edits``); a request header
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

Two faults apply to the next batches created instead (``POST /v1/batches``,
whose ``x-emulator-fault`` header may name one too), never to image requests:
a batch's lines are not HTTP requests (:mod:`.batches`). ``batch_expired``:
the batch's window ends after ``after=`` (1) lines; it expires, those lines
kept in its output file, the rest reported in its error file.
``batch_partial``: every ``every=``-th (2) line fails with a 500 error body in
the error file; the others succeed.

Each fault applies itself: :class:`Fault` has one hook for each point where a
fault can change an answer (a pause before it, a refusal instead of it, the
image bytes, their base64 text, the JSON body, each stream event, how a body
or an event goes over the wire, when a stream is cut). The app calls every
hook on every request; a hook a fault does not define changes nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from .render import bomb_png
from .validation import Refusal

__all__ = ["BATCH_FAULTS", "FAULTS", "NO_FAULT", "DropConnection", "Fault", "FaultQueue",
           "parse_fault_header"]


class DropConnection(Exception):
    """Raised inside a response body to cut the connection mid-way."""


@dataclass(frozen=True)
class Fault:
    """One fault and its options (``retry_after``, ``seconds``, ``after``, ...).

    The methods below are its hooks, in the order a request meets them.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in FAULTS | BATCH_FAULTS:
            raise ValueError(f"unknown fault {self.name!r}; choose one of "
                             f"{', '.join(sorted(FAULTS | BATCH_FAULTS))}")

    def number(self, key: str, default: float) -> float:
        """Option ``key`` as a number (header options arrive as text)."""
        value = self.options.get(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"fault option {key}={value!r} is not a number") from None

    @property
    def _acts(self) -> _Behaviour:
        return _BEHAVIOURS.get(self.name, _BEHAVIOURS["none"])  # a batch fault: no hook

    def delay(self) -> float:
        """Seconds of silence before anything else, the key check included."""
        return self._acts.delay(self)

    def refusal(self) -> Refusal | None:
        """An error to answer with instead of reading the request, or None."""
        return self._acts.refusal(self)

    @property
    def refuses_content(self) -> bool:
        """Whether a valid request is refused as content the API does not allow."""
        return self._acts.refuses_content

    def image(self, data: bytes) -> bytes:
        """The image bytes as sent, inside base64 or behind a URL."""
        return self._acts.image(data)

    def b64(self, text: str) -> str:
        """The base64 text of an image as sent."""
        return self._acts.b64(text)

    def body(self, body: bytes) -> bytes:
        """A whole JSON answer (not streamed) as sent."""
        return self._acts.body(body)

    def deliver_body(self, body: bytes) -> AsyncIterator[bytes] | None:
        """The pieces a JSON answer goes out in; None sends it whole."""
        deliver = self._acts.deliver_body
        return None if deliver is None else deliver(self, body)

    def event(self, event: bytes) -> bytes:
        """One server-sent event (``event:`` and ``data:`` lines) as sent."""
        return self._acts.event(event)

    async def deliver_event(self, event: bytes) -> AsyncIterator[bytes]:
        """The pieces one event goes out in."""
        deliver = self._acts.deliver_event
        if deliver is None:
            yield event
            return
        async for piece in deliver(self, event):
            yield piece

    def cut_after(self) -> int | None:
        """How many stream events go out before the connection is cut; None: never.

        A cut stream never sends ``completed``: the cut comes before it at the latest.
        """
        return self._acts.cut_after(self)


class _NoFault(Fault):
    def __post_init__(self) -> None:
        pass  # the one fault outside FAULTS: it changes nothing


NO_FAULT: Fault = _NoFault("none")
"""What a request without a fault gets: every hook leaves the answer as it is."""


# -- what each fault does ------------------------------------------------------


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class _Behaviour:
    """One fault's hooks; each one left out changes nothing."""

    delay: Callable[[Fault], float] = lambda fault: 0.0
    refusal: Callable[[Fault], Refusal | None] = lambda fault: None
    refuses_content: bool = False
    image: Callable[[bytes], bytes] = _same
    b64: Callable[[str], str] = _same
    body: Callable[[bytes], bytes] = _same
    deliver_body: Callable[[Fault, bytes], AsyncIterator[bytes]] | None = None
    event: Callable[[bytes], bytes] = _same
    deliver_event: Callable[[Fault, bytes], AsyncIterator[bytes]] | None = None
    cut_after: Callable[[Fault], int | None] = lambda fault: None


def _status(status: int, message: str, kind: str) -> _Behaviour:
    return _Behaviour(refusal=lambda fault: Refusal(status, message, type=kind))


def _rate_limited(fault: Fault) -> Refusal:
    headers = {}
    if "retry_after" in fault.options:
        headers["retry-after"] = str(fault.options["retry_after"])
    if "retry_after_ms" in fault.options:
        headers["retry-after-ms"] = str(fault.options["retry_after_ms"])
    return Refusal(429, "Rate limit reached for images per minute. Please try again shortly.",
                   code="rate_limit_exceeded", type="requests", headers=headers)


def _out_of_quota(fault: Fault) -> Refusal:
    return Refusal(429, "You exceeded your current quota, please check your plan and billing "
                        "details.", code="insufficient_quota", type="insufficient_quota")


async def _trickled(fault: Fault, body: bytes) -> AsyncIterator[bytes]:
    seconds = fault.number("seconds", 1.0)
    for start in range(0, len(body), 64):
        yield body[start:start + 64]
        await asyncio.sleep(seconds)


async def _cut(fault: Fault, body: bytes) -> AsyncIterator[bytes]:
    yield body[: len(body) // 2]
    raise DropConnection


_BEHAVIOURS: dict[str, _Behaviour] = {
    "none": _Behaviour(),
    "status_408": _status(408, "Request timed out.", "timeout"),
    "status_409": _status(409, "Conflict: another request with this key is in progress.",
                          "conflict"),
    "status_429": _Behaviour(refusal=_rate_limited),
    "insufficient_quota": _Behaviour(refusal=_out_of_quota),
    "status_500": _status(500, "The server had an error while processing your request. Sorry "
                               "about that!", "server_error"),
    "status_502": _status(502, "Bad gateway.", "server_error"),
    "status_503": _status(503, "The engine is currently overloaded, please try again later.",
                          "server_error"),
    "slow": _Behaviour(delay=lambda fault: fault.number("seconds", 2.0)),
    "drop_stream": _Behaviour(deliver_body=_cut,
                              cut_after=lambda fault: int(fault.number("after", 1))),
    "trickle": _Behaviour(deliver_body=_trickled, deliver_event=_trickled),
    "malformed_json": _Behaviour(body=lambda body: body[: len(body) // 3] + b'"}]',
                                 event=lambda event: event.replace(b"data: {", b"data: {{", 1)),
    # Characters outside the alphabet, and a length off by one.
    "bad_base64": _Behaviour(b64=lambda text: "!!not*base64" + text[1:]),
    "not_an_image": _Behaviour(image=lambda data: b"this is not an image, only some text " * 20),
    "bomb": _Behaviour(image=lambda data: bomb_png()),
    "content_policy": _Behaviour(refuses_content=True),
}

FAULTS = frozenset(name for name in _BEHAVIOURS if name != "none")
"""Every fault name ``inject`` and the ``x-emulator-fault`` header take."""
BATCH_FAULTS = frozenset({"batch_expired", "batch_partial"})
"""The faults that apply to the next batches, not to image requests: only the batch runner
reads them (their options); none of the hooks above changes anything for them."""


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
