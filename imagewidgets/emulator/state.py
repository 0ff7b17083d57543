"""What a running emulator knows: its settings, pending faults, handed-out files, a request log."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .faults import FaultQueue
from .files import BATCH_FILE_BYTES, FileStore

__all__ = ["IMAGE_PATHS", "EmulatorState"]

IMAGE_PATHS = ("/v1/images/generations", "/v1/images/edits")
"""The paths of image requests: ``request_count`` counts these, refused or not."""

_KEEP_REQUESTS = 1000  # the request log is for tests; a workshop server runs for hours
LOG_BYTES = 16 << 20
"""Bytes the request log holds at most (about: what its entries keep of each request)."""
_KEEP_FILES = 500  # image files handed out as URLs, at most, besides the expiry
URL_BYTES = 256 << 20
"""Bytes of image files handed out as URLs kept at most (500 photographic 1024x1024 PNGs
are about 1.25 GB): the oldest go first, and their URLs answer 404."""


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
    url_bytes: int = URL_BYTES
    body_limits: dict[str, int] = field(default_factory=dict)  # by path, over guard.BODY_LIMITS
    faults: FaultQueue = field(default_factory=FaultQueue)
    files: dict[str, tuple[bytes, str, float]] = field(default_factory=dict)
    requests: deque[dict[str, Any]] = field(default_factory=deque)
    request_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    file_store: FileStore = field(default_factory=FileStore)  # /v1/files, on disk
    batch_file_bytes: int = BATCH_FILE_BYTES  # a batch input file's bytes at most
    batch_line_seconds: float = 0.0  # how long each line of a batch takes: 0 quick, more for demos
    batch_faults: FaultQueue = field(default_factory=FaultQueue)  # for the next batches
    # Batches by id, oldest first; each a .batches.BatchRun (Any: .batches imports this module).
    batches: dict[str, Any] = field(default_factory=dict)
    log_bytes: int = field(default=0, init=False)  # about how many bytes the request log holds now
    _sizes: deque[int] = field(default_factory=deque, init=False, repr=False)  # of each kept request

    @property
    def file_bytes(self) -> int:
        """How many bytes of image files handed out as URLs are kept now."""
        with self.lock:
            return sum(len(data) for data, _, _ in self.files.values())

    def log_request(self, entry: dict[str, Any], size: int) -> None:
        """Keep ``entry`` (about ``size`` bytes), the oldest going first; count an image request.

        Every HTTP request is logged (:mod:`.request_log`), whatever its path.
        """
        with self.lock:
            self.request_count += entry["path"] in IMAGE_PATHS
            self.requests.append(entry)
            self._sizes.append(size)
            self.log_bytes += size
            while len(self.requests) > _KEEP_REQUESTS or self.log_bytes > LOG_BYTES:
                self.requests.popleft()
                self.log_bytes -= self._sizes.popleft()

    def keep_file(self, name: str, data: bytes, mime: str) -> None:
        """Hand out ``data`` under ``name`` until ``url_ttl`` seconds pass or space runs out.

        At most :data:`URL_BYTES` (``url_bytes``) and 500 files are kept; the oldest
        go first (one file larger than the whole budget is still kept, alone).
        """
        now = time.monotonic()
        with self.lock:
            for old in [key for key, (_, _, expires) in self.files.items() if expires <= now]:
                del self.files[old]
            kept = sum(len(held) for held, _, _ in self.files.values())
            while self.files and (len(self.files) >= _KEEP_FILES
                                  or kept + len(data) > self.url_bytes):
                oldest = next(iter(self.files))  # dicts keep insertion order
                kept -= len(self.files.pop(oldest)[0])
            self.files[name] = (data, mime, now + self.url_ttl)

    def close(self) -> None:
        """Stop every running batch, then remove the files (:mod:`.batches`, :mod:`.files`)."""
        with self.lock:
            runs = list(self.batches.values())
        for run in runs:
            run.stop.set()
        for run in runs:
            run.join()
        self.file_store.close()
