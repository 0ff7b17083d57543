"""Sizes: reading WIDTHxHEIGHT, and the nearest size custom-size rules allow."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from imagewidgets.models import MODELS, CustomSizes, parse_size


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
