"""Field kinds and the rules between fields: exclusions, the quality order, endpoints."""

from __future__ import annotations

from imagewidgets.models import (
    BOTH,
    GENERATIONS,
    MODELS,
    QUALITY_RANK,
    Choice,
    Exclusion,
    Flag,
    IntRange,
    Text,
)


def test_exclusion_holds_only_when_both_values_are_there() -> None:
    exclusion = Exclusion(("background", "transparent"), ("output_format", "jpeg"), "why")
    assert exclusion.fields == ("background", "output_format")
    assert exclusion.holds({"background": "transparent", "output_format": "jpeg", "n": 2})
    assert not exclusion.holds({"background": "transparent", "output_format": "png"})
    assert not exclusion.holds({"background": "opaque", "output_format": "jpeg"})
    assert not exclusion.holds({"output_format": "jpeg"})  # a field not sent excludes nothing
    assert not exclusion.holds({})


def test_quality_order() -> None:
    rank = QUALITY_RANK
    assert rank["low"] < rank["medium"] == rank["standard"] < rank["high"] == rank["hd"]
    every_quality = {value for spec in MODELS.values() if spec.takes("quality")
                     for value in spec.kind("quality").values}  # type: ignore[union-attr]
    assert every_quality - {"auto"} <= set(rank)  # no quality is left unranked


def test_a_field_is_taken_at_both_endpoints_unless_its_kind_says_otherwise() -> None:
    for kind in (Choice(("a",), "a"), IntRange(1, 2, 1), Flag(), Text()):
        assert kind.endpoints == BOTH == {"generations", "edits"}
    assert Choice(("a",), "a", GENERATIONS).endpoints == {"generations"}
    assert Choice(("a",), "a", frozenset({"edits"})).endpoints == {"edits"}
