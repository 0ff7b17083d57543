"""The emulator refuses what the API refuses, as the API answers: fields, values, prompts,
bodies, keys, and the models shut down by its ``as_of`` day."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.emulator.validation import Refusal, validate
from imagewidgets.models import (
    FIELDS,
    MODELS,
    Choice,
)

from emulator_http import b64_image, error_of, post

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "gpt-image-1", "style": "vivid"}, "style", "unknown_parameter"),
        ({"model": "dall-e-3", "background": "opaque"}, "background", "unknown_parameter"),
        ({"model": "dall-e-2", "stream": True}, "stream", "unknown_parameter"),
        ({"model": "gpt-image-1", "response_format": "url"}, "response_format",
         "unknown_parameter"),
        ({"model": "gpt-image-1", "colour": "red"}, "colour", "unknown_parameter"),
        ({"model": "dall-e-3", "size": "256x256"}, "size", "invalid_value"),
        ({"model": "gpt-image-1", "quality": "hd"}, "quality", "invalid_value"),
        ({"model": "gpt-image-1", "n": 11}, "n", "integer_above_max_value"),
        ({"model": "dall-e-3", "n": 2}, "n", "integer_above_max_value"),
        ({"model": "gpt-image-1", "n": 0}, "n", "integer_below_min_value"),
        ({"model": "gpt-image-1", "partial_images": 4, "stream": True}, "partial_images",
         "integer_above_max_value"),
        ({"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"},
         "output_format", "invalid_value"),
        ({"model": "gpt-image-1", "output_compression": 50}, "output_compression",
         "invalid_png_output_compression"),
        ({"model": "gpt-image-1", "n": "2"}, "n", "invalid_type"),
        ({"model": "gpt-image-1", "stream": "yes"}, "stream", "invalid_type"),
        ({"model": "dall-e-3", "stream": False}, "stream", "unknown_parameter"),
        ({"model": 3}, "model", "invalid_type"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "size", "invalid_value"),
        ({"model": "dall-e-4"}, "model", "invalid_value"),
    ],
)
def test_validation_answers_like_the_api(http: httpx.Client, body: dict[str, Any], param: str,
                                         code: str) -> None:
    response = post(http, prompt="A cat", **body)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    if code == "invalid_value" and param in ("size", "quality"):
        assert "choose" in error["message"]


def test_prompt_rules_and_bad_bodies(http: httpx.Client) -> None:
    long = error_of(post(http, prompt="y" * 4001, model="dall-e-3"))
    assert long["code"] == "string_above_max_length" and "4000" in long["message"]
    assert post(http, prompt="y" * 4001, model="gpt-image-1").status_code == 200
    assert error_of(post(http, model="gpt-image-1"))["code"] == "missing_required_parameter"
    broken = http.post("/images/generations", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "parse the JSON" in error_of(broken)["message"]
    assert post(http, prompt="x", model="gpt-image-1", stream=None, user=None).status_code == 200
    assert error_of(post(http, prompt="", model="gpt-image-1"))["code"] == "empty_string"
    assert error_of(post(http, prompt=["x"], model="gpt-image-1"))["code"] == "invalid_type"
    listed = http.post("/images/generations", json=["prompt"])
    assert listed.status_code == 400 and error_of(listed)["code"] == "invalid_type"


def test_fields_that_do_not_apply(http: httpx.Client) -> None:
    # 100 is what png is anyway; the API refuses only lower compression with png.
    assert post(http, prompt="x", model="gpt-image-1", output_compression=100).status_code == 200
    message = error_of(post(http, prompt="x", model="gpt-image-1", output_compression=80))["message"]
    assert "PNG" in message
    # partial_images without stream: accepted and ignored, an ordinary JSON answer.
    plain = post(http, prompt="x", model="gpt-image-1", partial_images=2)
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    assert post(http, prompt="x", model="gpt-image-1", stream=False).json()["data"]


def test_an_omitted_model_follows_the_api_default(http: httpx.Client) -> None:
    plain = post(http, prompt="x", size="256x256")
    assert plain.status_code == 200 and "usage" not in plain.json()  # dall-e-2
    gpt = post(http, prompt="x", output_format="webp")
    assert gpt.status_code == 200 and gpt.json()["output_format"] == "webp"


def test_auth_when_a_key_is_set(server: EmulatorServer, api_key: str) -> None:
    with httpx.Client() as http:
        url = f"{server.url}/images/generations"
        missing = http.post(url, json={"prompt": "x"})
        wrong = http.post(url, json={"prompt": "x"},
                          headers={"Authorization": "Bearer sk-wrong-key-5678"})
        right = http.post(url, json={"prompt": "x", "size": "256x256"},
                          headers={"Authorization": f"Bearer {api_key}"})
        assert missing.status_code == wrong.status_code == 401
        assert "x-imagewidgets-emulator" in wrong.headers  # a wrong key still learns what it is
        assert error_of(wrong)["code"] == "invalid_api_key"
        assert "sk-wrong-key-5678" not in wrong.text and "5678" in wrong.text  # masked
        assert right.status_code == 200
        assert all("authorization" not in r["headers"] for r in server.requests)
        assert all(api_key not in r["body"] for r in server.requests)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_validation_follows_the_capabilities_table(model: str) -> None:
    spec = MODELS[model]
    for name, kind in spec.fields_for("generations").items():
        if isinstance(kind, Choice):
            for value in kind.values:
                # Alone, each value meets only defaults (png, auto), which exclude none.
                assert validate({"prompt": "x", "model": model, name: value})[1][name] == value
    for name in FIELDS:
        if not spec.takes(name):
            with pytest.raises(Refusal) as info:
                validate({"prompt": "x", "model": model, name: "x"})
            assert (info.value.param, info.value.code) == (name, "unknown_parameter")


DEPRECATED = ("The model `{}` has been deprecated, learn more here: "
              "https://platform.openai.com/docs/deprecations")


@pytest.mark.parametrize(
    ("as_of", "refused", "served"),
    [
        (None, (), ("dall-e-3", "gpt-image-1", "gpt-image-1.5", "gpt-image-2.6-sunburst")),
        (date(2026, 11, 25), ("dall-e-2", "dall-e-3", "gpt-image-1"),
         ("gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "gpt-image-2.6-flare")),
        (date(2026, 12, 2), ("dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
                             "gpt-image-1.5-2025-12-16", "chatgpt-image-latest"),
         ("gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-flare",
          "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-sunburst")),
    ],
    ids=["teaching", "2026-11-25", "2026-12-02"],
)
def test_as_of_refuses_shut_down_models_as_the_api_does(
        as_of: date | None, refused: tuple[str, ...], served: tuple[str, ...]) -> None:
    with serve(port=0, as_of=as_of) as dated, httpx.Client(base_url=dated.url, timeout=120) as http:
        for model in refused:
            # Whatever else the body holds (here a field dall-e-3 does not take): the model first.
            response = post(http, prompt="A cat", model=model, output_format="webp")
            assert response.status_code == 404, model
            assert error_of(response) == {"message": DEPRECATED.format(model),
                                        "type": "invalid_request_error", "param": None,
                                        "code": "model_not_found"}
            assert http.get(f"/models/{model}").status_code == 404
        for model in served:
            assert post(http, prompt="A cat", model=model).status_code == 200, model
        listed = {entry["id"] for entry in http.get("/models").json()["data"]}
        assert listed.isdisjoint(refused) and listed >= set(served)


def test_as_of_from_a_string_and_an_omitted_model() -> None:
    with serve(port=0, as_of="2026-12-02") as dated, \
            httpx.Client(base_url=dated.url, timeout=120) as http:
        assert dated.state.as_of == date(2026, 12, 2)
        # The API's default for an omitted model stays dall-e-2 (gpt-image-1 with GPT-only
        # fields), and so does its refusal once that model is shut down.
        assert error_of(post(http, prompt="x"))["message"] == DEPRECATED.format("dall-e-2")
        assert error_of(post(http, prompt="x", output_format="webp"))["code"] == "model_not_found"


def test_new_model_refusals(http: httpx.Client) -> None:
    small = error_of(post(http, prompt="x", model="gpt-image-2.6-flare", size="800x800"))
    assert (small["param"], small["code"]) == ("size", "invalid_value")
    assert "655,360" in small["message"]
    assert error_of(post(http, prompt="x", model="gpt-image-2", quality="xhigh"))["param"] == "quality"
    assert error_of(post(http, prompt="x", model="gpt-image-2.5-flare", complexity="low"))[
        "code"] == "unknown_parameter"
    svg_many = post(http, prompt="x", model="gpt-image-2.6-flare", output_format="svg", n=2)
    assert svg_many.status_code == 400
    error = error_of(svg_many)
    assert (error["param"], error["code"], error["type"]) == ("n", "invalid_value",
                                                              "invalid_request_error")
    assert "'svg'" in error["message"] and "1" in error["message"]
    frames = error_of(post(http, prompt="x", model="gpt-image-2.6-flare", frame_count=4))
    assert frames["param"] == "frame_count" and "gif" in frames["message"]
    assert post(http, prompt="x", model="gpt-image-2.6-flare", frame_count=9).status_code == 200
    too_many = error_of(post(http, prompt="x", model="gpt-image-2.6-flare", output_format="gif",
                            frame_count=17))
    assert (too_many["param"], too_many["code"]) == ("frame_count", "integer_above_max_value")
    lossy_gif = error_of(post(http, prompt="x", model="gpt-image-2.6-flare", output_format="gif",
                             output_compression=50))
    assert lossy_gif["param"] == "output_compression" and "GIF" in lossy_gif["message"]


def test_gif_and_svg_refuse_transparency_and_streaming(http: httpx.Client) -> None:
    # openai 3.57's types: transparent needs png or webp; GIF and SVG do not stream.
    for fmt in ("gif", "svg"):
        clear = post(http, prompt="A logo", model="gpt-image-2.6-sunburst", output_format=fmt,
                      background="transparent")
        assert clear.status_code == 400 and error_of(clear)["param"] in ("background", "output_format")
        streamed = post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format=fmt,
                         stream=True)
        assert streamed.status_code == 400 and error_of(streamed)["param"] in ("stream", "output_format")
    answer = post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format="gif",
                   frame_count=4, quality="low").json()
    assert answer["output_format"] == "gif"
    assert b64_image(answer["data"][0]["b64_json"]).n_frames == 4
