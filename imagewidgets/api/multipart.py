"""An edit's multipart/form-data body: built once, so every retry sends the same bytes.

Field names and encodings are the official SDK's (openai 3.63, ``resources/images.py``
``edit()`` and its ``extract_files``/``_qs`` helpers): one image is the field ``image``, a list
of them ``image[]`` each; then ``markup`` and ``mask``. Text fields come first, in the body's
order: ``true``/``false`` for booleans, a mapping's keys in brackets (``svg[model]``), a
list's items as ``name[]``, None left out. Each file part says the type sniffed from its
bytes (the SDK's httpx guesses it from the file name).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..inputs import EditInputs, InputImage

__all__ = ["Form", "form_of", "form_off_loop"]

_INLINE_BYTES = 8 * 1024 * 1024
"""Files up to this size in all are joined on the event loop: a copy of a few milliseconds."""

_QUOTED = re.compile(r'["\\\x00-\x1a\x1c-\x1f]')
_QUOTE_AS = {'"': "%22", "\\": "\\\\"}


@dataclass(frozen=True, repr=False)
class Form:
    """A whole multipart body and its Content-Type (which names its boundary)."""

    data: bytes
    content_type: str

    def __repr__(self) -> str:
        return f"Form({len(self.data):,} bytes)"


def _quoted(text: str) -> str:
    """A name or file name inside the header's quotes, as HTML5 forms (and httpx) write it."""
    return _QUOTED.sub(lambda found: _QUOTE_AS.get(found[0], f"%{ord(found[0]):02X}"), text)


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _fields(name: str, value: Any) -> Iterator[tuple[str, str]]:
    """The text parts of one body field, as the SDK flattens it."""
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _fields(f"{name}[{key}]", item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _fields(f"{name}[]", item)
    else:
        yield name, _text(value)


def _files(inputs: EditInputs) -> Iterator[tuple[str, InputImage]]:
    name = "image" if len(inputs.images) == 1 else "image[]"
    for image in inputs.images:
        yield name, image
    if inputs.markup is not None:
        yield "markup", inputs.markup
    if inputs.mask is not None:
        yield "mask", inputs.mask


def _mime(image: InputImage) -> str:
    return f"image/{image.format}" if image.format in ("png", "jpeg", "webp", "gif") \
        else "application/octet-stream"


def form_of(body: Mapping[str, Any], inputs: EditInputs) -> Form:
    """The multipart body of an edit: ``body``'s fields, then the files of ``inputs``."""
    boundary = os.urandom(16).hex()
    dash = f"--{boundary}\r\n".encode()
    parts: list[bytes] = []
    for field, value in body.items():
        for name, text in _fields(field, value):
            parts += [dash, f'Content-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'
                      .encode(), text.encode("utf-8"), b"\r\n"]
    for name, image in _files(inputs):
        parts += [dash, (f'Content-Disposition: form-data; name="{name}"; '
                         f'filename="{_quoted(image.name)}"\r\nContent-Type: {_mime(image)}\r\n\r\n')
                  .encode(), image.data, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode())
    return Form(b"".join(parts), f"multipart/form-data; boundary={boundary}")


async def form_off_loop(body: Mapping[str, Any], inputs: EditInputs) -> Form:
    """:func:`form_of`, on a worker thread when the files are large (16 of 50 MB is a long copy)."""
    size = sum(len(image.data) for _name, image in _files(inputs))
    if size <= _INLINE_BYTES:
        return form_of(body, inputs)
    return await asyncio.to_thread(form_of, body, inputs)
