"""ImagesClient: the Images API over httpx, with streaming, retries and safe decoding.

One code path for every model: ``stream()`` yields partial images and then
final ones for a streaming request, and just the final ones otherwise, so
widgets never ask which kind of model they talk to.

A model the API has shut down (on :func:`today`) is refused
before anything is sent, with :class:`ModelRetiredError`, unless the client
talks to the built-in emulator (``is_emulator``, which still serves it) or
was made with ``allow_retired=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ..errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ImageExpiredError,
    ImagesError,
    ModelRetiredError,
    StreamIncompleteError,
)
from ..imaging import inspect_off_loop as _inspect
from ..models import MODELS as MODEL_SPECS, today
from ..params import ImageParams
from ..results import GeneratedImage, Generation, PartialImage
from . import wire as _wire
from .redact import LOG_REDACTOR, redact, scrub, split_userinfo, url_secrets
from .transport import ACCEPT_ENCODING, Body, Limits, Timeouts, guarded, read_body, release, wait_out
from .wire import Answer, EventStream, ModelInfo, retry_after, retry_delay

__all__ = ["DEFAULT_BASE_URL", "ImagesClient", "Limits", "ModelInfo", "Timeouts", "retry_delay"]

logger = logging.getLogger("imagewidgets")
T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
IMAGE_INDEX_HEADER = "x-emulator-image-index"  # the emulator draws image k; the API ignores it
VARIATION_HEADER = "x-emulator-variation"  # the emulator draws another picture; sent to it only


class ImagesClient:
    """An async client for ``POST /images/generations``.

    Parameters
    ----------
    api_key : str, optional
        Defaults to ``OPENAI_API_KEY``. Kept only in request headers; never shown.
    base_url : str, optional
        Defaults to ``OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
        A ``user:password@`` in it is sent as Basic auth (as httpx does) and
        kept out of ``self.base_url``, reprs, logs and errors.
    organization, project : str, optional
        Default to ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``.
    timeout : float or Timeouts or httpx.Timeout, optional
        A float is the overall deadline per request. Default: connect 10 s,
        read inactivity 180 s, overall 600 s. The overall deadline covers the
        whole call: retries and their waits, a stream to its last event, image
        URLs downloaded. A retry that would wait past it is not made.
    max_retries : int
        Retries of 408, 409, 429, 5xx and connection errors (default 2).
    max_concurrency : int
        Requests in flight at once through this client: a whole number, at least 1.
    http_client : httpx.AsyncClient, optional
        Bring your own (proxies, transports); it is not closed by ``aclose()``.
    allow_retired : bool
        Send requests for models the API has shut down anyway (default False:
        they raise :class:`ModelRetiredError` and nothing is sent), e.g. to an
        OpenAI-compatible server that still serves them.
    is_emulator : bool
        Whether ``base_url`` is the built-in emulator, which serves every model:
        no model is refused before sending. ``connect.default_client`` sets it.
    limits : Limits, optional
        Most bytes read of each kind of body (an answer per image, a stream event, a
        whole stream, an image URL, the model list, an error), counted after inflating.
        Real answers stay far below the defaults; a server sending more gets an
        :class:`APIError` saying so, and the rest is not read.

    With no key and no base URL given (nor ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``
    set) the client uses the built-in emulator, started on 127.0.0.1, and logs a
    warning saying so.

    Image URLs in an answer are fetched (without the key) only from ``base_url``'s
    own origin, or over https from a host whose addresses are all public; any
    other URL, and a redirect from one, is an :class:`APIError` and not fetched.
    Every text from the server in a result (a revised prompt) is redacted of the
    key and the base URL's password, as errors are.
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None,
                 organization: str | None = None, project: str | None = None,
                 timeout: float | Timeouts | httpx.Timeout | None = None, max_retries: int = 2,
                 max_concurrency: int = 4, http_client: httpx.AsyncClient | None = None,
                 allow_retired: bool = False, is_emulator: bool = False,
                 limits: Limits | None = None) -> None:
        # A semaphore of 0 (or less) never lets a request out: every call would hang.
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) \
                or max_concurrency < 1:
            raise ValueError(f"max_concurrency {max_concurrency!r} is not allowed; choose a whole "
                             "number of at least 1 (requests in flight at once)")
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if key is None and not (base_url or os.environ.get("OPENAI_BASE_URL")):
            # Nowhere to go but the API, and no key for it: the built-in emulator, as the panel.
            from .routing import emulator_url

            key, base_url, is_emulator = "emulator", emulator_url(), True
            logger.warning("no OPENAI_API_KEY: using the built-in emulator at %s (synthetic "
                           "images); set OPENAI_API_KEY to use the API", base_url)
        given = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.base_url, self._basic = split_userinfo(given)
        # What a server might echo back, hidden from every text built from its answers.
        self._secrets = (*([key] if key and key != "emulator" else []), *url_secrets(given))
        LOG_REDACTOR.hold(self._secrets)  # httpcore logs echoed headers verbatim at DEBUG
        self._logs_held = True
        self.timeouts = Timeouts.of(timeout)
        self.limits = limits or Limits()
        self.max_retries = max_retries
        self.is_emulator = is_emulator
        self.allow_retired = allow_retired
        self._has_key = bool(key)
        # The key lives in these headers only: sent to the API's host, never to image URLs.
        self._auth: dict[str, str] = {"Authorization": f"Bearer {key}"} if key else {}
        organization = organization or os.environ.get("OPENAI_ORG_ID")
        project = project or os.environ.get("OPENAI_PROJECT_ID")
        if organization:
            self._auth["OpenAI-Organization"] = organization
        if project:
            self._auth["OpenAI-Project"] = project
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeouts.read, connect=self.timeouts.connect),
            limits=httpx.Limits(max_connections=max(max_concurrency * 2, 8),
                                max_keepalive_connections=max_concurrency),
            headers={"User-Agent": "imagewidgets/0.1"},
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._sleep = asyncio.sleep  # tests replace it to observe retry delays
        self._resolve = _resolve  # tests replace it: the addresses an image URL's host has

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections this client opened."""
        if self._owns_http:
            await self._http.aclose()
        if self._logs_held:
            self._logs_held = False
            LOG_REDACTOR.release(self._secrets)

    async def __aenter__(self) -> ImagesClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "'***'" if self._has_key else "None"
        return f"ImagesClient(base_url={self.base_url!r}, api_key={key})"

    # -- public ------------------------------------------------------------------

    async def generate(self, params: ImageParams | Mapping[str, Any] | None = None, *,
                       image_index: int = 0, on_sent: Callable[[], None] | None = None,
                       variation: int = 0, **fields: Any) -> Generation:
        """Generate images without streaming; returns a :class:`Generation`.

        Parameters that cannot succeed raise :class:`ParamsError` and nothing
        is sent; a :class:`~imagewidgets.params.RequestBody` (from
        ``ImageParams.to_request()``) with no ``fields`` is sent as it is.
        ``stream`` and ``partial_images`` are ignored here. ``on_sent`` is
        called each time the request goes out: after waiting for one of the
        ``max_concurrency`` slots, so time spent queued is not counted as the
        server's. ``variation`` (the emulator only) asks for another picture of
        the same request: a panel's Generate again; 0 is the usual one.

        With ``n > 1``, when some images arrive and others fail (an image URL
        expired, bytes that are not an image), the error of the first failed
        image is raised holding the others: ``error.images`` (those that
        arrived) and ``error.failures`` (image index -> error). Nothing that
        arrived is thrown away.
        """
        with self._hiding_secrets():
            body = _wire.request_body(params, fields)
            self.check_model(body)
            return await self._generate_body(body, image_index, on_sent, variation)

    async def stream(self, params: ImageParams | Mapping[str, Any] | None = None, *,
                     image_index: int = 0, on_sent: Callable[[], None] | None = None,
                     variation: int = 0,
                     **fields: Any) -> AsyncGenerator[PartialImage | GeneratedImage, None]:
        """Partial images as they arrive, then the final image(s).

        With ``stream`` off or a model that cannot stream, yields the final
        images of one ordinary request. With ``n > 1`` the request is fanned
        out as ``n`` concurrent requests of one image, events tagged by
        ``image_index`` (starting at ``image_index``). Parameters, ``on_sent``
        and ``variation`` are read as by :meth:`generate`.

        Consume it under ``contextlib.aclosing`` to leave early: closing it
        releases its responses and this client's slots at once.

        With ``n > 1`` every image that arrives is yielded, whatever happens to
        the others; when some failed, the first failed image's error is raised
        after the last image, holding ``error.images`` (those yielded) and
        ``error.failures`` (image index -> error). When all fail, the first one's
        error is raised so.

        Raises
        ------
        StreamIncompleteError
            The stream ended, or broke, before its ``completed`` event.
        APITimeoutError
            The total timeout passed (``last_partial`` holds the last partial image).
        """
        with self._hiding_secrets():
            body = _wire.request_body(params, fields)
            self.check_model(body)
            if not body.get("stream"):
                failure: ImagesError | None = None
                try:
                    images = (await self._generate_body(body, image_index, on_sent,
                                                        variation)).images
                except ImagesError as error:
                    if not error.images:
                        raise
                    images, failure = list(error.images), error
                for image in images:
                    yield image
                if failure is not None:
                    raise failure
                return
            # The only async generator on this path: everything below it is a plain object
            # closed from this ``finally``. A nested generator could be finalized by the
            # garbage collector while this one closes it ("aclose(): asynchronous generator
            # is already running").
            source = self._stream_body(body, image_index, on_sent, variation)
            try:
                while (event := await source.next()) is not None:
                    yield event
            finally:
                await source.aclose()

    async def list_models(self) -> list[ModelInfo]:
        """The models the server offers (``GET /models``), in its order.

        Read leniently: entries without an ``id`` are skipped, unknown fields
        kept in :attr:`ModelInfo.extra`. Retried as generations are.
        """
        started = time.monotonic()
        with self._hiding_secrets():
            try:
                async with asyncio.timeout(self.timeouts.total):
                    response = await self._open(MODELS, None, method="GET",
                                                deadline=started + self.timeouts.total)
                    try:
                        raw = await read_body(response, self.limits.models, "the model list")
                    finally:
                        await self._close(response)
            except TimeoutError:
                raise APITimeoutError(self._past_deadline("no answer")) from None
            logger.debug("listed models in %.2f s", time.monotonic() - started)
            return _wire.parse_models(raw)

    # -- requests ----------------------------------------------------------------

    def check_model(self, body: Mapping[str, Any]) -> None:
        """Refuse, before sending, a model the API has shut down (see the class docstring).

        Raises
        ------
        ModelRetiredError
            Unless this client talks to the emulator or was made with ``allow_retired``.
        """
        if self.is_emulator or self.allow_retired:
            return
        spec = MODEL_SPECS.get(str(body.get("model")))
        if spec is not None and spec.retired(today()):
            raise ModelRetiredError(spec.name, spec.shutdown, spec.replacement)

    async def _generate_body(self, body: Mapping[str, Any], image_index: int,
                             on_sent: Callable[[], None] | None = None,
                             variation: int = 0) -> Generation:
        """One non-streaming request of a checked body."""
        body = {name: value for name, value in body.items() if name not in ("stream", "partial_images")}
        started = time.monotonic()
        try:
            # The timeout outside the guard: a guarded step must not cancel itself.
            async with asyncio.timeout(self.timeouts.total):
                # One guarded step for the whole request: sending, reading and closing inside
                # it need no task of their own (three turns of the loop each).
                return await guarded(self._generate_once(body, image_index, on_sent, variation,
                                                         started))
        except TimeoutError:
            raise APITimeoutError(self._past_deadline("no answer")) from None

    async def _generate_once(self, body: Mapping[str, Any], image_index: int,
                             on_sent: Callable[[], None] | None, variation: int,
                             started: float) -> Generation:
        """The request of :meth:`_generate_body`, retries included, its images checked."""
        response = await self._open(GENERATIONS, body, image_index=image_index, on_sent=on_sent,
                                    variation=variation, deadline=started + self.timeouts.total)
        try:
            raw = await self._read_answer(response, body.get("n"))
        finally:
            await self._close(response)
        answer = _wire.parse_answer(raw)
        request_id = self._request_id(response)
        images = await self._images(answer, body, image_index, request_id)
        return Generation(images=images, usage=answer.usage, created=answer.created,
                          request_id=request_id, elapsed=time.monotonic() - started)

    def _stream_body(self, body: Mapping[str, Any], image_index: int,
                     on_sent: Callable[[], None] | None = None,
                     variation: int = 0) -> _Stream | _FanOut:
        """The events of a checked streaming body: one stream, or ``n`` streams of one image."""
        count = int(body.get("n") or 1)
        one = {name: value for name, value in body.items() if name != "n"}
        if count == 1:
            return _Stream(self, one, image_index, on_sent, variation)
        return _FanOut([_Stream(self, one, image_index + offset, on_sent, variation)
                        for offset in range(count)])

    async def _open(self, path: str, body: Mapping[str, Any] | None, *, image_index: int = 0,
                    method: str = "POST", on_sent: Callable[[], None] | None = None,
                    variation: int = 0, deadline: float = math.inf) -> httpx.Response:
        """POST ``body`` to ``path`` (e.g. ``"/images/generations"``) with retries; or GET it.

        Returns a response below 400 that holds one of this client's slots until
        ``_close(response)``. A body that breaks after the status line arrived
        is not retried, nor is a request whose retry would wait past ``deadline``
        (``time.monotonic()``): its error is raised at once, saying so.
        """
        if not self._has_key and self.base_url == DEFAULT_BASE_URL:
            raise AuthenticationError("no API key was given", status=None)
        url = f"{self.base_url}{path}"
        # Only what Body inflates with a limit; httpx would add br and zstd when installed.
        headers = {**self._auth, "Accept-Encoding": ACCEPT_ENCODING}
        if method == "POST":
            headers["Idempotency-Key"] = f"imagewidgets-retry-{uuid.uuid4()}"
        if image_index:
            headers[IMAGE_INDEX_HEADER] = str(image_index)
        if variation and self.is_emulator:  # the API has no such thing: never sent there
            headers[VARIATION_HEADER] = str(variation)
        attempt = 0
        while True:
            error: ImagesError
            response: httpx.Response | None = None
            await self._slots.acquire()
            try:
                if on_sent is not None:
                    on_sent()  # inside the try: a hook that raises still frees the slot
                logger.debug("%s %s (model %s, attempt %d)", method, url,
                             body.get("model") if body else None, attempt + 1)
                request = self._http.build_request(method, url, json=body, headers=headers)
                try:
                    # No userinfo: whatever auth a given http_client has (None would drop it).
                    auth = self._basic if self._basic is not None else httpx.USE_CLIENT_DEFAULT
                    response = await guarded(self._http.send(request, stream=True, auth=auth,
                                                             follow_redirects=False))
                except httpx.TimeoutException as failure:
                    error = APITimeoutError(f"{type(failure).__name__} from {self.base_url}")
                except httpx.TransportError as failure:
                    error = APIConnectionError(f"could not reach {self.base_url}: {failure}")
                else:
                    if response.status_code < 300:
                        return response  # its slot stays taken until _close
                    try:
                        error = (self._redirect_error(response) if response.status_code < 400
                                 else _wire.with_provenance(
                                     await _error_of(response, self.limits.error), body))
                    finally:
                        await release(response)
            finally:
                if response is None or response.status_code >= 300:
                    self._slots.release()
            delay = None
            if attempt < self.max_retries and _wire.retryable(error):
                delay = retry_delay(attempt, response.headers if response is not None else None)
            left = deadline - time.monotonic()
            if delay is not None and delay > left:
                # Waiting would pass the total deadline: the retry could not finish in time.
                asked = retry_after(response.headers) if response is not None else None
                wait = (f"the server asked to wait {delay:g} s" if asked is not None
                        else f"a retry would wait {delay:.1f} s")
                error.note(f"not retried: {wait}, more than the {max(left, 0):.1f} s left of "
                           f"the {self.timeouts.total:g} s total timeout")
                delay = None
            if delay is None:
                if attempt:  # retried and still failing: say so, or it reads like one try
                    error.tried(attempt + 1)
                raise error
            logger.info("retrying in %.2f s after %s", delay, type(error).__name__)
            await self._sleep(delay)
            attempt += 1

    @contextlib.contextmanager
    def _hiding_secrets(self) -> Iterator[None]:
        """Redact the key and URL userinfo from any error leaving the client (see ``_redact``)."""
        try:
            yield
        except Exception as error:
            scrub(error, self._secrets)
            raise

    def _past_deadline(self, what: str) -> str:
        return f"{what} within the {self.timeouts.total:g} s total timeout"

    def _redacted(self, image: GeneratedImage) -> GeneratedImage:
        """``image`` with the server's text in it redacted: a server may echo the key there."""
        if image.revised_prompt is None:
            return image
        return dataclasses.replace(image, revised_prompt=redact(image.revised_prompt, self._secrets))

    def _request_id(self, response: httpx.Response) -> str | None:
        """The answer's ``x-request-id``, redacted: a server may put anything there."""
        value = response.headers.get("x-request-id")
        return None if value is None else redact(value, self._secrets)

    def _redirect_target(self, response: httpx.Response) -> str:
        """Where a 3xx answer points, for a message: "to https://host:port" (no userinfo)."""
        location = response.headers.get("location")
        parts = urlsplit(location or "")
        # Its scheme and host say where it points; a path or query could hold anything.
        return (f"to {parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc
                else f"to {redact(location, self._secrets)!r}" if location else "with no Location")

    def _redirect_error(self, response: httpx.Response) -> APIError:
        """A 3xx answer: never followed, since a POST (its body, the key) would go elsewhere."""
        where = self._redirect_target(response)
        return APIError(f"the server answered with a redirect {where}, which the client does "
                        "not follow (it would send the request and the key to another address)",
                        status=response.status_code, request_id=self._request_id(response),
                        hint=f"check base_url, now {self.base_url}: use the address it "
                             "redirects to, if you trust it")

    async def _read_answer(self, response: httpx.Response, n: Any) -> bytes:
        """The body of a JSON answer to a request for ``n`` images, within its limit."""
        count = Limits.count(n)
        return await read_body(
            response, self.limits.answer(count),
            f"a JSON answer of {count} image{'s' if count > 1 else ''} (n={count})",
            hint="check that base_url is an Images API server, or the proxy in between; if it "
                 "is, ask for fewer images (n) or a smaller size")

    async def _close(self, response: httpx.Response) -> None:
        """Close a response of ``_open``, even when cancelled twice, and free its slot."""
        try:
            await release(response)
        finally:
            self._slots.release()

    async def _images(self, answer: Answer, body: Mapping[str, Any], first_index: int,
                      request_id: str | None) -> list[GeneratedImage]:
        """The answer's images, downloaded and checked; one failing does not lose the others.

        Raises the first failed image's error, holding the images that arrived
        (``error.images``) and every failure (``error.failures``).
        """
        images, failures = [], {}
        for offset, item in enumerate(answer.images):
            try:
                data = item.data if item.data is not None else await self._download(item.url or "")
                images.append(self._redacted(_wire.answer_image(
                    answer, offset, data, await _inspect(data), body, first_index, request_id)))
            except ImagesError as error:
                failures[first_index + offset] = error
        if failures:
            first = next(iter(failures.values()))
            if len(answer.images) > 1:
                first.keep(images, failures, len(answer.images))
            raise first
        return images

    async def _download(self, url: str) -> bytes:
        """Fetch an image URL at once (they expire after 60 minutes); no key is sent.

        Only from the base URL's origin, or over https from public addresses
        (:meth:`_check_image_url`); a redirect is an error, never followed.
        """
        await self._check_image_url(url)
        try:
            request = self._http.build_request("GET", url, headers={"Accept-Encoding": ACCEPT_ENCODING})
            response = await guarded(self._http.send(request, stream=True, follow_redirects=False))
        except httpx.TimeoutException:
            raise APITimeoutError("downloading the image URL timed out") from None
        except httpx.TransportError as failure:
            raise APIConnectionError(f"could not download the image URL: {failure}") from None
        try:
            if 300 <= response.status_code < 400:
                where = self._redirect_target(response)
                raise APIError(f"the image URL answered with a redirect {where}, which the client "
                               "does not follow (it could point to any place, this machine's "
                               "own network included)", status=response.status_code,
                               hint="ask for response_format='b64_json', or check where the "
                                    "server's image URLs point")
            if response.status_code in (403, 404):
                raise ImageExpiredError(response.status_code)
            if response.status_code >= 400:
                raise await _error_of(response, self.limits.error)
            return await read_body(response, self.limits.download, "the image URL",
                                   hint="check where the server's image URLs point; no real "
                                        "image is that large")
        finally:
            await release(response)


    async def _check_image_url(self, url: str) -> None:
        """Refuse an image URL that points to a place the user did not choose.

        Allowed: the base URL's own origin (scheme, host, port: the emulator's
        URLs), or https to a host whose every address is public. Not a loopback,
        private, link-local, multicast, reserved or unspecified address: a hostile
        server could otherwise make this machine fetch from its own network (a
        cloud's metadata service at 169.254.169.254, an admin page on localhost).
        A host that does not resolve here is left to httpx, which cannot reach it
        either (or hands it to the proxy configured).
        """
        parts = urlsplit(url)
        if _origin(parts) == _origin(urlsplit(self.base_url)):
            return
        host = parts.hostname
        where = f"host {host}" if host else f"a {parts.scheme or 'schemeless'}: URL"
        why = None
        if parts.scheme != "https" or not host:
            why = "which is not https from another origin than base_url"
        else:
            try:
                port = parts.port or 443
            except ValueError:
                port = 443
            try:
                addresses = [ipaddress.ip_address(host)]
            except ValueError:
                addresses = [ipaddress.ip_address(found.split("%")[0])
                             for found in await self._resolve(host, port)]
            for address in addresses:
                if (kind := _not_public(address)) is not None:
                    shown = "" if str(address) == host else f" ({address})"
                    why = f"whose address{shown} is {kind}"
                    break
        if why is not None:
            raise APIError(f"the server's image URL points to {where}, {why}; the client does "
                           "not fetch it (an image URL could otherwise make this machine reach "
                           "a place you did not choose)",
                           hint="image URLs are fetched only from base_url's own origin or over "
                                "https from public hosts; ask for response_format='b64_json', "
                                f"or check base_url, now {self.base_url}")


GENERATIONS = "/images/generations"
MODELS = "/models"


def _origin(parts: Any) -> tuple[str, str, int | None]:
    """A URL's scheme, host and port (the default one filled in)."""
    try:
        port = parts.port
    except ValueError:
        port = -1  # malformed: never anyone's origin
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port or default


def _not_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address ``address`` is ("a loopback address"); None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # In this order: 127.0.0.1 and 169.254.169.254 are also "private" to ipaddress.
    for kind in ("loopback", "unspecified", "link-local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return f"a {kind} address"
    return None if address.is_global else "not a public address"


async def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to here; none when it does not resolve."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in found]


class _Stream:
    """One streaming request of one image: ``next()`` gives its events, then None.

    The response is released when the final image arrives or at ``aclose()``,
    which may be called any number of times. The total timeout counts from
    its making, and covers sending, retries and every event (and an image URL).
    """

    def __init__(self, client: ImagesClient, body: Mapping[str, Any], image_index: int,
                 on_sent: Callable[[], None] | None = None, variation: int = 0) -> None:
        self._client, self._body, self._index = client, body, image_index
        self._on_sent, self._variation = on_sent, variation
        self._response: httpx.Response | None = None
        self._chunks: Body | None = None
        self._events = EventStream(client.limits.event)
        self._ready: list[GeneratedImage] | None = None  # once finished: what is left to give
        self._last: PartialImage | None = None
        self._request_id: str | None = None
        self._started = False
        self._deadline = time.monotonic() + client.timeouts.total

    async def next(self) -> PartialImage | GeneratedImage | None:
        if not self._started:
            self._started = True
            await self._in_time(self._start())
        while self._ready is None:
            try:
                event = self._events.next()
            except StreamIncompleteError as incomplete:
                incomplete.last_partial = self._last
                raise
            if event is None:
                self._events.feed(await self._in_time(self._chunk()))
                continue
            result = _wire.stream_image(event, await _inspect(event.data), self._body, self._index,
                                        self._request_id)
            if isinstance(result, GeneratedImage):
                result = self._client._redacted(result)
                self._ready = []
                await self.aclose()  # the rest of the stream is not needed: free the slot now
            else:
                self._last = result
            return result
        return self._ready.pop(0) if self._ready else None

    async def _in_time(self, step: Awaitable[T]) -> T:
        """Await ``step`` unless the total deadline passes first: then APITimeoutError."""
        scope = asyncio.timeout(max(self._deadline - time.monotonic(), 0))
        try:
            async with scope:
                return await step
        except TimeoutError:
            if not scope.expired():
                raise
            raise APITimeoutError(self._client._past_deadline("the stream did not finish"),
                                  self._last) from None

    async def _start(self) -> None:
        self._response = response = await self._client._open(
            GENERATIONS, self._body, image_index=self._index, on_sent=self._on_sent,
            variation=self._variation, deadline=self._deadline)
        self._request_id = self._client._request_id(response)
        if "text/event-stream" in response.headers.get("content-type", ""):
            self._chunks = Body(response, self._client.limits.stream, "the stream (all its events)",
                                hint="check that base_url is an Images API server, or the proxy "
                                     "in between; a real stream ends after its completed event")
            return
        # A server that ignored stream=true answered in one piece: still one code path.
        answer = _wire.parse_answer(await self._client._read_answer(response, 1))
        self._ready = await self._client._images(answer, self._body, self._index,
                                                 self._request_id)
        await self.aclose()

    async def _chunk(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        assert self._chunks is not None
        timeouts = self._client.timeouts
        try:
            chunk = await guarded(self._chunks.next())
        except httpx.TimeoutException:
            raise StreamIncompleteError(f"the stream went quiet for {timeouts.read:g} s",
                                        self._last) from None
        except httpx.TransportError as failure:
            raise StreamIncompleteError(f"the connection broke mid-stream: {failure}",
                                        self._last) from APIConnectionError(str(failure))
        return chunk

    async def aclose(self) -> None:
        response, self._response, self._chunks = self._response, None, None
        if response is not None:  # once only: closing twice must not free two slots
            await self._client._close(response)


class _FanOut:
    """Several :class:`_Stream` run as tasks, their events merged as they arrive.

    One stream failing stops none of the others: every image that arrives is
    given, and after the last, the first failed image's error is raised holding
    the images (``error.images``) and every failure (``error.failures``).
    """

    def __init__(self, streams: list[_Stream]) -> None:
        self._streams = streams
        self._queue: asyncio.Queue[
            PartialImage | GeneratedImage | tuple[int, Exception] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._remaining = len(streams)
        self._finals: list[GeneratedImage] = []
        self._failures: dict[int, ImagesError] = {}

    async def next(self) -> PartialImage | GeneratedImage | None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._pump(stream)) for stream in self._streams]
        while self._remaining:
            item = await self._queue.get()
            if item is None:
                self._remaining -= 1
            elif isinstance(item, tuple):
                index, error = item
                if not isinstance(error, ImagesError):
                    raise error  # a bug, not the server: at once
                self._failures[index] = error
            else:
                if isinstance(item, GeneratedImage):
                    self._finals.append(item)
                return item
        if self._failures:
            failures = dict(sorted(self._failures.items()))
            self._failures = {}  # raised once: a next() after it ends quietly
            first = next(iter(failures.values()))
            first.keep(sorted(self._finals, key=lambda image: image.image_index), failures,
                       len(self._streams))
            raise first
        return None

    async def _pump(self, stream: _Stream) -> None:
        try:
            while (event := await stream.next()) is not None:
                self._queue.put_nowait(event)
        except Exception as error:  # handed to the consumer, never lost
            self._queue.put_nowait((stream._index, error))
        finally:
            try:
                await stream.aclose()
            finally:
                self._queue.put_nowait(None)

    async def aclose(self) -> None:
        """Cancel every stream and wait until each has let go of its response."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await wait_out(asyncio.gather(*self._tasks, return_exceptions=True))


async def _error_of(response: httpx.Response, limit: int) -> APIError:
    """The error an answer of status 400 or more means; its body cut at ``limit`` bytes."""
    try:
        raw = await read_body(response, limit, "an error answer", cut=True)
    except (APIConnectionError, APIError):  # broken, or an encoding we cannot read
        raw = b""  # the status alone still makes a useful error
    return _wire.api_error(response.status_code, raw, response.headers.get("x-request-id"))
