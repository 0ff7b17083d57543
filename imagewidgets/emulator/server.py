"""Run the emulator in a background thread, for tests, notebooks and the command line."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Mapping
from datetime import date
from types import TracebackType
from typing import Any

import uvicorn

from .activity import ActivityLog
from .app import create_app
from .faults import BATCH_FAULTS, DropConnection, Fault
from .state import IMAGE_PATHS, URL_BYTES, EmulatorState

__all__ = ["EmulatorServer", "serve"]


class _QuietDrops(logging.Filter):
    """Keep uvicorn from printing tracebacks for what the emulator does on purpose.

    That is a connection cut by ``drop_stream``, and requests still running
    (a ``slow`` or ``trickle`` fault) cancelled when the server closes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Cancel ") and "graceful shutdown" in str(record.msg):
            return False
        error = record.exc_info[1] if record.exc_info else None
        seen = 0
        while error is not None and seen < 20:  # a bounded walk: chains can loop
            if isinstance(error, DropConnection | asyncio.CancelledError):
                return False
            if isinstance(error, BaseExceptionGroup) and any(
                    isinstance(inner, DropConnection | asyncio.CancelledError)
                    for inner in error.exceptions):
                return False
            error, seen = error.__cause__ or error.__context__, seen + 1
        return True


_quieting = threading.Lock()


def _quiet_uvicorn() -> None:
    """Add :class:`_QuietDrops` to uvicorn's error log, once however many servers start.

    Done when a server starts, not at import: importing the emulator changes no logging.
    """
    logger = logging.getLogger("uvicorn.error")
    with _quieting:
        if not any(isinstance(existing, _QuietDrops) for existing in logger.filters):
            logger.addFilter(_QuietDrops())


class EmulatorServer:
    """A running emulator on 127.0.0.1; :func:`serve` makes one.

    Attributes
    ----------
    url : str
        The base URL, ending in ``/v1``: give it to any OpenAI client.
    host, port
        Where it listens.
    state : EmulatorState
        Settings, pending faults and the log of received requests.
    """

    def __init__(self, state: EmulatorState, host: str = "127.0.0.1", port: int = 0,
                 log: bool = False) -> None:
        self.state = state
        # Bound here, not by uvicorn: port 0 is then known before start, and start-up
        # needs no polling of the port.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self.host, self.port = self._socket.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}/v1"
        # Warning level and no access log: nothing the server prints can hold a key.
        # ActivityLog prints no header either.
        app = ActivityLog(create_app(state)) if log else create_app(state)
        config = uvicorn.Config(app, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread; returns once it accepts connections."""
        _quiet_uvicorn()
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name=f"imagewidgets-emulator-{self.port}", daemon=True)
        self._thread.start()
        # A bound for a server that will never start, not for a slow one: on a busy machine
        # a thread may wait seconds for its first turn.
        deadline = time.monotonic() + 120
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the emulator did not start on {self.url}")
            time.sleep(0.002)
        return self

    def inject(self, fault: str, times: int = 1, **options: Any) -> None:
        """Apply ``fault`` to the next ``times`` image requests (generations and edits);
        a ``batch_`` fault to the next ``times`` batches created.

        Names and options are listed in :mod:`imagewidgets.emulator.faults`, e.g.
        ``inject("status_429", retry_after=0.2)``, ``inject("drop_stream", after=1)`` or
        ``inject("batch_expired", after=2)``.
        """
        queue = self.state.batch_faults if fault in BATCH_FAULTS else self.state.faults
        queue.add(Fault(fault, options), times)

    def clear_faults(self) -> None:
        """Forget faults injected but not yet applied (batch faults too)."""
        self.state.faults.clear()
        self.state.batch_faults.clear()

    @property
    def log(self) -> list[dict[str, Any]]:
        """Every HTTP request received, oldest first, whatever its path (:mod:`.request_log`).

        Each is a dict: ``method``, ``path``, ``headers`` (never Authorization),
        ``body`` (its first 4,096 characters), ``json`` (parsed, or None for a body that
        is not JSON or is over 64 KiB), ``fault`` (its name, or None); an edit's also
        ``form`` (its fields, and each file's field, name, bytes and format, never its
        bytes); one refused before its body was read, ``unread`` True and ``status``.
        At most 1,000 requests and about 16 MiB are kept, the oldest going first.
        """
        with self.state.lock:
            return list(self.state.requests)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The image requests (generations and edits) of :attr:`log` whose body was read."""
        return [entry for entry in self.log
                if entry["path"] in IMAGE_PATHS and not entry.get("unread")]

    @property
    def request_count(self) -> int:
        """How many image requests (generations and edits) arrived, refused ones included
        (those without the key or too large too, refused unread)."""
        with self.state.lock:
            return self.state.request_count

    @property
    def last_headers(self) -> dict[str, str]:
        """Headers of the last image request (lower-case names, no Authorization)."""
        requests = self.requests
        return dict(requests[-1]["headers"]) if requests else {}

    @property
    def last_body(self) -> Any:
        """The parsed JSON body of the last image request, or None (an edit's is a form)."""
        requests = self.requests
        return requests[-1]["json"] if requests else None

    def close(self) -> None:
        """Stop serving and free the port; open streams get a second to finish."""
        self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._socket.close()
        self.state.close()  # running batches stopped, files removed from disk

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"


def serve(port: int = 0, latency: float = 0.0, api_key: str | None = None,
          refuse_word: str | None = "forbidden", url_ttl: float = 3600.0,
          realistic: bool = False, *, host: str = "127.0.0.1",
          as_of: date | str | None = None, log: bool = False,
          photographic: bool = False, url_bytes: int = URL_BYTES,
          body_limits: Mapping[str, int] | None = None,
          batch_line_seconds: float = 0.0) -> EmulatorServer:
    """Start the emulator in a background thread and return its handle.

    Parameters
    ----------
    port : int
        0 picks a free port.
    latency : float
        Seconds every request takes (spread over the events of a stream).
    api_key : str, optional
        When set, requests must carry ``Authorization: Bearer <api_key>``.
    refuse_word : str, optional
        A prompt holding this whole word (any case) is refused as the API
        refuses content; None refuses nothing.
    url_ttl : float
        Seconds an image URL stays valid (the API's are valid 60 minutes).
    realistic : bool
        Add seconds that grow with quality and size, as the API takes.
    host : str
        The address to listen on.
    as_of : datetime.date or str, optional
        Answer as the API did on this day (``"2026-12-02"`` works too): models
        shut down by then are refused with its 404 ``model_not_found`` and left
        out of ``/v1/models``. None (the default) serves every model, as a
        teacher showing the reference's models wants.
    photographic : bool
        Pictures with grain, which compress as the API's photographs do (a
        1024x1024 PNG of about 2.5 MB, not about 150 KB): for measuring what
        image size costs.
    log : bool
        Print a line per request to stdout (time, method, path, model, size,
        status, milliseconds), as ``python -m imagewidgets serve`` does.
    url_bytes : int
        Bytes of images handed out as URLs kept at most; the oldest go first
        (their URLs then answer 404).
    body_limits : mapping of str to int, optional
        Bytes a request body may have, by path (``{"/v1/images/generations":
        2_000_000}``), over :data:`~imagewidgets.emulator.guard.BODY_LIMITS`;
        a larger body is refused with a 413 before it is read.
    batch_line_seconds : float
        Seconds each line of a batch takes (``/v1/batches``): 0, the default,
        runs a batch as fast as its pictures are drawn; a few seconds let a
        demo show a batch in progress. ``server.state.batch_line_seconds``
        changes it for the lines still to come.

    Examples
    --------
    >>> with serve() as server:                       # doctest: +SKIP
    ...     client = ImagesClient(base_url=server.url)
    """
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    state = EmulatorState(api_key=api_key, latency=latency, realistic=realistic,
                          refuse_word=refuse_word, url_ttl=url_ttl, as_of=day,
                          photographic=photographic, url_bytes=url_bytes,
                          body_limits=dict(body_limits or {}),
                          batch_line_seconds=batch_line_seconds)
    return EmulatorServer(state, host=host, port=port, log=log).start()
