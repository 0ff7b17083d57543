"""When a failed request is sent again, and after how long."""

from __future__ import annotations

import email.utils
import time

import pytest

import imagewidgets as iw
from imagewidgets.api.answers import (
    api_error,
)
from imagewidgets.api.retry import retry_after, retryable

# -- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "nope", "retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "later"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after({"retry-after": soon}) or 0) <= 30.5
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after({"retry-after": past}) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_error(408, b""), True),
        (api_error(409, b""), True),
        (api_error(429, b""), True),
        (api_error(429, b'{"error": {"code": "insufficient_quota"}}'), False),
        (api_error(500, b""), True),
        (api_error(503, b""), True),
        (api_error(400, b""), False),
        (api_error(401, b""), False),
        (api_error(404, b""), False),
        (iw.APIConnectionError("refused"), True),
        (iw.APITimeoutError("slow"), True),
        (iw.StreamIncompleteError("cut"), False),
        (iw.ImageDecodeError("broken"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_what_is_retried(error: iw.ImagesError, expected: bool) -> None:
    assert retryable(error) is expected
