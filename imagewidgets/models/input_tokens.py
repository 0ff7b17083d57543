"""How many input tokens an edit's images and prompt count, for estimates and the emulator's usage.

No official page gives the image models' rule for input images (read 2026-12-07).
The estimate follows the rule OpenAI documents for image inputs to its vision
models (fit within 2048x2048, shortest side at most 768, then 170 tokens per
512-pixel tile plus 85), a stand-in until a page says otherwise; an answer's
``usage.input_tokens_details`` is what is billed. Text counts about four
characters a token.
"""

from __future__ import annotations

import math

__all__ = ["VISION_TOKENS_SOURCE", "image_input_tokens", "text_input_tokens"]

VISION_TOKENS_SOURCE = "https://developers.openai.com/api/docs/guides/images-vision#calculating-costs"
"""Where the tile rule comes from (vision inputs; not confirmed for image models)."""

_BASE, _PER_TILE, _TILE = 85, 170, 512


def image_input_tokens(width: int, height: int) -> int:
    """Input tokens of one image of ``width`` x ``height`` pixels (0 when either is unknown)."""
    if width <= 0 or height <= 0:
        return 0
    fit = min(1.0, 2048 / max(width, height))
    wide, high = width * fit, height * fit
    short = min(1.0, 768 / min(wide, high))
    return _BASE + _PER_TILE * math.ceil(wide * short / _TILE) * math.ceil(high * short / _TILE)


def text_input_tokens(prompt: str) -> int:
    """Input tokens of a prompt: about four characters a token, at least 1 for any text."""
    return math.ceil(len(prompt) / 4) if prompt else 0
