"""What the server's answers mean: images answers, stream events and error bodies, read
without HTTP. Pure functions, tested by feeding them values.

Nothing here trusts the server: anything malformed is an :class:`APIError` or an
:class:`ImageDecodeError`. Reading is lenient where the API grows: answers and
stream events keep fields we do not know (``fields``), and a ``size``,
``quality`` or ``output_format`` the capabilities table does not know is kept as
it came, never refused (the official SDK's types lag the API).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import APIError, ImageDecodeError, ImagesError, api_error_from
from ..imaging import decode_base64
from ..models import LONE_SURROGATE, MODELS, shown
from ..results import GeneratedImage, PartialImage, Usage, count_or_none

__all__ = ["DONE", "Answer", "AnswerImage", "StreamEvent", "answer_image", "api_error", "json_object",
           "malformed", "parse_answer", "server_text", "stream_event", "stream_image", "unix_seconds",
           "with_provenance"]

Inspected = tuple[str, int, int]
"""What ``imaging.inspect`` found: format, width, height."""

DONE = "[DONE]"
"""The data of the marker some servers send after the last event."""

LATEST_TIME = 32_503_680_000
"""Unix seconds of the year 3000: a later (or non-positive) ``created`` is unknown, since a
file name or a local date could not show it."""

MAX_PARTIAL_INDEX = 100
"""The API sends at most 3 partial images: a larger index is malformed."""


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


def unix_seconds(value: Any) -> int:
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


def _cut_out(raw: bytes) -> tuple[Any, list[memoryview]] | None:
    """``raw`` as ``json.loads`` reads it, each ``"b64_json"`` string value left unparsed: a
    :class:`_Cut` in its place, ``views[cut.index]`` its text in ``raw``; None when there is
    none or that is not sure to be so.

    ``json.loads`` of a photographic answer spends as long building the 3.4 MB string of
    its image as base64 decoding then takes, and holds a second copy of it. Here each
    value's extent is found in the bytes (base64 holds no quote nor backslash), the text
    around it parsed with ``NaN`` in its place. The parse must call for exactly as many
    constants as were put in, each ``NaN``: then every one stood where a string value was
    (what precedes it, ``"b64_json":``, is the same text in both), and ``json.loads``
    reads the rest alike. The caller checks each :class:`_Cut` is where it expects one.
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
        parsed = json.loads(b"".join(pieces), parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    if constants != ["NaN"] * len(cuts):
        return None
    return parsed, [view[start:end] for start, end in cuts]


def _images_cut_out(raw: bytes) -> tuple[dict[str, Any], dict[int, bytes]] | None:
    """``raw`` read by :func:`_cut_out`, each ``data[i].b64_json`` decoded from the bytes in
    place: ``({..., "data": [...]}, {i: image bytes})``; None when that is not sure to be so.

    Each cut must come out at ``data[i].b64_json``, once. A value that is not strict
    base64, or anything else unexpected, gives None: the caller reads ``raw`` the plain
    way (same answer, same errors).
    """
    cut_out = _cut_out(raw)
    if cut_out is None:
        return None
    answer, views = cut_out
    if not isinstance(answer, dict) or not isinstance(items := answer.get("data"), list):
        return None
    placed = {index: value.index for index, item in enumerate(items)
              if isinstance(item, dict) and isinstance(value := item.get("b64_json"), _Cut)}
    if sorted(placed.values()) != list(range(len(views))):  # one elsewhere: nested, or a duplicate key
        return None
    images = {}
    for index, cut in placed.items():
        try:
            images[index] = decode_base64(views[cut])
        except ImageDecodeError:
            return None  # the plain way says what is wrong with it
    return answer, images


def _event_cut_out(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    """A stream event's JSON read by :func:`_cut_out`, its one top-level ``b64_json`` decoded
    from the bytes in place: ``(payload, image bytes)``; None when that is not sure to be so
    (the caller reads it the plain way)."""
    cut_out = _cut_out(raw)
    if cut_out is None:
        return None
    payload, (view, *others) = cut_out
    if others or not isinstance(payload, dict) or not isinstance(payload.get("b64_json"), _Cut):
        return None
    try:
        return payload, decode_base64(view)
    except ImageDecodeError:
        return None


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
    return Answer(images, Usage.from_api(answer.get("usage")), unix_seconds(answer.get("created")),
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


def stream_event(kind: str, data: bytes | str, partials_seen: int = 0) -> StreamEvent | None:
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
    done = DONE.encode() if isinstance(data, bytes) else DONE
    if len(data) <= 2 * len(DONE) and data.strip() == done:  # short: no copy of an image stripped
        return None
    # Bytes: the image decoded from them, no string of its base64 made (:func:`_cut_out`).
    cut_out = _event_cut_out(data) if isinstance(data, bytes) else None
    if cut_out is None:
        # The plain way: text that is not UTF-8 is replaced, as in any text from a server.
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        payload, image = json_object(text, "stream event"), None
    else:
        payload, image = cut_out
    if "error" in payload:
        raise api_error_from(None, payload)
    named = payload.get("type")
    if named is not None and not isinstance(named, str):
        raise malformed("type", named, "an event type such as 'image_generation.completed'")
    kind = named or kind
    if kind.endswith("partial_image"):
        index = count_or_none(payload.get("partial_image_index"), MAX_PARTIAL_INDEX)
        return StreamEvent(final=False, data=image if image is not None else _image_data(payload, ""),
                           partial_index=partials_seen if index is None else index,
                           created=unix_seconds(payload.get("created_at")), fields=_rest(payload))
    if kind.endswith("completed"):
        return StreamEvent(final=True, data=image if image is not None else _image_data(payload, ""),
                           usage=Usage.from_api(payload.get("usage")),
                           created=unix_seconds(payload.get("created_at")), fields=_rest(payload))
    raise APIError(f"the server sent an unknown stream event {shown(kind)}", status=200)


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

