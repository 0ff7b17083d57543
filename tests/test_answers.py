"""What the server's answers mean: bytes and text in, our values or our errors out."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.api.answers import (
    StreamEvent,
    answer_image,
    api_error,
    json_object,
    parse_answer,
    stream_event,
    stream_image,
    with_provenance,
)

from samples import B64, PNG

# -- JSON answers ---------------------------------------------------------------------------


def test_json_object() -> None:
    assert json_object(b'{"a": 1}', "response") == {"a": 1}
    with pytest.raises(iw.APIError, match="response that is not valid JSON"):
        json_object(b"{nope", "response")
    with pytest.raises(iw.APIError, match="stream event that is not a JSON object"):
        json_object("[1, 2]", "stream event")


def test_an_answer_with_base64_urls_usage_and_unknown_fields() -> None:
    raw = json.dumps({
        "created": 1700000000, "background": "opaque", "something_new": {"x": 1},
        "data": [{"b64_json": B64, "revised_prompt": "a teal square"},
                 {"url": "https://files.test/a.png", "revised_prompt": 5}],
        "usage": {"input_tokens": 3, "output_tokens": 272, "total_tokens": 275,
                  "input_tokens_details": {"text_tokens": 3, "image_tokens": 0},
                  "output_tokens_details": {"image_tokens": 272}},
    }).encode()
    answer = parse_answer(raw)
    assert answer.created == 1700000000 and answer.usage == iw.Usage(3, 272, 275, 3, 0)
    first, second = answer.images
    assert (first.data, first.url, first.revised_prompt) == (PNG, None, "a teal square")
    assert (second.data, second.url, second.revised_prompt) == (None, "https://files.test/a.png", None)


def test_b64_wins_over_url_and_missing_fields_default() -> None:
    answer = parse_answer(json.dumps({"data": [{"b64_json": B64, "url": "https://x"}]}).encode())
    assert answer.images[0].url is None and answer.images[0].data == PNG
    assert answer.created == 0 and answer.usage is None


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ({"data": []}, iw.APIError, "holds no images"),
        ({"created": 1}, iw.APIError, "holds no images"),
        ({"data": "x"}, iw.APIError, "malformed: data is 'x', not a list of images"),
        ({"data": [3]}, iw.APIError, r"malformed: data\[0\] is 3, not an image object"),
        ({"data": [{"url": 5}]}, iw.APIError, r"malformed: data\[0\].url is 5, not a URL"),
        ({"data": [{"b64_json": "!!nope!!"}]}, iw.ImageDecodeError, "not valid base64"),
        ({"data": [{}]}, iw.ImageDecodeError, "no image data"),
    ],
)
def test_malformed_answers(answer: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        parse_answer(json.dumps(answer).encode())


def test_a_malformed_created_or_usage_is_read_leniently() -> None:
    answer = parse_answer(json.dumps({"created": "soon", "usage": [1], "data": [{"b64_json": B64}]}).encode())
    assert answer.created == 0 and answer.usage is None


# -- stream events --------------------------------------------------------------------------


def test_partial_and_completed_events() -> None:
    partial = stream_event("image_generation.partial_image", json.dumps(
        {"type": "image_generation.partial_image", "b64_json": B64, "partial_image_index": 2}))
    assert partial == StreamEvent(final=False, data=PNG, partial_index=2)
    completed = stream_event("message", json.dumps(
        {"type": "image_generation.completed", "b64_json": B64, "created_at": 17,
         "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}))
    assert completed == StreamEvent(final=True, data=PNG, usage=iw.Usage(1, 2, 3), created=17)


def test_the_event_name_counts_when_the_payload_has_no_type() -> None:
    event = stream_event("image_generation.completed", json.dumps({"b64_json": B64}))
    assert event is not None and event.final and event.usage is None and event.created == 0


def test_done_marker() -> None:
    assert stream_event("message", "[DONE]") is None
    assert stream_event("message", " [DONE] ") is None


@pytest.mark.parametrize(
    ("payload", "error", "words"),
    [
        ({"error": {"message": "rejected", "code": "moderation_blocked"}}, iw.ContentPolicyError,
         "rephrase"),
        ({"error": {"message": "boom", "code": None}}, iw.APIError, "boom"),
        ({"type": "image_generation.sparkles", "b64_json": B64}, iw.APIError, "unknown stream event"),
        ({"type": "image_generation.completed", "b64_json": "%%%"}, iw.ImageDecodeError, "base64"),
    ],
)
def test_bad_events(payload: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        stream_event("message", json.dumps(payload))


def test_an_error_event_carries_no_status() -> None:
    with pytest.raises(iw.APIError) as caught:
        stream_event("error", '{"error": {"message": "x", "type": "server_error"}}')
    assert caught.value.status is None and caught.value.type == "server_error"


def test_an_event_that_is_not_json() -> None:
    with pytest.raises(iw.APIError, match="stream event that is not valid JSON"):
        stream_event("message", "{{")


# -- results from answers and events ----------------------------------------------------------


def test_results_from_an_answer() -> None:
    raw = json.dumps({"created": 9, "usage": {"total_tokens": 4},
                      "data": [{"b64_json": B64, "revised_prompt": "r"}]}).encode()
    answer = parse_answer(raw)
    image = answer_image(answer, 0, PNG, ("png", 8, 8), {"model": "m"}, 3)
    assert (image.image_index, image.revised_prompt, image.created, image.url) == (3, "r", 9, None)
    assert image.usage == iw.Usage(total_tokens=4) and image.params == {"model": "m"}
    two = parse_answer(json.dumps({"usage": {"total_tokens": 4},
                                   "data": [{"b64_json": B64}, {"url": "https://x/b.png"}]}).encode())
    second = answer_image(two, 1, PNG, ("png", 8, 8), {}, 0)
    assert second.image_index == 1 and second.url == "https://x/b.png"
    assert second.usage is None  # usage covers all the images: none of them alone
    assert second.created >= time.time() - 5  # no created: now


def test_results_from_events() -> None:
    partial = stream_image(StreamEvent(final=False, data=PNG, partial_index=1), ("png", 8, 8), {}, 2)
    assert isinstance(partial, iw.PartialImage) and (partial.image_index, partial.partial_index) == (2, 1)
    final = stream_image(StreamEvent(final=True, data=PNG, created=7), ("webp", 8, 4),
                         {"model": "m", "stream": True}, 2)
    assert isinstance(final, iw.GeneratedImage) and final.params == {"model": "m", "stream": True, "n": 1}
    assert (final.format, final.width, final.height, final.created) == ("webp", 8, 4, 7)


# -- error bodies ---------------------------------------------------------------------------


def test_an_error_body_becomes_the_matching_error() -> None:
    raw = json.dumps({"error": {"message": "size is bad", "type": "invalid_request_error",
                                "param": "size", "code": "invalid_value"}}).encode()
    error = api_error(400, raw, "req_1")
    assert type(error) is iw.BadRequestError
    assert (error.status, error.param, error.code, error.request_id) == (400, "size", "invalid_value",
                                                                         "req_1")
    assert str(error).startswith("400 size is bad (fix the named parameter")


@pytest.mark.parametrize(
    ("status", "raw", "cls", "words"),
    [
        (502, b"<html>Bad gateway</html>", iw.ServerError, "Bad gateway"),
        (503, b"", iw.ServerError, "HTTP 503"),
        (429, b"[1, 2]", iw.RateLimitError, "the server answered HTTP 429"),
        (404, b'{"error": "gone"}', iw.NotFoundError, "gone"),  # the message alone
        (401, b"\xff\xfe not utf-8", iw.AuthenticationError, "not utf-8"),
        (418, b"{}", iw.APIError, "HTTP 418"),
    ],
)
def test_malformed_error_bodies_still_explain(status: int, raw: bytes, cls: type[iw.APIError],
                                              words: str) -> None:
    error = api_error(status, raw)
    assert type(error) is cls and error.status == status and words in str(error)


def test_a_long_text_error_body_is_cut() -> None:
    assert len(str(api_error(500, b"x" * 10_000))) < 700


# -- lenient reading: fields the API adds, values the table does not know -------------------


def test_an_event_with_unknown_values_and_fields_decodes() -> None:
    payload = {"type": "image_generation.completed", "b64_json": B64, "created_at": 7,
               "size": "1280x720", "quality": "xhigh", "output_format": "gif",
               "background": "opaque", "frame_timing": {"frames": 9}, "usage": {"output_tokens": 5}}
    event = stream_event("image_generation.completed", json.dumps(payload))
    assert event is not None and event.final and event.data == PNG and event.created == 7
    assert event.usage is not None and event.usage.output_tokens == 5
    assert event.fields == {"size": "1280x720", "quality": "xhigh", "output_format": "gif",
                            "background": "opaque", "frame_timing": {"frames": 9}}
    partial = stream_event("x", json.dumps({**payload, "type": "image_generation.partial_image",
                                            "partial_image_index": 1, "quality": "max"}))
    assert partial is not None and not partial.final and partial.partial_index == 1
    assert partial.fields["quality"] == "max" and "partial_image_index" not in partial.fields
    image = stream_image(event, ("png", 8, 8), {"model": "gpt-image-2.6-sunburst"}, 0)
    assert isinstance(image, iw.GeneratedImage) and image.format == "png"


def test_an_answer_keeps_its_unknown_fields() -> None:
    raw = json.dumps({"created": 3, "data": [{"b64_json": B64, "extra": 1}], "size": "1280x720",
                      "quality": "max", "output_format": "svg", "moderation_note": "ok"}).encode()
    answer = parse_answer(raw)
    assert answer.fields == {"size": "1280x720", "quality": "max", "output_format": "svg",
                             "moderation_note": "ok"}
    assert parse_answer(json.dumps({"created": 1e999, "data": [{"b64_json": B64}]}).encode()
                        ).created == 0  # JSON's 1e999 is infinity: no crash


def test_provenance_is_added_only_for_provisional_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    # Today's table has no provisional field; a model known only from a blog post has one.
    blog = iw.models.Source("https://blog.example/gpt-image-9", False)
    monkeypatch.setitem(iw.MODELS, "gpt-image-9-preview", iw.ModelSpec.like(
        "gpt-image-2.6-sunburst", name="gpt-image-9-preview",
        provisional=frozenset({"frame_duration_ms"}), sources={"frame_duration_ms": blog}))
    body = {"model": "gpt-image-9-preview", "prompt": "x"}
    error = api_error(400, json.dumps({"error": {"message": "Unknown parameter: 'frame_duration_ms'.",
                                                 "param": "frame_duration_ms",
                                                 "code": "unknown_parameter"}}).encode(), "req_1")
    noted = with_provenance(error, body)
    assert isinstance(noted, iw.BadRequestError) and noted is not error
    assert (noted.param, noted.code, noted.status, noted.request_id) == (
        "frame_duration_ms", "unknown_parameter", 400, "req_1")
    assert "provisional" in noted.message and blog.url in noted.message
    assert with_provenance(error, {"model": "gpt-image-2", "prompt": "x"}) is error
    assert with_provenance(error, None) is error
    other = api_error(400, b'{"error": {"message": "bad", "param": "size"}}')
    assert with_provenance(other, body) is other
