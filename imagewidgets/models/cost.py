"""What a request should cost, and what an image did cost, by model name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .input_tokens import image_input_tokens, text_input_tokens
from .pricing import PRICES_READ_ON, PerImagePrice, TokenPrice, output_tokens
from .registry import MODELS
from .sizes import parse_size

__all__ = ["Estimate", "estimate_cost", "image_cost"]


@dataclass(frozen=True)
class Estimate:
    """What a request should cost, from the published prices, before it is sent.

    Attributes
    ----------
    dollars : float
        For all ``n`` images.
    per_image : float
        ``dollars / n``: the prompt, billed once per request, shared among the images.
    n : int
        How many images.
    output_tokens : int or None
        Per image (GPT image models); None for DALL·E, priced per image.
    prompt_tokens : int or None
        Guessed from the prompt's length (:func:`.text_input_tokens`; the
        tokenizer is not published); None for DALL·E.
    prices_read_on : datetime.date
        The day the prices were read (:data:`PRICES_READ_ON`).
    input_images : int
        How many input images of an edit the estimate prices (0 for a generation,
        and for DALL·E, whose edits cost what its generations do).
    image_input_tokens : int
        Their tokens in all (:func:`.image_input_tokens`), billed once per request.
    """

    dollars: float
    per_image: float
    n: int
    output_tokens: int | None
    prompt_tokens: int | None
    prices_read_on: date
    input_images: int = 0
    image_input_tokens: int = 0

    def __str__(self) -> str:
        images = f" for {self.n} images" if self.n > 1 else ""
        inputs = ""
        if self.input_images:
            plural = "s" if self.input_images > 1 else ""
            inputs = f", includes {self.input_images} input image{plural}"
        return f"≈ ${self.dollars:.3f}{images} (estimate{inputs}, prices of {self.prices_read_on})"


def estimate_cost(
    model: str, quality: str | None, size: str | None, *, n: int = 1, prompt: str = "",
    output_format: str | None = None, input_images: Sequence[tuple[int, int]] = (),
    requests: int = 1,
) -> Estimate | None:
    """What ``n`` images should cost, or None when the price is unknown.

    DALL·E: the price per image, for an edit too. GPT image models: the
    published output tokens for the quality and size at the image output rate,
    plus the prompt's tokens at the text input rate and, for an edit, the
    tokens of ``input_images`` (each one's width and height) at the image input
    rate, both billed once per request: ``requests`` of them (a streamed ``n > 1``
    goes as ``n`` requests of one image, each carrying the prompt and the images).
    A mask or markup is not counted: the API applies it to the first image and no
    source says it is billed apart.
    ``auto`` (or None) counts as what the model's :attr:`ModelSpec.auto` says.

    >>> estimate_cost("dall-e-3", "hd", "1792x1024", n=1).dollars
    0.12
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    spec = MODELS.get(model)
    if spec is None or spec.price is None or _unpriced(spec.price, output_format):
        return None
    quality = str(spec.resolve("quality", quality or "auto"))
    size = str(spec.resolve("size", size or "auto"))
    price = spec.price
    if isinstance(price, PerImagePrice):
        per_image = price.image_cost(quality, size)
        if per_image is None:
            return None
        return Estimate(per_image * n, per_image, n, None, None, PRICES_READ_ON)
    if parse_size(size) is None:
        return None  # not a size at all: nothing to price
    out = output_tokens(quality, size)
    prompt_tokens = text_input_tokens(prompt)
    image_in = sum(image_input_tokens(width, height) for width, height in input_images)
    dollars = (n * out * price.image_output
               + requests * (prompt_tokens * price.text_input + image_in * price.image_input)) / 1_000_000
    return Estimate(dollars, dollars / n, n, out, prompt_tokens, PRICES_READ_ON,
                    len(input_images), image_in)


def _unpriced(price: PerImagePrice | TokenPrice, output_format: str | None) -> bool:
    return isinstance(price, TokenPrice) and output_format in price.unpriced_formats


def image_cost(
    model: str, quality: str, size: str, usage: Mapping[str, int] | None = None, *,
    output_format: str | None = None,
) -> float | None:
    """Dollars for one image, or None when the price is unknown.

    DALL·E is priced per image. GPT image models are priced per token: with
    ``usage`` (``input_tokens``, ``output_tokens``, ``text_tokens``,
    ``image_tokens``, as :class:`~imagewidgets.results.Usage` holds them) the
    cost is what the API reported; without it, :func:`estimate_cost` of the
    output tokens alone. An edit's usage splits its input tokens in
    ``input_tokens_details`` (``text_tokens``, ``image_tokens``), each at its
    rate. Unknown (None) too when the usage does not say how
    its input tokens split into text and image (they cost differently), and
    for an ``output_format`` its model's price leaves unpriced (GIF, SVG).
    """
    spec = MODELS.get(model)
    price = spec.price if spec is not None else None
    if price is not None and _unpriced(price, output_format):
        return None
    if usage and isinstance(price, TokenPrice):
        text, image_in = usage.get("text_tokens", 0), usage.get("image_tokens", 0)
        if usage.get("input_tokens", 0) > text + image_in:
            return None  # no input_tokens_details: text at $5 or images at $8 a million, unknown
        out = usage.get("output_tokens", 0)
        return (text * price.text_input + image_in * price.image_input
                + out * price.image_output) / 1_000_000
    estimate = estimate_cost(model, quality, size, output_format=output_format)
    return None if estimate is None else estimate.per_image
