"""Redaction: the one place that hides the key and a URL's userinfo from any text.

A key echoed by hostile servers, in errors, logs and tiles: tests/test_hostile_secrets.py.
"""

from __future__ import annotations

import base64
import secrets

import pytest

from imagewidgets.api.redact import REDACTED, redact, url_secrets


@pytest.fixture
def key() -> str:
    return "sk-test-" + secrets.token_hex(8)


def test_redact_hides_secrets_and_url_userinfo(key: str) -> None:
    text = f"bad key Bearer {key} at http://ann:pw-{key[-6:]}@example.com/v1 and {key}"
    shown = redact(text, [key])
    assert key not in shown and "pw-" not in shown and "ann" not in shown
    assert shown == (f"bad key Bearer {REDACTED} at http://{REDACTED}@example.com/v1 "
                     f"and {REDACTED}")
    assert redact("key abc refused", ["abc", ""]) == "key abc refused"  # too short to hunt
    basic = base64.b64encode(b"ann:p@ss-word").decode()
    assert url_secrets("http://ann:p%40ss-word@h/v1") == ("p@ss-word", "p%40ss-word", basic)
    assert url_secrets("http://127.0.0.1/v1") == ()
