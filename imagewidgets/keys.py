"""What an API key looks like: the one place that says, for whatever must never write one.

A prefix is not a key: "sk-8 park at dawn" and "The ring Bearer" are prompts. A key is
``sk-`` (``sk-proj-``, ``sk-svcacct-``, ...) followed by a long run of key characters
with no space, or such a token after ``Bearer``; or the very key a client was given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["KEY_SHAPE", "MIN_KEY_RUN", "MIN_SECRET", "holds_key", "known_keys"]

MIN_KEY_RUN = 20
"""Key characters in a row after ``sk-`` (or ``Bearer``) that make a key: real keys have
48 or more, while words glued by hyphens in a prompt rarely reach 20."""

KEY_SHAPE = re.compile(
    rf"(?<![\w-])sk-[\w-]{{{MIN_KEY_RUN},}}"
    # A bearer token: a run that holds a digit, so a long word after "Bearer" is not one.
    rf"|\bBearer\s+(?=[\w.~+/=-]*\d)[\w.~+/=-]{{{MIN_KEY_RUN},}}")
"""A key-shaped token anywhere in a text."""

MIN_SECRET = 8
"""Shortest secret looked for: shorter "secrets" (a placeholder key) are ordinary words;
hiding or refusing them would garble text and protect little."""


def known_keys(secrets: Iterable[str] = ()) -> tuple[str, ...]:
    """``secrets`` and the key in ``OPENAI_API_KEY`` (the default client's), those long enough to tell."""
    given = (*secrets, os.environ.get("OPENAI_API_KEY") or "")
    return tuple(secret for secret in dict.fromkeys(given) if len(secret) >= MIN_SECRET)


def holds_key(text: str, secrets: Iterable[str] = ()) -> bool:
    """Whether ``text`` holds a key-shaped token or one of the ``secrets`` (see :func:`known_keys`)."""
    return KEY_SHAPE.search(text) is not None or any(secret in text for secret in secrets)
