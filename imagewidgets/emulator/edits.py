"""``POST /v1/images/edits``: a multipart edit, parsed within bounds and answered as the API answers.

The body is bounded before it is parsed (:class:`.guard.Guard`: the key first,
then :data:`.guard.BODY_LIMITS`, 256 MiB here by default); Starlette's form
parser (python-multipart) then bounds the parts: at most :data:`MAX_FILES`
files, :data:`MAX_FIELDS` fields, and :data:`MAX_FIELD_BYTES` in one field
(files go to temporary files, not memory).

Fields arrive as text and are read as the official SDK sends them: integers
as digits, booleans as ``true``/``false``, a list of images as ``image[]``
(one image as ``image``), an object as ``name[key]`` (``svg[model]``). Then
they are checked as a generation's are (:func:`.validation.validate`, at the
``edits`` endpoint), the files by :mod:`.uploads`, and the picture drawn by
:mod:`.edit_render`. Faults apply as to generations.

Choices where the API leaves room: a JSON body is refused (the official SDK
sends multipart; third-party pages speak of JSON edits with ``image_url``);
the mask and markup count no input tokens.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..models import MODELS, Flag, IntRange, default_model_for
from .answers import (
    IMAGE_INDEX_HEADER,
    answer,
    fault_first,
    header_number,
    resolved_for,
    take_fault,
)
from .edit_render import EditPainter
from .faults import NO_FAULT
from .request_log import log_form, sniffed
from .state import EmulatorState
from .uploads import FILE_FIELDS, check_files
from .validation import Refusal, check_content, validate

__all__ = ["MAX_FIELDS", "MAX_FIELD_BYTES", "MAX_FILES", "edits"]

MAX_FILES = 18
"""Files one edit may send: 16 images, a mask and a markup (the table's most)."""
MAX_FIELDS = 64
"""Text fields one edit may send: every field of the table, with room for ``svg[...]`` ones."""
MAX_FIELD_BYTES = 256 << 10
"""Bytes of one text field: a 32,000-character prompt is at most 128 KB of UTF-8."""
_NESTED = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])+)")


def _fold(fields: dict[str, Any], name: str, value: str) -> None:
    """Put ``value`` at ``name``; ``svg[reasoning][effort]`` into ``fields["svg"]["reasoning"]``."""
    found = _NESTED.fullmatch(name)
    if found is None:
        fields[name] = value
        return
    keys = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
    target = fields
    for key in keys[:-1]:
        inner = target.setdefault(key, {})
        if not isinstance(inner, dict):
            raise Refusal(400, f"Invalid value for '{keys[0]}': it was sent both as text and as "
                               f"an object.", param=keys[0], code="invalid_type")
        target = inner
    target[keys[-1]] = value


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    """Form text read as the model's field kinds say: integers and booleans from their text."""
    spec = MODELS.get(str(fields.get("model") or default_model_for(fields)))
    if spec is None:
        return fields  # validate refuses the model
    typed = dict(fields)
    for name, value in fields.items():
        if not isinstance(value, str) or name not in spec.fields_for("edits"):
            continue
        kind = spec.kind(name)
        if isinstance(kind, IntRange):
            if not re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
                raise Refusal(400, f"Invalid type for '{name}': expected an integer, but got a "
                                   f"string ({value[:40]!r}) instead.", param=name,
                              code="invalid_type")
            typed[name] = int(value)
        elif isinstance(kind, Flag):
            if value.strip().lower() not in ("true", "false"):
                raise Refusal(400, f"Invalid type for '{name}': expected a boolean (true or "
                                   f"false), but got {value[:40]!r} instead.", param=name,
                              code="invalid_type")
            typed[name] = value.strip().lower() == "true"
    return typed


async def _files_preview(form: FormData) -> list[dict[str, Any]]:
    """What the request log keeps of each file: field, name, bytes, the format its bytes say."""
    kept = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            head = await value.read(16)
            await value.seek(0)
            kept.append({"field": name[:100], "filename": (value.filename or "")[:200],
                         "bytes": value.size, "format": sniffed(head)})
    return kept


def _split(form: FormData) -> tuple[dict[str, Any], list[UploadFile], dict[str, UploadFile], bool]:
    """Text fields (folded), the images in order, the other files by field, whether a list came."""
    fields: dict[str, Any] = {}
    images: list[UploadFile] = []
    others: dict[str, UploadFile] = {}
    listed = False
    for name, value in form.multi_items():
        role = "image" if name == "image[]" else name
        if isinstance(value, UploadFile):
            if role not in FILE_FIELDS:
                raise Refusal(400, f"Unknown parameter: '{name}'.", param=name,
                              code="unknown_parameter")
            if role == "image":
                images.append(value)
                listed = listed or name == "image[]"
            else:
                others[role] = value
        elif role in FILE_FIELDS:
            raise Refusal(400, f"Invalid file '{name}': expected a file upload, but got text "
                               f"instead.", param=role, code="invalid_type")
        else:
            _fold(fields, name, value)
    return fields, images, others, listed or len(images) > 1


async def edits(request: Request) -> Response:
    """``POST /v1/images/edits``."""
    state: EmulatorState = request.app.state.emulator
    if request.headers.get("content-type", "").startswith("application/json"):
        await request.body()  # read (bounded by the guard), so the connection stays usable
        log_form(state, request.scope, {}, [], None)
        return Refusal(400, "The emulator takes edits as multipart/form-data, as the official "
                            "SDK sends them: image files, not JSON with image_url or file_id.",
                       code="invalid_request").response()
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS,
                                  max_part_size=MAX_FIELD_BYTES)
    except HTTPException as error:  # python-multipart's limits and malformed bodies
        log_form(state, request.scope, {}, [], None)
        return Refusal(400, f"Invalid multipart body: {error.detail}", code="invalid_multipart").response()
    try:
        return await _answer(state, request, form)
    finally:
        await form.close()


async def _answer(state: EmulatorState, request: Request, form: FormData) -> Response:
    texts = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    files = await _files_preview(form)
    try:
        taken = take_fault(state, request)
    except ValueError as error:
        log_form(state, request.scope, texts, files, None)
        return Refusal(400, str(error), param="x-emulator-fault").response()
    log_form(state, request.scope, texts, files, taken.name if taken else None)
    fault = taken or NO_FAULT
    try:
        await fault_first(fault)
        fields, images, others, listed = _split(form)
        spec, checked = validate(_typed(fields), as_of=state.as_of, endpoint="edits")
        inputs = await run_in_threadpool(check_files, spec, checked, images, others.get("mask"),
                                         others.get("markup"), listed)
        check_content(spec, checked["prompt"], state.refuse_word, fault.refuses_content)
    except Refusal as refusal:
        return refusal.response()
    resolved = resolved_for(request, state, spec, checked)
    if checked.get("size") in (None, "auto"):
        resolved = dataclasses.replace(resolved, size=inputs.size)  # the first image's size
    painter = EditPainter(inputs, resolved, checked["prompt"], spec.name,
                          header_number(request, IMAGE_INDEX_HEADER))
    return await answer(state, request, spec, checked, resolved, painter, fault, "image_edit",
                        inputs.image_tokens)
