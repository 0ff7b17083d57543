"""One tile: the bytes it sends the browser for a final image (B5), and how fast a partial shows (B7).

Run: ``python benchmarks/bench_tile.py [--quick]`` (or ``make bench``). Images come from
the emulator in its own process, 1536x1024, its photographic pictures (grain, so they
compress as photos do; ``--photographic``) and, for the report, its synthetic ones.

B5: ``comm.create_comm`` (through which ipywidgets 8 opens every widget's comm) is replaced
by a comm that records every message: its JSON (``data``, ``metadata`` and the message's
other keys, as the kernel serializes them) plus its binary buffers. The figure is the bytes
of all messages from the tile's creation through ``await tile.run(...)`` showing the final
image (a request without streaming), divided by the image file's bytes, per output format.
Goal <= 0.15 each (B5-png, B5-jpeg, B5-webp). B5-base64 counts messages holding base64
data (a run of 256 or more base64 characters, or a ``data:`` URL); goal 0.

B7: a partial image's arrival to ``tile.thumbnail`` holding its thumbnail. The tile runs
against a stand-in client whose stream yields partials recorded from the emulator (a real
1536x1024 stream, three partials); arrival is the moment the stream yields one to the tile,
shown is the moment the Image widget's ``value`` changes (an observer). Against it, in the
same process, turn about: Pillow's own ``Image.open`` + ``draft`` + ``thumbnail`` (the
tile's filter and size) + ``save`` in the format the tile's thumbnail has. Goal: tile /
Pillow <= 1.2 (B7), on medians.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import comm
from _shared import Figure, emulator, interleaved_async, main
from comm.base_comm import BaseComm
from PIL import Image

import imagewidgets as iw
from imagewidgets.imaging import thumbnails
from imagewidgets.results import GeneratedImage, PartialImage
from imagewidgets.ui.tile import ImageTile

SIZE = "1536x1024"
FORMATS = ("png", "jpeg", "webp")
THUMBNAIL = 384
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{256,}={0,2}")


class RecordingComm(BaseComm):
    """A comm that keeps the size of every message it would send, and whether it holds base64."""

    messages: ClassVar[list[tuple[int, bool]]] = []  # (bytes, holds base64), every comm's, in order

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        content = {"comm_id": self.comm_id, "data": data or {}, **keys}
        text = json.dumps({"msg_type": msg_type, "content": content, "metadata": metadata or {}},
                          ensure_ascii=False, default=str).encode()
        binary = sum(memoryview(buffer).nbytes for buffer in buffers or ())
        holds = bool(BASE64_RUN.search(text)) or b"data:" in text
        RecordingComm.messages.append((len(text) + binary, holds))


def _params(fmt: str, **extra: Any) -> iw.ImageParams:
    return iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk", size=SIZE,
                          quality="high", output_format=fmt, **extra)


async def tile_bytes(url: str, fmt: str) -> tuple[int, int, int, str]:
    """Bytes the tile sent, the image file's bytes, messages holding base64, thumbnail format."""
    async with iw.ImagesClient(api_key="bench", base_url=url, is_emulator=True) as client:
        await client.generate(_params(fmt))  # warm: the emulator's picture cached, imports done
        original = comm.create_comm
        comm.create_comm = RecordingComm
        RecordingComm.messages = []
        try:
            tile = ImageTile(_params(fmt), label="one tile", thumbnail_size=THUMBNAIL)
            await tile.run(client)
            assert tile.status == "done" and tile.result is not None, tile.caption
            sent = sum(size for size, _holds in RecordingComm.messages)
            base64_messages = sum(holds for _size, holds in RecordingComm.messages)
            thumb_format = tile.thumbnail_format
            data = tile.result.data
            tile.close()
        finally:
            comm.create_comm = original
    return sent, len(data), base64_messages, thumb_format


async def partials_of(url: str, fmt: str) -> list[PartialImage]:
    """A real stream's partial images (three, 1536x1024)."""
    async with iw.ImagesClient(api_key="bench", base_url=url, is_emulator=True) as client:
        events = [event async for event in client.stream(_params(fmt, stream=True, partial_images=3))]
    partials = [event for event in events if isinstance(event, PartialImage)]
    assert len(partials) == 3 and all(isinstance(e, GeneratedImage) for e in events[3:]), events
    return partials


class Replay:
    """A stand-in client: its stream yields recorded partials, each timed to its showing."""

    base_url = "http://127.0.0.1/v1"
    is_emulator = True

    def __init__(self, partials: list[PartialImage]) -> None:
        self.partials = partials
        self.arrived = 0.0

    async def stream(self, body: Any, *, image_index: int = 0, on_sent: Callable[[], None] | None = None,
                     variation: int = 0, on_billed: Any = None) -> AsyncIterator[PartialImage]:
        if on_sent is not None:
            on_sent()
        for partial in self.partials:
            self.arrived = time.perf_counter()
            yield partial


def tile_partials(partials: list[PartialImage], fmt: str) -> Callable[[], Awaitable[float]]:
    """Seconds from each partial's arrival to its thumbnail in ``tile.thumbnail``, summed."""
    async def run() -> float:
        replay = Replay(partials)
        tile = ImageTile(_params(fmt, stream=True, partial_images=3), thumbnail_size=THUMBNAIL)
        seconds: list[float] = []
        tile.observe(lambda _change: seconds.append(time.perf_counter() - replay.arrived),
                     "thumbnail")
        await tile.run(replay)  # type: ignore[arg-type]
        assert len(seconds) == len(partials), seconds
        tile.close()  # (which empties the thumbnail: not a partial's arrival)
        return sum(seconds)
    return run


def pillow_partials(partials: list[PartialImage], pillow_format: str,
                    options: dict[str, Any]) -> Callable[[], Awaitable[float]]:
    """Seconds of Pillow's own open + draft + thumbnail + save of the same partials, summed."""
    async def run() -> float:
        start = time.perf_counter()
        for partial in partials:
            with Image.open(io.BytesIO(partial.data)) as image:
                image.draft("RGB", (THUMBNAIL, THUMBNAIL))
                image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR, reducing_gap=1.0)
                image.save(io.BytesIO(), pillow_format, **options)
        return time.perf_counter() - start
    return run


async def race(contenders: dict[str, Callable[[], Awaitable[float]]], rounds: int) -> dict[str, float]:
    """:func:`interleaved_async` in one loop (one thread pool), after a warm-up of each."""
    for run in contenders.values():
        await run()  # warm up: imports, the loop's thread pool
    return await interleaved_async(contenders, rounds)


# The tile's own save options, so the floor encodes exactly as the tile does.
SAVE_AS = {kind: (kind.upper(), options) for kind, (_, _, options) in thumbnails._THUMBNAIL_SAVE.items()}


def measure(quick: bool) -> tuple[list[Figure], str]:
    rounds = 3 if quick else 25
    ratios: dict[str, dict[str, tuple[int, int, int, str]]] = {}
    b7: dict[str, dict[str, float]] = {}
    b7_formats = ("png",) if quick else FORMATS
    for kind in ("photographic", "synthetic"):
        with emulator(*(("--photographic",) if kind == "photographic" else ())) as url:
            ratios[kind] = {fmt: asyncio.run(tile_bytes(url, fmt)) for fmt in FORMATS}
            if kind == "photographic":
                recorded = {fmt: asyncio.run(partials_of(url, fmt)) for fmt in b7_formats}
    for fmt, partials in recorded.items():
        thumb_format = ratios["photographic"][fmt][3]
        pillow_format, options = SAVE_AS[thumb_format]
        b7[fmt] = asyncio.run(race({"tile": tile_partials(partials, fmt),
                                    "Pillow": pillow_partials(partials, pillow_format, options)},
                                   rounds))
    lines = [f"B5: one tile, {SIZE}, from creation to its final image shown (no streaming), "
             f"thumbnail {THUMBNAIL} px; every comm message's JSON + buffers", "",
             "| pictures | format | image bytes | sent bytes | sent / image | thumbnail | "
             "messages with base64 |", "|---|---|---:|---:|---:|---|---:|"]
    for kind, by_format in ratios.items():
        for fmt, (sent, size, base64_messages, thumb_format) in by_format.items():
            lines.append(f"| {kind} | {fmt} | {size:,} | {sent:,} | {sent / size:.3f} | "
                         f"{thumb_format} | {base64_messages} |")
    lines += ["", f"B7: three real {SIZE} partials (photographic request), arrival to "
              f"`tile.thumbnail`, against Pillow's open + draft + thumbnail + save as the "
              f"tile's thumbnail format; medians of {rounds} interleaved rounds, the three summed",
              "", "| source | thumbnail | partial bytes | tile ms | Pillow ms | tile / Pillow |",
              "|---|---|---:|---:|---:|---:|"]
    for fmt, medians in b7.items():
        sizes = "/".join(f"{len(p.data) // 1024}K" for p in recorded[fmt])
        lines.append(f"| {fmt} | {ratios['photographic'][fmt][3]} | {sizes} | "
                     f"{medians['tile'] * 1000:.1f} | {medians['Pillow'] * 1000:.1f} | "
                     f"{medians['tile'] / medians['Pillow']:.3f} |")
    photo = ratios["photographic"]
    figures = [Figure(f"B5-{fmt}", f"bytes sent to the browser for one final {SIZE} {fmt} tile "
                      f"/ the image's bytes (photographic)", photo[fmt][0] / photo[fmt][1], 0.15)
               for fmt in FORMATS]
    figures.append(Figure("B5-base64", "messages holding base64 data (any format, either picture)",
                          sum(entry[2] for by_format in ratios.values() for entry in by_format.values()),
                          0, unit="messages"))
    figures.append(Figure("B7", f"a {SIZE} PNG partial's arrival to its thumbnail in Image.value "
                          "/ Pillow's own decode + thumbnail + encode",
                          b7["png"]["tile"] / b7["png"]["Pillow"], 1.2))
    return figures, "\n".join(lines)


if __name__ == "__main__":
    main(measure)
