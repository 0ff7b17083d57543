"""The registry: every known model by name, and the lookups across models.

Importing it fills :data:`MODELS` from the catalog; :func:`register_model`
adds an OpenAI-compatible server's own models.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .catalog import CATALOG
from .clock import today
from .spec import MODELS, ModelSpec

__all__ = [
    "GPT_IMAGE_ONLY_FIELDS",
    "MODELS",
    "default_model",
    "default_model_for",
    "models_taking",
    "newest_models",
    "register_model",
]


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add or replace a model, e.g. an OpenAI-compatible server's own name.

    >>> register_model(ModelSpec.like("gpt-image-1.5", name="my-model"))  # doctest: +SKIP
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register_model takes a ModelSpec, not {type(spec).__name__}")
    MODELS[spec.name] = spec
    return spec


for _spec in CATALOG:
    register_model(_spec)


GPT_IMAGE_ONLY_FIELDS = frozenset(
    {"background", "output_format", "output_compression", "moderation", "stream", "partial_images",
     "complexity", "frame_count", "frame_duration_ms"}
)
"""Fields only GPT image models take: their presence changes the default model."""


def models_taking(name: str, endpoint: str = "generations") -> tuple[str, ...]:
    """Names of the known models that take the request field ``name`` at ``endpoint``, in table order."""
    return tuple(spec.name for spec in MODELS.values() if spec.takes(name, endpoint))


def newest_models(on: date | None = None) -> tuple[str, ...]:
    """The newest family: general models released last and not shut down on ``on``.

    Snapshots are left out; the order is the catalog's. Today: the two
    gpt-image-2.6 models. A comparison grid's default rows.
    """
    on = on or today()
    candidates = [spec for spec in MODELS.values()
                  if spec.general and spec.snapshot_of is None and spec.released is not None
                  and spec.released <= on and not spec.retired(on)]
    if not candidates:
        return ()
    newest = max(spec.released for spec in candidates if spec.released is not None)
    return tuple(spec.name for spec in candidates if spec.released == newest)


def default_model(on: date | None = None) -> str:
    """The newest general model released and not yet shut down on ``on`` (default: :func:`today`).

    Snapshots and models the API has shut down are never the default; among
    models released the same day, the one listed first in the catalog wins.
    """
    newest = newest_models(on)
    return newest[0] if newest else next(iter(MODELS))


def default_model_for(body: Mapping[str, Any]) -> str:
    """The model the API uses when a request omits ``model``.

    dall-e-2, unless a field that only GPT image models take is present.
    """
    if GPT_IMAGE_ONLY_FIELDS & set(body):
        return "gpt-image-1"
    return "dall-e-2"

