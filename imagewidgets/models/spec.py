"""One model's spec: every field it takes, their rules, its lifecycle, price and sources.

Adding a model is adding a :class:`ModelSpec` (the catalog holds them, with
where each fact came from); no other module has a per-model ``if``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .clock import RETIRING_WITHIN, today
from .fields import Exclusion, FieldKind, Flag, IntRange, Requires, Text, Upload, When
from .pricing import PerImagePrice, TokenPrice
from .sizes import CustomSizes, ascii_digits
from .text import shown

__all__ = ["MODELS", "ModelSpec", "Source", "describe_values"]


@dataclass(frozen=True)
class Source:
    """Where a fact came from, and whether the API's own documentation says it."""

    url: str
    official: bool
    note: str = ""

    def __str__(self) -> str:
        kind = "official" if self.official else "third-party, not confirmed by official pages"
        return f"{self.url} ({kind}{': ' + self.note if self.note else ''})"


@dataclass(frozen=True)
class ModelSpec:
    """Everything one model accepts.

    Parameters
    ----------
    name
        The model name sent as ``model``.
    family
        ``"dall-e"`` or ``"gpt-image"``: only for display and grouping.
    fields
        Field name to its kind (allowed values, default, the endpoints that
        take it). A field absent here is one the model does not take.
    when
        Fields that apply only while another field holds certain values.
    exclusions
        Value pairs that cannot be sent together.
    custom_sizes
        Sizes accepted beyond the preset list, if any.
    price
        Per image (DALL·E) or per token (GPT image models).
    auto
        What ``auto`` stands for, by field: the value the server then uses
        (``{"quality": "standard"}`` for DALL·E, ``"medium"`` for GPT image
        models). :meth:`resolve` reads it.
    revises_prompt
        Whether answers carry a ``revised_prompt`` (dall-e-3 rewrites prompts).
    reports_usage
        Whether answers and stream events carry ``usage`` and the settings the
        server resolved (``size``, ``quality``, ``background``,
        ``output_format``), as the GPT image models' do.
    refusal_code
        The error ``code`` of a prompt refused for its content:
        ``content_policy_violation`` (DALL·E) or ``moderation_blocked`` (GPT image).
    requires
        Rules of the form "while this value is chosen, that field takes only these".
    released, shutdown
        The day the API first served the model, and the day it stops (or
        stopped) serving it; None when unknown or not announced.
    replacement
        The model the API's deprecation notice recommends instead.
    snapshot_of
        For a dated snapshot, the alias it pins (``gpt-image-2-2026-04-21`` of ``gpt-image-2``).
    general
        Whether it is a model for everyday generation, a candidate for the default.
    sources
        Fact (``"lifecycle"``, ``"sizes"``, a field name, ``"price"``) to where it came from.
    provisional
        Request fields known only from third-party pages: sent only when the
        user sets them, and named as such when the API refuses them.
    uploads
        The files an edit sends (``image``, ``mask``, ``markup``) and their rules;
        empty for a model that does not edit (:attr:`edits`).
    """

    name: str
    family: str
    fields: Mapping[str, FieldKind]
    when: Mapping[str, When] = field(default_factory=dict)
    exclusions: tuple[Exclusion, ...] = ()
    custom_sizes: CustomSizes | None = None
    price: PerImagePrice | TokenPrice | None = None
    auto: Mapping[str, Any] = field(default_factory=dict)
    revises_prompt: bool = False
    reports_usage: bool = False
    refusal_code: str = "content_policy_violation"
    requires: tuple[Requires, ...] = ()
    released: date | None = None
    shutdown: date | None = None
    replacement: str | None = None
    snapshot_of: str | None = None
    general: bool = True
    sources: Mapping[str, Source] = field(default_factory=dict)
    provisional: frozenset[str] = frozenset()
    uploads: Mapping[str, Upload] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------------

    def retired(self, on: date | None = None) -> bool:
        """Whether the API has shut the model down by ``on`` (default: :func:`today`)."""
        return self.shutdown is not None and (on or today()) >= self.shutdown

    def status(self, on: date | None = None) -> str:
        """``"retired"``, ``"retiring"`` (shutdown within :data:`RETIRING_WITHIN`) or ``"live"``."""
        on = on or today()
        if self.retired(on):
            return "retired"
        if self.shutdown is not None and self.shutdown - on <= RETIRING_WITHIN:
            return "retiring"
        return "live"

    def label(self, on: date | None = None) -> str:
        """The name as a model list shows it: ``"dall-e-3 · retired 2026-05-12"``."""
        status = self.status(on)
        if status == "retired":
            return f"{self.name} · retired {self.shutdown}"
        if status == "retiring":
            return f"{self.name} · shuts down {self.shutdown}"
        return self.name

    def retirement_note(self, on: date | None = None) -> str | None:
        """A sentence on the model's shutdown, or None while it is live and not retiring."""
        status = self.status(on)
        if status == "live":
            return None
        instead = f"; use {self.replacement} instead" if self.replacement else ""
        if status == "retired":
            return f"the API shut {self.name} down on {self.shutdown}{instead}"
        return f"the API shuts {self.name} down on {self.shutdown}{instead}"

    # -- fields ----------------------------------------------------------------

    @property
    def edits(self) -> bool:
        """Whether the model takes ``POST /v1/images/edits`` (it has an ``image`` upload)."""
        return "image" in self.uploads

    def serves(self, endpoint: str) -> bool:
        """Whether the model takes requests at ``endpoint`` at all."""
        return endpoint == "generations" or (endpoint == "edits" and self.edits)

    def takes(self, name: str, endpoint: str = "generations") -> bool:
        """Whether the model accepts the request field ``name`` at ``endpoint``."""
        if not self.serves(endpoint):
            return False
        return name == "model" or (name in self.fields and endpoint in self.fields[name].endpoints)

    def fields_for(self, endpoint: str) -> Mapping[str, FieldKind]:
        """The fields the model takes at ``endpoint``, by name, in the table's order."""
        if not self.serves(endpoint):
            return {}
        return {name: kind for name, kind in self.fields.items() if endpoint in kind.endpoints}

    def kind(self, name: str) -> FieldKind:
        """The kind of field ``name``; KeyError if the model does not take it."""
        return self.fields[name]

    def resolve(self, name: str, value: Any) -> Any:
        """``value`` as the server uses it: ``auto`` replaced where :attr:`auto` says what it means.

        >>> MODELS["dall-e-3"].resolve("quality", "auto"), MODELS["gpt-image-1"].resolve("quality", "auto")
        ('standard', 'medium')
        """
        return self.auto.get(name, value) if value == "auto" else value

    def allows(self, name: str, value: Any) -> bool:
        """Whether ``value`` is allowed for ``name``, ignoring other fields."""
        return self.value_problem(name, value) is None

    def value_problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` is not allowed for ``name``, or None when it is."""
        if name not in self.fields:
            return f"{name} is not taken by {self.name}"
        kind = self.fields[name]
        if isinstance(kind, Text):
            if not isinstance(value, str):
                return f"{name} must be text, not {shown(value)} (a {type(value).__name__})"
            return None
        if isinstance(kind, Flag):
            return None if isinstance(value, bool) else f"{name} must be true or false"
        if isinstance(kind, IntRange):
            if isinstance(value, bool) or not isinstance(value, int):
                # True is an int to Python: say what came, or "n must be an integer" puzzles.
                allowed = (f"only {kind.low}" if kind.low == kind.high
                           else f"a whole number from {kind.low} to {kind.high}")
                return (f"{name} got {shown(value)} (a {type(value).__name__}); {self.name} "
                        f"takes {allowed}")
            if kind.low <= value <= kind.high:
                return None
            return f"{name} {value} is out of range for {self.name}; {describe_values(self, name)}"
        if value in kind.values:
            return None
        if name == "size" and isinstance(value, str) and (ascii := ascii_digits(value)) != value:
            return (f"size {shown(value)} is not available for {self.name}: its digits must be "
                    f"ASCII 0-9 (as in {shown(ascii)}); {describe_values(self, name)}")
        if name == "size" and self.custom_sizes and isinstance(value, str):
            why = self.custom_sizes.problem(value)
            if why is None:
                return None
            return (
                f"size {shown(value)} is not available for {self.name}: {why}; "
                f"{describe_values(self, name)}"
            )
        return f"{name} {shown(value)} is not available for {self.name}; {describe_values(self, name)}"

    @staticmethod
    def like(base: str | ModelSpec, *, name: str, **changes: Any) -> ModelSpec:
        """A copy of a spec under another name, for OpenAI-compatible servers.

        ``ModelSpec.like("gpt-image-1.5", name="my-model")`` takes everything
        gpt-image-1.5 accepts; ``changes`` replace other attributes.
        """
        if isinstance(base, str):
            if base not in MODELS:
                raise KeyError(f"unknown model {base!r}; known models: {', '.join(MODELS)}")
            base = MODELS[base]
        return dataclasses.replace(base, name=name, **changes)


def describe_values(spec: ModelSpec, name: str) -> str:
    """A sentence naming what ``spec`` allows for ``name``."""
    if name not in spec.fields:
        return f"{spec.name} does not take {name}"
    kind = spec.fields[name]
    if isinstance(kind, IntRange):
        if kind.low == kind.high:
            return f"{spec.name} takes only {kind.low}"
        return f"choose {kind.low} to {kind.high}"
    if isinstance(kind, Flag):
        return "choose true or false"
    if isinstance(kind, Text):
        return f"any text of at most {kind.max_length:,} characters" if kind.max_length else "any text"
    values = list(kind.values)
    text = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    if name == "size" and spec.custom_sizes:
        return f"choose {text}, or {spec.custom_sizes.describe()}"
    return f"choose {text}"


MODELS: dict[str, ModelSpec] = {}
"""Every known model by name: the catalog's, then any :func:`~.registry.register_model` adds.

:mod:`.registry` fills it; it lives here because :meth:`ModelSpec.like` looks names up in it.
"""
