"""Choosing where requests go: the API with a key, the built-in emulator without."""

from __future__ import annotations

import os
from typing import Any

from .client import ImagesClient

__all__ = ["default_client", "emulator_url"]

_emulator: Any = None  # the shared built-in emulator, started on first need


def emulator_url() -> str:
    """The URL of the built-in emulator shared by this process, started on first need."""
    global _emulator
    if _emulator is None:
        from ..emulator import serve  # only here: the core never needs the server

        # A little latency per request, so partial images can be watched arriving.
        _emulator = serve(port=0, latency=float(os.environ.get("IMAGEWIDGETS_EMULATOR_LATENCY", "1.5")))
    return str(_emulator.url)


def default_client(**options: Any) -> ImagesClient:
    """A new client for the API when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set,
    else for the built-in emulator (started once per process, on 127.0.0.1).

    The client's ``is_emulator`` says which.
    """
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        return ImagesClient(**options)
    return ImagesClient(api_key="emulator", base_url=emulator_url(), is_emulator=True, **options)
