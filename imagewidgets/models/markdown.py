"""The README's "Models" table, made from the registry (a test keeps the README current)."""

from __future__ import annotations

from collections.abc import Mapping

from .fields import Choice
from .pricing import PerImagePrice, TokenPrice
from .registry import MODELS
from .spec import ModelSpec

__all__ = ["models_markdown"]


def _values(spec: ModelSpec, name: str) -> str:
    kind = spec.fields.get(name)
    if not isinstance(kind, Choice):
        return "—"
    text = ", ".join(str(value) for value in kind.values)
    if name == "size" and spec.custom_sizes is not None:
        text += ", custom WxH"
    return text


def _price(spec: ModelSpec) -> str:
    price = spec.price
    if isinstance(price, TokenPrice):
        text = f"${price.text_input:g} / ${price.image_input:g} / ${price.image_output:g}"
        if price.cached_text_input is not None and price.cached_image_input is not None:
            text += f" (cached ${price.cached_text_input:g} / ${price.cached_image_input:g})"
        if price.unpriced_formats:
            text += f"; {', '.join(sorted(price.unpriced_formats))}: unknown"
        return text
    if isinstance(price, PerImagePrice):
        cheapest, dearest = min(price.dollars.values()), max(price.dollars.values())
        return f"${cheapest:g}–${dearest:g} an image"
    return "—"


def _edits(spec: ModelSpec) -> str:
    """What an edit takes: "16 png/webp/jpeg · mask · markup · input_fidelity high/low", or "no"."""
    image = spec.uploads.get("image")
    if image is None:
        return "no"
    parts = [f"{image.max_count}{' square' if image.square else ''} {'/'.join(image.formats)}"]
    parts += [name for name in ("mask", "markup") if name in spec.uploads]
    fidelity = spec.fields.get("input_fidelity")
    if isinstance(fidelity, Choice) and spec.takes("input_fidelity", "edits"):
        parts.append(f"input_fidelity {'/'.join(fidelity.values)}")
    return " · ".join(parts)


def _sources(spec: ModelSpec) -> str:
    return " · ".join(f"[{fact}]({source.url}){'' if source.official else '†'}"
                      for fact, source in spec.sources.items()) or "—"


def models_markdown(models: Mapping[str, ModelSpec] | None = None) -> str:
    """The README's "Models" table: every registered model, or those of ``models``."""
    rows = [
        "| model | released | shut down | sizes | qualities | formats | edits | price (text in / "
        "image in / image out, $ per 1M tokens) | facts from († third-party) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in (models or MODELS).values():
        shutdown = "—"
        if spec.shutdown is not None:
            shutdown = str(spec.shutdown) + (f" → {spec.replacement}" if spec.replacement else "")
        name = f"`{spec.name}`" + (f" (snapshot of `{spec.snapshot_of}`)" if spec.snapshot_of else "")
        formats = _values(spec, "output_format") if spec.takes("output_format") else "png (url or b64_json)"
        rows.append(f"| {name} | {spec.released or 'unknown'} | {shutdown} | {_values(spec, 'size')} | "
                    f"{_values(spec, 'quality')} | {formats} | {_edits(spec)} | {_price(spec)} | "
                    f"{_sources(spec)} |")
    return "\n".join(rows) + "\n"

