"""The vocabulary of a model's fields: their kinds, the rules between them, and who takes them.

Each field kind says which endpoints take the field (``endpoints``): a field
an endpoint does not take is neither offered nor sent there, so a new
endpoint adds rows to the catalog, not branches to the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "BOTH",
    "EDITS",
    "ENDPOINTS",
    "FIELDS",
    "GENERATIONS",
    "QUALITY_RANK",
    "Choice",
    "Exclusion",
    "FieldKind",
    "Flag",
    "IntRange",
    "Requires",
    "Text",
    "Upload",
    "When",
]

ENDPOINTS = ("generations", "edits")
"""The endpoints requests can go to (``POST /v1/images/<endpoint>``)."""

GENERATIONS: frozenset[str] = frozenset({"generations"})
"""Only generations: ``style``, ``moderation``."""

EDITS: frozenset[str] = frozenset({"edits"})
"""Only edits: ``input_fidelity`` and the uploaded files."""

BOTH: frozenset[str] = frozenset(ENDPOINTS)
"""Where a field is taken unless its kind says otherwise (at edits, only by a model that edits)."""

FIELDS = (
    "prompt",
    "model",
    "n",
    "quality",
    "complexity",
    "input_fidelity",
    "response_format",
    "size",
    "style",
    "background",
    "output_format",
    "output_compression",
    "frame_count",
    "frame_duration_ms",
    "moderation",
    "stream",
    "partial_images",
    "safety_identifier",
    "user",
)
"""Every request field of the Images API, in the order controls show them."""

# How good each quality is, across families: a model switch keeps the closest one
# (high <-> hd, medium <-> standard, max -> high on a model without it). Equal ranks
# are equally good.
QUALITY_RANK: Mapping[str, int] = MappingProxyType(
    {"low": 0, "standard": 1, "medium": 1, "hd": 2, "high": 2, "xhigh": 3, "max": 4}
)


# -- field kinds --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A field whose value is one of a few strings."""

    values: tuple[str, ...]
    default: str
    endpoints: frozenset[str] = BOTH


@dataclass(frozen=True)
class IntRange:
    """An integer field, ``low`` to ``high`` inclusive."""

    low: int
    high: int
    default: int
    endpoints: frozenset[str] = BOTH

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1))


@dataclass(frozen=True)
class Flag:
    """A boolean field."""

    default: bool = False
    endpoints: frozenset[str] = BOTH

    @property
    def values(self) -> tuple[bool, ...]:
        return (False, True)


@dataclass(frozen=True)
class Text:
    """A free-text field; ``max_length`` is counted in characters."""

    max_length: int | None = None
    default: str = ""
    endpoints: frozenset[str] = BOTH


FieldKind = Choice | IntRange | Flag | Text
"""A field's kind: its allowed values, its default, and the endpoints that take it."""


@dataclass(frozen=True)
class Upload:
    """A file an edit sends (``image``, ``mask``, ``markup``): how many, of which formats, how big.

    Formats are as sniffed from the bytes (``png``, ``webp``, ``jpeg``), never the file's name.
    ``same_size`` files must have the first image's dimensions; ``square`` ones equal sides;
    ``transparent`` ones must hold pixels with alpha 0 (a mask's "edit here").
    """

    formats: tuple[str, ...]
    max_bytes: int
    max_count: int = 1
    same_size: bool = False
    square: bool = False
    transparent: bool = False


@dataclass(frozen=True)
class When:
    """A field applies only while ``field`` holds one of ``values``."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Exclusion:
    """Two field values that cannot be sent together, e.g. a transparent jpeg."""

    first: tuple[str, Any]
    second: tuple[str, Any]
    reason: str

    @property
    def fields(self) -> tuple[str, str]:
        """The names of the two fields."""
        return (self.first[0], self.second[0])

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether ``values`` (field name to value) hold both excluded values at once."""
        return all(values.get(name) == value for name, value in (self.first, self.second))


@dataclass(frozen=True)
class Requires:
    """While ``trigger`` holds, ``field`` takes only ``values``: e.g. svg output only with n=1."""

    trigger: tuple[str, Any]
    field: str
    values: tuple[Any, ...]
    reason: str

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether the trigger holds in ``values``."""
        return bool(values.get(self.trigger[0]) == self.trigger[1])

    def problem(self, values: Mapping[str, Any]) -> str | None:
        """Why ``values`` break this rule, or None when they keep it."""
        if not self.active(values) or values.get(self.field) in self.values:
            return None
        allowed = " or ".join(map(str, self.values))
        return (f"{self.field} {values.get(self.field)!r} cannot go with {self.trigger[0]} "
                f"{self.trigger[1]!r}: {self.reason}; choose {allowed}")

