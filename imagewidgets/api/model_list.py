"""The models a server offers: the body of ``GET /v1/models``, read leniently.

Nothing in it is trusted: a server may echo the key (in an id, in ``owned_by``), or
list 50,000 models, or one id of 200 KB. What is kept is redacted and bounded, since
it reaches reprs and the panel's model note (widget state, saved with the notebook).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..errors import APIError
from ..models import MODELS, today
from .answers import json_object, server_text, unix_seconds
from .redact import redact

__all__ = ["CUT", "MAX_EXTRA_CHARS", "MAX_FIELDS", "MAX_ID_CHARS", "MAX_MODELS", "MAX_TEXT_CHARS",
           "ModelInfo", "parse_models"]

logger = logging.getLogger("imagewidgets")

MAX_MODELS = 1000
"""Models kept of one list, in its order: the API lists about a hundred."""

MAX_ID_CHARS = 128
"""Longest id kept: the API's are under 40 characters, a fine-tuned one under 100. A longer
id is dropped, not cut: a cut id is no name the server knows."""

MAX_TEXT_CHARS = 128
"""Longest other text kept (``owned_by``, a text in ``extra``): longer is cut, ending in :data:`CUT`."""

CUT = "\u2026"
"""What ends a text that was cut."""

MAX_FIELDS = 32
"""Fields of ``extra`` kept per model, in the server's order."""

MAX_EXTRA_CHARS = 1024
"""Longest field of ``extra`` kept, as JSON text: a longer list or object is dropped."""


@dataclass(frozen=True)
class ModelInfo:
    """One model of ``GET /v1/models``.

    Attributes
    ----------
    id : str
        The name to send as ``model``.
    created : int
        Unix seconds (0 when the server sent none).
    owned_by : str
        ``"system"`` for OpenAI's own models.
    shutdown_date : datetime.date or None
        When the API stops (or stopped) serving it, if the server says.
    extra : dict
        Every other field, as sent: the list grows fields before our types do.
    """

    id: str
    created: int = 0
    owned_by: str = ""
    shutdown_date: date | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def known(self) -> bool:
        """Whether the capabilities table knows this model (else: ``register_model``)."""
        return self.id in MODELS

    def retired(self, on: date | None = None) -> bool:
        """Whether ``shutdown_date`` has come by ``on`` (default: :func:`today`)."""
        return self.shutdown_date is not None and (on or today()) >= self.shutdown_date


_MODEL_KEYS = frozenset({"id", "object", "created", "owned_by", "shutdown_date"})


def _day(value: Any) -> date | None:
    """A ``shutdown_date``: ``YYYY-MM-DD`` (or an ISO time), or Unix seconds; None otherwise."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def parse_models(raw: bytes, secrets: Iterable[str] = ()) -> list[ModelInfo]:
    """Read the body of ``GET /v1/models``: entries without a string ``id`` are skipped.

    Every text is redacted of ``secrets`` (and URL userinfo). At most :data:`MAX_MODELS`
    are kept; an id longer than :data:`MAX_ID_CHARS` is dropped; other texts are cut at
    :data:`MAX_TEXT_CHARS`, and ``extra`` bounded (:data:`MAX_FIELDS`, :data:`MAX_EXTRA_CHARS`).

    Raises
    ------
    APIError
        When it is not a JSON object with a ``data`` list.
    """
    answer = json_object(raw, "model list")
    items = answer.get("data")
    if not isinstance(items, list):
        raise APIError("the server's model list holds no data list", status=200)
    secrets = tuple(secrets)
    models: list[ModelInfo] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"] \
                or len(item["id"]) > MAX_ID_CHARS:
            continue
        if len(models) == MAX_MODELS:
            logger.warning("the server listed more than %d models; only the first %d are kept",
                           MAX_MODELS, MAX_MODELS)
            break
        extra: dict[str, Any] = {}
        for key, value in item.items():
            if key in _MODEL_KEYS or len(extra) == MAX_FIELDS or len(key) > MAX_TEXT_CHARS:
                continue
            if (kept := _bounded(value, secrets)) is not _DROPPED:
                extra[_text(key, secrets)] = kept
        models.append(ModelInfo(
            id=_text(item["id"], secrets), created=unix_seconds(item.get("created")),
            owned_by=_text(item.get("owned_by"), secrets),
            shutdown_date=_day(item.get("shutdown_date")), extra=extra))
    return models


_DROPPED = object()


def _text(value: Any, secrets: tuple[str, ...]) -> str:
    """Server text, redacted, cut at :data:`MAX_TEXT_CHARS` (ids are shorter); "" if not text."""
    text = redact(server_text(value) or "", secrets)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - len(CUT)] + CUT


def _bounded(value: Any, secrets: tuple[str, ...]) -> Any:
    """A field of ``extra``, redacted and bounded; :data:`_DROPPED` when too large to keep."""
    if isinstance(value, str):
        return _text(value, secrets)
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        # Redacted as JSON text: a secret anywhere inside it (not escaped: ensure_ascii off).
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > MAX_EXTRA_CHARS:
            return _DROPPED
        return json.loads(redact(text, secrets))
    except (ValueError, TypeError, RecursionError):  # a redaction that broke the JSON, say
        return _DROPPED
