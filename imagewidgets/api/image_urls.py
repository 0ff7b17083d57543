"""An answer's images: fetched where they are URLs (without the key, and only from safe
places), then checked.

A hostile server could name a URL on this machine's own network (a cloud's metadata
service at 169.254.169.254, an admin page on localhost) to make the client reach it:
only the base URL's own origin, or https to hosts whose every address is public, is
fetched, and a redirect never followed.

A URL on another host is fetched from the address that was checked (the name still
in ``Host`` and in TLS's SNI and certificate check): a name resolving to a public
address for the check and to 127.0.0.1 for the connection (DNS rebinding) cannot
pass. And it carries nothing of the user's ``http_client`` but its transport: no
auth, no cookies, no default headers, which are meant for base_url's server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import APIConnectionError, APIError, APITimeoutError, ImageExpiredError, ImagesError
from ..imaging import inspect_off_loop
from ..results import GeneratedImage
from .answers import Answer, answer_image
from .redact import redirect_target
from .transport import ACCEPT_ENCODING, Limits, error_of, guarded, read_body, release

__all__ = ["Resolver", "answer_images", "check_image_url", "download", "resolve"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host has: ``await resolve(host, port)``."""


async def answer_images(answer: Answer, body: Mapping[str, Any], first_index: int,
                        request_id: str | None, fetch: Callable[[str], Awaitable[bytes]],
                        finish: Callable[[GeneratedImage], GeneratedImage]) -> list[GeneratedImage]:
    """The answer's images, URLs fetched with ``fetch``, each checked and then ``finish``-ed
    (redacted); one failing does not lose the others.

    Raises the first failed image's error, holding the images that arrived
    (``error.images``) and every failure (``error.failures``).
    """
    images, failures = [], {}
    for offset, item in enumerate(answer.images):
        try:
            data = item.data if item.data is not None else await fetch(item.url or "")
            images.append(finish(answer_image(answer, offset, data, await inspect_off_loop(data), body,
                                              first_index, request_id)))
        except ImagesError as error:
            failures[first_index + offset] = error
    if failures:
        first = next(iter(failures.values()))
        if len(answer.images) > 1:
            first.keep(images, failures, len(answer.images))
        raise first
    return images


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to here; none when it does not resolve."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in found]



async def download(http: httpx.AsyncClient, url: str, base_url: str, limits: Limits,
                   secrets: Sequence[str] = (), resolve: Resolver = resolve) -> bytes:
    """Fetch an image URL at once (they expire after 60 minutes); no key is sent.

    Only from ``base_url``'s origin, or over https from public addresses
    (:func:`check_image_url`); a redirect is an error, never followed.
    """
    address = await check_image_url(url, base_url, resolve)
    try:
        request = (http.build_request("GET", url, headers={"Accept-Encoding": ACCEPT_ENCODING})
                   if address is None else _pinned(url, address, http.timeout))
        # auth=None: no auth of the client's for another host (USE_CLIENT_DEFAULT would add it).
        response = await guarded(http.send(request, stream=True, follow_redirects=False,
                                           auth=httpx.USE_CLIENT_DEFAULT if address is None else None),
                                 http)
    except httpx.TimeoutException:
        raise APITimeoutError("downloading the image URL timed out") from None
    except httpx.TransportError as failure:
        raise APIConnectionError(f"could not download the image URL: {failure}") from None
    try:
        if 300 <= response.status_code < 400:
            where = redirect_target(response.headers.get("location"), secrets)
            raise APIError(f"the image URL answered with a redirect {where}, which the client "
                           "does not follow (it could point to any place, this machine's "
                           "own network included)", status=response.status_code,
                           hint="ask for response_format='b64_json', or check where the "
                                "server's image URLs point")
        if response.status_code in (403, 404):
            raise ImageExpiredError(response.status_code)
        if response.status_code >= 400:
            raise await error_of(response, limits.error)
        return await read_body(response, limits.download, "the image URL",
                               hint="check where the server's image URLs point; no real "
                                    "image is that large")
    finally:
        await release(response)


async def check_image_url(url: str, base_url: str, resolve: Resolver = resolve) -> str | None:
    """Refuse an image URL that points to a place the user did not choose; else say where to
    connect: None for base_url's own origin (as any request), else the address checked.

    Allowed: the base URL's own origin (scheme, host, port: the emulator's
    URLs), or https to a host whose every address is public. Not a loopback,
    private, link-local, multicast, reserved or unspecified address: a hostile
    server could otherwise make this machine fetch from its own network (a
    cloud's metadata service at 169.254.169.254, an admin page on localhost).
    A host that does not resolve here is refused: letting httpx resolve it again
    could give another answer (DNS rebinding).
    """
    parts = urlsplit(url)
    if _origin(parts) == _origin(urlsplit(base_url)):
        return None
    host = parts.hostname
    where = f"host {host}" if host else f"a {parts.scheme or 'schemeless'}: URL"
    why = None
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
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
                         for found in await resolve(host, port)]
        if not addresses:
            why = "whose name does not resolve here"
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
                            f"or check base_url, now {base_url}")
    return str(addresses[0])


def _pinned(url: str, address: str, timeout: httpx.Timeout) -> httpx.Request:
    """A GET of ``url`` that connects to ``address`` (checked), the name kept in ``Host`` and
    in TLS (SNI, and the certificate checked against it).

    Made apart from the client's ``build_request``: nothing of its auth, cookies or
    default headers. ``Connection: close``: a pooled connection to that address, its
    certificate checked for another name, is never reused for this one.
    """
    named = httpx.URL(url)
    return httpx.Request(
        "GET", named.copy_with(host=address, username=None, password=None),
        headers={"Host": named.netloc.decode("ascii").rpartition("@")[2],
                 "Accept-Encoding": ACCEPT_ENCODING, "Connection": "close"},
        extensions={"sni_hostname": named.host, "timeout": timeout.as_dict()})


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

