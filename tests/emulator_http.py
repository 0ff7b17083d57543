"""Plain HTTP to the emulator, as any client sends it: a generation, its image, its error, its events;
and the line ``serve`` prints for each request."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import httpx
from PIL import Image


def post(http: httpx.Client, **body: Any) -> httpx.Response:
    """``POST /images/generations`` with this JSON body."""
    return http.post("/images/generations", json=body)


def b64_image(b64: str) -> Image.Image:
    """The image a ``b64_json`` holds, opened."""
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def error_of(response: httpx.Response) -> dict[str, Any]:
    """An error answer's ``error`` object, checked to hold the API's four keys."""
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


def events_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """A stream's events, as (event name, payload) pairs."""
    events, kind = [], ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
    return events


LINE = re.compile(r"\d\d:\d\d:\d\d POST /v1/images/generations (\S+) (\S+) (\d{3}) (\d+) ms(.*)")
"""A request's line: time, method, path, model, size, status, milliseconds."""
