"""Prices per image and per token, and the published output tokens per image."""

from __future__ import annotations

import pytest

from imagewidgets.models import MODELS, PRICES_READ_ON, PerImagePrice, TokenPrice, output_tokens

GPT = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "gpt-image-2"]


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
    assert MODELS["gpt-image-2.6-sunburst"].price == TokenPrice(
        5, 8, 30, 1.25, 2, unpriced_formats=frozenset({"gif", "svg"}))
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


def test_gif_and_svg_are_unpriced_and_say_why() -> None:
    """No official page prices a GIF or an SVG: the only sources are third-party, so the
    table leaves both unpriced and names those sources rather than guess."""
    for name in ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"):
        spec = MODELS[name]
        assert isinstance(spec.price, TokenPrice) and spec.price.unpriced_formats == {"gif", "svg"}
        for fact in ("price_gif", "price_svg"):
            source = spec.sources[fact]
            assert not source.official and "unknown" in source.note and source.url.startswith("https://")
