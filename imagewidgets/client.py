"""ImagesClient: the Images API over httpx, with streaming, retries and safe decoding.

One code path for every model: ``stream()`` yields partial images and then
final ones for a streaming request, and just the final ones otherwise, so
widgets never ask which kind of model they talk to.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx
from traitlets import TraitError

from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ImageExpiredError,
    ImagesError,
    InsufficientQuotaError,
    ParamsError,
    StreamIncompleteError,
    api_error_from,
)
from .imaging import decode_base64, inspect
from .params import ImageParams
from .results import GeneratedImage, Generation, PartialImage, Usage

__all__ = ["DEFAULT_BASE_URL", "ImagesClient", "Timeouts", "default_client", "generate", "retry_delay"]

logger = logging.getLogger("imagewidgets")
T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
IMAGE_INDEX_HEADER = "x-emulator-image-index"  # the emulator draws image k; the API ignores it
RETRY_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 120.0
_ERROR_BODY_LIMIT = 65_536


@dataclass(frozen=True)
class Timeouts:
    """Seconds: to connect, of read inactivity, and for a whole request.

    A high-quality image can take well over a minute before its first byte,
    so the read limit is generous; ``total`` bounds everything, retries included.
    """

    connect: float = 10.0
    read: float = 180.0
    total: float = 600.0

    @classmethod
    def of(cls, value: float | Timeouts | httpx.Timeout | None) -> Timeouts:
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, httpx.Timeout):
            read = value.read if value.read is not None else cls.read
            return cls(connect=value.connect or cls.connect, read=read, total=max(read, cls.total))
        seconds = float(value)
        return cls(connect=min(cls.connect, seconds), read=min(cls.read, seconds), total=seconds)


def _retry_after(headers: httpx.Headers) -> float | None:
    """The wait the server asked for, in seconds; None when it asked for none we can use."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms) / 1000
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_delay(attempt: int, headers: httpx.Headers | None = None) -> float | None:
    """Seconds to wait before retry ``attempt`` (0-based); None means do not retry.

    ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date), are
    honoured up to 120 s; a longer wait is not retried. Otherwise
    ``min(0.5 * 2**attempt, 8)`` seconds, less up to a quarter of jitter.
    """
    asked = _retry_after(headers) if headers is not None else None
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER else None
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())


class _EventParser:
    """Incremental server-sent events: any chunking, LF/CRLF/CR, comments, multi-line data."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        self._buffer += chunk
        events: list[tuple[str, str]] = []
        start = 0
        while True:
            newline = self._find_newline(start)
            if newline is None:
                break
            end, after = newline
            line = self._buffer[start:end].decode("utf-8", "replace")
            start = after
            event = self._line(line)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        return events

    def _find_newline(self, start: int) -> tuple[int, int] | None:
        """Where the next line ends and the one after starts; None until a whole line is here."""
        lf = self._buffer.find(b"\n", start)
        cr = self._buffer.find(b"\r", start)
        if cr >= 0 and (lf < 0 or cr < lf):
            if cr + 1 == len(self._buffer):
                return None  # a CR at the end may be the first half of CRLF: wait for more
            return (cr, cr + 2 if self._buffer[cr + 1] == 0x0A else cr + 1)
        return (lf, lf + 1) if lf >= 0 else None

    def _line(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = (self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def close(self) -> list[tuple[str, str]]:
        """What a stream ending without a final blank line still holds."""
        events = self.feed(b"\n\n") if (self._buffer or self._data) else []
        return events


class ImagesClient:
    """An async client for ``POST /images/generations``.

    Parameters
    ----------
    api_key : str, optional
        Defaults to ``OPENAI_API_KEY``. Kept only in request headers; never shown.
    base_url : str, optional
        Defaults to ``OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
    organization, project : str, optional
        Default to ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``.
    timeout : float or Timeouts or httpx.Timeout, optional
        A float is the overall deadline per request. Default: connect 10 s,
        read inactivity 180 s, overall 600 s.
    max_retries : int
        Retries of 408, 409, 429, 5xx and connection errors (default 2).
    max_concurrency : int
        Requests in flight at once through this client.
    http_client : httpx.AsyncClient, optional
        Bring your own (proxies, transports); it is not closed by ``aclose()``.
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None,
                 organization: str | None = None, project: str | None = None,
                 timeout: float | Timeouts | httpx.Timeout | None = None, max_retries: int = 2,
                 max_concurrency: int = 4, http_client: httpx.AsyncClient | None = None) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeouts = Timeouts.of(timeout)
        self.max_retries = max_retries
        self.is_emulator = False
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

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections this client opened."""
        if self._owns_http:
            await self._http.aclose()

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
                       image_index: int = 0, **fields: Any) -> Generation:
        """Generate images without streaming; returns a :class:`Generation`.

        Parameters that cannot succeed raise :class:`ParamsError` and nothing
        is sent. ``stream`` and ``partial_images`` are ignored here.
        """
        checked = _as_params(params, fields)
        body = checked.to_request()
        body.pop("stream", None)
        body.pop("partial_images", None)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeouts.total):
                try:
                    async with self._open(body, image_index, read_body=True) as response:
                        raw = response.content
                        request_id = response.headers.get("x-request-id")
                except _BodyBroke as broke:
                    raise _wrapped(broke.failure, "while reading the answer") from None
                answer = _json(raw, "response")
                images = await self._images(answer, body, image_index)
        except TimeoutError:
            raise APITimeoutError(f"no answer within {self.timeouts.total:g} s") from None
        return Generation(images=images, usage=Usage.from_api(answer.get("usage")),
                          created=int(answer.get("created") or 0), request_id=request_id,
                          elapsed=time.monotonic() - started)

    async def stream(self, params: ImageParams | Mapping[str, Any] | None = None, *,
                     image_index: int = 0, **fields: Any
                     ) -> AsyncIterator[PartialImage | GeneratedImage]:
        """Partial images as they arrive, then the final image(s).

        With ``stream`` off or a model that cannot stream, yields the final
        images of one ordinary request. With ``n > 1`` the request is fanned
        out as ``n`` concurrent requests of one image, events tagged by
        ``image_index`` (starting at ``image_index``).

        Raises
        ------
        StreamIncompleteError
            The stream ended, or broke, before its ``completed`` event.
        """
        checked = _as_params(params, fields)
        body = checked.to_request()
        if not body.get("stream"):
            generation = await self.generate(checked, image_index=image_index)
            for image in generation.images:
                yield image
            return
        count = int(body.pop("n", 1))
        if count == 1:
            async for event in self._stream_one(body, image_index):
                yield event
            return
        async for event in self._fan_out(body, count, image_index):
            yield event

    # -- requests ----------------------------------------------------------------

    @asynccontextmanager
    async def _open(self, body: dict[str, Any], image_index: int, *,
                    read_body: bool = False) -> AsyncIterator[httpx.Response]:
        """POST with retries; yields a response whose status is below 400, then closes it.

        With ``read_body`` the whole body is read before the response is yielded.
        A body that breaks after the status line arrived is not retried.
        """
        if not self._has_key and self.base_url == DEFAULT_BASE_URL:
            raise AuthenticationError("no API key was given", status=None)
        url = f"{self.base_url}/images/generations"
        headers = {**self._auth, "Idempotency-Key": f"imagewidgets-retry-{uuid.uuid4()}"}
        if image_index:
            headers[IMAGE_INDEX_HEADER] = str(image_index)
        attempt = 0
        while True:
            error: ImagesError
            response: httpx.Response | None = None
            async with self._slots:
                logger.debug("POST %s (model %s, attempt %d)", url, body.get("model"), attempt + 1)
                try:
                    response = await _guarded(self._send(
                        self._http.build_request("POST", url, json=body, headers=headers), read_body))
                except httpx.TimeoutException as failure:
                    error = APITimeoutError(f"{type(failure).__name__} from {self.base_url}")
                except httpx.TransportError as failure:
                    error = APIConnectionError(f"could not reach {self.base_url}: {failure}")
                else:
                    try:
                        if response.status_code < 400:
                            yield response
                            return
                        error = await _error_from(response)
                    finally:
                        await _release(response)
            delay = self._retry_delay(error, attempt, response)
            if delay is None:
                raise error
            logger.info("retrying in %.2f s after %s", delay, type(error).__name__)
            await self._sleep(delay)
            attempt += 1

    async def _send(self, request: httpx.Request, read_body: bool) -> httpx.Response:
        """Send, and read the body too when asked: one cancellation-guarded step, not two."""
        response = await self._http.send(request, stream=True)
        if read_body and response.status_code < 400:
            try:
                await response.aread()
            except httpx.HTTPError as failure:
                await response.aclose()
                raise _BodyBroke(failure) from None
        return response

    def _retry_delay(self, error: ImagesError, attempt: int,
                     response: httpx.Response | None) -> float | None:
        if attempt >= self.max_retries or isinstance(error, InsufficientQuotaError):
            return None
        if isinstance(error, APIError):
            status = error.status or 0
            if status not in RETRY_STATUSES and status < 500:
                return None
            return retry_delay(attempt, response.headers if response is not None else None)
        if isinstance(error, APIConnectionError):
            return retry_delay(attempt)
        return None

    async def _images(self, answer: dict[str, Any], body: dict[str, Any],
                      first_index: int) -> list[GeneratedImage]:
        items = answer.get("data")
        if not isinstance(items, list) or not items:
            raise APIError("the server's answer holds no images", status=200)
        usage = Usage.from_api(answer.get("usage"))
        images = []
        for offset, item in enumerate(items):
            if not isinstance(item, dict):
                raise APIError("the server's answer holds a malformed image entry", status=200)
            url = item.get("url") if not item.get("b64_json") else None
            data = await self._download(url) if url else decode_base64(item.get("b64_json", ""))
            kind, width, height = await _inspect(data)
            images.append(GeneratedImage(
                data=data, format=kind, width=width, height=height, image_index=first_index + offset,
                revised_prompt=item.get("revised_prompt"),
                usage=usage if len(items) == 1 else None,
                params=body, created=int(answer.get("created") or time.time()), url=url))
        return images

    async def _download(self, url: str) -> bytes:
        """Fetch an image URL at once (they expire after 60 minutes); no key is sent."""
        try:
            response = await self._http.get(url)
        except httpx.TimeoutException:
            raise APITimeoutError("downloading the image URL timed out") from None
        except httpx.TransportError as failure:
            raise APIConnectionError(f"could not download the image URL: {failure}") from None
        if response.status_code in (403, 404):
            raise ImageExpiredError(response.status_code)
        if response.status_code >= 400:
            raise await _error_from(response)
        return response.content

    async def _stream_one(self, body: dict[str, Any], image_index: int
                          ) -> AsyncIterator[PartialImage | GeneratedImage]:
        deadline = time.monotonic() + self.timeouts.total
        last: PartialImage | None = None
        parser = _EventParser()
        async with self._open(body, image_index) as response:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # A server that ignored stream=true answered in one piece: still one code path.
                answer = _json(await _read(response), "response")
                for image in await self._images(answer, body, image_index):
                    yield image
                return
            chunks = response.aiter_bytes()
            while True:
                try:
                    chunk = await _guarded(anext(chunks, b""))
                except httpx.TimeoutException:
                    raise StreamIncompleteError(
                        f"the stream went quiet for {self.timeouts.read:g} s", last) from None
                except httpx.TransportError as failure:
                    raise StreamIncompleteError(f"the connection broke mid-stream: {failure}",
                                                last) from APIConnectionError(str(failure))
                if time.monotonic() > deadline:
                    raise StreamIncompleteError(
                        f"the stream passed the {self.timeouts.total:g} s deadline", last)
                events = parser.feed(chunk) if chunk else parser.close()
                for kind, data in events:
                    if data.strip() == "[DONE]":
                        raise StreamIncompleteError("the stream ended before its completed event", last)
                    result = await self._event(kind, data, body, image_index)
                    if isinstance(result, GeneratedImage):
                        yield result
                        return
                    last = result
                    yield result
                if not chunk:
                    raise StreamIncompleteError("the stream ended before its completed event", last)

    async def _event(self, kind: str, data: str, body: dict[str, Any],
                     image_index: int) -> PartialImage | GeneratedImage:
        payload = _json(data.encode(), "stream event")
        if "error" in payload:
            raise api_error_from(None, payload)
        kind = str(payload.get("type") or kind)
        image = decode_base64(payload.get("b64_json", ""))
        fmt, width, height = await _inspect(image)
        if kind.endswith("partial_image"):
            return PartialImage(data=image, format=fmt, width=width, height=height,
                                image_index=image_index,
                                partial_index=int(payload.get("partial_image_index") or 0))
        if kind.endswith("completed"):
            return GeneratedImage(data=image, format=fmt, width=width, height=height,
                                  image_index=image_index, usage=Usage.from_api(payload.get("usage")),
                                  params={**body, "n": 1},
                                  created=int(payload.get("created_at") or time.time()))
        raise APIError(f"the server sent an unknown stream event {kind!r}", status=200)

    async def _fan_out(self, body: dict[str, Any], count: int, first_index: int
                       ) -> AsyncIterator[PartialImage | GeneratedImage]:
        """n streams of one image each, merged as their events arrive."""
        queue: asyncio.Queue[PartialImage | GeneratedImage | BaseException | None] = asyncio.Queue()

        async def pump(index: int) -> None:
            try:
                async for event in self._stream_one(body, index):
                    await queue.put(event)
            except Exception as error:  # handed to the consumer, never lost
                await queue.put(error)
            finally:
                await queue.put(None)

        tasks = [asyncio.create_task(pump(first_index + offset)) for offset in range(count)]
        try:
            remaining = count
            while remaining:
                item = await queue.get()
                if item is None:
                    remaining -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _as_params(params: ImageParams | Mapping[str, Any] | None, fields: dict[str, Any]) -> ImageParams:
    """An ImageParams with no problems, or ParamsError: nothing bad is ever sent."""
    if isinstance(params, ImageParams):
        checked = params.copy(**fields) if fields else params
    else:
        data = {**(params or {}), **fields}
        try:
            checked = ImageParams(**data)
        except TraitError as error:
            raise ParamsError([str(error)]) from None
    problems = checked.problems()
    if problems:
        raise ParamsError(problems)
    return checked


_INLINE_INSPECT = 1024 * 1024  # smaller images verify in well under a millisecond


async def _inspect(data: bytes) -> tuple[str, int, int]:
    """Check untrusted bytes; large ones on a worker thread so the loop never stalls."""
    if len(data) <= _INLINE_INSPECT:
        return inspect(data)
    return await asyncio.to_thread(inspect, data)


async def _guarded(step: Awaitable[T]) -> T:
    """Await ``step`` in its own task, so a second Cancel cannot cut httpx's cleanup short.

    On cancellation the step is cancelled once and waited for: httpcore then
    closes the connection it was using instead of leaving it checked out.
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        raise


async def _release(response: httpx.Response) -> None:
    """Close ``response`` even when cancelled again while closing (a double Cancel).

    An interrupted close would leave its connection checked out of the pool.
    """
    closing = asyncio.ensure_future(response.aclose())
    cancelled = False
    while not closing.done():
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


class _BodyBroke(Exception):
    """The status line arrived but the body did not: never retried."""

    def __init__(self, failure: httpx.HTTPError) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _wrapped(failure: httpx.HTTPError, when: str) -> APIConnectionError:
    if isinstance(failure, httpx.TimeoutException):
        return APITimeoutError(f"the server went quiet {when} (read timeout)")
    return APIConnectionError(f"the connection broke {when}: {failure}")


async def _read(response: httpx.Response) -> bytes:
    """The whole body; a failure while reading it is ours, never a raw httpx error."""
    try:
        return await _guarded(response.aread())
    except httpx.HTTPError as failure:
        raise _wrapped(failure, "while reading the answer") from None


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise APIError(f"the server sent a {what} that is not valid JSON", status=200) from None
    if not isinstance(value, dict):
        raise APIError(f"the server sent a {what} that is not a JSON object", status=200)
    return value


async def _error_from(response: httpx.Response) -> APIError:
    raw = b""
    try:
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) > _ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass  # the status alone still makes a useful error
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw[:500].decode("utf-8", "replace").strip()
        body = {"error": {"message": text or f"HTTP {response.status_code}"}}
    return api_error_from(response.status_code, body, response.headers.get("x-request-id"))


# -- defaults: the API with a key, the built-in emulator without --------------------

_emulator: Any = None


def default_client(**options: Any) -> ImagesClient:
    """A new client for the API when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set,
    else for the built-in emulator (started once per process, on 127.0.0.1).

    The client's ``is_emulator`` says which.
    """
    global _emulator
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        return ImagesClient(**options)
    if _emulator is None:
        from .emulator import serve  # only here: the core never needs the server

        # A little latency per request, so partial images can be watched arriving.
        _emulator = serve(port=0, latency=float(os.environ.get("IMAGEWIDGETS_EMULATOR_LATENCY", "1.5")))
    client = ImagesClient(api_key="emulator", base_url=_emulator.url, **options)
    client.is_emulator = True
    return client


def generate(prompt: str, **fields: Any) -> list[GeneratedImage]:
    """Generate images synchronously: in a script, or in a notebook cell.

    Uses the API with ``OPENAI_API_KEY`` set, else the built-in emulator.
    Inside a running event loop (a notebook cell) the request runs on a
    private loop in a worker thread; nothing is patched.
    """

    async def run() -> list[GeneratedImage]:
        async with default_client() as client:
            return (await client.generate({"prompt": prompt, **fields})).images

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagewidgets-generate") as pool:
        return pool.submit(asyncio.run, run()).result()

