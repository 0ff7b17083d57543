"""One line per request on stdout, so that a teacher running ``serve`` sees the activity.

``14:22:33 POST /v1/images/generations gpt-image-1 1024x1024 200 1043 ms``: when the
request arrived, its method and path, the model and size its JSON body asked for
(``-`` for none), the status answered and the milliseconds until the answer's last
byte, a stream's included. A line ends in ``(connection cut)`` when the answer
stopped part way (the ``drop_stream`` fault, a server closing). No header is read:
the API key is never printed.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ActivityLog"]

_KEPT = 1 << 20
"""Bytes of a body kept to read the model and size from; longer bodies show ``-``."""


class ActivityLog:
    """ASGI middleware printing a line for each HTTP request once its answer has ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived, started = time.localtime(), time.perf_counter()
        body = bytearray()
        status: int | None = None

        async def keep_body() -> Message:
            # The app reads the body as it always does; a copy is kept on the way past.
            message = await receive()
            if message["type"] == "http.request" and len(body) <= _KEPT:
                body.extend(message.get("body", b""))
            return message

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        ended = False
        try:
            await self.app(scope, keep_body, note_status)
            ended = True
        finally:
            fields = _fields(bytes(body)) if len(body) <= _KEPT else {}
            line = (f"{time.strftime('%H:%M:%S', arrived)} {_word(scope['method'])} "
                    f"{_word(scope['path'], 80)} {_word(fields.get('model'))} "
                    f"{_word(fields.get('size'))} {status or 500} "
                    f"{round((time.perf_counter() - started) * 1000)} ms")
            if not ended and status is not None:
                line += " (connection cut)"
            with contextlib.suppress(OSError):  # stdout closed: serving matters more than the log
                print(line, flush=True)


def _fields(body: bytes) -> dict[str, Any]:
    """The body's JSON object, or nothing when it is none."""
    try:
        found = json.loads(body) if body else None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return {}
    return found if isinstance(found, dict) else {}


def _word(value: Any, limit: int = 40) -> str:
    """``value`` as one word of printable ASCII: a client's text cannot break or forge a line."""
    if not isinstance(value, str) or not value:
        return "-"
    text = "".join(c if "!" <= c <= "~" else "?" for c in value[:limit])
    return text + ("..." if len(value) > limit else "")
