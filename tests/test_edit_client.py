"""``ImagesClient.edit`` and ``stream(inputs=...)`` on the wire: the SDK's multipart fields, the
same bytes on every retry under one Idempotency-Key, streamed edits, checks before sending."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

import imagewidgets as iw
from imagewidgets.inputs import EditInputs

from mock_api import (
    B64,
    Chunks,
    Script,
    close_mock,
    error_answer,
    mock_client,
    ok_answer,
    parts,
    sdk_edit_parts,
    sse_answer,
)
from samples import filled_png

KEY = "sk-wire"  # mock_client's


PHOTO, OTHER = filled_png((32, 32), (200, 60, 10, 255)), filled_png((16, 16), (0, 90, 200, 255))
MASK = filled_png((32, 32), (0, 0, 0, 0))


def _event(kind: str, **payload: Any) -> bytes:
    body = {"type": f"image_edit.{kind}", "b64_json": B64, **payload}
    return f"event: image_edit.{kind}\ndata: {json.dumps(body)}\n\n".encode()


async def test_an_edit_sends_the_sdks_fields_and_the_files_bytes() -> None:
    script = Script(ok_answer())
    client = mock_client(script)
    params = iw.ImageParams(model="gpt-image-2", prompt="The same, at night", n=2, quality="low",
                            size="1024x1024")
    try:
        result = await client.edit(params, EditInputs.of([PHOTO, OTHER], mask=MASK))
    finally:
        await close_mock(client)
    (request,) = script.requests
    assert request.url.path == "/v1/images/edits" and result.images[0].data
    ours = parts(request.headers["content-type"], request.content)
    body = dict(params.copy(endpoint="edits").to_request())
    theirs = await sdk_edit_parts(image=[("image.png", PHOTO, "image/png"),
                                         ("image.png", OTHER, "image/png")],
                                  mask=("mask.png", MASK, "image/png"), **body)
    # Text fields in any order (each server reads them by name); the files in the SDK's order.
    assert sorted(part for part in ours if part[1] is None) == \
        sorted(part for part in theirs if part[1] is None)
    assert [part for part in ours if part[1]] == [part for part in theirs if part[1]]
    assert [part[0] for part in ours if part[1]] == ["image[]", "image[]", "mask"]
    assert [part[3] for part in ours if part[1]] == [PHOTO, OTHER, MASK]


async def test_one_image_is_the_field_image_and_booleans_read_as_the_sdk_writes_them() -> None:
    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"},
                                   stream=Chunks([_event("completed")])))
    client = mock_client(script)
    try:
        events = [event async for event in client.stream(
            {"model": "gpt-image-2", "prompt": "x", "stream": True}, inputs=PHOTO)]
    finally:
        await close_mock(client)
    sent = parts(script.requests[0].headers["content-type"], script.requests[0].content)
    assert ("image", "image.png", "image/png", PHOTO) in sent
    assert ("stream", None, None, b"true") in sent and len(events) == 1


async def test_a_retried_edit_sends_the_same_bytes_under_one_idempotency_key(
        caplog: pytest.LogCaptureFixture) -> None:
    script = Script(error_answer(500), ok_answer())
    client = mock_client(script)

    async def no_wait(seconds: float) -> None:
        pass

    client._sleep = no_wait
    caplog.set_level(logging.DEBUG)
    try:
        result = await client.edit({"model": "gpt-image-2", "prompt": "at night"},
                                   EditInputs.of(PHOTO, mask=MASK))
    finally:
        await close_mock(client)
    first, second = script.requests
    assert first.content == second.content and MASK in first.content
    assert first.headers["content-type"] == second.headers["content-type"]
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert result.images[0].format == "png"
    assert KEY not in caplog.text and KEY.encode() not in first.content


async def test_a_streamed_edit_yields_partials_then_the_final() -> None:
    pieces = [_event("partial_image", partial_image_index=0), _event("partial_image", partial_image_index=1),
              _event("completed", usage={"input_tokens": 300, "output_tokens": 272,
                                         "input_tokens_details": {"image_tokens": 290, "text_tokens": 10}})]
    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"},
                                   stream=Chunks(pieces)))
    client = mock_client(script)
    params = iw.ImageParams(model="gpt-image-2", prompt="x", stream=True, partial_images=2)
    try:
        events = [event async for event in client.stream(params, inputs=EditInputs.of(PHOTO, mask=MASK))]
    finally:
        await close_mock(client)
    assert [type(event).__name__ for event in events] == ["PartialImage", "PartialImage", "GeneratedImage"]
    assert [event.partial_index for event in events[:2]] == [0, 1]  # type: ignore[union-attr]
    final = events[-1]
    assert isinstance(final, iw.GeneratedImage) and final.usage is not None
    assert final.usage.image_tokens == 290
    assert script.requests[0].url.path == "/v1/images/edits"


async def test_a_streamed_edit_of_n_images_sends_n_requests_of_the_same_files() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse_answer([_event("completed")])(request)

    client = mock_client(answer)
    params = iw.ImageParams(model="gpt-image-2", prompt="x", stream=True, n=2)
    try:
        events = [event async for event in client.stream(params, inputs=PHOTO)]
    finally:
        await close_mock(client)
    assert sorted(event.image_index for event in events) == [0, 1]
    first, second = (parts(request.headers["content-type"], request.content) for request in seen)
    assert first == second and not any(part[0] == "n" for part in first)


async def test_what_cannot_succeed_is_refused_before_sending() -> None:
    script = Script(ok_answer())
    client = mock_client(script)
    try:
        with pytest.raises(iw.ParamsError, match="dall-e-3"):
            await client.edit({"model": "dall-e-3", "prompt": "x"}, PHOTO)
        with pytest.raises(iw.ParamsError, match=r"moderation is not taken by gpt-image-2 at edits"):
            await client.edit({"model": "gpt-image-2", "prompt": "x", "moderation": "low"}, PHOTO)
        with pytest.raises(iw.ParamsError, match=r"^mask 7 is not an image"):
            await client.edit({"model": "gpt-image-2", "prompt": "x"}, EditInputs.of(PHOTO, mask=7))  # type: ignore[arg-type]
        at_edits = iw.ImageParams(model="gpt-image-2", prompt="x")
        at_edits.endpoint = "edits"
        with pytest.raises(iw.ParamsError, match="needs the images to edit"):
            await client.generate(at_edits)
    finally:
        await close_mock(client)
    assert script.requests == []


async def test_a_generations_body_reused_for_an_edit_leaves_out_what_edits_do_not_take() -> None:
    script = Script(ok_answer())
    client = mock_client(script)
    body = iw.ImageParams(model="gpt-image-2", prompt="x", moderation="low").to_request()
    try:
        await client.edit(body, PHOTO)
    finally:
        await close_mock(client)
    sent = parts(script.requests[0].headers["content-type"], script.requests[0].content)
    assert "moderation" not in {part[0] for part in sent} and ("prompt", None, None, b"x") in sent
