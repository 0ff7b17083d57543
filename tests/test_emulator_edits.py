"""``POST /v1/images/edits`` on the emulator, with the official ``openai`` package as the client."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.emulator.guard import BODY_LIMITS
from imagewidgets.emulator.render import bomb_png
from imagewidgets.models import image_input_tokens, text_input_tokens
from tests.emulator_http import b64_image, error_of, events_of

EDITS = "/v1/images/edits"
SIZE = (256, 192)
HOLE = (128, 16, 240, 120)  # where the mask is transparent: the region repainted


def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _photo(size: tuple[int, int] = SIZE, colour: tuple[int, int, int] = (30, 140, 90),
           fmt: str = "PNG") -> bytes:
    """An input image: one colour with a lighter square, so kept pixels can be compared."""
    image = Image.new("RGB", size, colour)
    image.paste((200, 200, 60), (8, 8, 40, 40))
    return _encoded(image, fmt)


def _mask(size: tuple[int, int] = SIZE, hole: tuple[int, int, int, int] | None = HOLE) -> bytes:
    """Opaque everywhere but ``hole`` (alpha 0: edit here); no hole: nothing to edit."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        mask.paste((0, 0, 0, 0), hole)
    return _encoded(mask)


def _markup(size: tuple[int, int] = SIZE) -> bytes:
    """A transparent overlay with one red stroke across the middle right."""
    markup = Image.new("RGBA", size, (0, 0, 0, 0))
    markup.paste((255, 0, 0, 255), (150, 60, 230, 70))
    return _encoded(markup)


def _file(data: bytes, name: str = "in.png") -> tuple[str, bytes, str]:
    # The name and content type always say PNG: the server must read the bytes instead.
    return (name, data, "image/png")


@pytest.fixture
def sdk(server: EmulatorServer, api_key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url, api_key=api_key, max_retries=0) as made:
        yield made


def test_one_image_keeps_its_size_and_counts_its_tokens(sdk: openai.OpenAI) -> None:
    prompt = "The same valley, at night"
    answer = sdk.images.edit(model="gpt-image-1.5", image=_file(_photo()), prompt=prompt)
    assert answer.data and answer.data[0].b64_json and answer.size == "256x192"
    edited = b64_image(answer.data[0].b64_json)
    assert edited.size == SIZE  # size auto keeps the first image's size
    assert edited.convert("RGB").getpixel((100, 100)) != (30, 140, 90)  # no mask: all changed
    assert answer.usage is not None
    details = answer.usage.input_tokens_details
    assert details.image_tokens == image_input_tokens(*SIZE) > 0
    assert details.text_tokens == text_input_tokens(prompt)
    assert answer.usage.input_tokens == details.image_tokens + details.text_tokens


def test_a_list_and_a_mask_keep_pixels_outside_and_repaint_inside(
        sdk: openai.OpenAI, server: EmulatorServer) -> None:
    first, second = _photo(), _photo(colour=(220, 40, 40), fmt="JPEG")
    answer = sdk.images.edit(model="gpt-image-2", image=[_file(first), _file(second, "b.jpg")],
                             mask=_file(_mask(), "mask.png"), prompt="A red kite in the sky")
    edited = b64_image(answer.data[0].b64_json or "").convert("RGB")  # type: ignore[index]
    source = Image.open(io.BytesIO(first)).convert("RGB")
    for kept in ((2, 2), (20, 20), (100, 60), (250, 140)):  # outside the hole, above the label
        assert edited.getpixel(kept) == source.getpixel(kept)
    changed = [point for point in ((150, 60), (200, 40), (230, 110))
               if edited.getpixel(point) != source.getpixel(point)]
    assert len(changed) == 3
    assert answer.usage is not None
    assert answer.usage.input_tokens_details.image_tokens == 2 * image_input_tokens(*SIZE)
    entry = server.log[-1]
    assert entry["path"] == EDITS and entry["method"] == "POST"
    files = entry["form"]["files"]
    assert [(f["field"], f["format"]) for f in files] == [("image[]", "png"), ("image[]", "jpeg"),
                                                          ("mask", "png")]
    assert files[0]["bytes"] == len(first)
    assert entry["form"]["fields"]["prompt"] == "A red kite in the sky"
    assert len(json.dumps(entry)) < 4096  # a preview: never the files' bytes


def test_streaming_sends_two_partials_then_completed_with_usage(sdk: openai.OpenAI) -> None:
    with sdk.images.edit(model="gpt-image-1.5", image=_file(_photo()), prompt="At dusk",
                         stream=True, partial_images=2) as events:
        seen = list(events)
    assert [event.type for event in seen] == ["image_edit.partial_image"] * 2 + ["image_edit.completed"]
    assert [getattr(event, "partial_image_index", None) for event in seen[:2]] == [0, 1]
    completed = seen[-1]
    assert completed.type == "image_edit.completed"
    assert completed.usage.input_tokens_details.image_tokens == image_input_tokens(*SIZE)
    assert completed.usage.input_tokens_details.text_tokens == text_input_tokens("At dusk")
    assert b64_image(completed.b64_json).size == SIZE


def test_an_explicit_size_resizes(sdk: openai.OpenAI) -> None:
    answer = sdk.images.edit(model="gpt-image-1.5", image=_file(_photo()), prompt="Bigger",
                             size="1024x1024", output_format="webp")
    edited = b64_image(answer.data[0].b64_json or "")  # type: ignore[index]
    assert (edited.format, edited.size) == ("WEBP", (1024, 1024))


def test_a_markup_guides_where_the_picture_changes(sdk: openai.OpenAI) -> None:
    answer = sdk.images.edit(model="gpt-image-2.5-flare", image=_file(_photo()),
                             markup=_file(_markup(), "markup.png"), prompt="A bridge here")
    edited = b64_image(answer.data[0].b64_json or "").convert("RGB")  # type: ignore[index]
    assert edited.getpixel((190, 65)) != (30, 140, 90)  # on the stroke
    assert edited.getpixel((60, 100)) == (30, 140, 90)  # far from it


def test_a_retired_model_still_edits_on_the_emulator(sdk: openai.OpenAI) -> None:
    answer = sdk.images.edit(model="dall-e-2", image=_file(_photo((128, 128))), prompt="A boat",
                             mask=_file(_mask((128, 128), (64, 0, 128, 64))), size="256x256",
                             response_format="b64_json")
    assert b64_image(answer.data[0].b64_json or "").size == (256, 256)  # type: ignore[index]


def _noise(size: tuple[int, int]) -> bytes:
    """A PNG of random pixels: barely compressible, so about 3 bytes a pixel."""
    return _encoded(Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)))


# (keyword arguments of images.edit, the error's param, words of its message)
REFUSED: dict[str, tuple[dict[str, Any], str, str]] = {
    "a model that does not edit": (
        {"model": "dall-e-3"}, "model", "Invalid value: 'dall-e-3'. Supported values are: 'dall-e-2'"),
    "too many images": (
        {"image": [_file(_photo())] * 17}, "image",
        "Invalid 'image': array too long. Expected an array with maximum length 16, but got an "
        "array with length 17 instead."),
    "a GIF sent as a PNG": (
        {"image": _file(_encoded(Image.new("P", SIZE), "GIF"))}, "image",
        "Invalid file 'image': unsupported mimetype ('image/gif'). Supported file formats are "
        "'image/jpeg', 'image/png', and 'image/webp'."),
    "a file over its limit": (
        {"model": "dall-e-2", "image": _file(_noise((1300, 1300)))}, "image", "less than 4 MB"),
    "dall-e-2 and a rectangle": (
        {"model": "dall-e-2"}, "image", "dall-e-2 takes square images, but it is 256x192"),
    "a mask that is not PNG": (
        {"mask": _file(_encoded(Image.new("RGBA", SIZE), "WEBP"))}, "mask",
        "unsupported mimetype ('image/webp'). Supported file formats are 'image/png'."),
    "a mask of another size": (
        {"mask": _file(_mask((128, 128)))}, "mask", "it must have the first image's dimensions, 256x192"),
    "a mask with nothing transparent": (
        {"mask": _file(_mask(hole=None))}, "mask", "no transparent pixels"),
    "a markup with nothing transparent": (
        {"model": "gpt-image-2.6-flare", "markup": _file(_mask(hole=None))}, "markup",
        "no transparent pixels"),
    "a mask and a markup": (
        {"model": "gpt-image-2.5-flare", "mask": _file(_mask()), "markup": _file(_markup())},
        "markup", "cannot be combined with 'mask'"),
    "a markup on a model without it": (
        {"markup": _file(_markup())}, "markup", "Unknown parameter: 'markup'."),
    "a mask with GIF output": (
        {"model": "gpt-image-2.6-flare", "mask": _file(_mask()), "output_format": "gif"}, "mask",
        "GIF output does not support masks"),
    "SVG with n=2": (
        {"model": "gpt-image-2.6-flare", "output_format": "svg", "n": 2}, "n", "SVG generation requires n=1"),
    "a decompression bomb": (
        {"image": _file(bomb_png())}, "image", "(a decompression bomb?)"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_every_rule_is_refused_in_the_api_shape(sdk: openai.OpenAI, case: str) -> None:
    options, param, words = REFUSED[case]
    request: dict[str, Any] = {"model": "gpt-image-1.5", "image": _file(_photo()),
                               "prompt": "An edit", **options}
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.images.edit(**request)
    error = error_of(refused.value.response)
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert words in error["message"]


def test_a_body_without_image_or_with_bad_text_is_refused(http: httpx.Client) -> None:
    missing = http.post("/images/edits", data={"model": "gpt-image-1.5", "prompt": "x"},
                        files={"mask": ("m.png", _mask(), "image/png")})
    assert error_of(missing)["message"] == "Missing required parameter: 'image'."
    files = {"image": ("in.png", _photo(), "image/png")}
    wrong = http.post("/images/edits", data={"model": "gpt-image-1.5", "prompt": "x", "n": "two"},
                      files=files)
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "invalid_type"
    assert error_of(wrong)["param"] == "n"
    flag = http.post("/images/edits", data={"model": "gpt-image-1.5", "prompt": "x",
                                            "stream": "yes"}, files=files)
    assert error_of(flag)["param"] == "stream"
    moderation = http.post("/images/edits", data={"model": "gpt-image-1.5", "prompt": "x",
                                                  "moderation": "low"}, files=files)
    assert error_of(moderation)["message"] == "Unknown parameter: 'moderation'."
    as_json = http.post("/images/edits", json={"model": "gpt-image-1.5", "prompt": "x"})
    assert as_json.status_code == 400 and "multipart/form-data" in error_of(as_json)["message"]


def test_stream_events_read_over_plain_http(http: httpx.Client) -> None:
    answer = http.post("/images/edits", data={"model": "gpt-image-1.5", "prompt": "x",
                                              "stream": "true", "partial_images": "1"},
                       files={"image": ("in.png", _photo(), "image/png")})
    kinds = [kind for kind, _ in events_of(answer)]
    assert kinds == ["image_edit.partial_image", "image_edit.completed"]


def test_faults_apply_to_edits(sdk: openai.OpenAI, server: EmulatorServer) -> None:
    server.inject("status_429", retry_after=0)
    with pytest.raises(openai.RateLimitError):
        sdk.images.edit(model="gpt-image-1.5", image=_file(_photo()), prompt="x")
    assert server.requests[-1]["fault"] == "status_429"
    server.inject("content_policy")
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.images.edit(model="gpt-image-1.5", image=_file(_photo()), prompt="x")
    assert error_of(refused.value.response)["code"] == "moderation_blocked"


def test_the_body_limit_of_edits_is_its_own() -> None:
    assert BODY_LIMITS[EDITS] == 256 << 20 > BODY_LIMITS["/v1/images/generations"]
    with serve(port=0, api_key="sk-edits-0123456789", body_limits={EDITS: 10_000}) as small, \
            httpx.Client(base_url=small.url, timeout=60) as http:
        files = {"image": ("in.png", _noise((64, 64)), "image/png")}
        unkeyed = http.post("/images/edits", data={"prompt": "x"}, files=files)
        assert unkeyed.status_code == 401  # the key before the body
        keyed = http.post("/images/edits", data={"prompt": "x"}, files=files,
                          headers={"Authorization": "Bearer sk-edits-0123456789"})
        assert keyed.status_code == 413 and "10,000 bytes" in error_of(keyed)["message"]
        assert small.request_count == 2 and small.requests == []  # counted; refused unread
        assert [entry["status"] for entry in small.log] == [401, 413]


def test_the_log_records_every_request_with_its_path(http: httpx.Client,
                                                     server: EmulatorServer) -> None:
    http.get("/models")
    http.get("/no/such/path")
    assert [entry["path"] for entry in server.log[-2:]] == ["/v1/models", "/v1/no/such/path"]
    assert all(entry["path"] != "/v1/models" for entry in server.requests)  # image requests only
