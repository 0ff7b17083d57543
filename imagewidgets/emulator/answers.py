"""How the emulator answers an image request it accepted: one JSON body, or a stream of events.

Generations and edits answer alike (``created``, ``data``, the settings the
server resolved and ``usage``; or partial events then a completed one), so
both endpoints use this module: what differs is the picture (a
:class:`Painter`), the events' prefix (``image_generation`` or
``image_edit``) and the input image tokens an edit adds to ``usage``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..models import ModelSpec, output_tokens, parse_size, text_input_tokens
from .faults import DropConnection, Fault, parse_fault_header
from .render import Render, final_bytes, partial_bytes
from .state import EmulatorState

__all__ = [
    "IMAGE_INDEX_HEADER",
    "MIME",
    "VARIATION_HEADER",
    "Drawing",
    "Painter",
    "Resolved",
    "fault_first",
    "header_number",
    "images_answer",
    "realistic_seconds",
    "respond",
    "stream_events",
    "take_fault",
    "usage",
]

IMAGE_INDEX_HEADER = "x-emulator-image-index"
"""Sent by clients that fan ``n`` out into ``n = 1`` requests, so each gets its own picture."""
VARIATION_HEADER = "x-emulator-variation"
"""Another picture for the same request (a panel's Generate again); absent: the usual one."""

# Seconds a request takes with realistic timing, by quality, for a 1024x1024 image.
_REALISTIC_SECONDS = {"low": 2.0, "standard": 4.0, "medium": 5.0, "hd": 8.0, "high": 10.0,
                      "xhigh": 14.0, "max": 20.0}
MIME = {"svg": "image/svg+xml"}
"""Media types that are not ``image/<format>``."""


@dataclass(frozen=True)
class Resolved:
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
    def of(cls, spec: ModelSpec, fields: Mapping[str, Any]) -> Resolved:
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


class Painter(Protocol):
    """What draws a request's images: image ``offset`` of the request, final or partial."""

    def final(self, offset: int) -> bytes: ...

    def partial(self, offset: int, step: int, steps: int) -> bytes: ...


@dataclass(frozen=True)
class Drawing:
    """A generation's painter: the procedural picture of the prompt (:mod:`.render`)."""

    resolved: Resolved
    prompt: str
    model: str
    first_index: int

    def final(self, offset: int) -> bytes:
        return final_bytes(self.resolved.render(self.prompt, self.model, self.first_index + offset))

    def partial(self, offset: int, step: int, steps: int) -> bytes:
        render = self.resolved.render(self.prompt, self.model, self.first_index + offset)
        return partial_bytes(render, step, steps)


def usage(prompt: str, resolved: Resolved, n: int, image_tokens: int = 0) -> dict[str, Any]:
    """``usage`` of ``n`` images; ``image_tokens``: an edit's input images
    (:func:`~imagewidgets.models.image_input_tokens`, the rule estimates read too)."""
    text_tokens = max(1, text_input_tokens(prompt))
    out = math.ceil(output_tokens(resolved.quality, resolved.size) * resolved.stills) * n
    given = text_tokens + image_tokens
    return {"input_tokens": given, "output_tokens": out, "total_tokens": given + out,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens}}


def take_fault(state: EmulatorState, request: Request) -> Fault | None:
    """The fault for this request: its ``x-emulator-fault`` header's, else the next injected one.

    Raises ValueError for a header naming no fault.
    """
    header = request.headers.get("x-emulator-fault")
    return parse_fault_header(header) if header else state.faults.take()


async def fault_first(fault: Fault) -> None:
    """What a fault does before a request is looked at: a pause, then maybe a refusal.

    The key was checked before the body was read (:class:`.guard.Guard`).
    """
    if (pause := fault.delay()) > 0:
        await asyncio.sleep(pause)
    if (refusal := fault.refusal()) is not None:
        raise refusal


def _b64(data: bytes, fault: Fault) -> str:
    return fault.b64(base64.b64encode(fault.image(data)).decode())


def realistic_seconds(state: EmulatorState, resolved: Resolved) -> float:
    """Seconds a request takes: the latency, plus with ``realistic`` what size and quality add."""
    seconds = state.latency
    if state.realistic:
        width, height = parse_size(resolved.size) or (1024, 1024)
        seconds += (_REALISTIC_SECONDS.get(resolved.quality, 5.0) * width * height / 1024**2
                    * resolved.stills)
    return seconds


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


def header_number(request: Request, name: str) -> int:
    """A small non-negative number from header ``name``; 0 when absent or not one."""
    try:
        return min(max(0, int(request.headers.get(name) or 0)), 2**31)
    except ValueError:
        return 0


async def images_answer(spec: ModelSpec, fields: dict[str, Any], resolved: Resolved,
                        painter: Painter, fault: Fault, image_tokens: int = 0,
                        keep: Callable[[bytes, str], str] | None = None) -> dict[str, Any]:
    """The JSON answer of a request that does not stream: ``created``, ``data``, and for the
    GPT image models the settings and ``usage``; a batch's lines are answered by it too.

    ``keep`` hands an image out as a URL (``response_format="url"``) and returns that URL.
    """
    n = int(fields.get("n") or 1)
    data: list[dict[str, Any]] = []
    for offset in range(n):
        image = await run_in_threadpool(painter.final, offset)  # Pillow off the event loop
        item: dict[str, Any] = {}
        if fields.get("response_format") == "url" and keep is not None:
            item["url"] = keep(fault.image(image), resolved.output_format)
        else:
            item["b64_json"] = _b64(image, fault)
        if spec.revises_prompt:
            item["revised_prompt"] = (f"{fields['prompt']}, as a detailed "
                                      f"{resolved.style or 'vivid'} digital illustration")
        data.append(item)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if spec.reports_usage:
        answer.update(resolved.wire(), usage=usage(fields["prompt"], resolved, n, image_tokens))
    return answer


async def respond(state: EmulatorState, request: Request, spec: ModelSpec,
                  fields: dict[str, Any], resolved: Resolved, painter: Painter,
                  fault: Fault, image_tokens: int = 0) -> Response:
    """The whole answer of a request that does not stream."""
    # The latency is when the answer is due, drawing included: six requests at once take
    # one latency, as the API's do, not one latency plus six drawings queued behind it.
    due = asyncio.get_running_loop().time() + realistic_seconds(state, resolved)

    def keep(image: bytes, output_format: str) -> str:
        name = f"img-{uuid.uuid4().hex}.{output_format}"
        state.keep_file(name, image, MIME.get(output_format, f"image/{output_format}"))
        return str(request.url_for("image_file", name=name))

    answer = await images_answer(spec, fields, resolved, painter, fault, image_tokens, keep)
    await _until(due)
    answer["created"] = int(time.time())  # when the answer went out, as before the wait
    body = fault.body(json.dumps(answer).encode())
    pieces = fault.deliver_body(body)
    if pieces is not None:
        return StreamingResponse(pieces, media_type="application/json")
    return Response(body, media_type="application/json")


def resolved_for(request: Request, state: EmulatorState, spec: ModelSpec,
                 fields: Mapping[str, Any]) -> Resolved:
    """What a checked request draws: its fields, its variation header, the emulator's style."""
    return replace(Resolved.of(spec, fields), variation=header_number(request, VARIATION_HEADER),
                   photographic=state.photographic)


async def answer(state: EmulatorState, request: Request, spec: ModelSpec, fields: dict[str, Any],
                 resolved: Resolved, painter: Painter, fault: Fault, kind: str = "image_generation",
                 image_tokens: int = 0) -> Response:
    """A checked request's answer: its events (``<kind>.*``) when it streams, else the whole one."""
    if fields.get("stream"):
        return StreamingResponse(stream_events(state, fields, resolved, painter, fault, kind,
                                               image_tokens),
                                 media_type="text/event-stream", headers={"cache-control": "no-cache"})
    return await respond(state, request, spec, fields, resolved, painter, fault, image_tokens)


async def stream_events(state: EmulatorState, fields: dict[str, Any], resolved: Resolved,
                        painter: Painter, fault: Fault, kind: str = "image_generation",
                        image_tokens: int = 0) -> AsyncIterator[bytes]:
    """The events of a streamed request: ``<kind>.partial_image`` ones, then ``<kind>.completed``."""
    partials = int(fields.get("partial_images") or 0)
    n = int(fields.get("n") or 1)
    pause = realistic_seconds(state, resolved) / (partials + 1)  # partials spread over the time
    cut_after = fault.cut_after()  # always before a completed event, at the latest
    sent = 0
    # Each event is due at a fixed time from the start, its drawing included (see respond).
    start, ticks = asyncio.get_running_loop().time(), 0
    for offset in range(n):
        for step in range(partials):
            data = await run_in_threadpool(painter.partial, offset, step + 1, partials)
            ticks += 1
            await _until(start + ticks * pause)
            if cut_after is not None and sent >= cut_after:
                raise DropConnection
            payload = {"type": f"{kind}.partial_image", "b64_json": _b64(data, fault),
                       "partial_image_index": step, "created_at": int(time.time()),
                       **resolved.wire()}
            event = fault.event(_event(f"{kind}.partial_image", payload))
            async for chunk in fault.deliver_event(event):
                yield chunk
            sent += 1
        data = await run_in_threadpool(painter.final, offset)
        ticks += 1
        await _until(start + ticks * pause)
        if cut_after is not None:
            raise DropConnection
        payload = {"type": f"{kind}.completed", "b64_json": _b64(data, fault),
                   "created_at": int(time.time()), **resolved.wire(),
                   "usage": usage(fields["prompt"], resolved, 1, image_tokens)}
        async for chunk in fault.deliver_event(fault.event(_event(f"{kind}.completed", payload))):
            yield chunk


async def _until(due: float) -> None:
    """Sleep until the loop's clock reads ``due``; at once when it already has."""
    await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
