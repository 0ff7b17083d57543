"""The capabilities table against the seed's rules, written out independently here."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

import imagewidgets as iw
from imagewidgets.models.capabilities import (
    MODELS,
    PRICES_READ_ON,
    QUALITY_RANK,
    CustomSizes,
    Exclusion,
    ModelSpec,
    PerImagePrice,
    TokenPrice,
    default_model_for,
    models_taking,
    output_tokens,
    parse_size,
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
    import imagewidgets.models.capabilities as capabilities

    assert set(EXPECTED) == set(MODELS)
    assert set(OPTION_FIELDS) == set(capabilities.FIELDS) - {"prompt", "model", "user"}


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
    # text in, image in, image out, then cached text and cached image in: dollars per 1M tokens
    assert tokens["gpt-image-1"] == TokenPrice(5, 10, 40, 1.25, 2.5)
    assert tokens["chatgpt-image-latest"] == TokenPrice(5, 10, 40)
    assert tokens["gpt-image-1-mini"] == TokenPrice(2, 2.5, 8, 0.2, 0.25)
    assert tokens["gpt-image-1.5"] == TokenPrice(5, 8, 32)
    assert tokens["gpt-image-2"] == TokenPrice(5, 8, 30, 1.25, 2)
    assert MODELS["gpt-image-2.6-sunburst"].price == TokenPrice(5, 8, 30, 1.25, 2)
    assert MODELS["gpt-image-2.6-sunburst"].sources["price"].official


def test_output_tokens() -> None:
    table = {"low": (272, 408, 400), "medium": (1056, 1584, 1568), "high": (4160, 6240, 6208)}
    for quality, counts in table.items():
        sizes = ("1024x1024", "1024x1536", "1536x1024")
        assert tuple(output_tokens(quality, size) for size in sizes) == counts
    assert output_tokens("auto", "auto") == 1056
    assert output_tokens("high", "2048x2048") == 4 * 4160  # scaled by area: an estimate
    with pytest.raises(ValueError, match="'big'"):
        output_tokens("high", "big")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1536x1024", (1536, 1024)),
        ("1024x1792", (1024, 1792)),
        ("0x0", (0, 0)),  # read, not judged: CustomSizes says why it is not allowed
        ("3840x2160", (3840, 2160)),
        ("auto", None),
        ("", None),
        ("1024", None),
        ("1024X1024", None),
        ("1024 x 1024", None),
        (" 1024x1024", None),
        ("1024x1024\n", None),
        ("-16x16", None),
        ("1024.0x1024", None),
        ("1024x1024x3", None),
        ("\uff11\uff10\uff12\uff14x\uff11\uff10\uff12\uff14", None),  # full-width digits
        (None, None),
        ((1024, 1024), None),
    ],
)
def test_parse_size(text: object, parsed: tuple[int, int] | None) -> None:
    assert parse_size(text) == parsed


def test_custom_sizes_take_only_ascii_digits() -> None:
    assert MODELS["gpt-image-2"].allows("size", "1920x1088")
    assert not MODELS["gpt-image-2"].allows("size", "\uff11\uff19\uff12\uff10x1088")


def test_exclusion_holds_only_when_both_values_are_there() -> None:
    exclusion = Exclusion(("background", "transparent"), ("output_format", "jpeg"), "why")
    assert exclusion.fields == ("background", "output_format")
    assert exclusion.holds({"background": "transparent", "output_format": "jpeg", "n": 2})
    assert not exclusion.holds({"background": "transparent", "output_format": "png"})
    assert not exclusion.holds({"background": "opaque", "output_format": "jpeg"})
    assert not exclusion.holds({"output_format": "jpeg"})  # a field not sent excludes nothing
    assert not exclusion.holds({})


def test_models_taking_reads_the_table_in_order() -> None:
    def known(names: tuple[str, ...]) -> tuple[str, ...]:  # other tests may register models
        return tuple(name for name in names if name in EXPECTED)

    assert known(models_taking("style")) == ("dall-e-3",)
    assert known(models_taking("response_format")) == ("dall-e-2", "dall-e-3")
    gpt_in_table_order = tuple(name for name in MODELS if name in EXPECTED and "dall-e" not in name)
    assert known(models_taking("stream")) == gpt_in_table_order
    assert known(models_taking("complexity")) == ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
    assert models_taking("prompt") == tuple(MODELS) == models_taking("model")
    assert models_taking("colour") == ()
    register_model(ModelSpec.like("dall-e-3", name="my-dalle"))
    try:
        assert models_taking("style")[-1] == "my-dalle"
        assert "my-dalle" not in models_taking("background")
    finally:
        del MODELS["my-dalle"]


def test_quality_order() -> None:
    rank = QUALITY_RANK
    assert rank["low"] < rank["medium"] == rank["standard"] < rank["high"] == rank["hd"]
    every_quality = {value for spec in MODELS.values() if spec.takes("quality")
                     for value in spec.kind("quality").values}  # type: ignore[union-attr]
    assert every_quality - {"auto"} <= set(rank)  # no quality is left unranked


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


# -- nearest custom sizes --------------------------------------------------------

RULES = {
    "gpt-image-2": MODELS["gpt-image-2"].custom_sizes,
    "gpt-image-2.5-flare": MODELS["gpt-image-2.5-flare"].custom_sizes,  # a pixel floor too
    "coarse": CustomSizes(64, 2.0, 1024, 768, min_pixels=100_000),  # small enough to search whole
}
SIDES = st.one_of(st.integers(0, 6000), st.floats(0.5, 1e7, allow_nan=False))


def _every_size(rules: CustomSizes) -> list[tuple[int, int]]:
    sides = range(rules.multiple, rules.max_long_side + 1, rules.multiple)
    return [(w, h) for w in sides for h in sides if rules.problem(f"{w}x{h}") is None]


@pytest.mark.parametrize("name", list(RULES))
@settings(max_examples=150, deadline=None)
@given(width=SIDES, height=SIDES)
def test_the_nearest_size_is_allowed_and_keeps_the_orientation(
        name: str, width: float, height: float) -> None:
    rules = RULES[name]
    assert rules is not None
    nearest = rules.nearest(width, height)
    assert rules.problem(nearest) is None, (width, height, nearest)
    w, h = parse_size(nearest) or (0, 0)
    assert (w - h) * (max(width, 1) - max(height, 1)) >= 0  # landscape never turns portrait
    assert rules.nearest(w, h) == nearest  # and it is its own nearest


@pytest.mark.parametrize("name", list(RULES))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_an_allowed_size_is_its_own_nearest(name: str, data: st.DataObject) -> None:
    rules = RULES[name]
    assert rules is not None
    step = rules.multiple
    w = data.draw(st.integers(1, rules.max_long_side // step)) * step
    h = data.draw(st.integers(1, rules.max_long_side // step)) * step
    if rules.problem(f"{w}x{h}") is None:
        assert rules.nearest(w, h) == f"{w}x{h}"


def test_within_the_limits_the_nearest_is_the_closest_of_all() -> None:
    # Where the aspect and the area need no bringing in, nearest is only rounding:
    # the closest allowed size of every one there is, side by side on a log scale.
    rules = RULES["coarse"]
    assert rules is not None
    every = _every_size(rules)
    for width, height in [(400, 300), (333, 500), (1000, 700), (700, 1000), (555, 555), (1023, 767),
                          (400, 790), (900, 460)]:
        best = min(every, key=lambda s: math.log(s[0] / width) ** 2 + math.log(s[1] / height) ** 2)
        assert rules.nearest(width, height) == f"{best[0]}x{best[1]}", (width, height)


@pytest.mark.parametrize(("asked", "nearest"), [
    ((1920, 1080), "1920x1088"),  # each side to its nearest multiple of 16
    ((1000, 1000), "1008x1008"),
    ((4000, 1000), "3456x1152"),  # 4:1 brought to 3:1, about the area kept
    ((1000, 4000), "1152x3456"),
    ((5000, 5000), "2160x2160"),  # a square stays square, at the largest
    ((4096, 2304), "3840x2160"),  # 16:9, shrunk to the side limits
    ((1536, 1024), "1536x1024"),  # already allowed
])
def test_nearest_gpt_image_2(asked: tuple[int, int], nearest: str) -> None:
    assert RULES["gpt-image-2"].nearest(*asked) == nearest  # type: ignore[union-attr]


def test_nearest_raises_small_sizes_to_the_pixel_floor() -> None:
    rules = RULES["gpt-image-2.5-flare"]
    assert rules is not None and rules.min_pixels == 655_360
    assert rules.nearest(100, 100) == "816x816"  # square, just over the floor
    assert rules.nearest(512, 512) == "816x816"
    assert RULES["gpt-image-2"].nearest(512, 512) == "512x512"  # type: ignore[union-attr]


def test_nearest_takes_sides_of_any_length() -> None:
    rules = RULES["gpt-image-2"]
    assert rules is not None
    assert rules.nearest(10**400, 10**399) == "3840x1280"  # 10:1, brought to 3:1 at the largest
    assert rules.nearest(0, 0) == rules.nearest(-5, 32) == "16x16"  # below 1 counts as 1


def test_nearest_refuses_rules_no_size_keeps() -> None:
    with pytest.raises(ValueError, match="no size keeps these rules"):
        CustomSizes(16, 3.0, 1024, 1024, min_pixels=2_000_000).nearest(1000, 1000)


@pytest.mark.parametrize("name", list(RULES))
def test_for_ratio_gives_about_a_megapixel_at_that_aspect(name: str) -> None:
    rules = RULES[name]
    assert rules is not None
    for w_ratio, h_ratio in [(1, 1), (3, 2), (2, 3), (4, 3), (3, 4), (16, 9), (9, 16), (21, 9), (4, 1)]:
        size = rules.for_ratio(w_ratio, h_ratio)
        assert rules.problem(size) is None, (w_ratio, h_ratio, size)
        w, h = parse_size(size) or (0, 0)
        wanted = min(max(w_ratio / h_ratio, 1 / rules.max_ratio), rules.max_ratio)
        assert abs(math.log((w / h) / wanted)) < 0.1  # the aspect, within rounding to the multiple
        if name != "coarse":  # its sides stop at 1024x768
            assert abs(math.log(w * h / 1024 ** 2)) < 0.05
        assert rules.allows_ratio(w_ratio, h_ratio) == (max(w_ratio, h_ratio) / min(w_ratio, h_ratio)
                                                        <= rules.max_ratio)
    assert RULES["gpt-image-2"].for_ratio(16, 9) == "1360x768"  # type: ignore[union-attr]
    assert RULES["gpt-image-2"].for_ratio(1, 1) == "1024x1024"  # type: ignore[union-attr]


def test_a_size_breaking_several_rules_is_told_all_of_them() -> None:
    why = RULES["gpt-image-2"].problem("4000x1000")  # type: ignore[union-attr]
    assert why is not None
    assert "divisible by 16" in why and "aspect ratio" in why and "at most 3840x2160" in why
