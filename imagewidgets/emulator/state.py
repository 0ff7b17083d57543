"""What a running emulator knows: its settings, pending faults, handed-out files, a request log."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .faults import FaultQueue

__all__ = ["EmulatorState"]

_KEEP_REQUESTS = 1000  # the request log is for tests; a workshop server runs for hours
_KEEP_FILES = 500  # image files handed out as URLs, at most, besides the expiry


@dataclass
class EmulatorState:
    """What the server knows: settings, pending faults, handed-out files, a request log.

    ``as_of`` None serves every model of the table; a date refuses, as the
    API does, the models shut down by then.
    """

    api_key: str | None = None
    as_of: date | None = None
    latency: float = 0.0
    realistic: bool = False
    photographic: bool = False
    refuse_word: str | None = "forbidden"
    url_ttl: float = 3600.0
    faults: FaultQueue = field(default_factory=FaultQueue)
    files: dict[str, tuple[bytes, str, float]] = field(default_factory=dict)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_KEEP_REQUESTS))
    request_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep_file(self, name: str, data: bytes, mime: str) -> None:
        """Hand out ``data`` under ``name`` until ``url_ttl`` seconds pass."""
        now = time.monotonic()
        with self.lock:
            for old in [key for key, (_, _, expires) in self.files.items() if expires <= now]:
                del self.files[old]
            while len(self.files) >= _KEEP_FILES:
                del self.files[next(iter(self.files))]  # the oldest: dicts keep insertion order
            self.files[name] = (data, mime, now + self.url_ttl)
