"""A hostile HTTP server on 127.0.0.1, shared by the ``test_hostile_*`` suites.

Hand-written, not the emulator, so a bug shared by client and emulator cannot
hide. The ``hostile`` fixture (in ``conftest.py``) gives each test a fresh one;
a test sets ``answer`` to say what it sends back.

Not named ``test_*``: it holds no tests, and ``make reliability``'s wildcard
``tests/test_hostile_*.py`` must not pick it up.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import httpx
from PIL import Image


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(out, "PNG")
    return out.getvalue()


PNG = _png()
B64 = base64.b64encode(PNG).decode()
SUCCESS = json.dumps({"created": 1, "data": [{"b64_json": B64}]}).encode()
"""A generation's answer holding one image, ``PNG``."""

Reply = tuple[int, dict[str, str], bytes | Iterable[bytes]]
"""What an answer sends: the status, headers added to (or replacing) the defaults, the body."""

Answer = Callable[[str, httpx.Headers], Reply]
"""``answer(path, headers)``: what the server sends back to a request for ``path``."""


class Seen(NamedTuple):
    """A request the server received."""

    path: str
    headers: httpx.Headers  # looked up in any case, as HTTP says
    body: bytes


class Hostile:
    """A tiny HTTP server in a thread; ``answer(path, headers)`` says what it sends back.

    A body given as ``bytes`` is sent whole, with its Content-Length unless the answer
    names another (a longer one cuts the body short). A body given as pieces is sent
    chunked when there is no Content-Length, each piece as it is made: a piece that
    blocks stalls the reply (see :meth:`stall`). Each reply is the last on its
    connection, and says so.

    ``seen`` lists every request; ``sent`` counts the body bytes written before the
    client hung up; ``done`` is set when a reply has ended; ``release`` ends every
    stall (``close`` sets it), so a test's server threads never outlive it by long.
    """

    def __init__(self) -> None:
        self.answer: Answer = lambda path, headers: (200, {}, SUCCESS)
        self.seen: list[Seen] = []
        self.sent = 0
        self.done = threading.Event()
        self.release = threading.Event()
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = httpx.Headers(list(self.headers.items()))
                hostile.seen.append(Seen(self.path, headers, body))
                status, extra, pieces = hostile.answer(self.path, headers)
                if isinstance(pieces, bytes):
                    extra = {"Content-Length": str(len(pieces)), **extra}
                    pieces = [pieces]
                chunked = "Content-Length" not in extra
                self.send_response(status)
                # One reply per connection, said so: the client never reuses a closed one.
                extra = {"Content-Type": "application/json", "Connection": "close", **extra}
                if chunked:
                    extra["Transfer-Encoding"] = "chunked"
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for piece in pieces:
                        if chunked and not piece:  # an empty chunk would end the body
                            continue
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                        self.wfile.flush()
                        hostile.sent += len(piece)
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client hung up
                    pass
                finally:
                    self.close_connection = True
                    hostile.done.set()

            do_GET = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stall(self, *first: bytes) -> Iterator[bytes]:
        """Send ``first``, then nothing until the test ends (at most 120 s: stuck)."""
        yield from first
        self.release.wait(120)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
