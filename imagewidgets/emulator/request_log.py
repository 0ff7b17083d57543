"""The emulator's request log: every HTTP request it receives, path included, as a bounded preview.

A JSON body is kept as its first :data:`PREVIEW` characters (and parsed, up to
:data:`JSON_KEPT` bytes); a multipart edit as its field values (each cut to
:data:`PREVIEW` characters) and, for each file, its field, name, size and the
format its first bytes say: never the bytes. A request refused before it was
read (no key, too large) keeps its method, path, headers and status only.
Never the ``Authorization`` header: the log is shown in test failures and reprs.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Scope

from .state import EmulatorState

__all__ = ["JSON_KEPT", "LOGGED", "PREVIEW", "log_bare", "log_form", "log_json", "sniffed"]

PREVIEW = 4096
"""Characters of a body (or of one form field) the request log keeps."""
JSON_KEPT = 64 << 10
"""Bytes of a JSON body up to which its parsed JSON is kept too."""
LOGGED = "imagewidgets.logged"
"""Set in a request's scope once a handler logged it, so the guard does not log it again."""

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
          (b"GIF89a", "gif"))


def sniffed(head: bytes) -> str:
    """The format a file's first bytes say (``png``, ``jpeg``, ``webp``, ``gif``), else ``unknown``.

    For the log only: the edit's own checks read the whole file (:mod:`.uploads`).
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), "unknown")


def _headers(scope: Scope) -> dict[str, str]:
    return {key: value[:PREVIEW] for key, value in Headers(scope=scope).items()
            if key.lower() != "authorization"}


def _keep(state: EmulatorState, scope: Scope, entry: dict[str, Any], size: int) -> None:
    headers = _headers(scope)
    size += sum(len(key) + len(value) for key, value in headers.items())
    scope[LOGGED] = True
    state.log_request({"method": scope["method"], "path": scope["path"], "headers": headers,
                       **entry}, size)


def log_json(state: EmulatorState, scope: Scope, raw: bytes, fault: str | None) -> None:
    """Log a request whose body is (meant to be) JSON."""
    parsed: Any = None
    if len(raw) <= JSON_KEPT:
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            parsed = None
    preview = raw[:PREVIEW].decode("utf-8", "replace")
    _keep(state, scope, {"body": preview, "json": parsed, "fault": fault},
          len(preview) + (len(raw) if parsed is not None else 0))


def log_form(state: EmulatorState, scope: Scope, fields: dict[str, str],
             files: list[dict[str, Any]], fault: str | None) -> None:
    """Log a multipart request: its fields (each a preview) and its files (never their bytes)."""
    kept = {name[:PREVIEW]: value[:PREVIEW] for name, value in fields.items()}
    size = sum(len(name) + len(value) for name, value in kept.items()) + 100 * len(files)
    _keep(state, scope, {"body": "", "json": None, "form": {"fields": kept, "files": files},
                         "fault": fault}, size)


def log_bare(state: EmulatorState, scope: Scope, status: int | None = None, *,
             unread: bool = False) -> None:
    """Log a request by its head (method, path, headers) unless a handler logged it already.

    ``unread``: refused before its body was read (``status`` says why).
    """
    if scope.get(LOGGED):
        return
    entry = {"body": "", "json": None, "fault": None, "status": status, "unread": unread}
    _keep(state, scope, entry, 100)
