"""What the API charges: prices per image or per token, and output tokens per image."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from .sizes import parse_size

__all__ = ["OUTPUT_TOKENS", "PRICES_READ_ON", "PerImagePrice", "TokenPrice", "output_tokens"]

PRICES_READ_ON = date(2026, 11, 25)
"""The day the prices below were read from the public price list."""


@dataclass(frozen=True)
class PerImagePrice:
    """DALL·E: dollars per image, by (quality, size); quality "*" matches any."""

    dollars: Mapping[tuple[str, str], float]

    def image_cost(self, quality: str, size: str) -> float | None:
        return self.dollars.get((quality, size), self.dollars.get(("*", size)))


@dataclass(frozen=True)
class TokenPrice:
    """GPT image models: dollars per million tokens."""

    text_input: float
    image_input: float
    image_output: float
    cached_text_input: float | None = None
    cached_image_input: float | None = None
    unpriced_formats: frozenset[str] = frozenset()
    """Output formats no source prices (2.6's GIF and SVG): their cost is unknown, both the
    estimate and the bill, rather than a guess shown as a price."""


# Output tokens per image for the GPT image 1 family, by quality then size.
OUTPUT_TOKENS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
        "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
        "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
    }
)


def output_tokens(quality: str, size: str) -> int:
    """Output tokens for one image; ``auto`` counts as medium and 1024x1024.

    Sizes outside the published table (gpt-image-2's custom sizes) are scaled
    from 1024x1024 by pixel area: an estimate, said so where it is shown.
    """
    # xhigh and max (2.5 and later) have no published table: high is their lower bound.
    quality = "high" if quality in ("xhigh", "max") else quality
    per_size = OUTPUT_TOKENS.get(quality, OUTPUT_TOKENS["medium"])
    size = "1024x1024" if size == "auto" else size
    if size in per_size:
        return per_size[size]
    parsed = parse_size(size)
    if parsed is None:
        raise ValueError(f"size {size!r} is neither WIDTHxHEIGHT nor auto")
    width, height = parsed
    return math.ceil(per_size["1024x1024"] * width * height / (1024 * 1024))
