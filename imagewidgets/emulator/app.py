"""The ASGI app: ``POST /v1/images/generations`` answered as the Images API answers.

Validation reads the capabilities table; pictures come from :mod:`.render`;
faults from :mod:`.faults`. This module never imports the client: a bug shared
by client and server would hide itself.

Choices where the API leaves room, so that clients know what to expect:

- An unknown model is a 400 ``invalid_value`` on ``model`` listing the known
  ones, as the Images API answers it (not a 404 ``model_not_found``).
- ``null`` counts as omitted; ``stream: false`` is accepted by the GPT image
  models and, like any ``stream``, refused by DALL·E as ``unknown_parameter``.
- ``output_compression`` below 100 with png is refused in the API's words
  (code ``invalid_png_output_compression``); 100, its default, is accepted.
  ``partial_images`` without ``stream`` is accepted and ignored.
- ``stream`` with ``n > 1`` streams the images one after another (each its
  partials, then its completed event). Events carry no image index, so
  clients should rather send ``n`` requests of ``n = 1``, as this toolkit does.
- Faults apply to ``POST /v1/images/generations`` only, never to image files.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import capabilities
from ..capabilities import FIELDS, MODELS, Choice, Flag, IntRange, ModelSpec, Text
from .faults import Fault, FaultQueue, parse_fault_header
from .render import Render, bomb_png, final_bytes, partial_bytes

__all__ = ["IMAGE_INDEX_HEADER", "EmulatorState", "Refusal", "create_app", "validate"]

IMAGE_INDEX_HEADER = "x-emulator-image-index"
"""Sent by clients that fan ``n`` out into ``n = 1`` requests, so each gets its own picture."""

# Seconds a request takes with realistic timing, by quality, for a 1024x1024 image.
_REALISTIC_SECONDS = {"low": 2.0, "standard": 4.0, "medium": 5.0, "hd": 8.0, "high": 10.0}
_KEEP_REQUESTS = 1000  # the request log is for tests; a workshop server runs for hours
_KEEP_FILES = 500  # image files handed out as URLs, at most, besides the expiry


@dataclass
class EmulatorState:
    """What the server knows: settings, pending faults, handed-out files, a request log."""

    api_key: str | None = None
    latency: float = 0.0
    realistic: bool = False
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


class Refusal(Exception):
    """An error answer: an HTTP status and the API's error object (``response()``)."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.code, self.type = code, type
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}
        return JSONResponse(body, self.status, headers=self.headers)


class _DropConnection(Exception):
    """Raised inside a response body to cut the connection mid-way."""


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
            if isinstance(error, _DropConnection | asyncio.CancelledError):
                return False
            if isinstance(error, BaseExceptionGroup) and any(
                    isinstance(inner, _DropConnection | asyncio.CancelledError)
                    for inner in error.exceptions):
                return False
            error, seen = error.__cause__ or error.__context__, seen + 1
        return True


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


# -- auth ----------------------------------------------------------------------


def _mask(key: str) -> str:
    """``sk-ab***wxyz``, as the API shows a wrong key: never the whole of it."""
    return f"{key[:5]}***{key[-4:]}" if len(key) >= 16 else "***"


def _check_auth(state: EmulatorState, request: Request) -> None:
    if state.api_key is None:
        return
    header = request.headers.get("authorization", "")
    sent = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not sent:
        raise Refusal(401, "You didn't provide an API key. You need to provide your API key in "
                           "an Authorization header using Bearer auth (i.e. Authorization: "
                           "Bearer YOUR_KEY).", code="invalid_api_key")
    if sent != state.api_key:
        raise Refusal(401, f"Incorrect API key provided: {_mask(sent)}. The emulator was "
                           "started with another key (serve(api_key=...)).",
                      code="invalid_api_key")


# -- faults that replace the answer --------------------------------------------

_STATUS_FAULTS = {
    "status_408": (408, "Request timed out.", "timeout"),
    "status_409": (409, "Conflict: another request with this key is in progress.", "conflict"),
    "status_500": (500, "The server had an error while processing your request. Sorry about "
                        "that!", "server_error"),
    "status_502": (502, "Bad gateway.", "server_error"),
    "status_503": (503, "The engine is currently overloaded, please try again later.",
                   "server_error"),
}


def _status_fault(fault: Fault) -> Refusal | None:
    if fault.name in _STATUS_FAULTS:
        status, message, kind = _STATUS_FAULTS[fault.name]
        return Refusal(status, message, type=kind)
    if fault.name == "status_429":
        headers = {}
        if "retry_after" in fault.options:
            headers["retry-after"] = str(fault.options["retry_after"])
        if "retry_after_ms" in fault.options:
            headers["retry-after-ms"] = str(fault.options["retry_after_ms"])
        return Refusal(429, "Rate limit reached for images per minute. Please try again "
                            "shortly.", code="rate_limit_exceeded", type="requests",
                       headers=headers)
    if fault.name == "insufficient_quota":
        return Refusal(429, "You exceeded your current quota, please check your plan and "
                            "billing details.", code="insufficient_quota",
                       type="insufficient_quota")
    return None


def _content_refusal(spec: ModelSpec) -> Refusal:
    code = "content_policy_violation" if spec.family == "dall-e" else "moderation_blocked"
    return Refusal(400, "Your request was rejected as a result of our safety system. Your "
                        "prompt may contain text that is not allowed by our safety system; "
                        "rephrase it and try again.",
                   code=code, type="image_generation_user_error")


# -- validation ----------------------------------------------------------------

# Fields that the capabilities table makes conditional (``spec.when``) and that
# the API ignores, rather than refuses, while their condition fails.
_IGNORED_WHEN_OFF = frozenset({"partial_images"})
# Refusals, in the API's words, of a conditional field sent while it does not apply.
_NOT_APPLICABLE = {
    "output_compression": ("invalid_png_output_compression",
                           "Compression less than 100 is not supported for {other} output "
                           "format."),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _type_refusal(kind: Any, name: str, value: Any) -> Refusal | None:
    """A refusal when ``value`` has the wrong JSON type for a field of ``kind``."""
    if isinstance(kind, IntRange):
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(kind, Flag):
        ok, wanted = isinstance(value, bool), "a boolean"
    elif isinstance(kind, Text | Choice):
        ok, wanted = isinstance(value, str), "a string"
    else:  # a kind added later: its value check speaks for it
        return None
    if ok:
        return None
    return Refusal(400, f"Invalid type for '{name}': expected {wanted}, but got "
                        f"{_json_type(value)} instead.", param=name, code="invalid_type")


def validate(body: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model and the request's fields with defaults filled in.

    Raises
    ------
    Refusal
        What the API answers such a request with.
    """
    if not isinstance(body, dict):
        raise Refusal(400, f"Invalid type for the request body: expected an object, but got "
                           f"{_json_type(body)} instead.", code="invalid_type")
    body = {key: value for key, value in body.items() if value is not None}  # null = omitted
    if "prompt" not in body:
        raise Refusal(400, "Missing required parameter: 'prompt'.", param="prompt",
                      code="missing_required_parameter")
    model = body.get("model", capabilities.default_model_for(body))
    if not isinstance(model, str):
        raise Refusal(400, f"Invalid type for 'model': expected a string, but got "
                           f"{_json_type(model)} instead.", param="model", code="invalid_type")
    if model not in MODELS:
        raise Refusal(400, f"Invalid value: '{model}'. Supported values are: "
                           + ", ".join(f"'{name}'" for name in MODELS) + ".",
                      param="model", code="invalid_value")
    spec = MODELS[model]
    for key in body:
        if key not in FIELDS or not spec.takes(key):
            raise Refusal(400, f"Unknown parameter: '{key}'.", param=key,
                          code="unknown_parameter")
    for key, value in body.items():
        if key == "model":
            continue
        kind = spec.kind(key)
        if (refusal := _type_refusal(kind, key, value)) is not None:
            raise refusal
        if isinstance(kind, Text) and kind.max_length and len(value) > kind.max_length:
            raise Refusal(400, f"Invalid '{key}': string too long. Expected a string with "
                               f"maximum length {kind.max_length}, but got a string with length "
                               f"{len(value)} instead.", param=key,
                          code="string_above_max_length")
        if key == "prompt" and not value:
            raise Refusal(400, "Invalid 'prompt': empty string. Expected a string with minimum "
                               "length 1, but got an empty string instead.", param="prompt",
                          code="empty_string")
        problem = spec.value_problem(key, value)
        if problem:
            code = "invalid_value"
            if isinstance(kind, IntRange):
                code = "integer_above_max_value" if value > kind.high else "integer_below_min_value"
            raise Refusal(400, f"Invalid value for '{key}': {problem}.", param=key, code=code)
    fields = {name: body.get(name, kind.default) for name, kind in spec.fields.items()}
    for exclusion in spec.exclusions:
        (first, first_value), (second, second_value) = exclusion.first, exclusion.second
        if fields.get(first) == first_value and fields.get(second) == second_value:
            raise Refusal(400, f"Invalid value for '{second}': {second_value!r} cannot be sent "
                               f"with {first}={first_value!r}: {exclusion.reason}.",
                          param=second, code="invalid_value")
    for name, condition in spec.when.items():
        if name not in body or fields[condition.field] in condition.values:
            continue
        if name in _IGNORED_WHEN_OFF or body[name] == spec.kind(name).default:
            continue  # nothing changes: compression 100 with png is what png is anyway
        code, message = _NOT_APPLICABLE.get(name, ("invalid_value", "{name} applies only when "
                                                   "{field} is one of {values}, not {other}."))
        raise Refusal(400, message.format(
            name=name, field=condition.field, other=str(fields[condition.field]).upper(),
            values=", ".join(map(str, condition.values))), param=name, code=code)
    fields["model"] = model
    return spec, fields


# -- answers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    """What the server actually made: every ``auto`` resolved."""

    size: str
    quality: str
    background: str | None
    output_format: str
    compression: int
    style: str | None

    @classmethod
    def of(cls, spec: ModelSpec, fields: Mapping[str, Any]) -> _Resolved:
        gpt = spec.family == "gpt-image"
        quality = fields.get("quality") or "auto"
        if quality == "auto":
            quality = "medium" if gpt else "standard"
        size = fields.get("size") or "auto"
        background = fields.get("background") if gpt else None
        return cls(
            size="1024x1024" if size == "auto" else size,
            quality=quality,
            background="opaque" if background == "auto" else background,
            output_format=fields.get("output_format") or "png",
            compression=int(fields.get("output_compression", 100)),
            style=fields.get("style"),
        )

    def wire(self) -> dict[str, Any]:
        """The fields GPT image answers and stream events carry."""
        return {"size": self.size, "quality": self.quality, "background": self.background,
                "output_format": self.output_format}

    def render(self, prompt: str, model: str, index: int) -> Render:
        return Render(prompt, model, self.size, self.quality, self.style, self.background, index,
                      self.output_format, self.compression)


def _usage(prompt: str, resolved: _Resolved, n: int) -> dict[str, Any]:
    # About four characters a token for English text: the API does not publish the tokenizer.
    text_tokens = max(1, math.ceil(len(prompt) / 4))
    out = capabilities.output_tokens(resolved.quality, resolved.size) * n
    return {"input_tokens": text_tokens, "output_tokens": out, "total_tokens": text_tokens + out,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0}}


def _faulty(data: bytes, fault: Fault | None) -> bytes:
    """The image bytes as the fault wants them sent."""
    if fault is not None and fault.name == "not_an_image":
        return b"this is not an image, only some text " * 20
    if fault is not None and fault.name == "bomb":
        return bomb_png()
    return data


def _b64(data: bytes, fault: Fault | None) -> str:
    text = base64.b64encode(_faulty(data, fault)).decode()
    if fault is not None and fault.name == "bad_base64":
        return "!!not*base64" + text[1:]  # characters outside the alphabet, a length off by one
    return text


def _seconds(state: EmulatorState, resolved: _Resolved) -> float:
    seconds = state.latency
    if state.realistic:
        width, height = (int(side) for side in resolved.size.split("x"))
        seconds += _REALISTIC_SECONDS.get(resolved.quality, 5.0) * width * height / 1024**2
    return seconds


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


async def _trickled(body: bytes, seconds: float) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64):
        yield body[start:start + 64]
        await asyncio.sleep(seconds)


async def _cut(body: bytes) -> AsyncIterator[bytes]:
    yield body[: len(body) // 2]
    raise _DropConnection


def _log(state: EmulatorState, request: Request, raw: bytes, fault: Fault | None) -> None:
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = None
    with state.lock:
        state.request_count += 1
        state.requests.append({
            "method": request.method,
            "path": request.url.path,
            # Never the key: the log is shown in test failures and reprs.
            "headers": {key: value for key, value in request.headers.items()
                        if key.lower() != "authorization"},
            "body": raw.decode("utf-8", "replace"),
            "json": parsed,
            "fault": fault.name if fault else None,
        })


async def generations(request: Request) -> Response:
    """``POST /v1/images/generations``."""
    state: EmulatorState = request.app.state.emulator
    fault_header = request.headers.get("x-emulator-fault")
    raw = await request.body()
    try:
        fault = parse_fault_header(fault_header) if fault_header else state.faults.take()
    except ValueError as error:
        _log(state, request, raw, None)
        return Refusal(400, str(error), param="x-emulator-fault").response()
    _log(state, request, raw, fault)
    try:
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(fault.number("seconds", 2.0))
        _check_auth(state, request)
        if fault is not None and (refusal := _status_fault(fault)):
            raise refusal
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refusal(400, "We could not parse the JSON body of your request. (HINT: This "
                               "likely means you aren't using your HTTP library correctly. The "
                               "OpenAI API expects a JSON payload.)") from None
        spec, fields = validate(body)
        word = state.refuse_word
        if (fault is not None and fault.name == "content_policy") or (
                word and re.search(rf"\b{re.escape(word)}\b", fields["prompt"], re.IGNORECASE)):
            raise _content_refusal(spec)
    except Refusal as refusal:
        return refusal.response()

    try:
        first_index = max(0, int(request.headers.get(IMAGE_INDEX_HEADER) or 0))
    except ValueError:
        first_index = 0
    resolved = _Resolved.of(spec, fields)
    if fields.get("stream"):
        return StreamingResponse(_stream(state, spec, fields, resolved, first_index, fault),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
    return await _respond(state, request, spec, fields, resolved, first_index, fault)


async def _respond(state: EmulatorState, request: Request, spec: ModelSpec,
                   fields: dict[str, Any], resolved: _Resolved, first_index: int,
                   fault: Fault | None) -> Response:
    n = int(fields.get("n") or 1)
    await asyncio.sleep(_seconds(state, resolved))
    data: list[dict[str, Any]] = []
    for offset in range(n):
        render = resolved.render(fields["prompt"], spec.name, first_index + offset)
        image = await run_in_threadpool(final_bytes, render)  # Pillow off the event loop
        item: dict[str, Any] = {}
        if fields.get("response_format") == "url":
            name = f"img-{uuid.uuid4().hex}.{resolved.output_format}"
            state.keep_file(name, _faulty(image, fault), f"image/{resolved.output_format}")
            item["url"] = str(request.url_for("image_file", name=name))
        else:
            item["b64_json"] = _b64(image, fault)
        if spec.name == "dall-e-3":  # the only model that rewrites prompts
            item["revised_prompt"] = (f"{fields['prompt']}, as a detailed "
                                      f"{resolved.style or 'vivid'} digital illustration")
        data.append(item)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if spec.family == "gpt-image":
        answer.update(resolved.wire(), usage=_usage(fields["prompt"], resolved, n))
    body = json.dumps(answer).encode()
    if fault is not None and fault.name == "malformed_json":
        body = body[: len(body) // 3] + b'"}]'
    if fault is not None and fault.name == "drop_stream":
        return StreamingResponse(_cut(body), media_type="application/json")
    if fault is not None and fault.name == "trickle":
        return StreamingResponse(_trickled(body, fault.number("seconds", 1.0)),
                                 media_type="application/json")
    return Response(body, media_type="application/json")


async def _stream(state: EmulatorState, spec: ModelSpec, fields: dict[str, Any],
                  resolved: _Resolved, first_index: int,
                  fault: Fault | None) -> AsyncIterator[bytes]:
    partials = int(fields.get("partial_images") or 0)
    n = int(fields.get("n") or 1)
    pause = _seconds(state, resolved) / (partials + 1)  # partials spread over the time
    # drop_stream: cut after ``after`` events, and always before a completed event.
    drop_after = int(fault.number("after", 1)) if fault and fault.name == "drop_stream" else None
    sent = 0
    for offset in range(n):
        render = resolved.render(fields["prompt"], spec.name, first_index + offset)
        for step in range(partials):
            await asyncio.sleep(pause)
            if drop_after is not None and sent >= drop_after:
                raise _DropConnection
            data = await run_in_threadpool(partial_bytes, render, step + 1, partials)
            payload = {"type": "image_generation.partial_image", "b64_json": _b64(data, fault),
                       "partial_image_index": step, "created_at": int(time.time()),
                       **resolved.wire()}
            async for chunk in _deliver(_event("image_generation.partial_image", payload), fault):
                yield chunk
            sent += 1
        await asyncio.sleep(pause)
        if drop_after is not None:
            raise _DropConnection
        data = await run_in_threadpool(final_bytes, render)
        payload = {"type": "image_generation.completed", "b64_json": _b64(data, fault),
                   "created_at": int(time.time()), **resolved.wire(),
                   "usage": _usage(fields["prompt"], resolved, 1)}
        async for chunk in _deliver(_event("image_generation.completed", payload), fault):
            yield chunk


async def _deliver(event: bytes, fault: Fault | None) -> AsyncIterator[bytes]:
    if fault is not None and fault.name == "malformed_json":
        event = event.replace(b"data: {", b"data: {{", 1)
    if fault is not None and fault.name == "trickle":
        async for piece in _trickled(event, fault.number("seconds", 1.0)):
            yield piece
        return
    yield event


async def image_file(request: Request) -> Response:
    """``GET /v1/images/files/{name}``: an image handed out as a URL, until it expires."""
    state: EmulatorState = request.app.state.emulator
    with state.lock:
        found = state.files.get(request.path_params["name"])
    if found is None:
        return Refusal(404, "The specified blob does not exist.", code="not_found").response()
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


class _RequestIds:
    """Adds an ``x-request-id`` header to every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex[:24]}"

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(state: EmulatorState | None = None) -> Starlette:
    """The emulator as an ASGI app; serve it with any ASGI server."""
    app = Starlette(
        routes=[
            Route("/v1/images/generations", generations, methods=["POST"]),
            Route("/v1/images/files/{name}", image_file, methods=["GET"], name="image_file"),
        ],
        middleware=[Middleware(_RequestIds)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = state or EmulatorState()
    return app
