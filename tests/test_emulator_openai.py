"""The official ``openai`` package as a client of the emulator: the wire format is the API's."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
from PIL import Image

from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.models import MODELS

SEED_MODELS = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
               "chatgpt-image-latest"]


# ``server``, ``api_key`` and ``sdk`` are the shared fixtures of tests/conftest.py.


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
    transparent_pixels = sum(image.getchannel("A").histogram()[:255])  # alpha below 255
    assert transparent_pixels > 0 and response.background == "transparent"
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


def test_gpt_image_2_takes_custom_sizes(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="gpt-image-2", prompt="A wide harbour",
                                   size="2048x1152", quality="low")
    assert _decode(response.data[0].b64_json).size == (2048, 1152)  # type: ignore[index]
    assert response.size == "2048x1152" and response.usage is not None
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="gpt-image-2", prompt="x", size="1000x1000")
    assert info.value.param == "size" and "divisible by 16" in info.value.message


def test_dall_e_3_urls_download_and_decode(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="dall-e-3", prompt="A cat", size="1792x1024",
                                   quality="hd", style="natural")
    assert response.data and response.data[0].url and response.data[0].revised_prompt
    with httpx.Client() as http:
        image = Image.open(io.BytesIO(http.get(response.data[0].url).content))
    assert (image.format, image.size) == ("PNG", (1792, 1024))


def test_faults_as_the_sdk_sees_them(server: EmulatorServer, sdk: openai.OpenAI,
                                     api_key: str) -> None:
    server.inject("status_429", retry_after=7, retry_after_ms=1500)
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.images.generate(model="gpt-image-1", prompt="x")
    assert limited.value.response.headers["retry-after-ms"] == "1500"
    assert limited.value.response.headers["retry-after"] == "7"
    server.inject("insufficient_quota")
    with pytest.raises(openai.RateLimitError) as quota:
        sdk.images.generate(model="gpt-image-1", prompt="x")
    assert quota.value.code == "insufficient_quota"
    server.inject("status_503")
    with pytest.raises(openai.InternalServerError):
        sdk.images.generate(model="gpt-image-1", prompt="x")
    server.inject("content_policy")
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.images.generate(model="gpt-image-1", prompt="x")
    assert refused.value.code == "moderation_blocked"
    server.inject("drop_stream", after=1)
    with pytest.raises(openai.APIConnectionError):
        list(sdk.images.generate(model="gpt-image-1", prompt="x", stream=True, partial_images=2))
    server.inject("slow", seconds=600)  # silence past the timeout: it fires, whatever the load
    with openai.OpenAI(base_url=server.url, api_key=api_key, max_retries=0,
                       timeout=0.3) as hurried, \
            pytest.raises(openai.APITimeoutError):
        hurried.images.generate(model="gpt-image-1", prompt="x")


def test_retries_of_the_sdk_reach_the_emulator(server: EmulatorServer, api_key: str) -> None:
    server.inject("status_429", times=2, retry_after_ms=10)  # the SDK honours retry-after-ms
    before = server.request_count
    with openai.OpenAI(base_url=server.url, api_key=api_key, max_retries=2) as patient:
        response = patient.images.generate(model="gpt-image-1-mini", prompt="x", quality="low")
    assert response.data and server.request_count == before + 3


# -- today's models ---------------------------------------------------------------------------

TODAY_MODELS = ["gpt-image-2-2026-04-21", "gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08",
                "gpt-image-2.5-sunburst", "gpt-image-2.5-sunburst-2026-09-08",
                "gpt-image-2.6-flare", "gpt-image-2.6-sunburst", "gpt-image-1.5-2025-12-16"]


@pytest.mark.parametrize("model", TODAY_MODELS)
def test_generate_every_new_model(sdk: openai.OpenAI, model: str) -> None:
    response = sdk.images.generate(model=model, prompt="A lighthouse at dusk", quality="low")
    assert _decode(response.data[0].b64_json).size == (1024, 1024)  # type: ignore[index]
    assert response.usage is not None and response.usage.output_tokens == 272


def test_a_1280x720_image_with_2_6_sunburst(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="gpt-image-2.6-sunburst", prompt="A wide harbour",
                                   size="1280x720", quality="high", complexity="medium")
    image = _decode(response.data[0].b64_json)  # type: ignore[index]
    assert (image.format, image.size) == ("PNG", (1280, 720))
    assert (response.size, response.quality, response.output_format) == ("1280x720", "high", "png")


def test_a_gif_with_2_6_flare(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="gpt-image-2.6-flare", prompt="A balloon",
                                   output_format="gif", frame_count=5, frame_duration_ms=120,
                                   quality="low")
    assert response.output_format == "gif"
    gif = _decode(response.data[0].b64_json)  # type: ignore[index]
    assert (gif.format, gif.n_frames, gif.info["duration"]) == ("GIF", 5, 120)
    # The same through extra_body, as an SDK without the fields would send them.
    older = sdk.images.generate(model="gpt-image-2.6-flare", prompt="A balloon",
                                output_format="gif", quality="low",
                                extra_body={"frame_count": 3})
    assert _decode(older.data[0].b64_json).n_frames == 3  # type: ignore[index]


def test_an_svg_with_2_6_and_its_refusal_with_n_2(sdk: openai.OpenAI) -> None:
    response = sdk.images.generate(model="gpt-image-2.6-sunburst", prompt="A logo",
                                   output_format="svg")
    assert response.output_format == "svg"
    assert base64.b64decode(response.data[0].b64_json or "").startswith(  # type: ignore[index]
        b'<svg xmlns="http://www.w3.org/2000/svg"')
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="gpt-image-2.6-sunburst", prompt="A logo", output_format="svg",
                            n=2)
    assert info.value.param == "n"


def test_models_list_and_retrieve(sdk: openai.OpenAI) -> None:
    models = {model.id: model for model in sdk.models.list()}
    assert set(models) == set(MODELS)
    assert models["dall-e-3"].shutdown_date == "2026-05-12"
    assert models["gpt-image-2.6-flare"].shutdown_date is None
    assert models["gpt-image-2.6-flare"].owned_by == "system"
    assert sdk.models.retrieve("gpt-image-2.6-sunburst").id == "gpt-image-2.6-sunburst"
    with pytest.raises(openai.NotFoundError) as info:
        sdk.models.retrieve("gpt-image-9")
    assert info.value.code == "model_not_found"


def test_a_shut_down_model_as_the_sdk_sees_it(api_key: str) -> None:
    with serve(port=0, api_key=api_key, as_of="2026-12-02") as dated, \
            openai.OpenAI(base_url=dated.url, api_key=api_key, max_retries=0) as sdk:
        with pytest.raises(openai.NotFoundError) as info:
            sdk.images.generate(model="gpt-image-1.5", prompt="A cat")
        assert info.value.code == "model_not_found" and info.value.param is None
        assert "has been deprecated" in info.value.message
        assert "gpt-image-1.5" not in {model.id for model in sdk.models.list()}
