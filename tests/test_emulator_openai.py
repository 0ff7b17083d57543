"""The official ``openai`` package as a client of the emulator: the wire format is the API's."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import httpx
import openai
import pytest
from PIL import Image

from imagewidgets.emulator import EmulatorServer, serve

KEY = "sk-emulator-openai-test"
SEED_MODELS = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
               "chatgpt-image-latest"]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(port=0, api_key=KEY) as running:
        yield running


@pytest.fixture
def sdk(server: EmulatorServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0)
    yield client
    client.close()


def _decode(b64: str | None) -> Image.Image:
    assert b64
    return Image.open(io.BytesIO(base64.b64decode(b64)))


@pytest.mark.parametrize("model", SEED_MODELS)
def test_generate_every_seed_model(sdk: openai.OpenAI, model: str) -> None:
    extra = {"response_format": "b64_json"} if model.startswith("dall-e") else {}
    response = sdk.images.generate(model=model, prompt="A lighthouse at dusk", size="1024x1024",
                                   **extra)  # type: ignore[call-overload]
    assert response.data and response.created > 0
    assert _decode(response.data[0].b64_json).size == (1024, 1024)
    if model.startswith(("gpt", "chatgpt")):
        assert response.usage is not None and response.usage.output_tokens == 1056
        assert response.output_format == "png" and response.quality == "medium"
    if model == "dall-e-3":
        assert response.data[0].revised_prompt


def test_b64_json_formats_and_sizes(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="gpt-image-1.5", prompt="A logo", size="1536x1024",
                                   quality="high", background="transparent", output_format="webp")
    image = _decode(response.data[0].b64_json)  # type: ignore[index]
    assert (image.format, image.size, image.mode) == ("WEBP", (1536, 1024), "RGBA")
    jpeg = sdk.images.generate(model="gpt-image-1-mini", prompt="A logo", output_format="jpeg",
                               output_compression=40)
    assert _decode(jpeg.data[0].b64_json).format == "JPEG"  # type: ignore[index]


def test_url_responses(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="dall-e-2", prompt="A white siamese cat", size="512x512",
                                   response_format="url", n=2)
    assert response.data is not None and len(response.data) == 2
    for item in response.data:
        assert item.url
        downloaded = httpx.get(item.url)
        assert Image.open(io.BytesIO(downloaded.content)).size == (512, 512)


def test_streaming_with_two_partials(sdk: openai.OpenAI) -> None:
    stream = sdk.images.generate(model="gpt-image-1", prompt="A scenic mountain landscape",
                                 stream=True, partial_images=2)
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds == ["image_generation.partial_image", "image_generation.partial_image",
                     "image_generation.completed"]
    assert [event.partial_image_index for event in events[:2]] == [0, 1]  # type: ignore[union-attr]
    final = events[-1]
    assert final.usage.output_tokens == 1056  # type: ignore[union-attr]
    assert _decode(final.b64_json).size == (1024, 1024)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": "gpt-image-1", "style": "vivid"}, "style"),
        ({"model": "gpt-image-1", "size": "512x512"}, "size"),
        ({"model": "dall-e-3", "n": 2}, "n"),
        ({"model": "dall-e-3", "quality": "high"}, "quality"),
        ({"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"},
         "output_format"),
    ],
)
def test_bad_requests(sdk: openai.OpenAI, fields: dict[str, object], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(prompt="A cat", **fields)  # type: ignore[call-overload]
    assert info.value.param == param and info.value.status_code == 400


def test_stream_with_dall_e_is_refused(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="dall-e-3", prompt="A cat", stream=True)
    assert info.value.param == "stream"


def test_a_wrong_key(server: EmulatorServer) -> None:
    with openai.OpenAI(base_url=server.url, api_key="sk-wrong", max_retries=0) as wrong, \
            pytest.raises(openai.AuthenticationError) as info:
        wrong.images.generate(model="gpt-image-1", prompt="A cat")
    assert info.value.code == "invalid_api_key"


def test_content_refusal(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="dall-e-3", prompt="Something forbidden")
    assert info.value.code == "content_policy_violation"
