"""``/v1/files`` as the API answers it: upload, retrieve, content, delete; the bytes held on disk.

Files live in a temporary folder of the emulator's (:class:`FileStore`), not
in memory: a batch's output file holds every image as base64 and can be
large. Their content is streamed from disk. The fields of a file object are
those of the official SDK's ``types/file_object.py``; ids look like the API's
(``file-`` and 24 letters and digits).

Choices where the API leaves room:

- An upload with purpose ``batch`` larger than :data:`BATCH_FILE_BYTES` (the
  SDK's ``batch_create_params.py``: 200 MB) is a 400 naming the size and the
  limit; other purposes are kept as they come (an edit's image for a batch
  line's ``file_id``), up to the guard's body limit for ``/v1/files``.
- Without ``expires_after``, a ``batch`` upload expires 30 days after it was
  made (the SDK's ``file_create_params.py``); other uploads never. An
  expired file answers 404 as an unknown one does.
"""

from __future__ import annotations

import secrets
import shutil
import string
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from .validation import Refusal

__all__ = ["BATCH_FILE_BYTES", "EXPIRY_SECONDS", "PURPOSES", "FileStore", "StoredFile", "create_file",
           "delete_file", "file_content", "new_id", "retrieve_file"]

BATCH_FILE_BYTES = 200 * 1000 * 1000
"""Bytes a batch input file may have: "up to 200 MB" (the SDK's ``batch_create_params.py``)."""
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""What an upload may be for (the SDK's ``types/file_purpose.py``)."""
EXPIRY_SECONDS = (3600, 30 * 24 * 3600)
"""How long after its creation a file may expire, at least and at most (1 hour to 30 days): a
file's ``expires_after`` and a batch's ``output_expires_after`` alike (the SDK's params)."""
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """An id as the API makes them: ``file-`` or ``batch_`` and random letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class StoredFile:
    """One file: what the API tells of it, and where its bytes are."""

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None
    path: Path

    def wire(self) -> dict[str, Any]:
        """The file object, as ``types/file_object.py`` names its fields."""
        return {"id": self.id, "object": "file", "bytes": self.bytes, "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose, "status": "processed",
                "expires_at": self.expires_at, "status_details": None}


class FileStore:
    """Files on disk, in a temporary folder made when the first file comes; safe across threads."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._folder: Path | None = None
        self._lock = threading.Lock()

    def _place(self) -> Path:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="imagewidgets-emulator-files-"))
            return self._folder

    def add(self, source: IO[bytes] | None, filename: str, purpose: str,
            expires_after: int | None = None) -> StoredFile:
        """Keep a copy of ``source`` (read in pieces); None makes an empty file to :meth:`write`."""
        file_id = new_id("file-")
        path = self._place() / file_id
        with path.open("wb") as out:
            if source is not None:
                shutil.copyfileobj(source, out, 1 << 20)
        now = int(time.time())
        if expires_after is None and purpose == "batch":
            expires_after = EXPIRY_SECONDS[1]
        stored = StoredFile(file_id, filename, purpose, path.stat().st_size, now,
                            None if expires_after is None else now + expires_after, path)
        with self._lock:
            self._files[file_id] = stored
        return stored

    def refresh(self, stored: StoredFile) -> None:
        """Read ``stored``'s size again, once it was written (:meth:`add` with no source)."""
        stored.bytes = stored.path.stat().st_size

    def get(self, file_id: str) -> StoredFile | None:
        """The file, or None when unknown, deleted or expired."""
        with self._lock:
            found = self._files.get(file_id)
        if found is None or (found.expires_at is not None and time.time() >= found.expires_at):
            return None
        return found

    def delete(self, file_id: str) -> bool:
        with self._lock:
            found = self._files.pop(file_id, None)
        if found is not None:
            found.path.unlink(missing_ok=True)
        return found is not None

    def close(self) -> None:
        """Forget every file and remove the folder."""
        with self._lock:
            self._files.clear()
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.emulator.file_store
    return store


def not_found(file_id: str) -> Refusal:
    """What the API answers for a file it does not have."""
    return Refusal(404, f"No such File object: {file_id[:100]}", param="id", code="not_found")


def _expires_after(form: Any) -> int | None:
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise Refusal(400, f"Invalid value for 'expires_after.anchor': {str(anchor)[:40]!r}; the "
                           f"only anchor is 'created_at'.", param="expires_after.anchor",
                      code="invalid_value")
    if not str(seconds).isdigit() or not EXPIRY_SECONDS[0] <= int(str(seconds)) <= EXPIRY_SECONDS[1]:
        raise Refusal(400, f"Invalid value for 'expires_after.seconds': {str(seconds)[:40]!r}; "
                           f"choose between 3600 (1 hour) and 2592000 (30 days).",
                      param="expires_after.seconds", code="invalid_value")
    return int(str(seconds))


async def create_file(request: Request) -> Response:
    """``POST /v1/files``: multipart, with ``file`` and ``purpose``."""
    limit: int = request.app.state.emulator.batch_file_bytes
    try:
        form = await request.form(max_files=1, max_fields=8)
    except HTTPException as error:
        return Refusal(400, f"Invalid multipart body: {error.detail}",
                       code="invalid_multipart").response()
    try:
        upload, purpose = form.get("file"), form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise Refusal(400, "Missing required parameter: 'file' (a file upload).", param="file",
                          code="missing_required_parameter")
        if purpose not in PURPOSES:
            raise Refusal(400, f"Invalid value for 'purpose': {str(purpose)[:40]!r}; choose one "
                               f"of {', '.join(PURPOSES)}.", param="purpose", code="invalid_value")
        size = upload.size or 0
        if purpose == "batch" and size > limit:
            raise Refusal(400, f"File is too large: {size:,} bytes; a batch input file may have "
                               f"at most {limit:,} bytes (200 MB). Split the requests over "
                               f"several batches.", param="file", code="file_too_large")
        expires = _expires_after(form)
        stored = _store(request).add(upload.file, (upload.filename or "upload")[:255],
                                     str(purpose), expires)
    except Refusal as refusal:
        return refusal.response()
    finally:
        await form.close()
    return JSONResponse(stored.wire())


async def retrieve_file(request: Request) -> Response:
    """``GET /v1/files/{id}``."""
    file_id = request.path_params["file_id"]
    found = _store(request).get(file_id)
    return not_found(file_id).response() if found is None else JSONResponse(found.wire())


async def file_content(request: Request) -> Response:
    """``GET /v1/files/{id}/content``: the bytes, streamed from disk."""
    file_id = request.path_params["file_id"]
    found = _store(request).get(file_id)
    if found is None:
        return not_found(file_id).response()
    return FileResponse(found.path, media_type="application/octet-stream")


async def delete_file(request: Request) -> Response:
    """``DELETE /v1/files/{id}``."""
    file_id = request.path_params["file_id"]
    if not _store(request).delete(file_id):
        return not_found(file_id).response()
    return JSONResponse({"id": file_id, "object": "file", "deleted": True})
