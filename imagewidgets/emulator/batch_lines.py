"""A batch's lines: the input file checked line by line, and each line answered as a request is.

A line is ``{"custom_id", "method": "POST", "url", "body"}``; its body is
answered by the code that answers a direct request (:func:`.validation.validate`,
:func:`.answers.images_answer`, for edits :func:`.uploads.check_files` and
:class:`.edit_render.EditPainter`), never by a copy of it. Answers carry their
images as ``b64_json``; a line asking to stream is refused.

Choices where the API leaves room (see the report of issue 26 for sources):

- Only the GPT image models take batches (those reporting ``usage`` in the
  table); DALL·E lines are refused when the file is checked, as are files
  mixing models (a batch has one ``model``, the SDK's ``types/batch.py``).
- An edit's images travel in a JSON line as the API's JSON edits send them:
  ``"images": [{"image_url": "data:image/png;base64,..."} | {"file_id": "file-..."}]``
  and ``"mask": {...}`` (the SDK's ``ImageInputReferenceParam``). A ``file_id``
  names a file uploaded to this emulator; an ``http(s)`` URL is refused: the
  emulator fetches nothing from the network.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..models import MODELS, default_model_for
from .answers import Drawing, Resolved, images_answer
from .edit_render import EditPainter
from .faults import NO_FAULT
from .files import FileStore
from .state import EmulatorState
from .uploads import check_files
from .validation import Refusal, check_content, validate

__all__ = ["MAX_LINES", "Line", "answer_line", "read_lines"]

MAX_LINES = 50_000
"""Requests one input file may hold (the SDK's ``batch_create_params.py``)."""
_MAX_ERRORS = 100  # errors.data of a failed batch: enough to fix a file, bounded for a huge one
_DATA_URL = re.compile(r"data:image/[a-z+.-]+;base64,(.*)", re.DOTALL)


@dataclass(frozen=True)
class Line:
    """One request of an input file: its number (from 1), custom id and body."""

    number: int
    custom_id: str
    body: dict[str, Any]


def _error(number: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "line": number, "message": message, "param": param}


def _checked(number: int, raw: bytes, endpoint: str) -> Line | dict[str, Any]:
    """The line, or the error that says what is wrong with it."""
    try:
        item = json.loads(raw)
    except (ValueError, RecursionError):
        return _error(number, "invalid_json_line", "This line is not parseable as valid JSON.")
    if not isinstance(item, dict):
        return _error(number, "invalid_json_line", "This line is not a JSON object.")
    for key in ("custom_id", "method", "url", "body"):
        if key not in item:
            return _error(number, "missing_required_parameter",
                          f"Missing required parameter: '{key}'.", key)
    if not isinstance(item["custom_id"], str) or not item["custom_id"]:
        return _error(number, "invalid_value", "'custom_id' must be a non-empty string.",
                      "custom_id")
    if item["method"] != "POST":
        return _error(number, "invalid_value", f"Invalid 'method': {str(item['method'])[:20]!r}; "
                                               f"only 'POST' is supported.", "method")
    if item["url"] != endpoint:
        return _error(number, "invalid_url", f"The URL provided for this request "
                                             f"({str(item['url'])[:100]!r}) does not match the "
                                             f"batch endpoint ({endpoint}).", "url")
    if not isinstance(item["body"], dict):
        return _error(number, "invalid_value", "'body' must be a JSON object.", "body")
    return Line(number, item["custom_id"], item["body"])


def _model_of(body: dict[str, Any]) -> str:
    named = body.get("model", default_model_for(body))
    return named if isinstance(named, str) else repr(named)


def read_lines(path: Path, endpoint: str) -> tuple[list[dict[str, Any]], int, str | None]:
    """Check an input file line by line: its errors (each naming its line), its count, its model.

    The lines are read one at a time; only their custom ids are kept.
    """
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    count, model = 0, None
    with path.open("rb") as source:
        for number, raw in enumerate(source, 1):
            if not raw.strip():
                continue
            count += 1
            found = _checked(number, raw, endpoint)
            if isinstance(found, dict):
                errors.append(found)
            elif found.custom_id in seen:
                errors.append(_error(number, "duplicate_custom_id", f"The custom_id "
                                     f"{found.custom_id[:64]!r} is used by an earlier line; "
                                     f"each line needs its own.", "custom_id"))
            else:
                seen.add(found.custom_id)
                named = _model_of(found.body)
                spec = MODELS.get(named)
                if spec is not None and not spec.reports_usage:
                    errors.append(_error(number, "model_not_supported", f"The model {named!r} "
                                         f"does not take batches; the GPT image models do.",
                                         "body.model"))
                elif model is not None and named != model:
                    errors.append(_error(number, "mismatched_model", f"This line asks for "
                                         f"{named[:64]!r}, an earlier one for {model!r}: one "
                                         f"batch takes one model (split the file by model).",
                                         "body.model"))
                model = model or named
            if len(errors) >= _MAX_ERRORS:
                break
    if count == 0 and not errors:
        errors.append(_error(1, "empty_file", "The input file holds no requests."))
    if count > MAX_LINES:
        errors.append(_error(MAX_LINES + 1, "too_many_requests", f"The input file holds more than "
                             f"{MAX_LINES:,} requests; split it over several batches."))
    return errors, count, model


def each_line(path: Path, endpoint: str) -> Iterator[Line]:
    """The lines of a file :func:`read_lines` found good, one at a time."""
    with path.open("rb") as source:
        for number, raw in enumerate(source, 1):
            if raw.strip():
                found = _checked(number, raw, endpoint)
                assert isinstance(found, Line)  # checked before the batch ran
                yield found


def _reference(files: FileStore, ref: Any, label: str) -> UploadFile:
    """An edit's image named in JSON (``image_url`` as a data URL, or ``file_id``), as a file."""
    if isinstance(ref, dict) and isinstance(ref.get("file_id"), str):
        stored = files.get(ref["file_id"])
        if stored is None:
            raise Refusal(400, f"Invalid '{label}.file_id': no such file "
                               f"{ref['file_id'][:100]!r}.", param=label, code="invalid_value")
        data = stored.path.read_bytes()
    elif isinstance(ref, dict) and isinstance(ref.get("image_url"), str):
        found = _DATA_URL.fullmatch(ref["image_url"])
        if found is None:
            raise Refusal(400, f"Invalid '{label}.image_url': the emulator takes base64 data URLs "
                               f"(data:image/png;base64,...) and fetches nothing from the "
                               f"network.", param=label, code="invalid_value")
        try:
            data = base64.b64decode(found.group(1), validate=True)
        except (binascii.Error, ValueError):
            raise Refusal(400, f"Invalid '{label}.image_url': the data URL is not valid base64.",
                          param=label, code="invalid_value") from None
    else:
        raise Refusal(400, f"Invalid '{label}': expected an object with 'image_url' or "
                           f"'file_id'.", param=label, code="invalid_type")
    return UploadFile(io.BytesIO(data), size=len(data), filename=label)


async def _edit(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    refs = body.pop("images", None)
    if not isinstance(refs, list) or not refs:
        raise Refusal(400, "Missing required parameter: 'images' (a list of image references).",
                      param="images", code="missing_required_parameter")
    mask = body.pop("mask", None)
    spec, checked = validate(body, as_of=state.as_of, endpoint="edits")
    images = [_reference(state.file_store, ref, f"images[{index}]")
              for index, ref in enumerate(refs)]
    masked = None if mask is None else _reference(state.file_store, mask, "mask")
    inputs = await run_in_threadpool(check_files, spec, checked, images, masked, None, True)
    check_content(spec, checked["prompt"], state.refuse_word, False)
    resolved = replace(Resolved.of(spec, checked), photographic=state.photographic)
    if checked.get("size") in (None, "auto"):
        resolved = replace(resolved, size=inputs.size)
    painter = EditPainter(inputs, resolved, checked["prompt"], spec.name, 0)
    return await images_answer(spec, checked, resolved, painter, NO_FAULT, inputs.image_tokens)


async def answer_line(state: EmulatorState, endpoint: str,
                      body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A line's status and body: an ImagesResponse, or the API's error object."""
    try:
        if body.get("stream"):
            raise Refusal(400, "Streaming is not supported in a batch: send 'stream' false or "
                               "leave it out.", param="stream", code="unsupported_value")
        if endpoint.endswith("/edits"):
            return 200, await _edit(state, dict(body))
        spec, fields = validate(body, as_of=state.as_of)
        check_content(spec, fields["prompt"], state.refuse_word, False)
        resolved = replace(Resolved.of(spec, fields), photographic=state.photographic)
        painter = Drawing(resolved, fields["prompt"], spec.name, 0)
        return 200, await images_answer(spec, fields, resolved, painter, NO_FAULT)
    except Refusal as refusal:
        return refusal.status, refusal.body()
