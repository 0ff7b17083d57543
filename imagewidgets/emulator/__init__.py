"""An OpenAI-compatible Images API server on 127.0.0.1: the toolkit's offline default.

>>> from imagewidgets.emulator import serve
>>> with serve(port=0) as server:         # doctest: +SKIP
...     server.url                        # 'http://127.0.0.1:PORT/v1'
...     server.inject("status_429", retry_after=0.2)

It serves ``POST /v1/images/generations`` for every model of the capabilities
table (PNG, JPEG, WEBP, and GIF and SVG where a model takes them),
``POST /v1/images/edits`` (multipart, as the official SDK sends it:
:mod:`imagewidgets.emulator.edits`) for every model that edits, and
``GET /v1/models``, and ``/v1/files`` and ``/v1/batches`` for the API's Batch
engine (:mod:`imagewidgets.emulator.batches`). ``serve(as_of="2026-12-02")`` answers as the API did that
day: models shut down by then are refused with the API's 404 ``model_not_found``.

Fault names and options: :mod:`imagewidgets.emulator.faults`. Choices where
the API leaves room: :mod:`imagewidgets.emulator.app` (answers) and
:mod:`imagewidgets.emulator.validation` (refusals).
"""

from .app import IMAGE_INDEX_HEADER, EmulatorState, create_app
from .faults import FAULTS
from .server import EmulatorServer, serve

__all__ = ["FAULTS", "IMAGE_INDEX_HEADER", "EmulatorServer", "EmulatorState", "create_app", "serve"]
