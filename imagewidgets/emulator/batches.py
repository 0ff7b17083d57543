"""``/v1/batches`` as the API answers it: create, retrieve, list, cancel; each batch run in the background.

A batch is checked (``validating``: every line of its input file, errors
naming line numbers make it ``failed``), then run line by line
(``in_progress``) in a thread of its own, each line answered as a direct
request is (:mod:`.batch_lines`), at ``EmulatorState.batch_line_seconds`` a
line (0 by default: quick). Successful lines go to its output file, the
others to its error file, both in the API's line format, written as they
come; then ``finalizing`` and ``completed``. The Batch object's fields are
those of the official SDK's ``types/batch.py``.

The request log records the HTTP requests (``POST /v1/batches``, the
``GET``\\ s polling it); a batch's lines are not HTTP requests and are never
logged, nor counted in ``request_count``.

Choices where the API leaves room:

- Lines not answered when a batch expires (the ``batch_expired`` fault) or is
  cancelled go to the error file with ``response`` null and ``error.code``
  ``batch_expired`` or ``batch_cancelled``; they count as ``failed``, so
  ``completed + failed == total`` once a batch has ended.
- Cancelling a batch that has ended is a 400 naming its status.
- ``output_file_id`` and ``error_file_id`` are set only when the file has a
  line; ``output_expires_after`` sets their ``expires_at``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .batch_lines import Line, answer_line, each_line, read_lines
from .faults import BATCH_FAULTS, Fault, parse_fault_header
from .files import EXPIRY_SECONDS, StoredFile, new_id
from .request_log import log_json
from .state import EmulatorState
from .validation import Refusal

__all__ = ["ENDPOINTS", "BatchRun", "cancel_batch", "create_batch", "list_batches",
           "retrieve_batch"]

ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
"""The batch endpoints the emulator serves (the API takes others, for text)."""
_WINDOW = 24 * 3600
_ENDED = ("failed", "completed", "expired", "cancelled")


@dataclass
class BatchRun:
    """One batch: its Batch object (changed only under the state's lock) and its runner."""

    wire: dict[str, Any]
    source: StoredFile
    fault: Fault | None
    output_expires: int | None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def join(self) -> None:
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=30)  # a bound for a line still drawing, not a wait


def _now() -> int:
    return int(time.time())


def _refuse(param: str, message: str, code: str = "invalid_value") -> Refusal:
    return Refusal(400, message, param=param, code=code)


def _checked_body(state: EmulatorState, body: Any) -> tuple[StoredFile, dict[str, Any]]:
    """The input file and the create request's fields, or the API's refusal."""
    if not isinstance(body, dict):
        raise _refuse("body", "Invalid body: expected a JSON object.", "invalid_type")
    for key in body:
        if key not in ("input_file_id", "endpoint", "completion_window", "metadata",
                       "output_expires_after"):
            raise _refuse(str(key)[:64], f"Unknown parameter: '{str(key)[:64]}'.",
                          "unknown_parameter")
    for key in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(key), str):
            raise _refuse(key, f"Missing required parameter: '{key}'.", "missing_required_parameter")
    if body["endpoint"] not in ENDPOINTS:
        raise _refuse("endpoint", f"Invalid value for 'endpoint': {body['endpoint'][:64]!r}; the "
                                  f"emulator's batches take {' or '.join(ENDPOINTS)}.")
    if body["completion_window"] != "24h":
        raise _refuse("completion_window", f"Invalid value for 'completion_window': "
                                           f"{body['completion_window'][:20]!r}; only '24h' is "
                                           f"supported.")
    metadata = body.get("metadata")
    if metadata is not None and not (
            isinstance(metadata, dict) and len(metadata) <= 16
            and all(isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512
                    for k, v in metadata.items())):
        raise _refuse("metadata", "Invalid 'metadata': at most 16 pairs, keys of at most 64 "
                                  "characters, values strings of at most 512.")
    expires = body.get("output_expires_after")
    if expires is not None and not (
            isinstance(expires, dict) and expires.get("anchor") == "created_at"
            and type(expires.get("seconds")) is int
            and EXPIRY_SECONDS[0] <= expires["seconds"] <= EXPIRY_SECONDS[1]):
        raise _refuse("output_expires_after", "Invalid 'output_expires_after': expected "
                      "{'anchor': 'created_at', 'seconds': 3600 (1 hour) to 2592000 (30 days)}.")
    source = state.file_store.get(body["input_file_id"])
    if source is None:
        raise _refuse("input_file_id", f"Invalid 'input_file_id': no such file "
                                       f"{body['input_file_id'][:100]!r}.")
    if source.purpose != "batch":
        raise _refuse("input_file_id", f"Invalid 'input_file_id': the file's purpose is "
                                       f"{source.purpose!r}; a batch input file is uploaded with "
                                       f"purpose 'batch'.")
    return source, body


def _fault(state: EmulatorState, request: Request) -> Fault | None:
    """This batch's fault: its ``x-emulator-fault`` header's, else the next injected batch fault."""
    header = request.headers.get("x-emulator-fault")
    if header:
        fault = parse_fault_header(header)
        if fault.name not in BATCH_FAULTS:
            raise _refuse("x-emulator-fault", f"{fault.name!r} applies to image requests; a batch "
                                              f"takes {' or '.join(sorted(BATCH_FAULTS))}.")
        return fault
    return state.batch_faults.take()


async def create_batch(request: Request) -> Response:
    """``POST /v1/batches``."""
    state: EmulatorState = request.app.state.emulator
    raw = await request.body()
    try:
        fault = _fault(state, request)
    except (Refusal, ValueError) as error:
        log_json(state, request.scope, raw, None)
        refusal = error if isinstance(error, Refusal) else _refuse("x-emulator-fault", str(error))
        return refusal.response()
    log_json(state, request.scope, raw, fault.name if fault else None)
    try:
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise _refuse("body", "We could not parse the JSON body of your request.") from None
        source, body = _checked_body(state, parsed)
    except Refusal as refusal:
        return refusal.response()
    now = _now()
    wire: dict[str, Any] = {
        "id": new_id("batch_", 32), "object": "batch", "endpoint": body["endpoint"],
        "model": None, "errors": None, "input_file_id": source.id, "completion_window": "24h",
        "status": "validating", "output_file_id": None, "error_file_id": None,
        "created_at": now, "in_progress_at": None, "expires_at": now + _WINDOW,
        "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
        "cancelling_at": None, "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": body.get("metadata"), "usage": None}
    expires = body.get("output_expires_after")
    run = BatchRun(wire, source, fault, None if expires is None else expires["seconds"])
    run.thread = threading.Thread(target=_run, args=(state, run), daemon=True,
                                  name=f"imagewidgets-emulator-{wire['id']}")
    with state.lock:
        state.batches[wire["id"]] = run
        answer = copy.deepcopy(wire)
    run.thread.start()
    return JSONResponse(answer)


def _found(request: Request) -> tuple[EmulatorState, BatchRun]:
    state: EmulatorState = request.app.state.emulator
    batch_id = request.path_params["batch_id"]
    with state.lock:
        run = state.batches.get(batch_id)
    if run is None:
        raise Refusal(404, f"No batch found with id {batch_id[:100]!r}.", param="batch_id",
                      code="not_found")
    return state, run


async def retrieve_batch(request: Request) -> Response:
    """``GET /v1/batches/{id}``."""
    try:
        state, run = _found(request)
    except Refusal as refusal:
        return refusal.response()
    with state.lock:
        return JSONResponse(copy.deepcopy(run.wire))


async def cancel_batch(request: Request) -> Response:
    """``POST /v1/batches/{id}/cancel``: ``cancelling`` at once, ``cancelled`` once the runner stops."""
    try:
        state, run = _found(request)
        with state.lock:
            status = run.wire["status"]
            if status in _ENDED or status == "finalizing":  # every line answered already
                raise _refuse("batch_id", f"Cannot cancel a batch with status {status!r}.",
                              "invalid_batch_status")
            if status != "cancelling":
                run.wire.update(status="cancelling", cancelling_at=_now())
            answer = copy.deepcopy(run.wire)
    except Refusal as refusal:
        return refusal.response()
    run.stop.set()
    return JSONResponse(answer)


async def list_batches(request: Request) -> Response:
    """``GET /v1/batches``: newest first, ``after`` an id and ``limit`` 1 to 100 (20)."""
    state: EmulatorState = request.app.state.emulator
    after, limit = request.query_params.get("after"), request.query_params.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        return _refuse("limit", f"Invalid 'limit': {limit[:20]!r}; choose 1 to 100.").response()
    with state.lock:
        runs = list(reversed(state.batches.values()))
        ids = [run.wire["id"] for run in runs]
        start = ids.index(after) + 1 if after in ids else (len(ids) if after else 0)
        page = [copy.deepcopy(run.wire) for run in runs[start:start + int(limit)]]
    return JSONResponse({"object": "list", "data": page,
                         "first_id": page[0]["id"] if page else None,
                         "last_id": page[-1]["id"] if page else None,
                         "has_more": start + int(limit) < len(runs)})


# -- the runner ------------------------------------------------------------------------------------


def _set(state: EmulatorState, run: BatchRun, **changes: Any) -> None:
    with state.lock:
        run.wire.update(changes)


def _run(state: EmulatorState, run: BatchRun) -> None:
    """Validate, then answer every line; what a thread of the batch's own does."""
    endpoint = run.wire["endpoint"]
    try:
        errors, count, model = read_lines(run.source.path, endpoint)
    except OSError:  # the input file was deleted before it was read
        errors, count, model = [{"code": "file_not_found", "line": None, "param": "input_file_id",
                                 "message": "The input file was deleted."}], 0, None
    if errors:
        _set(state, run, status="failed", failed_at=_now(),
             errors={"object": "list", "data": errors})
        return
    with state.lock:
        # Cancelled while validating: stays cancelling, and every line is reported cancelled.
        if run.wire["status"] == "validating":
            run.wire.update(status="in_progress", in_progress_at=_now())
        run.wire["model"] = model
        run.wire["request_counts"]["total"] = count
    try:
        asyncio.run(_lines(state, run))
    except Exception as error:  # the batch must end in a status a client sees
        if not run.stop.is_set():
            _set(state, run, status="failed", failed_at=_now(), errors={"object": "list", "data": [
                {"code": "server_error", "line": None, "param": None, "message": str(error)[:500]}]})


def _line(custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None) -> bytes:
    return (json.dumps({"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id,
                        "response": response, "error": error}) + "\n").encode()


def _add_usage(total: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any] | None:
    used = body.get("usage")
    if not used:
        return total
    total = total or {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 0}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        total[key] += used[key]
    return total


async def _answer(state: EmulatorState, run: BatchRun, line: Line) -> tuple[int, dict[str, Any]]:
    fault = run.fault
    if fault is not None and fault.name == "batch_partial" and \
            line.number % max(1, int(fault.number("every", 2))) == 0:
        refusal = Refusal(500, "The server had an error while processing your request. Sorry "
                               "about that!", type="server_error")
        return refusal.status, refusal.body()
    return await answer_line(state, run.wire["endpoint"], line.body)


async def _lines(state: EmulatorState, run: BatchRun) -> None:
    store, batch_id = state.file_store, run.wire["id"]
    output = store.add(None, f"{batch_id}_output.jsonl", "batch_output", run.output_expires)
    failures = store.add(None, f"{batch_id}_error.jsonl", "batch_output", run.output_expires)
    expire_after = (int(run.fault.number("after", 1))
                    if run.fault is not None and run.fault.name == "batch_expired" else None)
    done, usage, ended = 0, None, "completed"
    with output.path.open("ab") as good, failures.path.open("ab") as bad:
        for line in each_line(run.source.path, run.wire["endpoint"]):
            if expire_after is not None and done >= expire_after:
                ended = "expired"
            elif state.batch_line_seconds > 0:
                await asyncio.to_thread(run.stop.wait, state.batch_line_seconds)
            if ended == "completed" and run.stop.is_set():
                ended = "cancelled"
            if ended != "completed":
                _unanswered(state, run, bad, line, ended)
                continue
            status, body = await _answer(state, run, line)
            response = {"status_code": status, "request_id": f"req_{uuid.uuid4().hex}",
                        "body": body}
            (good if status == 200 else bad).write(_line(line.custom_id, response, None))
            done += 1
            usage = _add_usage(usage, body)
            with state.lock:
                run.wire["request_counts"]["completed" if status == 200 else "failed"] += 1
                run.wire["usage"] = copy.deepcopy(usage)
    if ended == "completed":
        _set(state, run, status="finalizing", finalizing_at=_now())
    files = {}
    for key, stored in (("output_file_id", output), ("error_file_id", failures)):
        store.refresh(stored)
        if stored.bytes:
            files[key] = stored.id
        else:
            store.delete(stored.id)
    stamp = {"completed": "completed_at", "expired": "expired_at", "cancelled": "cancelled_at"}
    _set(state, run, status=ended, **{stamp[ended]: _now()}, **files)


def _unanswered(state: EmulatorState, run: BatchRun, bad: IO[bytes], line: Line,
                ended: str) -> None:
    """A line the batch never answered: to the error file, counted as failed."""
    message = ("This request could not be executed before the completion window expired."
               if ended == "expired" else "This request was not executed: the batch was "
                                          "cancelled.")
    bad.write(_line(line.custom_id, None, {"code": f"batch_{ended}", "message": message}))
    with state.lock:
        run.wire["request_counts"]["failed"] += 1
