"""Every error the toolkit raises.

    ImagesError
     ├── ParamsError              the request cannot succeed; never sent (also a ValueError)
     │    ├── ModelRetiredError   the API has shut the model down (allow_retired=True sends it)
     │    └── BudgetExceededError  the estimate would take the spending past budget= (USD), or is unknown
     ├── APIError                 the server answered with an error, a redirect, or an answer we cannot read
     │    ├── BadRequestError          400
     │    │    └── ContentPolicyError  400 content_policy_violation / moderation_blocked
     │    ├── AuthenticationError      401
     │    ├── PermissionDeniedError    403
     │    ├── NotFoundError            404
     │    ├── RateLimitError           429
     │    │    └── InsufficientQuotaError  429 insufficient_quota (never retried)
     │    └── ServerError              5xx
     ├── APIConnectionError       no answer: refused, reset, DNS, TLS, a body cut short
     │    └── APITimeoutError     connect, read-inactivity or overall deadline passed
     ├── StreamIncompleteError    a stream ended, went quiet or broke before its completed event
     ├── ImageExpiredError        an image URL answered 403/404 (they live 60 minutes)
     └── ImageDecodeError         bytes that are not a safe PNG, JPEG, WEBP, GIF or SVG

Every message says what to do next. None carries the API key or a URL's
``user:password@``: a server may echo them, so the client redacts every text it
builds from an answer (``_redact``) before an error leaves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentPolicyError",
    "ImageDecodeError",
    "ImageExpiredError",
    "ImagesError",
    "InsufficientQuotaError",
    "ModelRetiredError",
    "NotFoundError",
    "ParamsError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StreamIncompleteError",
    "api_error_from",
    "clip",
]


class ImagesError(Exception):
    """Base of every error imagewidgets raises.

    Attributes
    ----------
    attempts : int
        How many times the request was sent before this error (retries included).
    images : tuple of GeneratedImage
        Images of the same call that did arrive although this error ended it: with
        ``n > 1``, the others' images (already billed). Empty for a single image.
    failures : dict of int to ImagesError
        With ``n > 1``: every image index that failed and why (this error among them).
    """

    attempts = 1
    images: tuple[Any, ...] = ()
    failures: Mapping[int, ImagesError] = MappingProxyType({})

    def tried(self, attempts: int) -> None:
        """Say in the message that the request was sent ``attempts`` times.

        It goes in front of the closing hint, "(tried 3 times; the server
        failed; try again in a moment)", so the advice stays last.
        """
        self.attempts = attempts
        self.note(f"tried {attempts} times")

    def note(self, text: str) -> None:
        """Add ``text`` to the message, in front of the closing hint so the advice stays last."""
        head, hint = _split_hint(str(self))
        self.args = (f"{head} ({text}; {hint})" if hint is not None else f"{head} ({text})",)

    def keep(self, images: Sequence[Any], failures: Mapping[int, ImagesError], asked: int) -> None:
        """Hold the ``images`` that arrived beside this failure of a call for ``asked`` images.

        ``failures`` maps each failed image index to its error; the message says which
        failed (the others' reasons in brief) and how many images arrived.
        """
        self.images, self.failures = tuple(images), dict(failures)
        others = "; ".join(f"image {index}: {_brief(error)}" for index, error in self.failures.items()
                           if error is not self)
        failed = ", ".join(str(index) for index in self.failures)
        arrived = (f"{len(self.images)} of {asked} images arrived and are kept in error.images"
                   if self.images else f"none of the {asked} images arrived")
        self.note(f"image{'s' if len(self.failures) > 1 else ''} {failed} of {asked} failed"
                  f"{f' ({others})' if others else ''}; {arrived}")


class ParamsError(ImagesError, ValueError):
    """The parameters cannot make a valid request; nothing was sent.

    Attributes
    ----------
    problems : list of str
        One sentence per problem, naming the field, the value and what is allowed.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) or "invalid parameters")


class ModelRetiredError(ParamsError):
    """The API has shut this model down, so it would refuse the request; nothing was sent.

    Raised before sending to a server that is not the built-in emulator,
    unless the client was made with ``ImagesClient(allow_retired=True)``.

    Attributes
    ----------
    model : str
        The model asked for.
    shutdown : datetime.date or None
        The day the API shut it down.
    replacement : str or None
        The model the API's deprecations page recommends instead.
    """

    def __init__(self, model: str, shutdown: Any = None, replacement: str | None = None) -> None:
        self.model, self.shutdown, self.replacement = model, shutdown, replacement
        when = f" on {shutdown}" if shutdown else ""
        instead = f"try {replacement} instead" if replacement else "choose a live model"
        super().__init__([
            f"model {model!r} was shut down by the API{when}: the API refuses it, so nothing "
            f"was sent ({instead}; ImagesClient(allow_retired=True) sends it anyway; the "
            "built-in emulator still serves it)"])


class BudgetExceededError(ParamsError):
    """The request's estimate would take the spending past the budget; nothing was sent.

    Also raised, under a budget, for a request whose price is unknown (the budget
    could not be kept), unless the ledger allows it (``allow_unpriced``).

    Attributes
    ----------
    spent : float
        Dollars already spent (or, on the emulator, that would have been).
    estimate : float or None
        The request's estimated dollars; None when its price is unknown.
    budget : float
        The budget in dollars.
    reserved : float
        Dollars held for requests in flight.

    The message names the ledger whose budget refused (``iw.spending.SESSION``,
    ``panel.spending``, ``grid.spending``): the one to raise.
    """

    def __init__(self, spent: float, estimate: float | None, budget: float,
                 what: str = "this request", *, reserved: float = 0.0,
                 opt_in: str | None = None, ledger: str = "spending") -> None:
        self.spent, self.estimate, self.budget, self.reserved = spent, estimate, budget, reserved
        # Two decimals read as a budget ("$1.00"), unless that would misstate it.
        shown = f"${budget:.2f}" if round(budget, 2) == budget else f"${budget:.3f}"
        if estimate is None and opt_in is not None:
            super().__init__([
                f"budget: the price of {what} is unknown (no price is published for these "
                f"settings), so the {shown} budget could not be kept and nothing was sent "
                f"(to send requests of unknown price anyway, set {opt_in}; or choose settings "
                "with a known price)"])
            return
        cost = (f"{what} is estimated at ${estimate:.3f}" if estimate is not None
                else f"the price of {what} is unknown")
        held = f" and ${reserved:.3f} reserved for requests in flight" if reserved else ""
        left = max(budget - spent - reserved, 0)
        super().__init__([
            f"budget exceeded: {cost}, and ${spent:.3f} of the {shown} budget is spent{held} "
            f"(${left:.3f} left), so nothing was sent (raise it: {ledger}.budget = ...; "
            "or choose a cheaper setting)"])


MAX_MESSAGE = 2000
"""Characters of a server's error message kept in an error's text; the rest is in ``full_message``."""


class APIError(ImagesError):
    """The server answered with an error.

    Attributes
    ----------
    status : int or None
        The HTTP status (None for an error sent inside a stream).
    type, code, param : str or None
        From the error body, as the API sends them.
    message : str
        The server's message, cut at :data:`MAX_MESSAGE` characters.
    full_message : str
        The server's message, whole.
    request_id : str or None
        The ``x-request-id`` header, for support requests.

    ``hint`` (what to do next) defaults to the class's.
    """

    hint = "try again; if it keeps failing, check the base URL and the server's status"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        if hint is not None:
            self.hint = hint
        self.message = self.full_message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        text = f"{status} {message}" if status else message
        if self.hint:
            text = f"{text} ({self.hint})"
        super().__init__(text)


class BadRequestError(APIError):
    hint = "fix the named parameter and try again"


class ContentPolicyError(BadRequestError):
    hint = "the prompt was refused by the safety system; rephrase it and try again"


class AuthenticationError(APIError):
    hint = "set OPENAI_API_KEY or pass api_key= to ImagesClient"


class PermissionDeniedError(APIError):
    hint = "this key or project may not use this model; check the organization and project"


class NotFoundError(APIError):
    hint = "check the model name and the base URL"


class RateLimitError(APIError):
    hint = "too many requests; wait a moment and try again"


class InsufficientQuotaError(RateLimitError):
    hint = "the account is out of quota; check billing and limits"


class ServerError(APIError):
    hint = "the server failed; try again in a moment"


class APIConnectionError(ImagesError):
    """The server could not be reached, or the connection broke."""

    def __init__(self, message: str = "could not reach the server") -> None:
        super().__init__(f"{message} (check the network and the base URL, then try again)")


class APITimeoutError(APIConnectionError):
    """A connect, read-inactivity or overall deadline passed.

    Attributes
    ----------
    last_partial : PartialImage or None
        For a stream past its total deadline: the last partial image that did arrive.
    """

    def __init__(self, message: str = "the request timed out", last_partial: Any = None) -> None:
        self.last_partial = last_partial
        kept = "the last partial image is kept; " if last_partial is not None else ""
        ImagesError.__init__(
            self, f"{message} ({kept}try again, or raise the timeout: ImagesClient(timeout=...))"
        )


class StreamIncompleteError(ImagesError):
    """A stream ended before its ``completed`` event.

    Attributes
    ----------
    last_partial : PartialImage or None
        The last partial image that did arrive, so nothing is lost.
    """

    def __init__(self, message: str, last_partial: Any = None) -> None:
        self.last_partial = last_partial
        super().__init__(f"{message} (the last partial image is kept; generate again)")


class ImageExpiredError(ImagesError):
    """An image URL answered 403 or 404: URLs expire 60 minutes after generation."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(
            f"the image URL answered {status}: it has expired or was never there "
            "(URLs live 60 minutes; generate again, or ask for response_format='b64_json')"
        )


class ImageDecodeError(ImagesError):
    """The server sent bytes that are not a safe PNG, JPEG, WEBP, GIF or SVG image (see ``imaging``)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} (nothing was decoded; generate again, and if it keeps "
                         "happening the server is sending broken images)")


def _split_hint(message: str) -> tuple[str, str | None]:
    """A message and its closing "(what to do)" apart; None when it has none."""
    head, opening, hint = message.rpartition(" (")
    if opening and message.endswith(")"):
        return head, hint[:-1]
    return message, None


def _brief(error: BaseException) -> str:
    """An error's message without its closing hint, for a list of several."""
    return _split_hint(str(error))[0]


def clip(text: str, limit: int, where: str) -> str:
    """``text`` cut at ``limit`` characters, saying how long it was and ``where`` the whole is.

    For text from a server or a user shown to a person: 20 MB of it would fill a log,
    a caption and the widget state.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters; all of it in {where})"


def _status_class(status: int, code: str | None) -> type[APIError]:
    if status == 400:
        if code in ("content_policy_violation", "moderation_blocked"):
            return ContentPolicyError
        return BadRequestError
    if status == 429 and code == "insufficient_quota":
        return InsufficientQuotaError
    by_status: dict[int, type[APIError]] = {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        429: RateLimitError,
    }
    if status in by_status:
        return by_status[status]
    return ServerError if status >= 500 else APIError


def api_error_from(
    status: int | None, body: Mapping[str, Any] | None, request_id: str | None = None
) -> APIError:
    """The matching :class:`APIError` for a status and an error body.

    ``body`` may be the whole response (``{"error": {...}}``) or the inner
    object; a missing or malformed body still gives a useful error.
    """
    error: Any = body.get("error", body) if isinstance(body, Mapping) else None
    if isinstance(error, str):  # {"error": "boom"}: some servers send the message alone
        error = {"message": error}
    if not isinstance(error, Mapping):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = f"the server answered HTTP {status}" if status else "the server sent an error"
    whole, message = message, clip(message, MAX_MESSAGE, "error.full_message")
    if status is None:  # an error event inside a stream carries no HTTP status
        cls: type[APIError] = (
            ContentPolicyError
            if code in ("content_policy_violation", "moderation_blocked")
            else APIError
        )
    else:
        cls = _status_class(status, code)
    made = cls(
        message,
        status=status,
        type=error.get("type") if isinstance(error.get("type"), str) else None,
        code=code,
        param=error.get("param") if isinstance(error.get("param"), str) else None,
        request_id=request_id,
    )
    made.full_message = whole
    return made
