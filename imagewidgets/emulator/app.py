"""The ASGI app: ``POST /v1/images/generations``, ``/edits``, ``GET /v1/models``, files and batches.

What it refuses comes from :mod:`.validation`, which reads the capabilities
table; what a model's answers carry (a revised prompt, usage, what ``auto``
means) comes from the table too. Pictures come from :mod:`.render`; faults
from :mod:`.faults`, each applying itself through its hooks. This module
never imports the client: a bug shared by client and server would hide itself.

Choices where the API leaves room, so that clients know what to expect (the
ones about validation are listed in :mod:`.validation`):

- ``stream`` with ``n > 1`` streams the images one after another (each its
  partials, then its completed event). Events carry no image index, so
  clients should rather send ``n`` requests of ``n = 1``, as this toolkit does.
- Faults apply to image requests (``POST /v1/images/generations`` and
  ``/edits``, :mod:`.edits`), never to image files or ``/v1/models``; the
  request log holds every request (:mod:`.request_log`).
- ``EmulatorState.as_of`` None (the default, for teaching) serves every model
  of the table, shut down or not. With a date, models whose shutdown is on or
  before it are refused as the API refuses them (see
  :func:`.validation.shut_down_refusal`) and left out of ``/v1/models``.
- ``/v1/models`` lists every model of the table (those registered at run time
  too): ``created`` is the release day at midnight UTC (0 when the table does
  not know it), ``owned_by`` is ``"system"``, ``shutdown_date`` the table's.
- Files and batches (:mod:`.files`, :mod:`.batches`) list their own choices.
- ``output_format`` gif and svg answer with ``output_format`` as asked; their
  partial images are PNG previews (:mod:`.render`).
"""

from __future__ import annotations

import importlib.metadata
import json
import time
import uuid

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import models
from .answers import (
    IMAGE_INDEX_HEADER,
    VARIATION_HEADER,
    Drawing,
    Resolved as _Resolved,  # noqa: F401  (tests read these from here)
    answer,
    fault_first,
    header_number,
    realistic_seconds as _seconds,  # noqa: F401
    resolved_for,
    take_fault,
)
from .batches import cancel_batch, create_batch, list_batches, retrieve_batch
from .edits import edits
from .faults import NO_FAULT
from .files import create_file, delete_file, file_content, retrieve_file
from .guard import Guard
from .request_log import PREVIEW as PREVIEW, log_json
from .state import EmulatorState
from .validation import Refusal, check_content, validate

# Refusal and validate live in .validation; imported from here they still work.
__all__ = ["EMULATOR_HEADER", "IMAGE_INDEX_HEADER", "VARIATION_HEADER", "EmulatorState", "create_app"]

EMULATOR_HEADER = "x-imagewidgets-emulator"
"""On every answer, errors included, with the package's version: how a client knows this
server is the emulator (which serves the models the API shut down) without being told."""


async def generations(request: Request) -> Response:
    """``POST /v1/images/generations``."""
    state: EmulatorState = request.app.state.emulator
    raw = await request.body()
    try:
        taken = take_fault(state, request)
    except ValueError as error:
        log_json(state, request.scope, raw, None)
        return Refusal(400, str(error), param="x-emulator-fault").response()
    log_json(state, request.scope, raw, taken.name if taken else None)
    fault = taken or NO_FAULT
    try:
        await fault_first(fault)
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refusal(400, "We could not parse the JSON body of your request. (HINT: This "
                               "likely means you aren't using your HTTP library correctly. The "
                               "OpenAI API expects a JSON payload.)") from None
        spec, fields = validate(body, as_of=state.as_of)
        check_content(spec, fields["prompt"], state.refuse_word, fault.refuses_content)
    except Refusal as refusal:
        return refusal.response()

    resolved = resolved_for(request, state, spec, fields)
    painter = Drawing(resolved, fields["prompt"], spec.name,
                      header_number(request, IMAGE_INDEX_HEADER))
    return await answer(state, request, spec, fields, resolved, painter, fault)


async def image_file(request: Request) -> Response:
    """``GET /v1/images/files/{name}``: an image handed out as a URL, until it expires."""
    state: EmulatorState = request.app.state.emulator
    with state.lock:
        found = state.files.get(request.path_params["name"])
    if found is None:
        # Unknown, or dropped to make room (EmulatorState.url_bytes): the oldest go first.
        return Refusal(404, "The specified blob does not exist (an image URL is kept for 60 "
                            "minutes at most, and the emulator drops the oldest when its store "
                            "is full: download images at once, or generate again).",
                       code="not_found").response()
    data, mime, expires = found
    if time.monotonic() >= expires:
        # Expired signed storage links answer 403; the body says why.
        return Refusal(403, "Server failed to authenticate the request: the signed URL has "
                            "expired (image URLs are valid for 60 minutes; generate again).",
                       code="expired").response()
    return Response(data, media_type=mime)


async def _http_error(request: Request, error: Exception) -> Response:
    """Unknown paths and methods answer with an error body, as the API does."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    return Refusal(status, f"Invalid URL ({request.method} {request.url.path})").response()


class _Headers:
    """Adds an ``x-request-id`` and :data:`EMULATOR_HEADER` to every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex[:24]}"

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-request-id", request_id)
                headers[EMULATOR_HEADER] = _VERSION
            await send(message)

        await self.app(scope, receive, send_with_id)


def _version() -> str:
    # Not ``imagewidgets.__version__``: importing the package from here would make a circle.
    try:
        return importlib.metadata.version("imagewidgets")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_VERSION = _version()


def create_app(state: EmulatorState | None = None) -> Starlette:
    """The emulator as an ASGI app; serve it with any ASGI server."""
    state = state or EmulatorState()
    app = Starlette(
        routes=[
            Route("/v1/images/generations", generations, methods=["POST"]),
            Route("/v1/images/edits", edits, methods=["POST"]),
            Route("/v1/images/files/{name}", image_file, methods=["GET"], name="image_file"),
            Route("/v1/models", models.list_models, methods=["GET"]),
            Route("/v1/models/{model}", models.retrieve_model, methods=["GET"]),
            Route("/v1/files", create_file, methods=["POST"]),
            Route("/v1/files/{file_id}", retrieve_file, methods=["GET"]),
            Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
            Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
            Route("/v1/batches", create_batch, methods=["POST"]),
            Route("/v1/batches", list_batches, methods=["GET"]),
            Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
        ],
        # Guard inside _Headers: its refusals carry the emulator's headers too.
        middleware=[Middleware(_Headers), Middleware(Guard, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = state
    return app
