"""The allowed value nearest to one a model does not take: what a model switch moves a field to."""

from __future__ import annotations

import math
from typing import Any

from .fields import QUALITY_RANK, Choice, IntRange
from .sizes import parse_size
from .spec import ModelSpec

__all__ = ["closest_value"]


def closest_value(spec: ModelSpec, name: str, wanted: Any) -> Any:
    """The allowed value of ``name`` nearest to ``wanted`` under ``spec``."""
    kind = spec.kind(name)
    if isinstance(kind, IntRange):
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            return min(max(wanted, kind.low), kind.high)
        return kind.default
    if not isinstance(kind, Choice):
        return kind.default
    candidates = [value for value in kind.values if value != "auto"]
    if name == "size" and (wanted_wh := parse_size(wanted)):
        # Keep the orientation first (landscape stays landscape), then the area.
        def distance(value: str) -> tuple[float, float]:
            width, height = parse_size(value) or wanted_wh
            aspect = abs(math.log(width / height) - math.log(wanted_wh[0] / wanted_wh[1]))
            area = abs(math.log(width * height) - math.log(wanted_wh[0] * wanted_wh[1]))
            return (round(aspect, 6), area)

        return min(candidates, key=distance) if candidates else kind.default
    if name == "quality" and wanted in QUALITY_RANK:
        ranked = [value for value in candidates if value in QUALITY_RANK]
        if ranked:
            # On a tie prefer the better quality: the user asked for at least this much.
            return min(
                ranked,
                key=lambda value: (abs(QUALITY_RANK[value] - QUALITY_RANK[wanted]),
                                   -QUALITY_RANK[value]),
            )
    return kind.default
