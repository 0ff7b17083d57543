"""The one place that hides secrets: in text built from a server's answer, and in errors.

A hostile or careless server may echo what it was sent (the ``Authorization``
header, the key alone), and a base URL may carry ``user:password@``. Every text
the client shows (error messages, request ids, log lines, reprs) passes here.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from ..errors import APIError
from ..keys import MIN_SECRET

__all__ = ["LOGGERS", "MIN_SECRET", "REDACTED", "LogRedactor", "redact", "redirect_error", "redirect_target",
           "scrub", "split_userinfo", "url_secrets"]

REDACTED = "[redacted]"
# A URL's userinfo: what follows "//" up to "@", with no character a userinfo cannot hold.
_USERINFO = re.compile(r"(?<=//)[^/?#@\s'\"<>]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret, and every URL's ``user:password@``, replaced by ``[redacted]``.

    Parameters
    ----------
    text : str
        Anything built from what a server sent, or a URL.
    secrets : iterable of str
        The API key, a URL's password: each hidden wherever it appears
        (those shorter than ``MIN_SECRET`` characters are left alone).
    """
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _USERINFO.sub(REDACTED + "@", text)


def url_secrets(url: str) -> tuple[str, ...]:
    """The password in ``url``'s userinfo as written and decoded, and the Basic token
    made from it: what a server might echo. Empty when there is none."""
    parts = urlsplit(url)
    if parts.password is None:
        return ()
    user, password = unquote(parts.username or ""), unquote(parts.password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return tuple(dict.fromkeys((password, parts.password, token)))


def split_userinfo(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """``url`` without its ``user:password@``, and that userinfo as Basic auth (None if none).

    httpx already turns a URL's userinfo into Basic auth; handing it over apart
    keeps it out of every URL httpx logs or puts in an error.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))
    return urlunsplit(parts._replace(netloc=host)), auth


def redirect_target(location: str | None, secrets: Iterable[str] = ()) -> str:
    """Where a 3xx answer's ``location`` points, for a message: "to https://host:port" (no userinfo)."""
    parts = urlsplit(location or "")
    # Its scheme and host say where it points; a path or query could hold anything.
    return (f"to {parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc
            else f"to {redact(location, secrets)!r}" if location else "with no Location")


def redirect_error(response: httpx.Response, base_url: str, secrets: Iterable[str],
                   request_id: str | None) -> APIError:
    """A 3xx answer to a request: never followed, since a POST (its body, the key) would go
    elsewhere; the message says where it pointed, redacted."""
    where = redirect_target(response.headers.get("location"), secrets)
    return APIError(f"the server answered with a redirect {where}, which the client does "
                    "not follow (it would send the request and the key to another address)",
                    status=response.status_code, request_id=request_id,
                    hint=f"check base_url, now {base_url}: use the address it redirects to, "
                         "if you trust it")


def scrub(error: BaseException, secrets: Iterable[str]) -> None:
    """Redact ``error`` and every exception chained to it, in place.

    Text arguments and text attributes are redacted, and so are the errors it
    holds in a list or dict (``failures``). httpx exceptions are cut out of the
    chain: each holds its request, whose headers hold the key.
    """
    secrets = tuple(secrets)
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(redact(arg, secrets) if isinstance(arg, str) else arg
                             for arg in current.args)
        for name, value in list(vars(current).items()):
            if isinstance(value, str):
                setattr(current, name, redact(value, secrets))
            elif isinstance(value, dict | list | tuple):  # errors held beside it (failures)
                held = value.values() if isinstance(value, dict) else value
                pending.extend(item for item in held if isinstance(item, BaseException))
        for link in ("__cause__", "__context__"):
            linked = getattr(current, link)
            if isinstance(linked, httpx.HTTPError):
                setattr(current, link, None)
            elif linked is not None:
                pending.append(linked)


LOGGERS = ("imagewidgets", "httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
           "httpcore.proxy", "httpcore.socks")
"""The loggers whose records may quote what a server sent: httpcore logs the response
headers it receives verbatim at DEBUG, before the client sees them."""


class LogRedactor(logging.Filter):
    """Hides the secrets of the live clients in the records of :data:`LOGGERS`.

    A filter runs only for records a logger is enabled for, so with DEBUG off
    it costs nothing. Clients :meth:`hold` their secrets while open and
    :meth:`release` them when closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._held: Counter[str] = Counter()
        self._attached = False

    def hold(self, secrets: Iterable[str]) -> None:
        """Hide ``secrets`` from now on (attaching the filter the first time)."""
        if not self._attached:
            for name in LOGGERS:
                logging.getLogger(name).addFilter(self)
            self._attached = True
        self._held.update(secret for secret in secrets if len(secret) >= MIN_SECRET)

    def release(self, secrets: Iterable[str]) -> None:
        """Stop hiding ``secrets`` (once every client holding them has let go)."""
        self._held.subtract(secret for secret in secrets if len(secret) >= MIN_SECRET)
        self._held = +self._held  # drop those at zero

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = redact(text, self._held)
        if hidden != text:
            record.msg, record.args = hidden, ()
        return True


LOG_REDACTOR = LogRedactor()
"""The one filter every client registers its secrets with."""
