"""ImagesClient: the Images API over httpx, with streaming, retries and safe decoding.

One code path for every model: ``stream()`` yields partial images and then
final ones for a streaming request, and just the final ones otherwise, so
widgets never ask which kind of model they talk to.

A model the API has shut down (on :func:`imagewidgets.models.today`) is refused
before anything is sent, with :class:`ModelRetiredError`, unless the server
is the built-in emulator (which still serves it) or the client was made with
``allow_retired=True``. Where requests go is decided by :func:`.routing.route`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from ..errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ImagesError,
    ModelRetiredError,
)
from ..models import MODELS as MODEL_SPECS, ModelSpec, today
from ..params import ImageParams
from ..results import GeneratedImage, Generation, PartialImage
from .answers import Answer, with_provenance
from .body import request_body
from .deadline import Deadline
from .editing import EditSource, edit_request
from .generation import generate_once
from .image_urls import answer_images, download, resolve
from .model_list import ModelInfo, parse_models
from .multipart import Form
from .redact import LOG_REDACTOR, redact, redirect_error, scrub, url_secrets
from .retry import next_retry, retry_delay
from .routing import DEFAULT_BASE_URL, MODELS, ServerKind, route
from .streams import OnBilled, streams_of
from .transport import ACCEPT_ENCODING, Limits, Timeouts, error_of, guarded, read_body, release

__all__ = ["DEFAULT_BASE_URL", "ImagesClient", "Limits", "ModelInfo", "Timeouts", "default_client",
           "retry_delay"]

logger = logging.getLogger("imagewidgets")

IMAGE_INDEX_HEADER = "x-emulator-image-index"  # the emulator draws image k; the API ignores it
VARIATION_HEADER = "x-emulator-variation"  # the emulator draws another picture; sent to it only


def default_client(**options: Any) -> ImagesClient:
    """A new client for where :func:`.routing.route` says: the API when ``OPENAI_API_KEY``
    or ``OPENAI_BASE_URL`` is set, else the built-in emulator (started once per process,
    on 127.0.0.1), without the warning ``ImagesClient()`` logs then.

    The client's ``is_emulator`` says which (see :class:`ImagesClient`).
    """
    where = route(options.pop("api_key", None), options.pop("base_url", None))
    return ImagesClient(api_key=where.key, base_url=where.url, is_emulator=where.emulator, **options)


class ImagesClient:
    """An async client for ``POST /images/generations`` and ``POST /images/edits``.

    Parameters
    ----------
    api_key : str, optional
        Defaults to ``OPENAI_API_KEY``. Kept only in request headers; never shown.
    base_url : str, optional
        Defaults to ``OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
        One holding ``user:password@`` is refused (``ValueError``): httpx would
        send it as Basic auth in place of the key.
    organization, project : str, optional
        Default to ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``.
    timeout : float or Timeouts or httpx.Timeout, optional
        A float is the overall deadline per request. Default: connect 10 s,
        read inactivity 180 s, overall 600 s. The overall deadline covers the
        whole call from when its request is first sent (time queued for one of
        the ``max_concurrency`` slots is not counted): retries and their waits,
        a stream to its last event, image URLs downloaded. A retry that would
        wait past it is not made.
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
    is_emulator : bool, optional
        Whether ``base_url`` is the built-in emulator, which serves every model:
        no model is refused before sending. None (default): found out. The
        emulator this process started is known; any other server is asked once
        (``GET /models``; the emulator's answers carry ``x-imagewidgets-emulator``)
        before the first request for a model the API shut down, or recognised
        from any earlier answer. So the attribute may turn True after a request:
        read it after one (or after ``await client.identify()``) for banners.
        The API itself is never asked and never receives a retired model.
        False treats the server as the API (never asked).
    limits : Limits, optional
        Most bytes read of each kind of body (an answer per image, a stream event, a
        whole stream, an image URL, the model list, an error), counted after inflating.
        Real answers stay far below the defaults; a server sending more gets an
        :class:`APIError` saying so, and the rest is not read.

    With no key and no base URL given (nor ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``
    set; an empty variable counts as unset) the client uses the built-in emulator,
    started on 127.0.0.1, and logs a warning saying so.

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
                 allow_retired: bool = False, is_emulator: bool | None = None,
                 limits: Limits | None = None) -> None:
        # A semaphore of 0 (or less) never lets a request out: every call would hang.
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) \
                or max_concurrency < 1:
            raise ValueError(f"max_concurrency {max_concurrency!r} is not allowed; choose a whole "
                             "number of at least 1 (requests in flight at once)")
        where = route(api_key, base_url)
        key, given = where.key, where.url
        if where.fallback:
            logger.warning("no OPENAI_API_KEY: using the built-in emulator at %s (synthetic "
                           "images); set OPENAI_API_KEY to use the API", given)
        self.base_url = given  # route() refused a URL with userinfo (it would be Basic auth)
        # What a server might echo back, hidden from every text built from its answers.
        self._secrets = (*([key] if key and key != "emulator" else []), *url_secrets(given))
        LOG_REDACTOR.hold(self._secrets)  # httpcore logs echoed headers verbatim at DEBUG
        self._logs_held = True
        self.timeouts = Timeouts.of(timeout)
        self.limits = limits or Limits()
        self.max_retries = max_retries
        self._server = ServerKind(where.emulator if is_emulator is None else is_emulator)
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
        self._resolve = resolve  # tests replace it: the addresses an image URL's host has

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
                       variation: int = 0, on_billed: OnBilled | None = None,
                       **fields: Any) -> Generation:
        """Generate images without streaming; returns a :class:`Generation`.

        Parameters that cannot succeed raise :class:`ParamsError` and nothing
        is sent; a :class:`~imagewidgets.params.RequestBody` (from
        ``ImageParams.to_request()``) with no ``fields`` is sent as it is.
        ``stream`` and ``partial_images`` are ignored here. ``on_sent`` is
        called each time the request goes out: after waiting for one of the
        ``max_concurrency`` slots, so time spent queued is not counted as the
        server's. ``variation`` (the emulator only) asks for another picture of
        the same request: a panel's Generate again; 0 is the usual one.
        ``on_billed(usage, fields)`` is called as soon as the server's answer is
        read, before its images are checked: billed work is counted even when a
        cancel or a bad image comes after.

        With ``n > 1``, when some images arrive and others fail (an image URL
        expired, bytes that are not an image), the error of the first failed
        image is raised holding the others: ``error.images`` (those that
        arrived) and ``error.failures`` (image index -> error). Nothing that
        arrived is thrown away: nor when the deadline passes while the later
        images (URLs) download (an :class:`APITimeoutError` holding the others).
        """
        with self._hiding_secrets():
            body = request_body(params, fields)
            await self._check_model(body)
            return await generate_once(self, body, image_index, on_sent, variation, on_billed)

    async def edit(self, params: ImageParams | Mapping[str, Any] | None, inputs: EditSource, *,
                   image_index: int = 0, on_sent: Callable[[], None] | None = None,
                   variation: int = 0, on_billed: OnBilled | None = None,
                   **fields: Any) -> Generation:
        """Edit images without streaming (``POST /images/edits``); returns a :class:`Generation`.

        ``inputs`` is an :class:`~imagewidgets.inputs.EditInputs` (for a mask or a markup),
        or the image(s) :meth:`EditInputs.of` reads, read off the loop. The fields are
        checked at ``edits``, the files against the model's rules: nothing that cannot
        succeed is sent (:class:`ParamsError`). The rest is as :meth:`generate`: one
        multipart body, built once, sent identically on each retry under one
        Idempotency-Key, with the same deadline, limits and hooks.
        """
        with self._hiding_secrets():
            body, files = await edit_request(params, fields, inputs)
            await self._check_model(body)
            return await generate_once(self, body, image_index, on_sent, variation, on_billed, files)

    async def stream(self, params: ImageParams | Mapping[str, Any] | None = None, *,
                     inputs: EditSource | None = None, image_index: int = 0,
                     on_sent: Callable[[], None] | None = None, variation: int = 0,
                     on_billed: OnBilled | None = None,
                     **fields: Any) -> AsyncGenerator[PartialImage | GeneratedImage, None]:
        """Partial images as they arrive, then the final image(s); with ``inputs``, of an edit.

        With ``stream`` off or a model that cannot stream, yields the final
        images of one ordinary request. With ``n > 1`` the request is fanned
        out as ``n`` concurrent requests of one image, events tagged by
        ``image_index`` (starting at ``image_index``). Parameters, ``on_sent``,
        ``variation`` and ``on_billed`` (at each ``completed`` event) are read as by
        :meth:`generate`; ``inputs`` (the images to edit) as by :meth:`edit`, its one
        multipart body shared by the ``n`` requests.

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
            body, files = (await edit_request(params, fields, inputs) if inputs is not None
                           else (request_body(params, fields), None))
            await self._check_model(body)
            if not body.get("stream"):
                failure: ImagesError | None = None
                try:
                    images = (await generate_once(self, body, image_index, on_sent,
                                                  variation, on_billed, files)).images
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
            source = await streams_of(self, body, image_index, on_sent, variation, on_billed, files)
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
        deadline = Deadline(self.timeouts.total)
        with self._hiding_secrets():
            try:
                async with deadline.scope():
                    response = await self._open(MODELS, None, method="GET", deadline=deadline)
                    try:
                        raw = await read_body(response, self.limits.models, "the model list")
                    finally:
                        await self._close(response)
            except TimeoutError:
                raise APITimeoutError(self._past_deadline("no answer")) from None
            logger.debug("listed models in %.2f s", time.monotonic() - started)
            return parse_models(raw, self._secrets)  # a server may echo the key

    # -- requests ----------------------------------------------------------------

    def check_model(self, body: Mapping[str, Any]) -> None:
        """Refuse, before sending, a model the API has shut down (see the class docstring).

        A quick check that sends nothing: a server not asked yet what it is passes
        here, and is asked (:meth:`identify`) before the request itself is sent.

        Raises
        ------
        ModelRetiredError
            Unless the server is the emulator or not yet known, or ``allow_retired``.
        """
        spec = self._retired(body)
        if spec is not None and self._server.emulator is False:
            error = ModelRetiredError(spec.name, spec.shutdown, spec.replacement)
            if self.base_url != DEFAULT_BASE_URL:
                error.note(f"the server at {self.base_url} did not say it is the imagewidgets "
                           "emulator, which serves every model")
            raise error

    async def identify(self) -> bool:
        """Whether the server is the built-in emulator; asked once, then remembered.

        Sets :attr:`is_emulator`. The API itself is known and never asked.
        """
        return await self._server.ask(self._http, self.base_url, self._auth)

    @property
    def is_emulator(self) -> bool:
        """Whether the server is known to be the built-in emulator (see the class docstring)."""
        return self._server.emulator is True

    @is_emulator.setter
    def is_emulator(self, value: bool) -> None:
        self._server.emulator = bool(value)

    def _retired(self, body: Mapping[str, Any]) -> ModelSpec | None:
        """The model of ``body`` when it is shut down and this client may not send it."""
        if self.is_emulator or self.allow_retired:
            return None
        spec = MODEL_SPECS.get(str(body.get("model")))
        return spec if spec is not None and spec.retired(today()) else None

    async def _check_model(self, body: Mapping[str, Any]) -> None:
        """:meth:`check_model`, first asking the server what it is when that decides."""
        if self._server.emulator is None and self._retired(body) is not None:
            await self.identify()
        self.check_model(body)

    async def _open(self, path: str, body: Mapping[str, Any] | None, *, image_index: int = 0,
                    method: str = "POST", on_sent: Callable[[], None] | None = None,
                    variation: int = 0, deadline: Deadline | None = None,
                    form: Form | None = None) -> httpx.Response:
        """POST ``body`` to ``path`` (e.g. ``"/images/generations"``) with retries; or GET it.

        With a ``form`` its bytes are sent in place of ``body`` as JSON (which still names
        the request in logs and errors): the same bytes on every try.

        Returns a response below 400 that holds one of this client's slots until
        ``_close(response)``. ``deadline`` starts once a slot is held. A body that
        breaks after the status line arrived is not retried, nor is a request whose
        retry would wait past ``deadline``: its error is raised at once, saying so.
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
                if deadline is not None:
                    deadline.start()  # sent now: time queued for the slot is not counted
                if on_sent is not None:
                    on_sent()  # inside the try: a hook that raises still frees the slot
                logger.debug("%s %s (model %s, attempt %d)", method, url,
                             body.get("model") if body else None, attempt + 1)
                request = (self._http.build_request(method, url, json=body, headers=headers)
                           if form is None else self._http.build_request(
                               method, url, content=form.data,
                               headers={**headers, "Content-Type": form.content_type}))
                try:
                    # Whatever auth a given http_client has (None would drop it).
                    response = await guarded(self._http.send(request, stream=True,
                                                             auth=httpx.USE_CLIENT_DEFAULT,
                                                             follow_redirects=False), self._http)
                except httpx.TimeoutException as failure:
                    error = APITimeoutError(f"{type(failure).__name__} from {self.base_url}")
                except httpx.TransportError as failure:
                    error = APIConnectionError(f"could not reach {self.base_url}: {failure}")
                else:
                    self._server.learn(response)  # any answer says what the server is
                    if response.status_code < 300:
                        return response  # its slot stays taken until _close
                    try:
                        error = (with_provenance(await error_of(response, self.limits.error), body)
                                 if response.status_code >= 400
                                 else redirect_error(response, self.base_url, self._secrets,
                                                     self._request_id(response)))
                    finally:
                        await release(response)
            finally:
                if response is None or response.status_code >= 300:
                    self._slots.release()
            delay = next_retry(error, attempt, self.max_retries,
                               response.headers if response is not None else None,
                               deadline.left() if deadline is not None else float("inf"),
                               self.timeouts.total)
            if delay is None:
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

    async def _close(self, response: httpx.Response) -> None:
        """Close a response of ``_open``, even when cancelled twice, and free its slot."""
        try:
            await release(response)
        finally:
            self._slots.release()

    async def _images(self, answer: Answer, body: Mapping[str, Any], first_index: int,
                      request_id: str | None,
                      arrived: list[GeneratedImage] | None = None) -> list[GeneratedImage]:
        """The answer's images, fetched and checked (:func:`.image_urls.answer_images`), redacted;
        each also added to ``arrived`` as soon as it is."""
        def finish(image: GeneratedImage) -> GeneratedImage:
            image = self._redacted(image)
            if arrived is not None:
                arrived.append(image)
            return image

        return await answer_images(answer, body, first_index, request_id, self._fetch, finish)

    async def _fetch(self, url: str) -> bytes:
        """An image URL's bytes, fetched without the key (:func:`.image_urls.download`)."""
        return await download(self._http, url, self.base_url, self.limits, self._secrets, self._resolve)
