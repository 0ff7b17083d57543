"""The fault matrix: each fault the emulator can play, through the panel and a comparison grid.

For each: the failed tile says what happened and what to do, the other tiles
finish and their images are on disk, and the same widget generates again
afterwards (nothing is left broken).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.api.transport import Timeouts
from imagewidgets.emulator import EmulatorServer, serve


@dataclass(frozen=True)
class Case:
    fault: str
    options: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    said: str | None = None
    """A pattern of what the failed tile says, what happened and what to do; None: it recovers."""
    times: int = 1
    attempts: int = 1
    """Requests per image the fault costs (retries included)."""
    read: float = 120.0
    """The client's read timeout: one that fires is the case's subject, else far past any pause."""


CASES = {
    "429 with retry-after": Case("status_429", {"retry_after": 0.05}, retries=1, attempts=2),
    "429 insufficient_quota": Case("insufficient_quota", retries=2,
                                   said=r"out of quota; check billing"),
    "500 once": Case("status_500", retries=1, attempts=2),
    "502 once": Case("status_502", retries=1, attempts=2),
    "503 once": Case("status_503", retries=1, attempts=2),
    "500 always": Case("status_500", retries=2, times=1000, attempts=3,
                       said=r"500 .*tried 3 times.*try again in a moment"),
    "503 always": Case("status_503", retries=2, times=1000, attempts=3,
                       said=r"503 .*tried 3 times.*try again in a moment"),
    "a dropped stream": Case("drop_stream", {"after": 1},
                             said=r"broke mid-stream.*last partial image is kept; generate again"),
    # Silence past the read timeout, never a piece in time; 5 s is ten times the longest pause
    # between events of the tile beside it, drawn by the emulator on a busy machine.
    "a trickle past the read timeout": Case("trickle", {"seconds": 600}, read=5.0,
                                            said=r"went quiet for 5 s.*generate again"),
    "malformed JSON": Case("malformed_json", said=r"not valid JSON.*check the base URL"),
    "invalid base64": Case("bad_base64", said=r"not valid base64.*generate again"),
    "bytes that are not an image": Case("not_an_image", said=r"not a PNG, JPEG.*generate again"),
    "a 100000x100000 PNG header": Case("bomb", said=r"too many pixels.*generate again"),
    "a content refusal": Case("content_policy", retries=2, said=r"refused.*rephrase it"),
}


@pytest.fixture(scope="module")
def faulty() -> Iterator[EmulatorServer]:
    with serve(port=0) as running:
        yield running


def _client(server: EmulatorServer, case: Case) -> iw.ImagesClient:
    return iw.ImagesClient(base_url=server.url, api_key="sk-test", max_retries=case.retries,
                           is_emulator=True, timeout=Timeouts(connect=120, read=case.read, total=600))


def _params() -> iw.ImageParams:
    return iw.ImageParams(model="gpt-image-2", prompt="A lighthouse at dusk", quality="low",
                          size="1024x1024", stream=True, partial_images=2)


def _check(case: Case, tiles: list[iw.ImageTile], sent: int, figures: Counter[str]) -> None:
    failed = [tile for tile in tiles if tile.status == "failed"]
    done = [tile for tile in tiles if tile.status == "done"]
    assert len(done) + len(failed) == len(tiles), [tile.status for tile in tiles]
    if case.said is None:
        assert failed == [], [str(tile.error) for tile in failed]
    else:
        hit = len(tiles) if case.times > 1 else 1
        assert len(failed) == hit, [tile.status for tile in tiles]
        for tile in failed:
            assert re.search(case.said, str(tile.error)), str(tile.error)
            assert re.search(case.said, re.sub(r"<[^>]+>", "", tile.caption)), tile.caption
        if case.fault == "drop_stream":
            assert all(tile.last_partial is not None for tile in failed)  # kept, and shown
    kept = [tile for tile in done if tile.saved is not None and tile.saved.path.is_file()]
    figures["images_made"] += len(done)
    figures["images_kept"] += len(kept)
    assert kept == done  # every finished image on disk before its tile said done
    hit = len(tiles) if case.times > 1 else 1
    assert sent == (len(tiles) - hit) + hit * case.attempts, sent


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_fault_through_the_panel(faulty: EmulatorServer, case: Case,
                                         figures: Counter[str]) -> None:
    async with _client(faulty, case) as client:
        panel = iw.ImagePanel(client=client, params=_params().copy(n=2))
        faulty.inject(case.fault, times=case.times, **case.options)
        before = faulty.request_count
        tiles = await panel.generate()
        sent = faulty.request_count - before
        faulty.clear_faults()
        _check(case, tiles, sent, figures)
        again = await panel.generate()  # the panel, the client and the loop survived
        assert [tile.status for tile in again] == ["done", "done"]
        panel.close()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_fault_through_a_comparison_grid(faulty: EmulatorServer, case: Case,
                                                 figures: Counter[str]) -> None:
    async with _client(faulty, case) as client:
        grid = iw.CompareGrid(_params(), rows=("model", ["gpt-image-2"]),
                              columns=("quality", ["low", "medium"]), client=client)
        faulty.inject(case.fault, times=case.times, **case.options)
        before = faulty.request_count
        await grid.run()
        sent = faulty.request_count - before
        faulty.clear_faults()
        _check(case, [tile for cell in grid.cells for tile in cell.tiles], sent, figures)
        await grid.run()  # and it runs again
        assert [cell.status for cell in grid.cells] == ["done", "done"]
        grid.close()


async def test_a_wrong_key_says_where_to_set_it() -> None:
    with serve(port=0, api_key="sk-right") as keyed:
        async with iw.ImagesClient(base_url=keyed.url, api_key="sk-wrong", is_emulator=True) as client:
            panel = iw.ImagePanel(client=client, params=_params())
            (tile,) = await panel.generate()
            assert tile.status == "failed" and type(tile.error).__name__ == "AuthenticationError"
            assert "401" in str(tile.error) and "set OPENAI_API_KEY or pass api_key=" in str(tile.error)
            assert keyed.request_count == 1  # a wrong key is not retried
            panel.close()


async def test_an_expired_image_url_says_what_to_ask_for_instead() -> None:
    with serve(port=0, url_ttl=0) as expiring:
        async with iw.ImagesClient(base_url=expiring.url, api_key="sk-test", is_emulator=True) as client:
            panel = iw.ImagePanel(client=client, params=iw.ImageParams(
                model="dall-e-2", prompt="A fox", response_format="url", n=2))
            tiles = await panel.generate()
            assert [tile.status for tile in tiles] == ["failed", "failed"]
            for tile in tiles:
                assert "expired" in str(tile.error) and "response_format='b64_json'" in str(tile.error)
            panel.close()
