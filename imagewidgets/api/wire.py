"""The wire, without HTTP: the body we send, what we make of what comes back, and
when a failed request may be sent again. Pure functions, tested by feeding them values.

The client does the I/O (sending, reading, downloading, inspecting images on a
worker thread). Nothing here trusts the server: anything malformed is an
:class:`APIError` or an :class:`ImageDecodeError`.

Reading is lenient where the API grows: answers, stream events and model
entries keep fields we do not know (``fields``, ``extra``), and a ``size``,
``quality`` or ``output_format`` the capabilities table does not know is
kept as it came, never refused (the official SDK's types lag the API).
"""

from __future__ import annotations

import collections
import email.utils
import json
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from traitlets import TraitError

from ..errors import (
    APIConnectionError,
    APIError,
    ImageDecodeError,
    ImagesError,
    InsufficientQuotaError,
    ParamsError,
    StreamIncompleteError,
    api_error_from,
)
from ..imaging import decode_base64
from ..models import LONE_SURROGATE, MODELS, shown, today
from ..params import ImageParams, RequestBody
from ..results import GeneratedImage, PartialImage, Usage, count_or_none
from .transport import MAX_EVENT_BYTES, too_large

__all__ = ["Answer", "AnswerImage", "EventParser", "EventStream", "ModelInfo", "StreamEvent", "answer_image",
           "api_error", "json_object", "malformed", "parse_answer", "parse_models", "request_body",
           "retry_after", "retry_delay", "retryable", "server_text", "stream_event", "stream_image",
           "with_provenance"]

Inspected = tuple[str, int, int]
"""What ``imaging.inspect`` found: format, width, height."""

MAX_RETRY_AFTER = 120.0
"""Seconds: a server asking for a longer wait is not retried."""

DONE = "[DONE]"
"""The data of the marker some servers send after the last event."""

LATEST_TIME = 32_503_680_000
"""Unix seconds of the year 3000: a later (or non-positive) ``created`` is unknown, since a
file name or a local date could not show it."""

MAX_PARTIAL_INDEX = 100
"""The API sends at most 3 partial images: a larger index is malformed."""


def request_body(params: ImageParams | Mapping[str, Any] | None, fields: Mapping[str, Any]) -> RequestBody:
    """The checked JSON body, or ParamsError: nothing bad is ever sent.

    A :class:`RequestBody` with no ``fields`` was checked where it was built and
    is used as it is; anything else is checked here, once.
    """
    if isinstance(params, RequestBody) and not fields:
        return params
    try:
        if isinstance(params, ImageParams):
            checked = params.copy(**fields) if fields else params
        else:
            checked = ImageParams(**{**(params or {}), **fields})
    except TraitError as error:
        raise ParamsError([str(error)]) from None
    return checked.to_request()


_LINE_END = re.compile(rb"[\r\n]")


class EventParser:
    """Incremental server-sent events: any chunking, LF/CRLF/CR, comments, multi-line data.

    ``feed(chunk)`` returns the ``(event, data)`` pairs completed so far;
    ``close()`` those a stream ending without a final blank line still holds.

    Linear in its input: each byte is looked at once for a line end (a line arriving
    in many small chunks is not scanned again for each; ``scanned`` counts the bytes
    looked at). An event, its data lines and the line still arriving together, may
    hold at most ``max_event_bytes``; past it, :class:`APIError`.
    """

    def __init__(self, max_event_bytes: int | None = MAX_EVENT_BYTES) -> None:
        self._buffer = bytearray()
        self._checked = 0  # bytes at the start of the buffer known to hold no line end
        self._event = ""
        self._data: list[str] = []
        self._held = 0  # bytes of the data lines of the event being read
        self.max_event_bytes = max_event_bytes
        self.scanned = 0
        """Bytes looked at for a line end, in all: about the bytes fed, however chunked."""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        self._buffer += chunk
        events: list[tuple[str, str]] = []
        start = 0
        while True:
            newline = self._find_newline(start)
            if newline is None:
                break
            end, after = newline
            line = self._buffer[start:end].decode("utf-8", "replace")
            size, start = end - start, after
            event = self._line(line, size)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        self._checked -= start
        if self.max_event_bytes is not None and self._held + len(self._buffer) > self.max_event_bytes:
            raise self._too_large()
        return events

    def _find_newline(self, start: int) -> tuple[int, int] | None:
        """Where the next line ends and the one after starts; None until a whole line is here.

        Only bytes not looked at before are scanned: ``_checked`` remembers how far the
        line still arriving is known to hold no CR or LF.
        """
        buffer = self._buffer
        begin = max(start, self._checked)
        # One pass for CR or LF: two finds would each scan ahead to their own byte, again
        # for every line of a CR-only stream.
        match = _LINE_END.search(buffer, begin)
        self.scanned += (match.end() if match else len(buffer)) - begin
        if match is None:
            self._checked = len(buffer)
            return None
        found = match.start()
        if buffer[found] == 0x0D:
            if found + 1 == len(buffer):
                self._checked = found  # a CR at the end may be the first half of CRLF: wait for more
                return None
            after = found + 2 if buffer[found + 1] == 0x0A else found + 1
        else:
            after = found + 1
        self._checked = after
        return found, after

    def _line(self, line: str, size: int) -> tuple[str, str] | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = (self._event or "message", "\n".join(self._data))
            self._event, self._data, self._held = "", [], 0
            return event
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._held += size
            if self.max_event_bytes is not None and self._held > self.max_event_bytes:
                raise self._too_large()
        return None

    def _too_large(self) -> APIError:
        return too_large(self.max_event_bytes or 0, "a stream event",
                         hint="check that base_url is an Images API server, or the proxy in "
                              "between; if it is, ask for a smaller size or fewer partial images")

    def close(self) -> list[tuple[str, str]]:
        """What a stream ending without a final blank line still holds."""
        return self.feed(b"\n\n") if (self._buffer or self._data) else []


def json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object; else an :class:`APIError` naming ``what`` was sent."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise APIError(f"the server sent a {what} that is not valid JSON", status=200) from None
    except RecursionError:  # "[[[[...": Python's decoder recurses per level
        raise APIError(f"the server sent a {what} that is not valid JSON (nested too deeply to "
                       "read)", status=200) from None
    if not isinstance(value, dict):
        raise APIError(f"the server sent a {what} that is not a JSON object", status=200)
    return value


def malformed(field: str, value: Any, wanted: str) -> APIError:
    """The error for a field of the server's answer holding the wrong kind of value."""
    return APIError(f"the server answered something malformed: {field} is {shown(value)}, "
                    f"not {wanted}", status=200)


def server_text(value: Any) -> str | None:
    """Text from a server, a lone surrogate (JSON's ``"\\ud800"``) replaced by U+FFFD; None
    for anything but text. A lone surrogate has no UTF-8 form: a widget message, a sidecar
    or a log line holding it would fail."""
    return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else None


def _seconds(value: Any) -> int:
    """A time the server sent, in Unix seconds; 0 (unknown) for anything that is not one."""
    seconds = count_or_none(value, LATEST_TIME)
    return seconds or 0


def _image_data(payload: Mapping[str, Any], where: str) -> bytes:
    """The decoded ``b64_json`` of ``payload``; an error naming ``where`` when it is not text."""
    b64 = payload.get("b64_json")
    if b64 is not None and not isinstance(b64, str):
        raise malformed(f"{where}b64_json", b64, "base64 text")
    return decode_base64(b64 or "")


def api_error(status: int, raw: bytes, request_id: str | None = None) -> APIError:
    """The error an HTTP error answer means: its JSON error body, or its text when not JSON."""
    try:
        body: Any = json.loads(raw)
    except ValueError:
        text = raw[:500].decode("utf-8", "replace").strip()
        body = {"error": {"message": text or f"HTTP {status}"}}
    return api_error_from(status, body if isinstance(body, Mapping) else None, request_id)


def with_provenance(error: ImagesError, body: Mapping[str, Any] | None) -> ImagesError:
    """``error``, its message saying so when it names a field the table knows only from
    third-party pages (``ModelSpec.provisional``) and where that came from."""
    if not isinstance(error, APIError) or not error.param or not body:
        return error
    spec = MODELS.get(str(body.get("model")))
    if spec is None or error.param not in spec.provisional:
        return error
    source = spec.sources.get(error.param)
    where = f"; it comes from {source.url}" if source else ""
    message = (f"{error.message} [{error.param} is provisional for {spec.name}: no official page "
               f"confirms it{where}]")
    return type(error)(message, status=error.status, type=error.type, code=error.code,
                       param=error.param, request_id=error.request_id)


@dataclass(frozen=True, repr=False)
class AnswerImage:
    """One entry of a non-streaming answer's ``data``, its bytes not yet inspected.

    ``data`` is the decoded ``b64_json``; None when the image is at ``url``
    and must be downloaded (at once: such URLs expire).
    """

    data: bytes | None
    url: str | None = None
    revised_prompt: str | None = None


# Fields whose values are images or decoded elsewhere: never kept in ``fields``.
_IMAGE_FIELDS = frozenset({"data", "b64_json", "usage", "created", "created_at", "type",
                           "partial_image_index"})


def _rest(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``payload`` besides images and what is decoded into attributes."""
    return {key: value for key, value in payload.items() if key not in _IMAGE_FIELDS}


@dataclass(frozen=True, repr=False)
class Answer:
    """A non-streaming answer: its images in order, usage, and ``created`` (0 when missing).

    ``fields`` holds every other top-level field as sent (``size``, ``quality``,
    ``background``, ``output_format``, and any the API adds), unchecked.
    """

    images: list[AnswerImage]
    usage: Usage | None = None
    created: int = 0
    fields: Mapping[str, Any] = field(default_factory=dict)


_B64_KEY = b'"b64_json"'
_JSON_SPACE = frozenset(b" \t\n\r")


class _Cut:
    """What stands for the ``index``-th ``b64_json`` value cut out of an answer's text."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _after_space(raw: bytes, at: int) -> int:
    while at < len(raw) and raw[at] in _JSON_SPACE:
        at += 1
    return at


def _images_cut_out(raw: bytes) -> tuple[dict[str, Any], dict[int, bytes]] | None:
    """``raw`` as ``json.loads`` reads it, each ``data[i].b64_json`` decoded from the bytes in
    place: ``({..., "data": [...]}, {i: image bytes})``; None when that is not sure to be so.

    ``json.loads`` of a photographic answer spends as long building the 3.4 MB string of
    its image as base64 decoding then takes. Here each value's extent is found in the
    bytes (base64 holds no quote nor backslash), the text around it parsed with ``NaN``
    in its place, and the value decoded from a memoryview. The parse must call for
    exactly as many constants as were put in, each ``NaN``, and each must come out at
    ``data[i].b64_json``: then every one stood where a string value was (what precedes
    it, ``"b64_json":``, is the same text in both), and ``json.loads`` reads the rest
    alike. A value with a backslash, one that is not strict base64, or anything else
    unexpected gives None: the caller reads ``raw`` the plain way (same answer, same errors).
    """
    if json.detect_encoding(raw) != "utf-8":
        return None
    cuts: list[tuple[int, int]] = []  # where each value's text starts and ends, quotes excluded
    at = raw.find(_B64_KEY)
    while at != -1:
        colon = _after_space(raw, at + len(_B64_KEY))
        quote = _after_space(raw, colon + 1)
        if raw[colon:colon + 1] != b":" or raw[quote:quote + 1] != b'"':
            at = raw.find(_B64_KEY, at + 1)  # not a key with a string value: parsed as it is
            continue
        start = quote + 1
        end = raw.find(b'"', start)
        if end == -1 or raw.find(b"\\", start, end) != -1:
            return None
        cuts.append((start, end))
        at = raw.find(_B64_KEY, end + 1)
    if not cuts:
        return None
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    last = 0
    for start, end in cuts:
        pieces += (view[last:start - 1], b"NaN")
        last = end + 1
    pieces.append(view[last:])
    constants: list[str] = []

    def constant(name: str) -> _Cut:
        constants.append(name)
        return _Cut(len(constants) - 1)

    try:
        answer = json.loads(b"".join(pieces), parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    if constants != ["NaN"] * len(cuts) or not isinstance(answer, dict) \
            or not isinstance(items := answer.get("data"), list):
        return None
    placed = {index: value.index for index, item in enumerate(items)
              if isinstance(item, dict) and isinstance(value := item.get("b64_json"), _Cut)}
    if sorted(placed.values()) != list(range(len(cuts))):  # one elsewhere: nested, or a duplicate key
        return None
    images = {}
    for index, cut in placed.items():
        start, end = cuts[cut]
        try:
            images[index] = decode_base64(view[start:end])
        except ImageDecodeError:
            return None  # the plain way says what is wrong with it
    return answer, images


def parse_answer(raw: bytes) -> Answer:
    """Read the body of a non-streaming answer.

    Raises
    ------
    APIError
        When it is not a JSON object, or its ``data`` holds no images or a
        malformed entry (the message names the field and what came).
    ImageDecodeError
        When an entry's ``b64_json`` is not valid base64.
    """
    cut_out = _images_cut_out(raw)
    answer, decoded = cut_out if cut_out is not None else (json_object(raw, "response"), {})
    items = answer.get("data")
    if items is None or items == []:
        raise APIError("the server's answer holds no images", status=200)
    if not isinstance(items, list):
        raise malformed("data", items, "a list of images")
    images = []
    for index, item in enumerate(items):
        where = f"data[{index}]"
        if not isinstance(item, dict):
            raise malformed(where, item, "an image object (b64_json or url)")
        # A revised prompt of the wrong type is dropped: the image itself is fine.
        revised = server_text(item.get("revised_prompt"))
        url = item.get("url") if not item.get("b64_json") else None
        if url:
            if not isinstance(url, str):
                raise malformed(f"{where}.url", url, "a URL")
            images.append(AnswerImage(None, url, revised))
        else:
            data = decoded[index] if index in decoded else _image_data(item, f"{where}.")
            images.append(AnswerImage(data, None, revised))
    # A malformed usage or created is unknown (None, 0): never a reason to lose the images.
    return Answer(images, Usage.from_api(answer.get("usage")), _seconds(answer.get("created")),
                  _rest(answer))


@dataclass(frozen=True, repr=False)
class StreamEvent:
    """One image event of a stream, its bytes not yet inspected.

    ``final`` marks the ``completed`` event; else it is partial image
    ``partial_index``. ``created`` is 0 when the event carries no time.
    ``fields`` holds the event's other fields as sent (``size``, ``quality``,
    ``output_format``, ..., and any the API adds), unchecked.
    """

    final: bool
    data: bytes
    partial_index: int = 0
    usage: Usage | None = None
    created: int = 0
    fields: Mapping[str, Any] = field(default_factory=dict)


def stream_event(kind: str, data: str, partials_seen: int = 0) -> StreamEvent | None:
    """The image event ``(kind, data)`` from :class:`EventParser` holds; None for ``[DONE]``.

    The payload's ``type`` wins over the SSE event name. A partial image whose
    ``partial_image_index`` is malformed is still shown, as number
    ``partials_seen`` (how many came before it); a malformed ``usage`` or
    ``created_at`` is unknown (None, 0).

    Raises
    ------
    APIError
        For an error payload (the matching subclass), an unknown event type, or a
        ``type`` or ``b64_json`` of the wrong kind (the message names it and what came).
    ImageDecodeError
        When its ``b64_json`` is not valid base64.
    """
    if data.strip() == DONE:
        return None
    payload = json_object(data, "stream event")
    if "error" in payload:
        raise api_error_from(None, payload)
    named = payload.get("type")
    if named is not None and not isinstance(named, str):
        raise malformed("type", named, "an event type such as 'image_generation.completed'")
    kind = named or kind
    if kind.endswith("partial_image"):
        index = count_or_none(payload.get("partial_image_index"), MAX_PARTIAL_INDEX)
        return StreamEvent(final=False, data=_image_data(payload, ""),
                           partial_index=partials_seen if index is None else index,
                           created=_seconds(payload.get("created_at")), fields=_rest(payload))
    if kind.endswith("completed"):
        return StreamEvent(final=True, data=_image_data(payload, ""),
                           usage=Usage.from_api(payload.get("usage")),
                           created=_seconds(payload.get("created_at")), fields=_rest(payload))
    raise APIError(f"the server sent an unknown stream event {shown(kind)}", status=200)


class EventStream:
    """The image events of one stream, from its body's chunks; no I/O.

    ``feed()`` each chunk as it arrives (``b""`` at the end of the body) and take
    ``next()`` until it returns None, meaning it needs more bytes. The events are
    decoded one at a time, so an error later in a chunk never hides the partial
    image before it. An event past ``max_event_bytes`` is an :class:`APIError`.
    """

    def __init__(self, max_event_bytes: int | None = MAX_EVENT_BYTES) -> None:
        self._parser = EventParser(max_event_bytes)
        self._pending: collections.deque[tuple[str, str]] = collections.deque()
        self._ended = False
        self._partials = 0

    def feed(self, chunk: bytes) -> None:
        if not self._ended:
            self._ended = not chunk
            self._pending.extend(self._parser.feed(chunk) if chunk else self._parser.close())

    def next(self) -> StreamEvent | None:
        """The next event; None when more bytes are needed.

        Raises
        ------
        StreamIncompleteError
            The body ended, or sent ``[DONE]``, before a ``completed`` event
            (the caller stops at ``completed``). Its ``last_partial`` is None:
            the caller knows the last partial image and sets it.
        APIError, ImageDecodeError
            As :func:`stream_event`.
        """
        if not self._pending:
            if self._ended:
                raise StreamIncompleteError("the stream ended before its completed event")
            return None
        event = stream_event(*self._pending.popleft(), partials_seen=self._partials)
        if event is None:
            raise StreamIncompleteError("the stream ended before its completed event")
        self._partials += not event.final
        return event


def answer_image(answer: Answer, offset: int, data: bytes, inspected: Inspected,
                 body: Mapping[str, Any], first_index: int,
                 request_id: str | None = None) -> GeneratedImage:
    """The result for ``answer.images[offset]``, its (downloaded) bytes ``data`` checked."""
    item = answer.images[offset]
    fmt, width, height = inspected
    return GeneratedImage(data=data, format=fmt, width=width, height=height,
                          image_index=first_index + offset, revised_prompt=item.revised_prompt,
                          usage=answer.usage if len(answer.images) == 1 else None, params=body,
                          created=answer.created or int(time.time()), url=item.url,
                          request_id=request_id, resolved=_settings(answer.fields))


def stream_image(event: StreamEvent, inspected: Inspected, body: Mapping[str, Any],
                 image_index: int, request_id: str | None = None) -> PartialImage | GeneratedImage:
    """The result for a stream event, its bytes checked; a final one records ``n`` as 1."""
    fmt, width, height = inspected
    if not event.final:
        return PartialImage(data=event.data, format=fmt, width=width, height=height,
                            image_index=image_index, partial_index=event.partial_index)
    return GeneratedImage(data=event.data, format=fmt, width=width, height=height,
                          image_index=image_index, usage=event.usage, params={**body, "n": 1},
                          created=event.created or int(time.time()), request_id=request_id,
                          resolved=_settings(event.fields))


def _settings(fields: Mapping[str, Any]) -> dict[str, str]:
    """The settings the server says it used (``auto`` resolved), where they are plain text."""
    return {name: text for name in ("size", "quality", "background", "output_format")
            if (text := server_text(fields.get(name))) is not None and len(text) <= 40}


# -- the models a server offers -------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """One model of ``GET /v1/models``.

    Attributes
    ----------
    id : str
        The name to send as ``model``.
    created : int
        Unix seconds (0 when the server sent none).
    owned_by : str
        ``"system"`` for OpenAI's own models.
    shutdown_date : datetime.date or None
        When the API stops (or stopped) serving it, if the server says.
    extra : dict
        Every other field, as sent: the list grows fields before our types do.
    """

    id: str
    created: int = 0
    owned_by: str = ""
    shutdown_date: date | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def known(self) -> bool:
        """Whether the capabilities table knows this model (else: ``register_model``)."""
        return self.id in MODELS

    def retired(self, on: date | None = None) -> bool:
        """Whether ``shutdown_date`` has come by ``on`` (default: :func:`today`)."""
        return self.shutdown_date is not None and (on or today()) >= self.shutdown_date


_MODEL_KEYS = frozenset({"id", "object", "created", "owned_by", "shutdown_date"})


def _day(value: Any) -> date | None:
    """A ``shutdown_date``: ``YYYY-MM-DD`` (or an ISO time), or Unix seconds; None otherwise."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def parse_models(raw: bytes) -> list[ModelInfo]:
    """Read the body of ``GET /v1/models``: entries without a string ``id`` are skipped.

    Raises
    ------
    APIError
        When it is not a JSON object with a ``data`` list.
    """
    answer = json_object(raw, "model list")
    items = answer.get("data")
    if not isinstance(items, list):
        raise APIError("the server's model list holds no data list", status=200)
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            continue
        owned_by = item.get("owned_by")
        models.append(ModelInfo(
            id=item["id"], created=_seconds(item.get("created")),
            owned_by=owned_by if isinstance(owned_by, str) else "",
            shutdown_date=_day(item.get("shutdown_date")),
            extra={key: value for key, value in item.items() if key not in _MODEL_KEYS}))
    return models


# -- retries, as the official SDK does them ------------------------------------------------

RETRY_STATUSES = frozenset({408, 409, 429})


def retryable(error: ImagesError) -> bool:
    """Whether a request that failed so may be sent again: 408, 409, 429 (but not
    ``insufficient_quota``), 5xx and connection errors."""
    if isinstance(error, InsufficientQuotaError):
        return False
    if isinstance(error, APIError):
        status = error.status or 0
        return status in RETRY_STATUSES or status >= 500
    return isinstance(error, APIConnectionError)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for, in seconds: ``retry-after-ms``, then ``retry-after``
    (seconds or an HTTP date); None when it asked for none we can use."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms) / 1000
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_delay(attempt: int, headers: Mapping[str, str] | None = None) -> float | None:
    """Seconds to wait before retry ``attempt`` (0-based); None means do not retry.

    ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date), are
    honoured up to 120 s; a longer wait is not retried. Otherwise
    ``min(0.5 * 2**attempt, 8)`` seconds, less up to a quarter of jitter.
    """
    asked = retry_after(headers) if headers is not None else None
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER else None
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())
