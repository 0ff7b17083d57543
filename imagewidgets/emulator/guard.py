"""What an emulator on a network checks before it reads a request: the key, then the body's size.

``serve --host 0.0.0.0`` for a workshop puts the emulator in reach of anyone on
the network. A request without the right key is refused from its headers alone,
its body never read; a body larger than its path allows is refused with a 413
in the API's error shape, from its ``Content-Length`` when it says one, else
as soon as the bytes read pass the limit. Either way no request can make the
server hold more than a limit's worth of its body.

Image files handed out as URLs (``/v1/images/files/...``) need no key, as the
API's signed URLs need none.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .request_log import log_bare
from .state import EmulatorState
from .validation import Refusal, check_auth

__all__ = ["BODY_LIMITS", "DEFAULT_BODY_LIMIT", "Guard", "body_limit"]

BODY_LIMITS: Mapping[str, int] = {
    # The largest legitimate generation: a 32,000-character prompt, every character
    # escaped as \uXXXX (6 bytes), plus the other fields: about 200 KB. 1 MiB leaves room.
    "/v1/images/generations": 1 << 20,
    # The API takes up to 16 images of 50 MB each (800 MB); an emulator on a laptop or a
    # workshop's server should not have to hold that much for one request. 256 MiB holds 16
    # photographs of 2048x2048 as PNG (about 10 MB each) or five images at the 50 MB cap;
    # serve(body_limits={"/v1/images/edits": 1 << 30}) takes the API's whole rule.
    "/v1/images/edits": 256 << 20,
    # A batch input file may have 200 MB (.files refuses a larger one in the API's words); the
    # room above it is for the multipart wrapping, and for that refusal to be the one seen.
    "/v1/files": 256 << 20,
}
"""Bytes a request body may have, by path; ``serve(body_limits=...)`` adds or changes paths."""
DEFAULT_BODY_LIMIT = 64 << 10
"""Bytes for a path not named in the limits: the others take no body (GET)."""
_FILES = "/v1/images/files/"


def body_limit(state: EmulatorState, path: str) -> int:
    """The bytes a body sent to ``path`` may have on this server."""
    return state.body_limits.get(path, BODY_LIMITS.get(path, DEFAULT_BODY_LIMIT))


def _too_large(limit: int) -> Refusal:
    return Refusal(413, f"The request body is larger than this server takes on this path "
                        f"({limit:,} bytes at most).", code="request_too_large")


class _TooLarge(Exception):
    """Raised from ``receive`` when the body read so far passes the limit."""


class Guard:
    """ASGI middleware: the key first (constant time), then a bounded body; see the module."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(_FILES):
            try:
                check_auth(self.state.api_key, Request(scope))  # headers only: no body is read
            except Refusal as refusal:
                await self._refuse(refusal, scope, receive, send)
                return
        limit = body_limit(self.state, path)
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(_too_large(limit), scope, receive, send)
            return
        read, started = 0, False

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:  # a chunked body, or one longer than it said
                    raise _TooLarge
            return message

        async def noted(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noted)
        except _TooLarge:
            if started:  # every handler reads its body before answering: cannot happen
                raise
            await self._refuse(_too_large(limit), scope, receive, send)
        else:
            log_bare(self.state, scope)  # a request no handler logged: a GET, an unknown path

    async def _refuse(self, refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``refusal``; the log keeps the request's head only (its body was not read)."""
        log_bare(self.state, scope, refusal.status, unread=True)
        await refusal.response()(scope, receive, send)
