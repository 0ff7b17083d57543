"""What a tile says under its image: the facts of a final image, or the error instead."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from ..results import GeneratedImage
from .widgets import shown_html

__all__ = ["dollars", "error_caption", "image_caption"]


def dollars(cost: float | None, digits: int = 3) -> str | None:
    """``$0.011``; None when the cost is unknown or not a finite amount of at least 0.

    Costs come from sidecars and servers: ``$nan``, ``$inf`` or ``$-1000.000`` would be shown
    as if they were prices.
    """
    if cost is None or not math.isfinite(cost) or cost < 0:
        return None
    return f"${cost:.{digits}f}"


def image_caption(image: GeneratedImage, asked: Mapping[str, Any], *, seconds: float | None,
                  tokens: int | None, cost: float | None, emulated: bool) -> str:
    """Model, size, quality (what ``auto`` became), seconds, tokens and cost, as escaped HTML.

    ``seconds`` is None for an image shown from disk; an emulated image's cost is what it
    would cost, never shown as spent (the emulator bills nothing).
    """
    model, quality = image.settings_used(asked)
    wanted = (image.params or {}).get("quality")
    facts = [model, f"{image.width}x{image.height}",
             f"{quality} (auto)" if wanted in (None, "auto") and quality != "auto" else quality]
    if seconds is not None:
        facts.append(f"{seconds:.1f} s")
    if tokens is not None:
        facts.append(f"{tokens:,} tokens")
    shown = dollars(cost)
    if shown is not None:
        facts.append(f"would cost {shown}" if emulated else shown)
    text = " · ".join(html.escape(fact) for fact in facts)
    if image.revised_prompt:
        revised = shown_html(image.revised_prompt, "tile.result.revised_prompt")
        text += f'<br><i class="iw-revised">revised: {revised}</i>'
    return text


def error_caption(error: BaseException) -> str:
    """The error's kind and message, escaped and cut to what a tile shows."""
    message = shown_html(str(error), "str(tile.error)")
    return f'<span class="iw-error"><b>{html.escape(type(error).__name__)}</b>: {message}</span>'
