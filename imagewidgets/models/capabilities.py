"""What every model accepts, as data: the one source of truth.

The parameter model, the controls, client-side validation, cost estimates and
the emulator's validation all read this table. Adding a model is adding a
:class:`ModelSpec`; no other module has a per-model ``if``. This module holds
the vocabulary (field kinds, rules, lifecycle, prices); the models themselves,
with where each fact came from, are in :mod:`imagewidgets.catalog`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Any

__all__ = [
    "FIELDS",
    "GPT_IMAGE_ONLY_FIELDS",
    "LONE_SURROGATE",
    "MODELS",
    "OUTPUT_TOKENS",
    "PRICES_READ_ON",
    "QUALITY_RANK",
    "RETIRING_WITHIN",
    "Choice",
    "CustomSizes",
    "Estimate",
    "Exclusion",
    "FieldKind",
    "Flag",
    "IntRange",
    "ModelSpec",
    "PerImagePrice",
    "Requires",
    "Source",
    "Text",
    "TokenPrice",
    "When",
    "default_model",
    "default_model_for",
    "describe_values",
    "estimate_cost",
    "image_cost",
    "models_taking",
    "newest_models",
    "output_tokens",
    "parse_size",
    "register_model",
    "set_today",
    "shown",
    "today",
    "unencodable_problem",
]


# -- values in messages ---------------------------------------------------------

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxtuple = 4
_SHOWN.maxlevel = 2


def shown(value: object) -> str:
    """``value`` as a message may quote it: a short ``repr``, at most about 60 characters.

    ``repr`` escapes what could garble a log or a terminal (escape sequences,
    direction overrides, lone surrogates); a 20 MB value from a server stays short.
    """
    try:
        return _SHOWN.repr(value)
    except ValueError:  # an int too long to write out
        return f"<a {type(value).__name__}>"


LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A lone surrogate: a character with no UTF-8 form (JSON can still spell one, ``"\\ud800"``)."""


def unencodable_problem(name: str, text: str) -> str | None:
    """Why ``text`` cannot be sent as field ``name``, or None when it can.

    A lone surrogate (half of a pair, e.g. from text cut in two) has no UTF-8
    form: the JSON body could not be written.
    """
    found = LONE_SURROGATE.search(text)
    if found is None:
        return None
    return (f"{name} holds a character that cannot be encoded (U+{ord(found[0]):04X}, at position "
            f"{found.start()}: half of a surrogate pair, often left by cutting text in two); "
            "remove it or retype the text around it")


# -- sizes --------------------------------------------------------------------

_SIZE = re.compile(r"([0-9]+)x([0-9]+)")  # not \d: that also matches digits of other scripts


def parse_size(size: object) -> tuple[int, int] | None:
    """``"1536x1024"`` -> ``(1536, 1024)``; None for ``auto`` or anything not ``WxH``.

    The one place a size string is read.
    """
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    return (int(match[1]), int(match[2])) if match else None


def _ascii_digits(size: str) -> str:
    """``size`` with decimal digits of other scripts (``١``, ``１``) written as 0-9."""
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() and not char.isascii()
                   else char for char in size)


# How good each quality is, across families: a model switch keeps the closest one
# (high <-> hd, medium <-> standard, max -> high on a model without it). Equal ranks
# are equally good.
QUALITY_RANK: Mapping[str, int] = MappingProxyType(
    {"low": 0, "standard": 1, "medium": 1, "hd": 2, "high": 2, "xhigh": 3, "max": 4}
)


# -- the clock and where facts come from -------------------------------------

RETIRING_WITHIN = timedelta(days=30)
"""A model whose shutdown is this close is marked as retiring."""

_clock: Callable[[], date] = date.today


def today() -> date:
    """The date every lifecycle decision uses: today, unless :func:`set_today` fixed one."""
    return _clock()


def set_today(day: date | None) -> None:
    """Fix the date lifecycle decisions use (tests, a workshop set in the future).

    ``None`` goes back to the real date.
    """
    global _clock
    _clock = date.today if day is None else (lambda: day)


@dataclass(frozen=True)
class Source:
    """Where a fact came from, and whether the API's own documentation says it."""

    url: str
    official: bool
    note: str = ""

    def __str__(self) -> str:
        kind = "official" if self.official else "third-party, not confirmed by official pages"
        return f"{self.url} ({kind}{': ' + self.note if self.note else ''})"


# -- field kinds --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A field whose value is one of a few strings."""

    values: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class IntRange:
    """An integer field, ``low`` to ``high`` inclusive."""

    low: int
    high: int
    default: int

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1))


@dataclass(frozen=True)
class Flag:
    """A boolean field."""

    default: bool = False

    @property
    def values(self) -> tuple[bool, ...]:
        return (False, True)


@dataclass(frozen=True)
class Text:
    """A free-text field; ``max_length`` is counted in characters."""

    max_length: int | None = None
    default: str = ""


FieldKind = Choice | IntRange | Flag | Text


@dataclass(frozen=True)
class When:
    """A field applies only while ``field`` holds one of ``values``."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Exclusion:
    """Two field values that cannot be sent together, e.g. a transparent jpeg."""

    first: tuple[str, Any]
    second: tuple[str, Any]
    reason: str

    @property
    def fields(self) -> tuple[str, str]:
        """The names of the two fields."""
        return (self.first[0], self.second[0])

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether ``values`` (field name to value) hold both excluded values at once."""
        return all(values.get(name) == value for name, value in (self.first, self.second))


@dataclass(frozen=True)
class Requires:
    """While ``trigger`` holds, ``field`` takes only ``values``: e.g. svg output only with n=1."""

    trigger: tuple[str, Any]
    field: str
    values: tuple[Any, ...]
    reason: str

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether the trigger holds in ``values``."""
        return bool(values.get(self.trigger[0]) == self.trigger[1])

    def problem(self, values: Mapping[str, Any]) -> str | None:
        """Why ``values`` break this rule, or None when they keep it."""
        if not self.active(values) or values.get(self.field) in self.values:
            return None
        allowed = " or ".join(map(str, self.values))
        return (f"{self.field} {values.get(self.field)!r} cannot go with {self.trigger[0]} "
                f"{self.trigger[1]!r}: {self.reason}; choose {allowed}")


@dataclass(frozen=True)
class CustomSizes:
    """``WIDTHxHEIGHT`` sizes a model takes beyond its preset list."""

    multiple: int
    max_ratio: float
    max_long_side: int
    max_short_side: int
    min_pixels: int = 0

    def problem(self, size: str) -> str | None:
        """Why ``size`` is not allowed, or None when it is.

        Every rule it breaks, joined by "; ": fixing one should not reveal another.
        """
        parsed = parse_size(size)
        if parsed is None:
            return "it is not of the form WIDTHxHEIGHT"
        width, height = parsed
        if width <= 0 or height <= 0:
            return "both sides must be positive"
        broken = []
        if width % self.multiple or height % self.multiple:
            broken.append(f"both sides must be divisible by {self.multiple}")
        # Exact: a float division overflows for a side typed with 400 digits.
        if Fraction(max(width, height), min(width, height)) > Fraction(self.max_ratio):
            broken.append(f"the aspect ratio must be between 1:{self.max_ratio:g} and "
                          f"{self.max_ratio:g}:1")
        if max(width, height) > self.max_long_side or min(width, height) > self.max_short_side:
            broken.append(f"it must be at most {self.max_long_side}x{self.max_short_side} "
                          "(either way round)")
        if width * height < self.min_pixels:
            broken.append(f"it must have at least {self.min_pixels:,} pixels in all")
        return "; ".join(broken) or None

    def nearest(self, width: float, height: float) -> str:
        """The allowed size closest to ``width`` x ``height``, as ``"WIDTHxHEIGHT"``.

        "Closest" puts the aspect first, then the area, then rounding: the
        aspect asked for, brought within the ratio limit (so the orientation
        stays); the area asked for, brought within what the side limits and
        ``min_pixels`` allow at that aspect; then, among sizes whose sides are
        multiples, the one nearest that ideal, side by side on a log scale
        (``log(w / ideal_w) ** 2 + log(h / ideal_h) ** 2``, so 1% too wide
        weighs as much as 1% too narrow). An allowed size is its own nearest.
        Sides below 1 count as 1.

        Raises
        ------
        ValueError
            When these rules allow no size at all.
        """
        # In logarithms: a side typed with 400 digits is still a number here.
        log_w, log_h = math.log(max(width, 1)), math.log(max(height, 1))
        limit = math.log(self.max_ratio)
        aspect = min(max(log_w - log_h, -limit), limit)  # log(width / height)
        largest = min(2 * math.log(self.max_long_side) - abs(aspect),
                      2 * math.log(self.max_short_side) + abs(aspect))
        area = max(min(log_w + log_h, largest), math.log(max(self.min_pixels, 1)))
        ideal_w, ideal_h = math.exp((area + aspect) / 2), math.exp((area - aspect) / 2)
        step = self.multiple
        best: tuple[float, str] | None = None
        # Every allowed width, each with its best height: the heights allowed with one
        # width are an interval, and the closest is the ideal height brought into it.
        for w in range(step, self.max_long_side + 1, step):
            tallest = self.max_long_side if w <= self.max_short_side else self.max_short_side
            low = max(step, _round_up(w / self.max_ratio, step),
                      _round_up(self.min_pixels / w, step))
            high = min(_round_down(w * self.max_ratio, step), _round_down(tallest, step))
            if low > high:
                continue
            target = min(max(ideal_h, low), high)
            for h in (_round_down(target, step), _round_up(target, step)):
                distance = math.log(w / ideal_w) ** 2 + math.log(h / ideal_h) ** 2
                # problem() has the last word: the interval is only a fast way to it.
                if (best is None or distance < best[0]) and self.problem(f"{w}x{h}") is None:
                    best = (distance, f"{w}x{h}")
        if best is None:
            raise ValueError(f"no size keeps these rules: {self.describe()}")
        return best[1]

    def for_ratio(self, width: int, height: int, pixels: int = 1024 * 1024) -> str:
        """The allowed size nearest to aspect ``width:height`` with about ``pixels`` pixels.

        The default area is that of 1024x1024: such a size costs about what the
        square preset does, and every model's limits take it. An aspect beyond
        the ratio limit is brought in, as :meth:`nearest` does.
        """
        aspect = width / height
        return self.nearest(math.sqrt(pixels * aspect), math.sqrt(pixels / aspect))

    def allows_ratio(self, width: int, height: int) -> bool:
        """Whether the aspect ``width:height`` is within the ratio limit."""
        return max(width, height) / min(width, height) <= self.max_ratio

    def describe(self) -> str:
        return (
            f"any WIDTHxHEIGHT with both sides divisible by {self.multiple}, aspect ratio between "
            f"1:{self.max_ratio:g} and {self.max_ratio:g}:1, at most "
            f"{self.max_long_side}x{self.max_short_side}"
            + (f" and at least {self.min_pixels:,} pixels" if self.min_pixels else "")
        )


def _round_up(value: float, step: int) -> int:
    """The multiple of ``step`` at or above ``value`` (float noise forgiven)."""
    return math.ceil(value / step - 1e-9) * step


def _round_down(value: float, step: int) -> int:
    """The multiple of ``step`` at or below ``value`` (float noise forgiven)."""
    return math.floor(value / step + 1e-9) * step


# -- prices -------------------------------------------------------------------

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
        Guessed from the prompt's length at about 4 characters a token (the
        tokenizer is not published); None for DALL·E.
    prices_read_on : datetime.date
        The day the prices were read (:data:`PRICES_READ_ON`).
    """

    dollars: float
    per_image: float
    n: int
    output_tokens: int | None
    prompt_tokens: int | None
    prices_read_on: date

    def __str__(self) -> str:
        images = f" for {self.n} images" if self.n > 1 else ""
        return f"≈ ${self.dollars:.3f}{images} (estimate, prices of {self.prices_read_on})"


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


# -- the model spec -----------------------------------------------------------

FIELDS = (
    "prompt",
    "model",
    "n",
    "quality",
    "complexity",
    "response_format",
    "size",
    "style",
    "background",
    "output_format",
    "output_compression",
    "frame_count",
    "frame_duration_ms",
    "moderation",
    "stream",
    "partial_images",
    "user",
)
"""Every request field of the Images API, in the order controls show them."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything one model accepts.

    Parameters
    ----------
    name
        The model name sent as ``model``.
    family
        ``"dall-e"`` or ``"gpt-image"``: only for display and grouping.
    fields
        Field name to its kind (allowed values and default). A field absent
        here is one the model does not take.
    when
        Fields that apply only while another field holds certain values.
    exclusions
        Value pairs that cannot be sent together.
    custom_sizes
        Sizes accepted beyond the preset list, if any.
    price
        Per image (DALL·E) or per token (GPT image models).
    auto
        What ``auto`` stands for, by field: the value the server then uses
        (``{"quality": "standard"}`` for DALL·E, ``"medium"`` for GPT image
        models). :meth:`resolve` reads it.
    revises_prompt
        Whether answers carry a ``revised_prompt`` (dall-e-3 rewrites prompts).
    reports_usage
        Whether answers and stream events carry ``usage`` and the settings the
        server resolved (``size``, ``quality``, ``background``,
        ``output_format``), as the GPT image models' do.
    refusal_code
        The error ``code`` of a prompt refused for its content:
        ``content_policy_violation`` (DALL·E) or ``moderation_blocked`` (GPT image).
    requires
        Rules of the form "while this value is chosen, that field takes only these".
    released, shutdown
        The day the API first served the model, and the day it stops (or
        stopped) serving it; None when unknown or not announced.
    replacement
        The model the API's deprecation notice recommends instead.
    snapshot_of
        For a dated snapshot, the alias it pins (``gpt-image-2-2026-04-21`` of ``gpt-image-2``).
    general
        Whether it is a model for everyday generation, a candidate for the default.
    sources
        Fact (``"lifecycle"``, ``"sizes"``, a field name, ``"price"``) to where it came from.
    provisional
        Request fields known only from third-party pages: sent only when the
        user sets them, and named as such when the API refuses them.
    """

    name: str
    family: str
    fields: Mapping[str, FieldKind]
    when: Mapping[str, When] = field(default_factory=dict)
    exclusions: tuple[Exclusion, ...] = ()
    custom_sizes: CustomSizes | None = None
    price: PerImagePrice | TokenPrice | None = None
    auto: Mapping[str, Any] = field(default_factory=dict)
    revises_prompt: bool = False
    reports_usage: bool = False
    refusal_code: str = "content_policy_violation"
    requires: tuple[Requires, ...] = ()
    released: date | None = None
    shutdown: date | None = None
    replacement: str | None = None
    snapshot_of: str | None = None
    general: bool = True
    sources: Mapping[str, Source] = field(default_factory=dict)
    provisional: frozenset[str] = frozenset()

    # -- lifecycle -------------------------------------------------------------

    def retired(self, on: date | None = None) -> bool:
        """Whether the API has shut the model down by ``on`` (default: :func:`today`)."""
        return self.shutdown is not None and (on or today()) >= self.shutdown

    def status(self, on: date | None = None) -> str:
        """``"retired"``, ``"retiring"`` (shutdown within :data:`RETIRING_WITHIN`) or ``"live"``."""
        on = on or today()
        if self.retired(on):
            return "retired"
        if self.shutdown is not None and self.shutdown - on <= RETIRING_WITHIN:
            return "retiring"
        return "live"

    def label(self, on: date | None = None) -> str:
        """The name as a model list shows it: ``"dall-e-3 · retired 2026-05-12"``."""
        status = self.status(on)
        if status == "retired":
            return f"{self.name} · retired {self.shutdown}"
        if status == "retiring":
            return f"{self.name} · shuts down {self.shutdown}"
        return self.name

    def retirement_note(self, on: date | None = None) -> str | None:
        """A sentence on the model's shutdown, or None while it is live and not retiring."""
        status = self.status(on)
        if status == "live":
            return None
        instead = f"; use {self.replacement} instead" if self.replacement else ""
        if status == "retired":
            return f"the API shut {self.name} down on {self.shutdown}{instead}"
        return f"the API shuts {self.name} down on {self.shutdown}{instead}"

    # -- fields ----------------------------------------------------------------

    def takes(self, name: str) -> bool:
        """Whether the model accepts the request field ``name`` at all."""
        return name == "model" or name in self.fields

    def kind(self, name: str) -> FieldKind:
        """The kind of field ``name``; KeyError if the model does not take it."""
        return self.fields[name]

    def resolve(self, name: str, value: Any) -> Any:
        """``value`` as the server uses it: ``auto`` replaced where :attr:`auto` says what it means.

        >>> MODELS["dall-e-3"].resolve("quality", "auto"), MODELS["gpt-image-1"].resolve("quality", "auto")
        ('standard', 'medium')
        """
        return self.auto.get(name, value) if value == "auto" else value

    def allows(self, name: str, value: Any) -> bool:
        """Whether ``value`` is allowed for ``name``, ignoring other fields."""
        return self.value_problem(name, value) is None

    def value_problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` is not allowed for ``name``, or None when it is."""
        if name not in self.fields:
            return f"{name} is not taken by {self.name}"
        kind = self.fields[name]
        if isinstance(kind, Text):
            if not isinstance(value, str):
                return f"{name} must be text, not {shown(value)} (a {type(value).__name__})"
            return None
        if isinstance(kind, Flag):
            return None if isinstance(value, bool) else f"{name} must be true or false"
        if isinstance(kind, IntRange):
            if isinstance(value, bool) or not isinstance(value, int):
                # True is an int to Python: say what came, or "n must be an integer" puzzles.
                allowed = (f"only {kind.low}" if kind.low == kind.high
                           else f"a whole number from {kind.low} to {kind.high}")
                return (f"{name} got {shown(value)} (a {type(value).__name__}); {self.name} "
                        f"takes {allowed}")
            if kind.low <= value <= kind.high:
                return None
            return f"{name} {value} is out of range for {self.name}; {describe_values(self, name)}"
        if value in kind.values:
            return None
        if name == "size" and isinstance(value, str) and (ascii := _ascii_digits(value)) != value:
            return (f"size {shown(value)} is not available for {self.name}: its digits must be "
                    f"ASCII 0-9 (as in {shown(ascii)}); {describe_values(self, name)}")
        if name == "size" and self.custom_sizes and isinstance(value, str):
            why = self.custom_sizes.problem(value)
            if why is None:
                return None
            return (
                f"size {shown(value)} is not available for {self.name}: {why}; "
                f"{describe_values(self, name)}"
            )
        return f"{name} {shown(value)} is not available for {self.name}; {describe_values(self, name)}"

    @staticmethod
    def like(base: str | ModelSpec, *, name: str, **changes: Any) -> ModelSpec:
        """A copy of a spec under another name, for OpenAI-compatible servers.

        ``ModelSpec.like("gpt-image-1.5", name="my-model")`` takes everything
        gpt-image-1.5 accepts; ``changes`` replace other attributes.
        """
        if isinstance(base, str):
            if base not in MODELS:
                raise KeyError(f"unknown model {base!r}; known models: {', '.join(MODELS)}")
            base = MODELS[base]
        return dataclasses.replace(base, name=name, **changes)


def describe_values(spec: ModelSpec, name: str) -> str:
    """A sentence naming what ``spec`` allows for ``name``."""
    if name not in spec.fields:
        return f"{spec.name} does not take {name}"
    kind = spec.fields[name]
    if isinstance(kind, IntRange):
        if kind.low == kind.high:
            return f"{spec.name} takes only {kind.low}"
        return f"choose {kind.low} to {kind.high}"
    if isinstance(kind, Flag):
        return "choose true or false"
    if isinstance(kind, Text):
        return f"any text of at most {kind.max_length:,} characters" if kind.max_length else "any text"
    values = list(kind.values)
    text = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    if name == "size" and spec.custom_sizes:
        return f"choose {text}, or {spec.custom_sizes.describe()}"
    return f"choose {text}"


# -- the registry -------------------------------------------------------------

MODELS: dict[str, ModelSpec] = {}
"""Every known model by name; :func:`register_model` adds more."""


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add or replace a model, e.g. an OpenAI-compatible server's own name.

    >>> register_model(ModelSpec.like("gpt-image-1.5", name="my-model"))  # doctest: +SKIP
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register_model takes a ModelSpec, not {type(spec).__name__}")
    MODELS[spec.name] = spec
    return spec


GPT_IMAGE_ONLY_FIELDS = frozenset(
    {"background", "output_format", "output_compression", "moderation", "stream", "partial_images",
     "complexity", "frame_count", "frame_duration_ms"}
)
"""Fields only GPT image models take: their presence changes the default model."""


def models_taking(name: str) -> tuple[str, ...]:
    """Names of the known models that take the request field ``name``, in table order."""
    return tuple(spec.name for spec in MODELS.values() if spec.takes(name))


_CHARS_PER_TOKEN = 4  # about right for English text; the API does not publish its tokenizer


def estimate_cost(
    model: str, quality: str | None, size: str | None, *, n: int = 1, prompt: str = "",
    output_format: str | None = None,
) -> Estimate | None:
    """What ``n`` images should cost, or None when the price is unknown.

    DALL·E: the price per image. GPT image models: the published output
    tokens for the quality and size at the image output rate, plus the
    prompt's tokens (billed once per request) at the text input rate.
    ``auto`` (or None) counts as what the model's :attr:`ModelSpec.auto` says.

    >>> estimate_cost("dall-e-3", "hd", "1792x1024", n=1).dollars
    0.12
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    spec = MODELS.get(model)
    # No price per GIF frame is published yet: a guess would be shown as a price.
    if spec is None or spec.price is None or output_format == "gif":
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
    prompt_tokens = math.ceil(len(prompt) / _CHARS_PER_TOKEN)
    dollars = (n * out * price.image_output + prompt_tokens * price.text_input) / 1_000_000
    return Estimate(dollars, dollars / n, n, out, prompt_tokens, PRICES_READ_ON)


def image_cost(
    model: str, quality: str, size: str, usage: Mapping[str, int] | None = None
) -> float | None:
    """Dollars for one image, or None when the price is unknown.

    DALL·E is priced per image. GPT image models are priced per token: with
    ``usage`` (``input_tokens``, ``output_tokens``, ``text_tokens``,
    ``image_tokens``, as :class:`~imagewidgets.results.Usage` holds them) the
    cost is what the API reported; without it, :func:`estimate_cost` of the
    output tokens alone.
    """
    spec = MODELS.get(model)
    price = spec.price if spec is not None else None
    if usage and isinstance(price, TokenPrice):
        text = usage.get("text_tokens", usage.get("input_tokens", 0))
        image_in = usage.get("image_tokens", 0)
        out = usage.get("output_tokens", 0)
        return (text * price.text_input + image_in * price.image_input
                + out * price.image_output) / 1_000_000
    estimate = estimate_cost(model, quality, size)
    return None if estimate is None else estimate.per_image


def newest_models(on: date | None = None) -> tuple[str, ...]:
    """The newest family: general models released last and not shut down on ``on``.

    Snapshots are left out; the order is the catalog's. Today: the two
    gpt-image-2.6 models. A comparison grid's default rows.
    """
    on = on or today()
    candidates = [spec for spec in MODELS.values()
                  if spec.general and spec.snapshot_of is None and spec.released is not None
                  and spec.released <= on and not spec.retired(on)]
    if not candidates:
        return ()
    newest = max(spec.released for spec in candidates if spec.released is not None)
    return tuple(spec.name for spec in candidates if spec.released == newest)


def default_model(on: date | None = None) -> str:
    """The newest general model released and not yet shut down on ``on`` (default: :func:`today`).

    Snapshots and models the API has shut down are never the default; among
    models released the same day, the one listed first in the catalog wins.
    """
    newest = newest_models(on)
    return newest[0] if newest else next(iter(MODELS))


def default_model_for(body: Mapping[str, Any]) -> str:
    """The model the API uses when a request omits ``model``.

    dall-e-2, unless a field that only GPT image models take is present.
    """
    if GPT_IMAGE_ONLY_FIELDS & set(body):
        return "gpt-image-1"
    return "dall-e-2"


# The models themselves: importing the catalog registers them, so MODELS is full
# whenever this module is imported. Last, because the catalog uses everything above.
from . import catalog as _catalog  # noqa: E402, F401
