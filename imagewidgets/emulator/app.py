"""The ASGI app: ``POST /v1/images/generations`` answered as the Images API answers.

Validation reads the capabilities table; pictures come from :mod:`.render`;
faults from :mod:`.faults`. This module never imports the client: a bug shared
by client and server would hide itself.
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
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..capabilities import FIELDS, MODELS, IntRange, ModelSpec, Text, default_model_for, output_tokens
from .faults import Fault, FaultQueue, parse_fault_header
from .render import Render, bomb_png, final_bytes, partial_bytes

__all__ = ["EmulatorState", "create_app"]

IMAGE_INDEX_HEADER = "x-emulator-image-index"
"""Sent by clients that fan ``n`` out into ``n = 1`` requests, so each gets its own picture."""

# Seconds a request takes with realistic timing, by quality, for a 1024x1024 image.
_REALISTIC_SECONDS = {"low": 2.0, "standard": 4.0, "medium": 5.0, "hd": 8.0, "high": 10.0}


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
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Refusal(Exception):
    """An error answer: status and the API's error object."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type
        self.headers = dict(headers or {})


class _DropConnection(Exception):
    """Raised inside a response body to cut the connection mid-way."""


class _QuietDrops(logging.Filter):
    """Keep uvicorn from printing a traceback for a connection we cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, _DropConnection):
                return False
            error = error.__cause__ or error.__context__
            if isinstance(error, BaseExceptionGroup) and any(
                    isinstance(inner, _DropConnection) for inner in error.exceptions):
                return False
        return True


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _error_body(refusal: _Refusal) -> dict[str, Any]:
    return {"error": {"message": refusal.message, "type": refusal.type,
                      "param": refusal.param, "code": refusal.code}}


def _mask(key: str) -> str:
    return f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"


def _check_auth(state: EmulatorState, request: Request) -> None:
    if state.api_key is None:
        return
    header = request.headers.get("authorization", "")
    sent = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not sent:
        raise _Refusal(401, "You didn't provide an API key. You need to provide your API key in an "
                            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                       code="invalid_api_key")
    if sent != state.api_key:
        raise _Refusal(401, f"Incorrect API key provided: {_mask(sent)}.", code="invalid_api_key")


_STATUS_FAULTS = {
    "status_408": (408, "Request timed out.", "timeout"),
    "status_409": (409, "Conflict: please retry.", "conflict"),
    "status_500": (500, "The server had an error while processing your request.", "server_error"),
    "status_502": (502, "Bad gateway.", "server_error"),
    "status_503": (503, "The engine is currently overloaded, please try again later.", "server_error"),
}


def _status_fault(fault: Fault) -> _Refusal | None:
    if fault.name in _STATUS_FAULTS:
        status, message, kind = _STATUS_FAULTS[fault.name]
        return _Refusal(status, message, type=kind)
    if fault.name == "status_429":
        headers = {}
        if "retry_after" in fault.options:
            headers["retry-after"] = str(fault.options["retry_after"])
        if "retry_after_ms" in fault.options:
            headers["retry-after-ms"] = str(fault.options["retry_after_ms"])
        return _Refusal(429, "Rate limit reached for images per minute. Please try again shortly.",
                        code="rate_limit_exceeded", type="requests", headers=headers)
    if fault.name == "insufficient_quota":
        return _Refusal(429, "You exceeded your current quota, please check your plan and billing "
                             "details.", code="insufficient_quota", type="insufficient_quota")
    return None


def _content_refusal(spec: ModelSpec) -> _Refusal:
    code = "content_policy_violation" if spec.family == "dall-e" else "moderation_blocked"
    return _Refusal(400, "Your request was rejected as a result of our safety system. Your prompt may "
                         "contain text that is not allowed by our safety system; rephrase it and try again.",
                    code=code, type="image_generation_user_error")


def validate(body: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model and the request's fields, or a :class:`_Refusal` as the API gives it."""
    if not isinstance(body, dict):
        raise _Refusal(400, "The request body must be a JSON object.")
    body = {key: value for key, value in body.items() if value is not None}  # null = omitted
    if "prompt" not in body:
        raise _Refusal(400, "Missing required parameter: 'prompt'.", param="prompt",
                       code="missing_required_parameter")
    model = body.get("model") or default_model_for(body)
    if model not in MODELS:
        raise _Refusal(400, f"Invalid value: '{model}'. Supported values are: "
                            + ", ".join(f"'{name}'" for name in MODELS) + ".",
                       param="model", code="invalid_value")
    spec = MODELS[model]
    for key in body:
        if key not in FIELDS or not spec.takes(key):
            raise _Refusal(400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise _Refusal(400, "Invalid type for 'prompt': expected a string.", param="prompt",
                       code="invalid_type")
    limit = spec.kind("prompt")
    if isinstance(limit, Text) and limit.max_length and len(prompt) > limit.max_length:
        raise _Refusal(400, f"Invalid 'prompt': string too long. Expected a string with maximum length "
                            f"{limit.max_length}, but got a string with length {len(prompt)} instead.",
                       param="prompt", code="string_above_max_length")
    for key, value in body.items():
        if key in ("model", "prompt"):
            continue
        problem = spec.value_problem(key, value)
        if problem:
            kind = spec.kind(key)
            code = "invalid_value"
            if isinstance(kind, IntRange) and isinstance(value, int) and not isinstance(value, bool):
                code = "integer_above_max_value" if value > kind.high else "integer_below_min_value"
            raise _Refusal(400, f"Invalid value for '{key}': {problem}.", param=key, code=code)
    fields = {name: body.get(name, kind.default) for name, kind in spec.fields.items()}
    for exclusion in spec.exclusions:
        (first, first_value), (second, second_value) = exclusion.first, exclusion.second
        if fields.get(first) == first_value and fields.get(second) == second_value:
            raise _Refusal(400, f"Invalid value for '{second}': {exclusion.reason}.", param=second,
                           code="invalid_value")
    for name, condition in spec.when.items():
        # Compression with png is refused, as the API does; partial_images without stream is ignored.
        if name in body and name == "output_compression" and fields[condition.field] not in condition.values:
            raise _Refusal(400, "Invalid value for 'output_compression': compression is only supported "
                                "for the jpeg and webp output formats.", param=name, code="invalid_value")
    fields["model"] = model
    return spec, fields


def _resolved(spec: ModelSpec, fields: dict[str, Any]) -> dict[str, Any]:
    """What the server actually made: auto resolved to concrete values."""
    gpt = spec.family == "gpt-image"
    quality = fields.get("quality") or "auto"
    if quality == "auto":
        quality = "medium" if gpt else "standard"
    size = fields.get("size") or "auto"
    return {
        "size": "1024x1024" if size == "auto" else size,
        "quality": quality,
        "background": {"auto": "opaque"}.get(fields.get("background") or "auto",
                                              fields.get("background")) if gpt else None,
        "output_format": fields.get("output_format") or "png",
        "compression": int(fields.get("output_compression") or 100),
        "style": fields.get("style"),
    }


def _usage(prompt: str, quality: str, size: str, n: int) -> dict[str, Any]:
    text_tokens = max(1, math.ceil(len(prompt) / 4))
    out = output_tokens(quality, size) * n
    return {"input_tokens": text_tokens, "output_tokens": out, "total_tokens": text_tokens + out,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0}}


def _b64(data: bytes, fault: Fault | None) -> str:
    if fault is not None and fault.name == "bad_base64":
        return "!!not*base64" + base64.b64encode(data[:32]).decode()[:-1]
    if fault is not None and fault.name == "not_an_image":
        return base64.b64encode(b"this is not an image, just some text " * 20).decode()
    if fault is not None and fault.name == "bomb":
        return base64.b64encode(bomb_png()).decode()
    return base64.b64encode(data).decode()


def _seconds(state: EmulatorState, quality: str, size: str) -> float:
    seconds = state.latency
    if state.realistic:
        width, height = (int(side) for side in size.split("x"))
        seconds += _REALISTIC_SECONDS.get(quality, 5.0) * width * height / (1024 * 1024)
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


async def generations(request: Request) -> Response:
    """``POST /v1/images/generations``."""
    state: EmulatorState = request.app.state.emulator
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    base_headers = {"x-request-id": request_id}
    fault_header = request.headers.get("x-emulator-fault")
    try:
        fault = parse_fault_header(fault_header) if fault_header else state.faults.take()
    except ValueError as error:
        return JSONResponse(_error_body(_Refusal(400, str(error), param="x-emulator-fault")),
                            400, headers=base_headers)
    raw = await request.body()
    with state.lock:
        state.requests.append({
            "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            "body": raw.decode("utf-8", "replace"),
            "fault": fault.name if fault else None,
        })
    try:
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(fault.number("seconds", 2.0))
        _check_auth(state, request)
        if fault is not None and (refusal := _status_fault(fault)):
            raise refusal
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refusal(400, "We could not parse the JSON body of your request. (HINT: This likely "
                                "means you aren't using your HTTP library correctly.)") from None
        spec, fields = validate(body)
        word = state.refuse_word
        if (fault is not None and fault.name == "content_policy") or (
                word and re.search(rf"\b{re.escape(word)}\b", fields["prompt"], re.IGNORECASE)):
            raise _content_refusal(spec)
    except _Refusal as refusal:
        return JSONResponse(_error_body(refusal), refusal.status,
                            headers={**base_headers, **refusal.headers})

    first_index = int(request.headers.get(IMAGE_INDEX_HEADER, "0") or 0)
    resolved = _resolved(spec, fields)
    if fields.get("stream"):
        return StreamingResponse(
            _stream(state, spec, fields, resolved, first_index, fault),
            media_type="text/event-stream", headers={**base_headers, "cache-control": "no-cache"})
    return await _respond(state, request, spec, fields, resolved, first_index, fault, base_headers)


def _render_args(spec: ModelSpec, fields: dict[str, Any], resolved: dict[str, Any],
                 index: int) -> Render:
    return Render(fields["prompt"], spec.name, resolved["size"], resolved["quality"],
                  resolved["style"], resolved["background"], index, resolved["output_format"],
                  resolved["compression"])


async def _respond(state: EmulatorState, request: Request, spec: ModelSpec, fields: dict[str, Any],
                   resolved: dict[str, Any], first_index: int, fault: Fault | None,
                   headers: dict[str, str]) -> Response:
    n = int(fields.get("n") or 1)
    await asyncio.sleep(_seconds(state, resolved["quality"], resolved["size"]))
    images = [await run_in_threadpool(final_bytes, _render_args(spec, fields, resolved, first_index + i))
              for i in range(n)]
    data: list[dict[str, Any]] = []
    as_url = fields.get("response_format") == "url"
    for image in images:
        item: dict[str, Any] = {}
        if as_url:
            name = f"img-{uuid.uuid4().hex}.{resolved['output_format']}"
            with state.lock:
                state.files[name] = (image, f"image/{resolved['output_format']}",
                                     time.monotonic() + state.url_ttl)
            item["url"] = str(request.url_for("image_file", name=name))
        else:
            item["b64_json"] = _b64(image, fault)
        if spec.name == "dall-e-3":
            item["revised_prompt"] = (f"{fields['prompt']}, as a detailed {resolved['style'] or 'vivid'} "
                                      "digital illustration")
        data.append(item)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if spec.family == "gpt-image":
        answer.update(background=resolved["background"], output_format=resolved["output_format"],
                      quality=resolved["quality"], size=resolved["size"],
                      usage=_usage(fields["prompt"], resolved["quality"], resolved["size"], n))
    body = json.dumps(answer).encode()
    if fault is not None and fault.name == "malformed_json":
        body = body[: len(body) // 3] + b'"}]'
    if fault is not None and fault.name == "drop_stream":
        return StreamingResponse(_cut(body), media_type="application/json", headers=headers)
    if fault is not None and fault.name == "trickle":
        return StreamingResponse(_trickled(body, fault.number("seconds", 1.0)),
                                 media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def _stream(state: EmulatorState, spec: ModelSpec, fields: dict[str, Any],
                  resolved: dict[str, Any], first_index: int, fault: Fault | None) -> AsyncIterator[bytes]:
    partials = int(fields.get("partial_images") or 0)
    n = int(fields.get("n") or 1)
    pause = _seconds(state, resolved["quality"], resolved["size"]) / (partials + 1)
    drop_after = int(fault.number("after", 1)) if fault and fault.name == "drop_stream" else None
    sent = 0
    common = {"size": resolved["size"], "quality": resolved["quality"],
              "background": resolved["background"], "output_format": resolved["output_format"]}
    for offset in range(n):
        args = _render_args(spec, fields, resolved, first_index + offset)
        for step in range(partials):
            await asyncio.sleep(pause)
            data = await run_in_threadpool(partial_bytes, args, step + 1, partials)
            payload = {"type": "image_generation.partial_image", "b64_json": _b64(data, fault),
                       "partial_image_index": step, "created_at": int(time.time()), **common}
            async for chunk in _deliver(_event("image_generation.partial_image", payload), fault):
                yield chunk
            sent += 1
            if drop_after is not None and sent >= drop_after:
                raise _DropConnection
        await asyncio.sleep(pause)
        data = await run_in_threadpool(final_bytes, args)
        payload = {"type": "image_generation.completed", "b64_json": _b64(data, fault),
                   "created_at": int(time.time()), **common,
                   "usage": _usage(fields["prompt"], resolved["quality"], resolved["size"], 1)}
        if drop_after is not None:
            raise _DropConnection  # fewer events than asked to keep: cut before completed
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
        refusal = _Refusal(404, "The specified blob does not exist.", code="not_found")
        return JSONResponse(_error_body(refusal), 404)
    data, mime, expires = found
    if time.monotonic() >= expires:
        refusal = _Refusal(403, "Server failed to authenticate the request: the signed URL has "
                                "expired (image URLs are valid for 60 minutes).", code="expired")
        return JSONResponse(_error_body(refusal), 403)
    return Response(data, media_type=mime)


def create_app(state: EmulatorState | None = None) -> Starlette:
    """The emulator as an ASGI app; serve it with any ASGI server."""
    app = Starlette(routes=[
        Route("/v1/images/generations", generations, methods=["POST"]),
        Route("/v1/images/files/{name}", image_file, methods=["GET"], name="image_file"),
    ])
    app.state.emulator = state or EmulatorState()
    return app
