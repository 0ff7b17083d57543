"""The parameter model: every request field as a trait, ``model`` driving the rest.

``ImageParams`` runs with no front end and imports no ipywidgets; widgets bind
to it. What each model accepts comes from :mod:`imagewidgets.models`; which
fields apply also follows ``endpoint`` (each field's kind names the endpoints
that take it).

Two kinds of "not sent" are kept apart:

* a field the model does not take at all holds ``None`` (``style`` under
  gpt-image-1); assigning it anything else raises ``TraitError``;
* a field the model takes but that does not apply right now keeps its value
  and is left out of the request (``output_compression`` with png,
  ``partial_images`` without ``stream``), so turning it back on restores it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from traitlets import Bool, HasTraits, Int, TraitError, Unicode, default, observe, validate

from .errors import ParamsError
from .inputs import EditInputs
from .models import (
    ENDPOINTS,
    FIELDS,
    MODELS,
    Choice,
    Estimate,
    IntRange,
    ModelSpec,
    Text,
    closest_value,
    default_model,
    describe_values,
    estimate_cost,
    models_taking,
    shown,
    unencodable_problem,
)

__all__ = ["OPTION_FIELDS", "ImageParams", "RequestBody", "closest_value"]

OPTION_FIELDS = tuple(name for name in FIELDS if name not in ("prompt", "model"))
"""The fields whose allowed values depend on the model."""


class RequestBody(dict[str, Any]):
    """A JSON body that :meth:`ImageParams.to_request` built and checked.

    The client sends it as it is, without checking it again: parameters are
    checked once per request, where the body is built.
    """


class ImageParams(HasTraits):
    """Every field of an image generation request, kept valid for ``model``.

    Parameters
    ----------
    model : str
        A name in ``imagewidgets.MODELS``; default: the newest general model
        the API serves today (``imagewidgets.models.default_model()``).
    endpoint : str
        ``"generations"`` (default) or ``"edits"``.
    **fields
        Any request field (``prompt``, ``size``, ``quality``, ...), applied
        in the order given after the model.

    Examples
    --------
    >>> p = ImageParams(model="dall-e-3", prompt="A cute cat", size="1792x1024")
    >>> p.options("quality")
    ('auto', 'hd', 'standard')
    >>> p.model = "gpt-image-1"; p.size
    '1536x1024'
    """

    model = Unicode(help="The model; every other field's options follow it.")
    endpoint = Unicode("generations", help="Where the request goes; fields follow it too.")
    prompt = Unicode("", help="What to draw. Never truncated: problems() reports a long one.")
    n = Int(1, allow_none=True, help="How many images, 1-10 (1 for dall-e-3).")
    quality = Unicode(None, allow_none=True, help="auto, high/medium/low (xhigh/max), hd/standard.")
    complexity = Unicode(None, allow_none=True, help="How much planning goes into the picture (2.6).")
    input_fidelity = Unicode(None, allow_none=True,
                             help="high or low: how closely an edit keeps its inputs' features.")
    response_format = Unicode(None, allow_none=True, help="url or b64_json (DALL·E only).")
    size = Unicode(None, allow_none=True, help="WIDTHxHEIGHT or auto, per model.")
    style = Unicode(None, allow_none=True, help="vivid or natural (dall-e-3 only).")
    background = Unicode(None, allow_none=True, help="auto, transparent or opaque (GPT image).")
    output_format = Unicode(None, allow_none=True, help="png, jpeg or webp; gif and svg on 2.6.")
    output_compression = Int(None, allow_none=True, help="0-100, with jpeg or webp only.")
    frame_count = Int(None, allow_none=True, help="Frames of an animated GIF (2.6, gif only).")
    frame_duration_ms = Int(None, allow_none=True, help="Milliseconds per GIF frame (2.6).")
    moderation = Unicode(None, allow_none=True, help="auto or low (GPT image).")
    stream = Bool(None, allow_none=True, help="Stream partial images (GPT image).")
    partial_images = Int(None, allow_none=True, help="0-3 partial images, when streaming.")
    safety_identifier = Unicode("", allow_none=True,
                                help="A stable, hashed end-user id for safety monitoring.")
    user = Unicode("", allow_none=True, help="Deprecated by the API for safety_identifier.")

    def __init__(self, model: str | None = None, *, endpoint: str = "generations",
                 **fields: Any) -> None:
        super().__init__()
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise TraitError(
                f"unknown field {unknown[0]!r}; request fields are: {', '.join(FIELDS)}"
            )
        # The user's own choices, most recent last: restored when a model takes them again.
        self._chosen: dict[str, Any] = {}
        self._deriving = False
        # What to_request() built last, and from what: the model's spec and every value.
        self._request: tuple[ModelSpec | None, tuple[dict[str, Any], tuple[str, ...]],
                             dict[str, Any]] | None = None
        self.model = model if model is not None else default_model()
        self.endpoint = endpoint
        self._derive()
        for name, value in fields.items():
            setattr(self, name, value)

    # -- queries --------------------------------------------------------------

    @property
    def spec(self) -> ModelSpec:
        """The current model's :class:`ModelSpec`."""
        return MODELS[self.model]

    def takes(self, name: str) -> bool:
        """Whether the model takes ``name`` at this :attr:`endpoint`, whether it applies now or not."""
        return self.spec.takes(name, self.endpoint)

    def supports(self, name: str) -> bool:
        """Whether ``name`` would be sent now: the model takes it here and it applies."""
        spec = self.spec
        if not self.takes(name):
            return False
        condition = spec.when.get(name)
        return condition is None or getattr(self, condition.field) in condition.values

    def options(self, name: str) -> tuple[Any, ...]:
        """The values allowed for ``name`` now; ``()`` if the model does not take it.

        Free-text fields (``prompt``, ``user``) have no list of options: ``()``.
        Values excluded by another field (transparent while the format is jpeg)
        are left out.
        """
        if name == "model":
            return tuple(MODELS)
        if not self.takes(name):
            return ()
        kind = self.spec.kind(name)
        if isinstance(kind, Text):
            return ()
        values = self.to_dict()
        banned, allowed = self._banned(name, values), self._allowed(name, values)
        return tuple(value for value in kind.values
                     if value not in banned and (allowed is None or value in allowed))

    def bounds(self, name: str) -> tuple[int, int]:
        """The lowest and highest value the integer field ``name`` takes now.

        What :meth:`options` would give first and last, without listing them:
        ``frame_duration_ms`` alone takes 655,341 values.
        """
        kind = self.spec.kind(name)
        if not isinstance(kind, IntRange):
            raise TypeError(f"{name} is not an integer field of {self.model}")
        allowed = self._allowed(name, self.to_dict())
        if allowed is None:
            return kind.low, kind.high
        inside = [value for value in allowed if kind.low <= value <= kind.high]
        return min(inside), max(inside)

    @property
    def chosen(self) -> dict[str, Any]:
        """The fields the user set (not derived from the model), with the values set."""
        return dict(self._chosen)

    def problems(self) -> list[str]:
        """Every reason this request cannot be sent, as sentences; [] when it can."""
        spec = self.spec
        found = []
        if not spec.serves(self.endpoint):
            # Only edits can be refused: every model generates.
            editors = ", ".join(name for name, other in MODELS.items() if other.edits)
            found.append(f"endpoint {self.endpoint!r} is not available for {spec.name}: it does "
                         f"not edit images; models that edit: {editors or 'no known model'}")
        prompt_kind = spec.kind("prompt")
        length = len(self.prompt)
        if not self.prompt.strip():
            found.append("prompt is empty; describe the image to generate")
        elif isinstance(prompt_kind, Text) and prompt_kind.max_length and length > prompt_kind.max_length:
            found.append(
                f"prompt is {length:,} characters; {spec.name} takes at most "
                f"{prompt_kind.max_length:,}"
            )
        if why := unencodable_problem("prompt", self.prompt):
            # Here, not in a validator: the prompt box must keep what was typed or pasted.
            found.append(why)
        for name in OPTION_FIELDS:
            value = getattr(self, name)
            if self.takes(name) and value is not None and (why := spec.value_problem(name, value)):
                found.append(why)
        values = self.to_dict()
        for exclusion in spec.exclusions:
            if exclusion.holds(values):
                found.append(f"{exclusion.first[0]} {exclusion.first[1]!r} cannot go with "
                             f"{exclusion.second[0]} {exclusion.second[1]!r}: {exclusion.reason}")
        found.extend(why for rule in spec.requires if (why := rule.problem(values)))
        return found

    def estimate(self, inputs: EditInputs | None = None) -> Estimate | None:
        """What this request should cost (:func:`~imagewidgets.models.estimate_cost`).

        With an edit's ``inputs``, their images' input tokens count too (not the
        mask or markup). None when the price is unknown (an animated GIF, a model
        without prices).
        """
        def applied(name: str) -> Any:
            return getattr(self, name) if self.supports(name) else None

        sizes = [(image.width, image.height) for image in inputs.images] if inputs else []
        n = applied("n") or 1
        return estimate_cost(self.model, applied("quality"), applied("size"), n=n,
                             prompt=self.prompt, output_format=applied("output_format"),
                             input_images=sizes, requests=n if applied("stream") else 1)

    def to_request(self) -> RequestBody:
        """The JSON body: only fields the model takes and that apply, no None.

        A provisional field (known only from third-party pages, see
        ``ModelSpec.provisional``) is sent only when the user set it.

        Raises
        ------
        ParamsError
            Listing every problem, when :meth:`problems` is not empty.
        """
        # Checked once while nothing it depends on changes (every value, what the user chose,
        # the model's spec): each generate() of these params asks again, and the checks
        # take some 80 us amid a request. The stored values, not each trait's getter (30 us).
        spec = MODELS.get(self.model)
        key = (dict(self._trait_values), tuple(self._chosen))
        if self._request is not None and self._request[0] is spec and self._request[1] == key:
            return RequestBody(self._request[2])
        found = self.problems()
        if found:
            raise ParamsError(found)
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt}
        for name in OPTION_FIELDS:
            value = getattr(self, name)
            if not self.supports(name) or value is None or value == "":
                continue
            if name == "stream" and not value:
                continue  # the API's default; leaving it out keeps the body minimal
            if name in self.spec.provisional and name not in self._chosen:
                continue  # the API may not know it: never sent on our guess of its default
            body[name] = value
        self._request = (spec, key, body)
        return RequestBody(body)

    def to_dict(self) -> dict[str, Any]:
        """Every field and its value (None where the model takes no such field), and the endpoint."""
        return {**{name: getattr(self, name) for name in FIELDS}, "endpoint": self.endpoint}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageParams:
        """Rebuild from :meth:`to_dict` output or a request body.

        Unknown keys (a sidecar's extras) and None values are ignored; the
        fields given count as chosen by the user. No ``endpoint``: generations.
        """
        fields = {k: v for k, v in data.items() if k in FIELDS and k != "model" and v is not None}
        return cls(model=data.get("model") or None, endpoint=data.get("endpoint") or "generations",
                   **fields)

    def update(self, data: Mapping[str, Any]) -> None:
        """Set several fields at once, ``model`` first, as chosen by the user.

        All or nothing: the values are checked on a copy first, so a refused
        one raises ``TraitError`` and leaves every field as it was.
        """
        for target in (self.copy(), self):  # the copy raises before anything here changes
            if data.get("model"):
                target.model = data["model"]
            if data.get("endpoint"):
                target.endpoint = data["endpoint"]
            for name, value in data.items():
                if name in FIELDS and name != "model" and value is not None:
                    setattr(target, name, value)

    def copy(self, **changes: Any) -> ImageParams:
        """A new ImageParams with these values, then ``changes`` applied.

        What the user chose stays chosen and what was derived stays derived.
        """
        fresh = ImageParams.from_dict(self.to_dict())
        fresh._chosen = dict(self._chosen)
        for name, value in changes.items():
            setattr(fresh, name, value)
        return fresh

    def __repr__(self) -> str:
        # Only what applies now: a GIF's frame count means nothing while the format is png.
        body = {k: v for k, v in self.to_dict().items()
                if v not in (None, "") and (k in ("model", "prompt") or self.supports(k))}
        prompt = body.pop("prompt", "")
        if len(prompt) > 40:
            prompt = prompt[:37] + "..."
        fields = ", ".join(f"{k}={v!r}" for k, v in body.items())
        return f"ImageParams({fields}, prompt={prompt!r})"

    # -- validation -----------------------------------------------------------

    @default("model")
    def _default_model(self) -> str:
        return default_model()

    @validate("model")
    def _check_model(self, proposal: Any) -> str:
        name = proposal.value
        if name not in MODELS:
            raise TraitError(
                f"unknown model {name!r}; known models: {', '.join(MODELS)}. For another "
                f"server's model, register it first: iw.register_model("
                f"iw.ModelSpec.like({default_model()!r}, name={name!r}))"
            )
        return str(name)

    @validate("endpoint")
    def _check_endpoint(self, proposal: Any) -> str:
        if proposal.value not in ENDPOINTS:
            raise TraitError(f"endpoint {shown(proposal.value)} is not available; "
                             f"choose {' or '.join(ENDPOINTS)}")
        return str(proposal.value)

    @validate(*OPTION_FIELDS)
    def _check_field(self, proposal: Any) -> Any:
        name, value = proposal.trait.name, proposal.value
        if self._deriving:
            return value
        spec = self.spec
        if not self.takes(name):
            if value is None:
                return value
            where = f" at {self.endpoint}" if name in spec.fields else ""  # taken at another one
            raise TraitError(
                f"{name} is not taken by {spec.name}{where}; models that take it: "
                f"{', '.join(models_taking(name, self.endpoint)) or 'no known model'}"
            )
        if value is None:
            if isinstance(spec.kind(name), Text):  # user, safety_identifier: None is "not set"
                return value
            raise TraitError(f"{name} cannot be None for {spec.name}; {self._describe(name)}")
        problem = spec.value_problem(name, value)
        if problem is None and isinstance(value, str):
            # Not the table's rule: the API may take "\ud800" escaped in JSON, but httpx writes
            # the body as UTF-8, where a lone surrogate has no form.
            problem = unencodable_problem(name, value)
        if problem:
            raise TraitError(problem)
        return value

    def _describe(self, name: str) -> str:
        return describe_values(self.spec, name)

    # -- reactions ------------------------------------------------------------

    @observe("model", "endpoint")
    def _on_model_or_endpoint(self, change: Any) -> None:
        self._derive()

    @observe(*OPTION_FIELDS)
    def _on_field(self, change: Any) -> None:
        if self._deriving:
            return
        name = change["name"]
        self._chosen.pop(name, None)
        self._chosen[name] = change["new"]
        self._resolve_exclusions(winner=name)

    @contextmanager
    def _internal(self) -> Iterator[None]:
        """Changes made here are derived, not chosen: validators and memory skip them."""
        outer, self._deriving = self._deriving, True
        try:
            with self.hold_trait_notifications():
                yield
        finally:
            self._deriving = outer

    def _derive(self) -> None:
        """Re-derive every field for the current model: keep, restore or move to closest."""
        spec = self.spec
        with self._internal():
            for name in OPTION_FIELDS:
                current = getattr(self, name)
                if not self.takes(name):
                    setattr(self, name, None)
                    continue
                kind = spec.kind(name)
                wanted = self._chosen.get(name, kind.default if current is None else current)
                if not spec.allows(name, wanted):
                    wanted = closest_value(spec, name, wanted)
                setattr(self, name, wanted)
            self._resolve_exclusions(winner=None)

    def _resolve_exclusions(self, winner: str | None) -> None:
        """Move the loser of any excluded pair to an allowed value; the field set last wins."""
        spec = self.spec
        order = list(self._chosen)
        for exclusion in spec.exclusions:
            if not exclusion.holds(self.to_dict()):
                continue
            (first, first_value), (second, second_value) = exclusion.first, exclusion.second
            if winner in (first, second):
                loser = second if winner == first else first
            else:  # the one the user chose more recently wins; else the first of the pair
                rank = {name: order.index(name) if name in order else -1 for name in (first, second)}
                loser = second if rank[first] >= rank[second] else first
            self._give_way(loser, first_value if loser == first else second_value)
        for rule in spec.requires:
            if rule.problem(self.to_dict()) is None:
                continue
            if winner == rule.field:  # the restricted field was set last: the trigger gives way
                self._give_way(*rule.trigger)
                continue
            # Else the field moves to its nearest allowed value, e.g. n 4 -> 1 for svg.
            current = getattr(self, rule.field)
            with self._internal():
                setattr(self, rule.field, min(rule.values, key=lambda value: (
                    abs(value - current) if isinstance(value, int) and isinstance(current, int)
                    else 0)))

    def _give_way(self, name: str, banned: Any) -> None:
        """Move choice field ``name`` off ``banned``: to its default, else its first other value.

        The user's choice of it is forgotten: a later choice overrode it.
        """
        kind = self.spec.kind(name)
        assert isinstance(kind, Choice)
        self._chosen.pop(name, None)
        with self._internal():
            setattr(self, name, kind.default if kind.default != banned else next(
                value for value in kind.values if value != banned))

    def _allowed(self, name: str, values: Mapping[str, Any]) -> frozenset[Any] | None:
        """The only values rules in force leave ``name`` (n while svg is chosen); None: no limit."""
        allowed: frozenset[Any] | None = None
        for rule in self.spec.requires:
            if rule.field == name and rule.active(values):
                limit = frozenset(rule.values)
                allowed = limit if allowed is None else allowed & limit
        return allowed

    def _banned(self, name: str, values: Mapping[str, Any]) -> frozenset[Any]:
        """The values of ``name`` that would complete an excluded pair with ``values``."""
        return frozenset(
            value for exclusion in self.spec.exclusions for value in (
                bad for (field, bad), (other, other_value) in (
                    (exclusion.first, exclusion.second), (exclusion.second, exclusion.first))
                if field == name and values.get(other) == other_value))
