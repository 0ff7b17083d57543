"""The ASGI app: ``POST /v1/images/generations`` and ``GET /v1/models`` answered as the API answers.

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
- Faults apply to ``POST /v1/images/generations`` only, never to image files
  or ``/v1/models``; the request log holds generation requests only.
- ``EmulatorState.as_of`` None (the default, for teaching) serves every model
  of the table, shut down or not. With a date, models whose shutdown is on or
  before it are refused as the API refuses them (see
  :func:`.validation.shut_down_refusal`) and left out of ``/v1/models``.
- ``/v1/models`` lists every model of the table (those registered at run time
  too): ``created`` is the release day at midnight UTC (0 when the table does
  not know it), ``owned_by`` is ``"system"``, ``shutdown_date`` the table's.
- ``output_format`` gif and svg answer with ``output_format`` as asked; their
  partial images are PNG previews (:mod:`.render`).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import importlib.metadata
import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..models import ModelSpec, output_tokens, parse_size
from . import models
from .faults import NO_FAULT, DropConnection, Fault, parse_fault_header
from .guard import Guard
from .render import Render, final_bytes, partial_bytes
from .state import EmulatorState
from .validation import Refusal, content_refusal, validate

# Refusal and validate live in .validation; imported from here they still work.
__all__ = ["EMULATOR_HEADER", "IMAGE_INDEX_HEADER", "VARIATION_HEADER", "EmulatorState", "create_app"]

EMULATOR_HEADER = "x-imagewidgets-emulator"
"""On every answer, errors included, with the package's version: how a client knows this
server is the emulator (which serves the models the API shut down) without being told."""
IMAGE_INDEX_HEADER = "x-emulator-image-index"
VARIATION_HEADER = "x-emulator-variation"
"""Another picture for the same request (a panel's Generate again); absent: the usual one."""
"""Sent by clients that fan ``n`` out into ``n = 1`` requests, so each gets its own picture."""

# Seconds a request takes with realistic timing, by quality, for a 1024x1024 image.
_REALISTIC_SECONDS = {"low": 2.0, "standard": 4.0, "medium": 5.0, "hd": 8.0, "high": 10.0,
                      "xhigh": 14.0, "max": 20.0}


# -- answers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    """What the server actually made: every ``auto`` resolved as the model's table says."""

    size: str
    quality: str
    background: str | None
    output_format: str
    compression: int
    style: str | None
    complexity: str | None = None  # None: the model takes no complexity
    frame_count: int = 9
    frame_duration_ms: int = 200
    variation: int = 0  # from VARIATION_HEADER: another picture, nothing else changed
    photographic: bool = False  # EmulatorState.photographic: grain, sizes as real photos have

    @classmethod
    def of(cls, spec: ModelSpec, fields: Mapping[str, Any]) -> _Resolved:
        size = spec.resolve("size", fields.get("size") or "auto")
        return cls(
            # A spec that leaves an auto size unsaid gets the API's usual square.
            size=size if parse_size(size) else "1024x1024",
            quality=spec.resolve("quality", fields.get("quality") or "auto"),
            background=spec.resolve("background", fields.get("background")),
            output_format=fields.get("output_format") or "png",
            compression=int(fields.get("output_compression", 100)),
            style=fields.get("style"),
            complexity=fields.get("complexity"),
            frame_count=int(fields.get("frame_count") or 9),
            frame_duration_ms=int(fields.get("frame_duration_ms") or 200),
        )

    @property
    def stills(self) -> float:
        """What the image costs, in stills of its size and quality.

        A GIF's first frame is a whole still and every further frame a quarter
        of one, as frames mostly repeat the first: 9 frames cost 3 stills. An
        estimate of ours; the API publishes no token counts for GIF or SVG,
        and an SVG counts as one still.
        """
        if self.output_format != "gif":
            return 1.0
        return 1 + (self.frame_count - 1) / 4

    def wire(self) -> dict[str, Any]:
        """The fields GPT image answers and stream events carry."""
        return {"size": self.size, "quality": self.quality, "background": self.background,
                "output_format": self.output_format}

    def render(self, prompt: str, model: str, index: int) -> Render:
        return Render(prompt, model, self.size, self.quality, self.style, self.background, index,
                      self.output_format, self.compression, self.complexity, self.frame_count,
                      self.frame_duration_ms, self.variation, self.photographic)


def _usage(prompt: str, resolved: _Resolved, n: int) -> dict[str, Any]:
    # About four characters a token for English text: the API does not publish the tokenizer.
    text_tokens = max(1, math.ceil(len(prompt) / 4))
    out = math.ceil(output_tokens(resolved.quality, resolved.size) * resolved.stills) * n
    return {"input_tokens": text_tokens, "output_tokens": out, "total_tokens": text_tokens + out,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0}}


def _b64(data: bytes, fault: Fault) -> str:
    return fault.b64(base64.b64encode(fault.image(data)).decode())


def _seconds(state: EmulatorState, resolved: _Resolved) -> float:
    seconds = state.latency
    if state.realistic:
        width, height = parse_size(resolved.size) or (1024, 1024)
        seconds += (_REALISTIC_SECONDS.get(resolved.quality, 5.0) * width * height / 1024**2
                    * resolved.stills)
    return seconds


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


PREVIEW = 4096
"""Characters of a body the request log keeps; its JSON is kept for bodies up to
:data:`_JSON_KEPT` bytes. The log holds a preview, never a whole large body."""
_JSON_KEPT = 64 << 10


def _log(state: EmulatorState, request: Request, raw: bytes, fault: Fault | None) -> None:
    parsed: Any = None
    if len(raw) <= _JSON_KEPT:
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            parsed = None
    # Never the key: the log is shown in test failures and reprs.
    headers = {key: value[:PREVIEW] for key, value in request.headers.items()
               if key.lower() != "authorization"}
    preview = raw[:PREVIEW].decode("utf-8", "replace")
    size = (len(preview) + (len(raw) if parsed is not None else 0)
            + sum(len(key) + len(value) for key, value in headers.items()))
    state.log_request({
        "method": request.method,
        "path": request.url.path,
        "headers": headers,
        "body": preview,
        "json": parsed,
        "fault": fault.name if fault else None,
    }, size)


async def generations(request: Request) -> Response:
    """``POST /v1/images/generations``."""
    state: EmulatorState = request.app.state.emulator
    fault_header = request.headers.get("x-emulator-fault")
    raw = await request.body()
    try:
        taken = parse_fault_header(fault_header) if fault_header else state.faults.take()
    except ValueError as error:
        _log(state, request, raw, None)
        return Refusal(400, str(error), param="x-emulator-fault").response()
    _log(state, request, raw, taken)
    fault = taken or NO_FAULT
    try:
        if (pause := fault.delay()) > 0:
            await asyncio.sleep(pause)
        # The key was checked before the body was read (guard.Guard).
        if (refusal := fault.refusal()) is not None:
            raise refusal
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refusal(400, "We could not parse the JSON body of your request. (HINT: This "
                               "likely means you aren't using your HTTP library correctly. The "
                               "OpenAI API expects a JSON payload.)") from None
        spec, fields = validate(body, as_of=state.as_of)
        word = state.refuse_word
        if fault.refuses_content or (
                word and re.search(rf"\b{re.escape(word)}\b", fields["prompt"], re.IGNORECASE)):
            raise content_refusal(spec)
    except Refusal as refusal:
        return refusal.response()

    first_index = _header_number(request, IMAGE_INDEX_HEADER)
    resolved = dataclasses.replace(_Resolved.of(spec, fields),
                                   variation=_header_number(request, VARIATION_HEADER),
                                   photographic=state.photographic)
    if fields.get("stream"):
        return StreamingResponse(_stream(state, spec, fields, resolved, first_index, fault),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
    return await _respond(state, request, spec, fields, resolved, first_index, fault)


def _header_number(request: Request, name: str) -> int:
    """A small non-negative number from header ``name``; 0 when absent or not one."""
    try:
        return min(max(0, int(request.headers.get(name) or 0)), 2**31)
    except ValueError:
        return 0


async def _respond(state: EmulatorState, request: Request, spec: ModelSpec,
                   fields: dict[str, Any], resolved: _Resolved, first_index: int,
                   fault: Fault) -> Response:
    n = int(fields.get("n") or 1)
    # The latency is when the answer is due, drawing included: six requests at once take
    # one latency, as the API's do, not one latency plus six drawings queued behind it.
    due = asyncio.get_running_loop().time() + _seconds(state, resolved)
    data: list[dict[str, Any]] = []
    for offset in range(n):
        render = resolved.render(fields["prompt"], spec.name, first_index + offset)
        image = await run_in_threadpool(final_bytes, render)  # Pillow off the event loop
        item: dict[str, Any] = {}
        if fields.get("response_format") == "url":
            name = f"img-{uuid.uuid4().hex}.{resolved.output_format}"
            state.keep_file(name, fault.image(image), _MIME.get(resolved.output_format,
                                                                 f"image/{resolved.output_format}"))
            item["url"] = str(request.url_for("image_file", name=name))
        else:
            item["b64_json"] = _b64(image, fault)
        if spec.revises_prompt:
            item["revised_prompt"] = (f"{fields['prompt']}, as a detailed "
                                      f"{resolved.style or 'vivid'} digital illustration")
        data.append(item)
    await _until(due)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if spec.reports_usage:
        answer.update(resolved.wire(), usage=_usage(fields["prompt"], resolved, n))
    body = fault.body(json.dumps(answer).encode())
    pieces = fault.deliver_body(body)
    if pieces is not None:
        return StreamingResponse(pieces, media_type="application/json")
    return Response(body, media_type="application/json")


async def _stream(state: EmulatorState, spec: ModelSpec, fields: dict[str, Any],
                  resolved: _Resolved, first_index: int, fault: Fault) -> AsyncIterator[bytes]:
    partials = int(fields.get("partial_images") or 0)
    n = int(fields.get("n") or 1)
    pause = _seconds(state, resolved) / (partials + 1)  # partials spread over the time
    cut_after = fault.cut_after()  # always before a completed event, at the latest
    sent = 0
    # Each event is due at a fixed time from the start, its drawing included (see _respond).
    start, ticks = asyncio.get_running_loop().time(), 0
    for offset in range(n):
        render = resolved.render(fields["prompt"], spec.name, first_index + offset)
        for step in range(partials):
            data = await run_in_threadpool(partial_bytes, render, step + 1, partials)
            ticks += 1
            await _until(start + ticks * pause)
            if cut_after is not None and sent >= cut_after:
                raise DropConnection
            payload = {"type": "image_generation.partial_image", "b64_json": _b64(data, fault),
                       "partial_image_index": step, "created_at": int(time.time()),
                       **resolved.wire()}
            event = fault.event(_event("image_generation.partial_image", payload))
            async for chunk in fault.deliver_event(event):
                yield chunk
            sent += 1
        data = await run_in_threadpool(final_bytes, render)
        ticks += 1
        await _until(start + ticks * pause)
        if cut_after is not None:
            raise DropConnection
        payload = {"type": "image_generation.completed", "b64_json": _b64(data, fault),
                   "created_at": int(time.time()), **resolved.wire(),
                   "usage": _usage(fields["prompt"], resolved, 1)}
        async for chunk in fault.deliver_event(fault.event(_event("image_generation.completed",
                                                                  payload))):
            yield chunk


async def _until(due: float) -> None:
    """Sleep until the loop's clock reads ``due``; at once when it already has."""
    await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))


_MIME = {"svg": "image/svg+xml"}


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
            Route("/v1/images/files/{name}", image_file, methods=["GET"], name="image_file"),
            Route("/v1/models", models.list_models, methods=["GET"]),
            Route("/v1/models/{model}", models.retrieve_model, methods=["GET"]),
        ],
        # Guard inside _Headers: its refusals carry the emulator's headers too.
        middleware=[Middleware(_Headers), Middleware(Guard, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = state
    return app
