"""Each model's spec against the seed's rules, written out independently here."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from imagewidgets.models import FIELDS, MODELS, Choice, ModelSpec

GPT = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "gpt-image-2"]
SEED_MODELS = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
               "chatgpt-image-latest"]

GPT_FIELDS = {
    "quality": (("auto", "high", "medium", "low"), "auto"),
    "size": (("auto", "1024x1024", "1536x1024", "1024x1536"), "auto"),
    "background": (("auto", "transparent", "opaque"), "auto"),
    "output_format": (("png", "jpeg", "webp"), "png"),
    "moderation": (("auto", "low"), "auto"),
    "n": (tuple(range(1, 11)), 1),
    "output_compression": (tuple(range(101)), 100),
    "partial_images": ((0, 1, 2, 3), 0),
    "stream": ((False, True), False),
}
EXPECTED: dict[str, dict[str, tuple[tuple[object, ...], object]]] = {
    "dall-e-2": {
        "quality": (("auto", "standard"), "auto"),
        "size": (("256x256", "512x512", "1024x1024"), "1024x1024"),
        "response_format": (("url", "b64_json"), "url"),
        "n": (tuple(range(1, 11)), 1),
    },
    "dall-e-3": {
        "quality": (("auto", "hd", "standard"), "auto"),
        "size": (("1024x1024", "1792x1024", "1024x1792"), "1024x1024"),
        "response_format": (("url", "b64_json"), "url"),
        "style": (("vivid", "natural"), "vivid"),
        "n": ((1,), 1),
    },
    **{name: GPT_FIELDS for name in GPT},
    "gpt-image-1.5-2025-12-16": GPT_FIELDS,
    "gpt-image-2-2026-04-21": GPT_FIELDS,
}
# Today's families: 2.5 adds xhigh and max (openai 3.57's types); 2.6 adds complexity,
# gif and svg, and the GIF's frames.
GPT_2_5_FIELDS = {**GPT_FIELDS,
                  "quality": (("auto", "high", "medium", "low", "xhigh", "max"), "auto")}
GPT_2_6_FIELDS = {
    **GPT_FIELDS,
    "complexity": (("low", "medium", "high"), "high"),
    "output_format": (("png", "jpeg", "webp", "gif", "svg"), "png"),
    "frame_count": (tuple(range(2, 17)), 9),
    "frame_duration_ms": (tuple(range(10, 655_351)), 200),
}
for _name in ("gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5-sunburst",
              "gpt-image-2.5-sunburst-2026-09-08"):
    EXPECTED[_name] = GPT_2_5_FIELDS
for _name in ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"):
    EXPECTED[_name] = GPT_2_6_FIELDS
PROMPT_MAX = {"dall-e-2": 1000, "dall-e-3": 4000,
              **{name: 32000 for name in EXPECTED if name.startswith(("gpt", "chatgpt"))}}
OPTION_FIELDS = ["n", "quality", "complexity", "response_format", "size", "style", "background",
                 "output_format", "output_compression", "frame_count", "frame_duration_ms",
                 "moderation", "stream", "partial_images"]


def test_the_table_below_covers_every_model_and_field() -> None:
    assert set(EXPECTED) == set(MODELS)
    # Free text, and input_fidelity (edits only), have tests of their own below.
    assert set(OPTION_FIELDS) == set(FIELDS) - {"prompt", "model", "user", "safety_identifier",
                                                "input_fidelity"}


@pytest.mark.parametrize("model", list(EXPECTED))
@pytest.mark.parametrize("field", OPTION_FIELDS)
def test_every_model_and_field(model: str, field: str) -> None:
    spec = MODELS[model]
    expected = EXPECTED[model].get(field)
    assert spec.takes(field) == (expected is not None)
    if expected is None:
        assert spec.value_problem(field, "x") == f"{field} is not taken by {model}"
        return
    values, default = expected
    kind = spec.kind(field)
    assert set(kind.values) == set(values)  # type: ignore[union-attr]
    assert kind.default == default
    assert all(spec.allows(field, value) for value in values)
    bad = "bogus" if isinstance(default, str) else 10**9 if field != "stream" else "yes"
    message = spec.value_problem(field, bad)
    assert message is not None and field in message
    if isinstance(default, str):
        assert model in message and all(str(v) in message for v in values)


@pytest.mark.parametrize("model", list(EXPECTED))
def test_prompt_limit_and_user(model: str) -> None:
    assert MODELS[model].kind("prompt").max_length == PROMPT_MAX[model]  # type: ignore[union-attr]
    assert MODELS[model].takes("user")


def test_gpt_image_2_custom_sizes() -> None:
    spec = MODELS["gpt-image-2"]
    for ok in ("3840x2160", "2160x3840", "1920x1088", "768x2304", "auto", "1536x1024"):
        assert spec.allows("size", ok), ok
    for bad, why in (
        ("1920x1080", "divisible by 16"),
        ("3200x1024", "aspect ratio"),
        ("4096x2304", "at most 3840x2160"),
        ("2304x2304", "at most 3840x2160"),
        ("big", "WIDTHxHEIGHT"),
    ):
        message = spec.value_problem("size", bad)
        assert message is not None and why in message and bad in message
    # other GPT image models take only the presets
    assert not MODELS["gpt-image-1"].allows("size", "1920x1088")


def test_conditions_and_exclusions_are_data() -> None:
    spec = MODELS["gpt-image-1"]
    assert spec.when["output_compression"].values == ("jpeg", "webp")
    assert spec.when["partial_images"].values == (True,)
    assert spec.exclusions[0].first == ("background", "transparent")
    assert spec.exclusions[0].second == ("output_format", "jpeg")
    assert not MODELS["dall-e-3"].exclusions


def test_custom_sizes_take_only_ascii_digits() -> None:
    assert MODELS["gpt-image-2"].allows("size", "1920x1088")
    assert not MODELS["gpt-image-2"].allows("size", "\uff11\uff19\uff12\uff10x1088")


@pytest.mark.parametrize("model", list(EXPECTED))
def test_what_answers_carry_is_data(model: str) -> None:
    spec = MODELS[model]
    dall_e = model.startswith("dall-e")
    assert spec.revises_prompt == (model == "dall-e-3")
    assert spec.reports_usage == (not dall_e)
    assert spec.refusal_code == ("content_policy_violation" if dall_e else "moderation_blocked")
    assert spec.resolve("quality", "auto") == ("standard" if dall_e else "medium")
    assert spec.resolve("quality", "high") == "high"  # only auto is resolved
    if not dall_e:
        assert spec.resolve("size", "auto") == "1024x1024"
        assert spec.resolve("background", "auto") == "opaque"
    assert spec.resolve("background", None) is None


def test_a_copy_carries_what_answers_carry() -> None:
    dalle = ModelSpec.like("dall-e-3", name="my-dalle")
    assert (dalle.revises_prompt, dalle.reports_usage, dalle.refusal_code) == (
        True, False, "content_policy_violation")
    assert dalle.resolve("quality", "auto") == "standard"
    gpt = ModelSpec.like("gpt-image-1", name="my-gpt", revises_prompt=True)
    assert (gpt.revises_prompt, gpt.reports_usage, gpt.refusal_code) == (
        True, True, "moderation_blocked")
    assert gpt.resolve("quality", "auto") == "medium"


def test_every_model_but_dall_e_3_edits_and_takes_its_fields_there_but_moderation_and_style() -> None:
    for spec in MODELS.values():
        assert spec.fields_for("generations") == {
            name: kind for name, kind in spec.fields.items() if name != "input_fidelity"}, spec.name
        if spec.name == "dall-e-3":
            assert not spec.edits and spec.fields_for("edits") == {}
            assert not spec.takes("prompt", "edits")
            continue
        assert spec.edits and spec.takes("prompt", "edits") and spec.takes("model", "edits")
        assert set(spec.fields_for("edits")) == set(spec.fields) - {"moderation", "style"}, spec.name
    assert "markup" in MODELS["gpt-image-2.5-sunburst"].uploads
    assert "markup" not in MODELS["gpt-image-2"].uploads
    assert MODELS["dall-e-2"].uploads["image"].max_count == 1
    assert MODELS["gpt-image-2.6-flare"].uploads["image"].max_count == 16


def test_a_field_marked_for_another_endpoint_is_not_taken_at_generations() -> None:
    base = MODELS["gpt-image-1"]
    fields = {**base.fields, "moderation": Choice(("auto", "low"), "auto", frozenset({"edits"}))}
    spec = dataclasses.replace(base, name="edit-moderation", fields=MappingProxyType(fields))
    assert not spec.takes("moderation") and spec.takes("moderation", "edits")
    assert "moderation" not in spec.fields_for("generations")
    assert "moderation" in spec.fields_for("edits")
    # A model with no image upload edits nothing: none of its fields is taken there.
    plain = dataclasses.replace(spec, name="no-edits", uploads=MappingProxyType({}))
    assert not plain.takes("moderation", "edits") and plain.fields_for("edits") == {}


# openai 3.63's image_edit_params.py: high/low on gpt-image-1.5, only low on 1-mini, omitted for
# gpt-image-2 (and the 2.5/2.6 models on it); gpt-image-1 had high/low (the earlier reference).
FIDELITY = {"gpt-image-1": ("high", "low"), "gpt-image-1.5": ("high", "low"),
            "gpt-image-1.5-2025-12-16": ("high", "low"), "gpt-image-1-mini": ("low",)}


@pytest.mark.parametrize("model", list(EXPECTED))
def test_input_fidelity_is_taken_at_edits_only_by_the_models_the_sdk_names(model: str) -> None:
    spec = MODELS[model]
    assert not spec.takes("input_fidelity", "generations")
    assert spec.takes("input_fidelity", "edits") == (model in FIDELITY)
    if model in FIDELITY:
        kind = spec.kind("input_fidelity")
        assert isinstance(kind, Choice) and kind.values == FIDELITY[model] and kind.default == "low"
        assert "input_fidelity" in spec.sources


@pytest.mark.parametrize("model", list(EXPECTED))
def test_safety_identifier_is_taken_by_gpt_image_models_at_both_endpoints(model: str) -> None:
    spec = MODELS[model]
    gpt = spec.family == "gpt-image"
    assert spec.takes("safety_identifier") == gpt
    assert spec.takes("safety_identifier", "edits") == gpt
    assert spec.takes("user")  # deprecated by the API, still taken
