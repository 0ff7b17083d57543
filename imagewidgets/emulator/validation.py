"""What the emulator refuses, in the API's words: a missing or wrong key, a body it cannot take.

Every rule comes from the capabilities table; this module only words the
refusals as the Images API words them (``param``, ``code``, ``type``).

Choices where the API leaves room:

- An unknown model is a 400 ``invalid_value`` on ``model`` listing the known
  ones, as the Images API answers it (not a 404 ``model_not_found``); at
  ``edits`` a model that does not edit (dall-e-3) is answered the same way,
  the list naming the models that edit.
- A model shut down by the ``as_of`` date is a 404 ``model_not_found``, before
  anything else in the body is looked at (:func:`shut_down_refusal`).
- A rule "while this value is chosen, that field takes only these" (svg with
  ``n > 1``) is a 400 ``invalid_value`` on the restricted field.
- A conditional field sent while it does not apply (``frame_count`` with png,
  ``output_compression`` below 100 with gif or svg) is a 400 on that field; with
  png, compression keeps the API's own code ``invalid_png_output_compression``.
- ``null`` counts as omitted; ``stream: false`` is accepted by the GPT image
  models and, like any ``stream``, refused by DALL·E as ``unknown_parameter``.
- ``output_compression`` below 100 with png is refused in the API's words
  (code ``invalid_png_output_compression``); 100, its default, is accepted.
  ``partial_images`` without ``stream`` is accepted and ignored.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..models import FIELDS, MODELS, Choice, Flag, IntRange, ModelSpec, Text, default_model_for

__all__ = ["Refusal", "check_auth", "check_content", "content_refusal", "shut_down", "shut_down_refusal",
           "unknown_model_refusal", "validate"]


class Refusal(Exception):
    """An error answer: an HTTP status and the API's error object (``response()``)."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.code, self.type = code, type
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The API's error object: ``{"error": {"message", "type", "param", "code"}}``."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status, headers=self.headers)


# -- auth ----------------------------------------------------------------------


def _mask(key: str) -> str:
    """``sk-ab***wxyz``, as the API shows a wrong key: never the whole of it."""
    return f"{key[:5]}***{key[-4:]}" if len(key) >= 16 else "***"


def check_auth(api_key: str | None, request: Request) -> None:
    """Refuse a request without ``Authorization: Bearer <api_key>``; None lets all in."""
    if api_key is None:
        return
    header = request.headers.get("authorization", "")
    sent = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not sent:
        raise Refusal(401, "You didn't provide an API key. You need to provide your API key in "
                           "an Authorization header using Bearer auth (i.e. Authorization: "
                           "Bearer YOUR_KEY).", code="invalid_api_key")
    # Constant time: how long a refusal takes must not tell how much of a guess was right.
    if not hmac.compare_digest(sent.encode(), api_key.encode()):
        raise Refusal(401, f"Incorrect API key provided: {_mask(sent)}. The emulator was "
                           "started with another key (serve(api_key=...)).",
                      code="invalid_api_key")


# -- content -------------------------------------------------------------------


def check_content(spec: ModelSpec, prompt: str, word: str | None, refused: bool = False) -> None:
    """Refuse (:func:`content_refusal`) a prompt holding the whole ``word`` (any case), or any
    prompt when ``refused`` (the ``content_policy`` fault)."""
    if refused or (word and re.search(rf"\b{re.escape(word)}\b", prompt, re.IGNORECASE)):
        raise content_refusal(spec)


def content_refusal(spec: ModelSpec) -> Refusal:
    """The answer to a prompt refused for its content, with ``spec``'s own code."""
    return Refusal(400, "Your request was rejected as a result of our safety system. Your "
                        "prompt may contain text that is not allowed by our safety system; "
                        "rephrase it and try again.",
                   code=spec.refusal_code, type="image_generation_user_error")


# -- models the API no longer serves ------------------------------------------------


def shut_down(spec: ModelSpec, as_of: date | None) -> bool:
    """Whether the emulator, set to the day ``as_of``, refuses ``spec`` as shut down.

    None serves every model: the teaching default.
    """
    return as_of is not None and spec.retired(as_of)


def shut_down_refusal(model: str) -> Refusal:
    """The API's answer to a request naming a model it has shut down.

    A 404 ``model_not_found`` whose message names the model and links the
    deprecations page, ``param`` null. No official page quotes this body; it is
    the API's as reported for shut-down models in github.com/mem0ai/mem0 issue
    #1441 and github.com/vertyco/vrt-cogs PR #218 (third-party reports; the
    same body with its 404 in github.com/langflow-ai/langflow issue #1337).
    """
    return Refusal(404, f"The model `{model}` has been deprecated, learn more here: "
                        "https://platform.openai.com/docs/deprecations", code="model_not_found")


def unknown_model_refusal(model: str) -> Refusal:
    """``GET /v1/models/{model}`` for a model the server does not have, in the API's words."""
    return Refusal(404, f"The model `{model}` does not exist or you do not have access to it.",
                   code="model_not_found")


# -- the body ------------------------------------------------------------------

# Fields that the capabilities table makes conditional (``spec.when``) and that
# the API ignores, rather than refuses, while their condition fails.
_IGNORED_WHEN_OFF = frozenset({"partial_images"})
# Refusals, in the API's words, of a conditional field sent while it does not apply.
_NOT_APPLICABLE = {
    "output_compression": ("invalid_png_output_compression",
                           "Compression less than 100 is not supported for {other} output "
                           "format."),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _type_refusal(kind: Any, name: str, value: Any) -> Refusal | None:
    """A refusal when ``value`` has the wrong JSON type for a field of ``kind``."""
    if isinstance(kind, IntRange):
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(kind, Flag):
        ok, wanted = isinstance(value, bool), "a boolean"
    elif isinstance(kind, Text | Choice):
        ok, wanted = isinstance(value, str), "a string"
    else:  # a kind added later: its value check speaks for it
        return None
    if ok:
        return None
    return Refusal(400, f"Invalid type for '{name}': expected {wanted}, but got "
                        f"{_json_type(value)} instead.", param=name, code="invalid_type")


def _model(body: dict[str, Any], endpoint: str) -> ModelSpec:
    model = body.get("model", default_model_for(body))
    if not isinstance(model, str):
        raise Refusal(400, f"Invalid type for 'model': expected a string, but got "
                           f"{_json_type(model)} instead.", param="model", code="invalid_type")
    if model not in MODELS or not MODELS[model].serves(endpoint):
        # A model that does not edit (dall-e-3) is refused at edits as an unknown one is.
        raise Refusal(400, f"Invalid value: '{model}'. Supported values are: "
                           + ", ".join(f"'{name}'" for name, spec in MODELS.items()
                                       if spec.serves(endpoint)) + ".",
                      param="model", code="invalid_value")
    return MODELS[model]


def _check_value(spec: ModelSpec, key: str, value: Any) -> None:
    kind = spec.kind(key)
    if (refusal := _type_refusal(kind, key, value)) is not None:
        raise refusal
    if isinstance(kind, Text) and kind.max_length and len(value) > kind.max_length:
        raise Refusal(400, f"Invalid '{key}': string too long. Expected a string with "
                           f"maximum length {kind.max_length}, but got a string with length "
                           f"{len(value)} instead.", param=key, code="string_above_max_length")
    if key == "prompt" and not value:
        raise Refusal(400, "Invalid 'prompt': empty string. Expected a string with minimum "
                           "length 1, but got an empty string instead.", param="prompt",
                      code="empty_string")
    problem = spec.value_problem(key, value)
    if problem:
        code = "invalid_value"
        if isinstance(kind, IntRange):
            code = "integer_above_max_value" if value > kind.high else "integer_below_min_value"
        raise Refusal(400, f"Invalid value for '{key}': {problem}.", param=key, code=code)


def validate(body: Any, as_of: date | None = None,
             endpoint: str = "generations") -> tuple[ModelSpec, dict[str, Any]]:
    """The model and the request's fields at ``endpoint`` with defaults filled in.

    With ``as_of``, a model the API had shut down by that day is refused first,
    as the API refuses it. Only the fields the model takes at ``endpoint`` are
    accepted (an edit's files are checked by :mod:`.uploads`).

    Raises
    ------
    Refusal
        What the API answers such a request with.
    """
    if not isinstance(body, dict):
        raise Refusal(400, f"Invalid type for the request body: expected an object, but got "
                           f"{_json_type(body)} instead.", code="invalid_type")
    body = {key: value for key, value in body.items() if value is not None}  # null = omitted
    named = body.get("model", default_model_for(body))
    if isinstance(named, str) and named in MODELS and shut_down(MODELS[named], as_of):
        raise shut_down_refusal(named)
    if "prompt" not in body:
        raise Refusal(400, "Missing required parameter: 'prompt'.", param="prompt",
                      code="missing_required_parameter")
    spec = _model(body, endpoint)
    for key in body:
        if key not in FIELDS or not spec.takes(key, endpoint):
            raise Refusal(400, f"Unknown parameter: '{key}'.", param=key,
                          code="unknown_parameter")
    for key, value in body.items():
        if key != "model":
            _check_value(spec, key, value)
    fields = {name: body.get(name, kind.default) for name, kind in spec.fields_for(endpoint).items()}
    for exclusion in spec.exclusions:
        if exclusion.holds(fields):
            (first, first_value), (second, second_value) = exclusion.first, exclusion.second
            raise Refusal(400, f"Invalid value for '{second}': {second_value!r} cannot be sent "
                               f"with {first}={first_value!r}: {exclusion.reason}.",
                          param=second, code="invalid_value")
    for rule in spec.requires:
        if rule.problem(fields) is not None:
            (trigger, trigger_value), allowed = rule.trigger, " or ".join(map(str, rule.values))
            raise Refusal(400, f"Invalid value for '{rule.field}': {fields[rule.field]!r} cannot "
                               f"be sent with {trigger}={trigger_value!r}: {rule.reason}; "
                               f"supported values are: {allowed}.",
                          param=rule.field, code="invalid_value")
    for name, condition in spec.when.items():
        if name not in body or fields.get(condition.field) in condition.values:
            continue
        if name in _IGNORED_WHEN_OFF or body[name] == spec.kind(name).default:
            continue  # nothing changes: compression 100 with png is what png is anyway
        code, message = _NOT_APPLICABLE.get(name, ("invalid_value", "{name} applies only when "
                                                   "{field} is one of {values}, not {other}."))
        if code.startswith("invalid_png_") and fields[condition.field] != "png":
            code = "invalid_value"  # the API's code names png; its message names the format
        raise Refusal(400, message.format(
            name=name, field=condition.field, other=str(fields[condition.field]).upper(),
            values=", ".join(map(str, condition.values))), param=name, code=code)
    fields["model"] = spec.name
    return spec, fields
