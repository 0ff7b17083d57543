"""Where requests go: the API with a key, another server, or the built-in emulator.

:func:`route` is the one place that decides, from the key, ``base_url`` and the
environment; :class:`~imagewidgets.api.client.ImagesClient` and ``default_client``
both ask it. Whether a server is the built-in emulator (which still serves the
models the API shut down) is known for the API itself and for the emulator this
process started; any other server is asked once, by :func:`ask_if_emulator`:
the emulator names itself in a header on every answer.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import APIConnectionError, APITimeoutError
from .redact import redact, split_userinfo
from .transport import guarded, release

__all__ = ["DEFAULT_BASE_URL", "EDITS", "EMULATOR_HEADER", "GENERATIONS", "MODELS", "Route", "ServerKind",
           "ask_if_emulator", "check_no_userinfo", "emulator_url", "is_emulator_answer", "route"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
GENERATIONS = "/images/generations"
EDITS = "/images/edits"
MODELS = "/models"
EMULATOR_HEADER = "x-imagewidgets-emulator"
"""The header the built-in emulator puts on every answer (its version): how it is recognised."""

_emulator: Any = None  # the shared built-in emulator, started on first need
_starting = threading.Lock()  # two threads asking at once start one emulator, not two


def emulator_url() -> str:
    """The URL of the built-in emulator shared by this process, started on first need."""
    global _emulator
    with _starting:
        if _emulator is None:
            from ..emulator import serve  # only here: the core never needs the server

            # A little latency per request, so partial images can be watched arriving.
            _emulator = serve(port=0, latency=float(os.environ.get("IMAGEWIDGETS_EMULATOR_LATENCY", "1.5")))
        return str(_emulator.url)


@dataclass(frozen=True, repr=False)
class Route:
    """Where a client's requests go.

    Attributes
    ----------
    url : str
        The base URL, as given (never with a ``user:password@``: :func:`route` refuses it).
    key : str or None
        The API key; never shown in the repr.
    emulator : bool or None
        True: the built-in emulator of this process; False: the API itself; None:
        another server, which the client asks (once, when it matters) what it is.
    fallback : bool
        True when nothing said where to go (no key, no URL): the built-in emulator.
    """

    url: str
    key: str | None
    emulator: bool | None
    fallback: bool = False

    def __repr__(self) -> str:
        key = "'***'" if self.key else "None"
        return (f"Route(url={split_userinfo(self.url)[0]!r}, key={key}, emulator={self.emulator}, "
                f"fallback={self.fallback})")


def route(api_key: str | None = None, base_url: str | None = None,
          environ: Mapping[str, str] | None = None) -> Route:
    """Decide where requests go.

    A URL holding ``user:password@`` is refused (:func:`check_no_userinfo`).
    ``api_key`` and ``base_url`` win over ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``
    (an empty variable counts as unset; an empty ``api_key`` given is kept: the API
    then refuses it before sending). With no key and no URL anywhere: the built-in
    emulator, started on 127.0.0.1 on first need. Else ``base_url``, then the
    variable, then the API.
    """
    environ = os.environ if environ is None else environ
    key = api_key if api_key is not None else environ.get("OPENAI_API_KEY") or None
    url = (base_url or environ.get("OPENAI_BASE_URL") or "").rstrip("/")
    check_no_userinfo(url, "base_url" if base_url else "OPENAI_BASE_URL")
    if key is None and not url:
        return Route(emulator_url(), "emulator", emulator=True, fallback=True)
    url = url or DEFAULT_BASE_URL
    if url == DEFAULT_BASE_URL:
        return Route(url, key, emulator=False)
    # The emulator this process started is known; any other server says what it is when asked.
    ours = _emulator is not None and url == str(_emulator.url)
    return Route(url, key, emulator=True if ours else None)


def check_no_userinfo(url: str, name: str = "base_url") -> None:
    """Refuse a base URL holding ``user:password@``, the userinfo redacted in the message.

    httpx would send it as Basic auth, in the ``Authorization`` header the API key
    needs (so the key would not be sent at all), to every request of the client.
    Refused rather than dropped: whoever wrote it meant it for something (a gateway),
    and a silent drop would turn into a puzzling 401.

    Raises
    ------
    ValueError
        Naming ``name``, the URL with its userinfo redacted, and what to do instead.
    """
    if split_userinfo(url)[1] is None:
        return
    raise ValueError(
        f"{name} {redact(url)!r} holds a user name and password, which would be sent as Basic "
        "auth in place of the API key; give the URL without 'user:password@' (the key goes "
        "in api_key), and for a gateway that needs its own login pass "
        "http_client=httpx.AsyncClient(auth=...)")


async def ask_if_emulator(http: httpx.AsyncClient, base_url: str, headers: Mapping[str, str]) -> bool:
    """Whether the server at ``base_url`` is the built-in emulator: one ``GET /models``.

    Any server answers that path; only the emulator's answer carries
    :data:`EMULATOR_HEADER` (an error answer's too, e.g. for a wrong key). The
    body is not read.

    Raises
    ------
    APIConnectionError, APITimeoutError
        When the server cannot be reached: nothing is known, nothing is sent.
    """
    request = http.build_request("GET", f"{base_url}{MODELS}", headers=headers)
    try:
        response = await guarded(http.send(request, stream=True, follow_redirects=False),
                                 http)
    except httpx.TimeoutException as failure:
        raise APITimeoutError(f"{type(failure).__name__} from {base_url}") from None
    except httpx.TransportError as failure:
        raise APIConnectionError(f"could not reach {base_url}: {failure}") from None
    await release(response)
    return is_emulator_answer(response)


def is_emulator_answer(response: httpx.Response) -> bool:
    """Whether ``response`` came from the built-in emulator (it carries :data:`EMULATOR_HEADER`)."""
    return EMULATOR_HEADER in response.headers


class ServerKind:
    """What a client knows of its server: ``emulator`` True (the built-in emulator),
    False (another server), None (not known yet: :meth:`ask`, or :meth:`learn` from an answer)."""

    def __init__(self, emulator: bool | None) -> None:
        self.emulator = emulator
        self._asking = asyncio.Lock()  # concurrent first requests ask once

    def learn(self, response: httpx.Response) -> None:
        """What any answer of the server says, when not known yet: no extra request."""
        if self.emulator is None:
            self.emulator = is_emulator_answer(response)

    async def ask(self, http: httpx.AsyncClient, base_url: str, headers: Mapping[str, str]) -> bool:
        """Whether the server is the emulator, asking it (:func:`ask_if_emulator`) when not known."""
        async with self._asking:
            if self.emulator is None:
                self.emulator = await ask_if_emulator(http, base_url, headers)
        return self.emulator
