"""The capabilities table against the seed's rules, written out independently here."""

from __future__ import annotations

import pytest

import imagewidgets as iw
from imagewidgets.capabilities import (
    MODELS,
    PRICES_READ_ON,
    ModelSpec,
    PerImagePrice,
    TokenPrice,
    default_model_for,
    output_tokens,
    register_model,
)

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
}
PROMPT_MAX = {"dall-e-2": 1000, "dall-e-3": 4000, **{name: 32000 for name in GPT}}
OPTION_FIELDS = ["n", "quality", "response_format", "size", "style", "background",
                 "output_format", "output_compression", "moderation", "stream", "partial_images"]


def test_registry_holds_the_seed_models_and_gpt_image_2() -> None:
    assert set(SEED_MODELS) | {"gpt-image-2"} <= set(MODELS)


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
    bad = "bogus" if isinstance(default, str) else 999 if field != "stream" else "yes"
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


def test_default_model_rule() -> None:
    assert default_model_for({"prompt": "a"}) == "dall-e-2"
    assert default_model_for({"prompt": "a", "size": "1024x1024"}) == "dall-e-2"
    for gpt_only in ("background", "output_format", "moderation", "stream", "output_compression"):
        assert default_model_for({"prompt": "a", gpt_only: "x"}).startswith("gpt-image")


def test_register_a_compatible_model() -> None:
    spec = register_model(ModelSpec.like("gpt-image-1.5", name="my-model"))
    try:
        assert MODELS["my-model"] is spec and spec.fields == MODELS["gpt-image-1.5"].fields
        params = iw.ImageParams(model="my-model", prompt="x", quality="high")
        assert params.to_request()["model"] == "my-model"
    finally:
        del MODELS["my-model"]
    with pytest.raises(KeyError, match="known models"):
        ModelSpec.like("nope", name="x")


def test_prices() -> None:
    assert PRICES_READ_ON.year >= 2025
    d2, d3 = MODELS["dall-e-2"].price, MODELS["dall-e-3"].price
    assert isinstance(d2, PerImagePrice) and isinstance(d3, PerImagePrice)
    assert [d2.image_cost("standard", s) for s in ("256x256", "512x512", "1024x1024")] == [
        0.016, 0.018, 0.020]
    assert d3.image_cost("standard", "1024x1024") == 0.04
    assert d3.image_cost("standard", "1792x1024") == d3.image_cost("hd", "1024x1024") == 0.08
    assert d3.image_cost("hd", "1024x1792") == 0.12
    tokens = {name: MODELS[name].price for name in GPT}
    assert tokens["gpt-image-1"] == TokenPrice(5, 10, 40) == tokens["chatgpt-image-latest"]
    assert tokens["gpt-image-1-mini"] == TokenPrice(2, 2.5, 8)
    assert tokens["gpt-image-1.5"] == TokenPrice(5, 8, 32)
    assert tokens["gpt-image-2"] == TokenPrice(5, 8, 30)


def test_output_tokens() -> None:
    table = {"low": (272, 408, 400), "medium": (1056, 1584, 1568), "high": (4160, 6240, 6208)}
    for quality, counts in table.items():
        sizes = ("1024x1024", "1024x1536", "1536x1024")
        assert tuple(output_tokens(quality, size) for size in sizes) == counts
    assert output_tokens("auto", "auto") == 1056
    assert output_tokens("high", "2048x2048") == 4 * 4160  # scaled by area: an estimate
