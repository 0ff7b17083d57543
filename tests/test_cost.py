"""Cost before Generate: the issue's known figures, n, auto, unknown prices, and the label."""

from __future__ import annotations

import dataclasses

import pytest

import imagewidgets as iw
from imagewidgets import Usage
from imagewidgets.models import (
    MODELS,
    PRICES_READ_ON,
    Estimate,
    estimate_cost,
    image_cost,
    register_model,
)

PROMPT = "A lighthouse at dusk"  # 20 characters: 5 prompt tokens at about 4 characters a token


def _dollars(estimate: Estimate | None) -> float:
    assert estimate is not None, "a known price was expected"
    return estimate.dollars


def test_gpt_image_1_low_square_is_272_tokens_about_a_cent() -> None:
    estimate = estimate_cost("gpt-image-1", "low", "1024x1024", prompt=PROMPT)
    assert estimate is not None
    assert (estimate.output_tokens, estimate.prompt_tokens) == (272, 5)
    # 272 tokens at $40 per 1M, plus 5 prompt tokens at $5 per 1M
    assert estimate.dollars == pytest.approx(0.01088 + 0.000025)
    assert f"{estimate.dollars:.3f}" == "0.011"


def test_gpt_image_1_high_landscape_is_6208_tokens_about_a_quarter() -> None:
    estimate = estimate_cost("gpt-image-1", "high", "1536x1024", prompt=PROMPT)
    assert estimate is not None and estimate.output_tokens == 6208
    assert estimate.dollars == pytest.approx(0.24832 + 0.000025)
    assert str(estimate).startswith("≈ $0.248 ")


def test_dall_e_3_hd_wide_is_twelve_cents_exactly() -> None:
    estimate = estimate_cost("dall-e-3", "hd", "1792x1024", prompt=PROMPT)
    assert estimate is not None
    assert estimate.dollars == estimate.per_image == 0.12  # priced per image: the prompt is free
    assert (estimate.output_tokens, estimate.prompt_tokens) == (None, None)


def test_n_multiplies_the_images_and_bills_the_prompt_once() -> None:
    one = estimate_cost("gpt-image-1", "low", "1024x1024", prompt=PROMPT)
    four = estimate_cost("gpt-image-1", "low", "1024x1024", n=4, prompt=PROMPT)
    assert one is not None and four is not None
    assert four.dollars == pytest.approx(4 * 0.01088 + 0.000025)
    assert four.per_image == pytest.approx(four.dollars / 4) and four.per_image < one.per_image
    dall_e_2 = estimate_cost("dall-e-2", None, "512x512", n=3)
    assert dall_e_2 is not None and dall_e_2.dollars == pytest.approx(3 * 0.018)
    with pytest.raises(ValueError, match="at least 1"):
        estimate_cost("dall-e-2", None, "512x512", n=0)


def test_auto_costs_what_the_server_makes_of_it() -> None:
    assert estimate_cost("dall-e-3", "auto", "1024x1024") == estimate_cost("dall-e-3", "standard",
                                                                          "1024x1024")
    assert _dollars(estimate_cost("dall-e-3", "auto", "1024x1024")) == 0.04
    auto = estimate_cost("gpt-image-1", "auto", "auto")
    assert auto is not None and auto == estimate_cost("gpt-image-1", "medium", "1024x1024")
    assert auto.output_tokens == 1056
    assert estimate_cost("gpt-image-1", None, None) == auto  # a field not set counts as auto
    # dall-e-2 has a single quality: any quality asked for costs the same.
    assert estimate_cost("dall-e-2", "auto", "1024x1024") == estimate_cost("dall-e-2", "standard",
                                                                          "1024x1024")


def test_unknown_prices_are_none_not_zero() -> None:
    assert estimate_cost("no-such-model", "low", "1024x1024") is None
    spec = register_model(dataclasses.replace(MODELS["gpt-image-1"], name="unpriced", price=None))
    try:
        assert estimate_cost(spec.name, "low", "1024x1024") is None
        assert iw.ImageParams(model=spec.name, prompt="x").estimate() is None
    finally:
        del MODELS[spec.name]
    assert estimate_cost("dall-e-3", "hd", "512x512") is None  # a size with no price
    assert estimate_cost("gpt-image-1", "low", "big") is None


def test_an_animated_gif_and_an_svg_have_no_published_price() -> None:
    assert estimate_cost("gpt-image-2.6-flare", "low", "1024x1024", output_format="gif") is None
    assert estimate_cost("gpt-image-2.6-flare", "low", "1024x1024", output_format="png") is not None
    params = iw.ImageParams(model="gpt-image-2.6-flare", prompt=PROMPT, output_format="gif")
    assert params.estimate() is None
    params.output_format = "svg"  # SVG may be billed for an authoring model on top: unknown
    assert params.estimate() is None
    params.output_format = "webp"
    assert params.estimate() == estimate_cost("gpt-image-2.6-flare", "auto", "auto", prompt=PROMPT)


@pytest.mark.parametrize("fmt", ["gif", "svg"])
def test_the_bill_of_a_gif_or_svg_is_unknown_even_with_usage(fmt: str) -> None:
    usage = {"input_tokens": 5, "output_tokens": 1056, "text_tokens": 5, "image_tokens": 0}
    assert image_cost("gpt-image-2.6-sunburst", "medium", "1024x1024", usage, output_format=fmt) is None
    assert image_cost("gpt-image-2.6-sunburst", "medium", "1024x1024", usage,
                      output_format="png") == pytest.approx((5 * 5 + 1056 * 30) / 1e6)


def test_input_tokens_without_their_split_make_the_cost_unknown_not_free() -> None:
    """Text input costs $5 and image input $8 a million: without ``input_tokens_details``
    which it was is unknown, so the cost is; never the output alone, as if input were free."""
    no_details = Usage.from_api({"input_tokens": 400, "output_tokens": 272, "total_tokens": 672})
    assert no_details is not None and no_details.text_tokens == no_details.image_tokens == 0
    assert image_cost("gpt-image-1", "low", "1024x1024", dataclasses.asdict(no_details)) is None
    split = Usage.from_api({"input_tokens": 400, "output_tokens": 272, "total_tokens": 672,
                            "input_tokens_details": {"text_tokens": 100, "image_tokens": 300}})
    assert split is not None
    assert image_cost("gpt-image-1", "low", "1024x1024", dataclasses.asdict(split)) == pytest.approx(
        (100 * 5 + 300 * 10 + 272 * 40) / 1e6)
    # No input reported at all: nothing to split, the output is the whole bill.
    assert image_cost("gpt-image-1", "low", "1024x1024", {"output_tokens": 272}) == pytest.approx(
        272 * 40 / 1e6)


def test_the_label_says_estimate_and_the_price_date() -> None:
    one = estimate_cost("gpt-image-1", "low", "1024x1024", prompt=PROMPT)
    four = estimate_cost("gpt-image-1", "low", "1024x1024", n=4, prompt=PROMPT)
    assert str(one) == f"≈ $0.011 (estimate, prices of {PRICES_READ_ON})"
    assert str(four) == f"≈ $0.044 for 4 images (estimate, prices of {PRICES_READ_ON})"
    assert one is not None and one.prices_read_on == PRICES_READ_ON


def test_image_cost_without_usage_is_the_estimate_of_the_image_alone() -> None:
    assert image_cost("dall-e-3", "hd", "1792x1024") == 0.12
    assert image_cost("gpt-image-1", "high", "1536x1024") == pytest.approx(0.24832)
    assert image_cost("gpt-image-1", "auto", "auto") == image_cost("gpt-image-1", "medium", "1024x1024")
    usage = {"text_tokens": 5, "image_tokens": 0, "output_tokens": 272}
    assert image_cost("gpt-image-1", "low", "1024x1024", usage) == pytest.approx(0.01088 + 0.000025)


def test_image_params_estimate_follows_the_settings_and_model_switches() -> None:
    params = iw.ImageParams(model="dall-e-3", prompt=PROMPT, quality="hd", size="1792x1024")
    assert params.estimate() == estimate_cost("dall-e-3", "hd", "1792x1024")
    assert _dollars(params.estimate()) == 0.12
    params.model = "gpt-image-1"  # hd -> high, 1792x1024 -> 1536x1024
    estimate = params.estimate()
    assert estimate is not None and estimate.output_tokens == 6208 and f"{estimate.dollars:.3f}" == "0.248"
    params.update({"quality": "low", "size": "1024x1024", "n": 4})
    assert str(params.estimate()).startswith("≈ $0.044 for 4 images")
    params.prompt = PROMPT * 10  # a longer prompt costs a little more
    assert _dollars(params.estimate()) > _dollars(
        estimate_cost("gpt-image-1", "low", "1024x1024", n=4, prompt=PROMPT))


async def test_the_estimate_is_what_the_emulator_bills(client: iw.ImagesClient) -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt=PROMPT, quality="low", n=2)
    generation = await client.generate(params)
    assert generation.usage is not None
    billed = image_cost("gpt-image-1", "low", "1024x1024", generation.usage.__dict__)
    assert _dollars(params.estimate()) == pytest.approx(billed)


def test_an_edit_estimate_adds_its_input_images_at_the_image_input_rate() -> None:
    plain = estimate_cost("gpt-image-1.5", "low", "1024x1024", prompt=PROMPT)
    edit = estimate_cost("gpt-image-1.5", "low", "1024x1024", prompt=PROMPT,
                         input_images=[(1024, 1024), (512, 512)])
    assert plain is not None and edit is not None
    tokens = iw.models.image_input_tokens(1024, 1024) + iw.models.image_input_tokens(512, 512)
    assert (edit.input_images, edit.image_input_tokens) == (2, tokens)
    assert edit.dollars == pytest.approx(plain.dollars + tokens * 8 / 1e6)  # $8 a million image in
    assert str(edit) == f"≈ $0.017 (estimate, includes 2 input images, prices of {PRICES_READ_ON})"
    # DALL·E edits cost what its generations do: per image, the input not priced apart.
    dall_e = estimate_cost("dall-e-2", "auto", "512x512", input_images=[(512, 512)])
    assert dall_e is not None and (dall_e.dollars, dall_e.input_images) == (0.018, 0)
    assert "input image" not in str(dall_e)


def test_image_params_estimate_takes_an_edits_inputs_but_not_its_mask() -> None:
    from imagewidgets.inputs import EditInputs, InputImage

    picture = InputImage(b"", "png", 1024, 1536)
    mask = InputImage(b"", "png", 1024, 1536, transparent=True)
    params = iw.ImageParams(model="gpt-image-1.5", prompt=PROMPT, endpoint="edits", quality="low")
    with_mask = params.estimate(EditInputs((picture,), mask=mask))
    assert with_mask is not None and with_mask == params.estimate(EditInputs((picture,)))
    assert with_mask.image_input_tokens == iw.models.image_input_tokens(1024, 1536)
    assert "includes 1 input image," in str(with_mask)
    assert params.estimate() is not None and params.estimate().input_images == 0  # type: ignore[union-attr]


def test_a_streamed_edit_of_n_images_counts_its_inputs_once_a_request() -> None:
    # Streaming with n > 1 goes as n requests of one image, each carrying the inputs.
    from imagewidgets.inputs import EditInputs, InputImage

    inputs = EditInputs((InputImage(b"", "png", 1024, 1024),))
    params = iw.ImageParams(model="gpt-image-1.5", prompt=PROMPT, endpoint="edits", quality="low", n=3)
    plain = params.estimate(inputs)
    params.stream = True
    streamed = params.estimate(inputs)
    assert plain is not None and streamed is not None
    price = iw.MODELS["gpt-image-1.5"].price
    assert isinstance(price, iw.models.TokenPrice)
    per_request = (plain.prompt_tokens * price.text_input
                   + plain.image_input_tokens * price.image_input) / 1_000_000
    assert streamed.dollars == pytest.approx(plain.dollars + 2 * per_request)


def test_an_edits_bill_prices_the_reported_image_and_text_input_tokens() -> None:
    """``usage.input_tokens_details`` of an edit: its input images at $8, its prompt at $5."""
    usage = Usage.from_api({"input_tokens": 1000, "output_tokens": 272, "total_tokens": 1272,
                            "input_tokens_details": {"text_tokens": 10, "image_tokens": 990}})
    assert usage is not None
    assert image_cost("gpt-image-2", "low", "1024x1024", dataclasses.asdict(usage)) == pytest.approx(
        (10 * 5 + 990 * 8 + 272 * 30) / 1e6)
