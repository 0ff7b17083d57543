"""Image URLs: fetched at once, without the key, and what a download that fails says.

Where an image URL may point (only where the user chose) is a hardening case, with the
hostile servers: tests/test_hostile_images.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.emulator import EmulatorServer, serve

from mock_api import PNG, close_mock, mock_client, url_answer


def _public(client: iw.ImagesClient) -> iw.ImagesClient:
    """``client``, files.test resolving to a public address (the mock answers any address)."""
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "files.test" else []
    client._resolve = resolve  # type: ignore[method-assign]
    return client


async def test_url_downloads_carry_no_key() -> None:
    seen: list[httpx.Request] = []
    client = _public(mock_client(url_answer(httpx.Response(200, content=PNG), seen)))
    result = await client.generate(prompt="x", model="dall-e-2", size="256x256")
    assert result.images[0].data == PNG
    assert "authorization" not in seen[1].headers
    await close_mock(client)


async def test_a_download_that_breaks_is_ours() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PNG[:100]
            raise httpx.RemoteProtocolError("peer closed connection")

    client = _public(mock_client(url_answer(httpx.Response(200, stream=Broken()))))
    with pytest.raises(iw.APIConnectionError, match="while reading the image URL"):
        await client.generate(prompt="x", model="dall-e-2", size="256x256")
    await close_mock(client)


async def test_a_download_error_status_explains() -> None:
    client = _public(mock_client(url_answer(httpx.Response(500, text="storage is down"))))
    with pytest.raises(iw.ServerError, match="storage is down"):
        await client.generate(prompt="x", model="dall-e-2", size="256x256")
    await close_mock(client)


async def test_expired_urls(server: EmulatorServer) -> None:
    with serve(port=0, url_ttl=0.0) as short:
        async with iw.ImagesClient(api_key="k", base_url=short.url, is_emulator=True) as client:
            with pytest.raises(iw.ImageExpiredError, match="60 minutes"):
                await client.generate(prompt="x", model="dall-e-2", size="256x256")
