"""An OpenAI-compatible Images API server on 127.0.0.1: the toolkit's offline default.

>>> from imagewidgets.emulator import serve
>>> with serve(port=0) as server:         # doctest: +SKIP
...     server.url                        # 'http://127.0.0.1:PORT/v1'
...     server.inject("status_429", retry_after=0.2)

Fault names and options: :mod:`imagewidgets.emulator.faults`. Choices where
the API leaves room: :mod:`imagewidgets.emulator.app` (answers) and
:mod:`imagewidgets.emulator.validation` (refusals).
"""

from .app import IMAGE_INDEX_HEADER, EmulatorState, create_app
from .faults import FAULTS
from .server import EmulatorServer, serve

__all__ = ["FAULTS", "IMAGE_INDEX_HEADER", "EmulatorServer", "EmulatorState", "create_app", "serve"]
