"""The models a server offers: the body of ``GET /v1/models``, read leniently."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..errors import APIError
from ..models import MODELS, today
from .answers import json_object, unix_seconds

__all__ = ["ModelInfo", "parse_models"]


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


def parse_models(raw: bytes) -> list[ModelInfo]:
    """Read the body of ``GET /v1/models``: entries without a string ``id`` are skipped.

    Raises
    ------
    APIError
        When it is not a JSON object with a ``data`` list.
    """
    answer = json_object(raw, "model list")
    items = answer.get("data")
    if not isinstance(items, list):
        raise APIError("the server's model list holds no data list", status=200)
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            continue
        owned_by = item.get("owned_by")
        models.append(ModelInfo(
            id=item["id"], created=unix_seconds(item.get("created")),
            owned_by=owned_by if isinstance(owned_by, str) else "",
            shutdown_date=_day(item.get("shutdown_date")),
            extra={key: value for key, value in item.items() if key not in _MODEL_KEYS}))
    return models
