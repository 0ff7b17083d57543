"""The wire without HTTP: the body we send; bytes and text in, our values or our errors out."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import time
from datetime import date
from typing import Any

import pytest
from PIL import Image

import imagewidgets as iw
from imagewidgets.api.wire import (
    EventParser,
    EventStream,
    ModelInfo,
    StreamEvent,
    answer_image,
    api_error,
    json_object,
    parse_answer,
    parse_models,
    request_body,
    retry_after,
    retryable,
    stream_event,
    stream_image,
    with_provenance,
)
from imagewidgets.params import RequestBody


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
B64 = base64.b64encode(PNG).decode()

# -- the body we send ----------------------------------------------------------------------


def test_a_checked_body_is_sent_as_it_is() -> None:
    body = iw.ImageParams(model="gpt-image-1", prompt="A fox").to_request()
    assert request_body(body, {}) is body


def test_anything_else_is_checked_and_built() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="A fox")
    built = request_body(params, {"quality": "low"})
    assert isinstance(built, RequestBody) and built["quality"] == "low" and params.quality != "low"
    from_mapping = request_body({"model": "dall-e-3", "prompt": "x"}, {"size": "1792x1024"})
    assert from_mapping["size"] == "1792x1024" and isinstance(from_mapping, RequestBody)
    checked = request_body(params.to_request(), {"n": 2})  # a checked body, changed: checked again
    assert checked["n"] == 2


@pytest.mark.parametrize(
    ("params", "fields", "words"),
    [
        ({"model": "gpt-image-1", "prompt": ""}, {}, "prompt is empty"),
        ({"model": "gpt-image-1", "prompt": "x"}, {"size": "512x512"}, "size '512x512'"),
        ({"model": "gpt-image-1", "prompt": "x", "n": "three"}, {}, "n"),
        (None, {"prompt": "x", "no_such_field": 1}, "no_such_field"),
    ],
    ids=["empty", "size", "wrong-type", "unknown"],
)
def test_bad_parameters_raise_params_error(params: Any, fields: dict[str, Any], words: str) -> None:
    with pytest.raises(iw.ParamsError, match=words):
        request_body(params, fields)


# -- server-sent events ---------------------------------------------------------------------


def _parse_in_pieces(raw: bytes, size: int) -> list[tuple[str, str]]:
    parser = EventParser()
    events = []
    for start in range(0, len(raw), size):
        events += parser.feed(raw[start:start + size])
    return events + parser.close()


STREAM = (b"event: image_generation.partial_image\ndata: {\"a\": 1}\n\n"
          b": keep-alive\n\n"
          b"event: image_generation.completed\ndata: {\"b\": 2}\n\n")
EXPECTED = [("image_generation.partial_image", '{"a": 1}'), ("image_generation.completed", '{"b": 2}')]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_events_in_any_chunking_and_any_newline(newline: bytes) -> None:
    raw = STREAM.replace(b"\n", newline)
    for size in (1, 2, 3, 7, 64, len(raw)):
        assert _parse_in_pieces(raw, size) == EXPECTED, size


def test_the_parser_handles_a_lone_cr_split_from_its_lf() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r\n") == [("message", "a")]
    # a CR at the very end might be half of a CRLF: the event waits for the next byte or the end
    assert parser.feed(b"event: x\rdata: b\r\r") == []
    assert parser.close() == [("x", "b")]


def test_multiline_data_comments_unknown_fields_and_a_missing_last_blank_line() -> None:
    parser = EventParser()
    raw = b":comment\nid: 7\nretry: 10\ndata: {\ndata:  \"x\": 1\ndata: }\n\ndata: tail"
    assert parser.feed(raw) == [("message", '{\n "x": 1\n}')]
    assert parser.close() == [("message", "tail")]
    assert parser.close() == []  # nothing twice


def test_a_blank_line_without_data_resets_the_event_name() -> None:
    assert _parse_in_pieces(b"event: lost\n\ndata: x\n\n", 4) == [("message", "x")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert EventParser().feed(b"data: \xff\xfe\n\n") == [("message", "\ufffd\ufffd")]


# The parser must be linear in its input: a 128 MB line once took 46 s, every chunk
# rescanning the whole line so far. Two ways to hold it to that without timing it.


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_the_parser_looks_at_each_byte_about_once(newline: bytes) -> None:
    """A 4 MB line in 1 KB chunks, then 20,000 short lines in one chunk: ``scanned`` (the
    bytes looked at for a line end) stays near the bytes fed. Quadratic rescanning would
    look at some 8 GB for the first (4,096 chunks x up to 4 MB), and a separate search
    for CR and for LF would rescan the rest of the chunk for each CR-only line."""
    parser = EventParser()
    line = b"data: " + b"A" * (4 * 1024 * 1024) + newline + newline
    short = (b"data: x" + newline + newline) * 20_000
    events = []
    for start in range(0, len(line), 1024):
        events += parser.feed(line[start:start + 1024])
    events += parser.feed(short) + parser.close()
    assert len(events) == 20_001 and len(events[0][1]) == 4 * 1024 * 1024
    fed = len(line) + len(short)
    # At most a byte more per chunk: a CR ending a chunk is looked at again for its LF.
    assert parser.scanned <= fed + len(line) // 1024, (parser.scanned, fed)


def test_a_32_mb_line_in_256_byte_chunks_is_parsed_in_one_pass() -> None:
    """131,072 chunks of a 32 MB line. Linear, that is 32 MB of scanning: well under a
    second. A parser rescanning its buffer for every chunk looks at 131,072 x 16 MB on
    average, some 2 TB: even at memchr's speed (the old parser took 7 s for a 20 MB line
    in 1 KB chunks, so about 70 s here) it never meets the generous 20 s below; the check
    runs after every chunk, so a failure stops there."""
    parser = EventParser()
    chunk = b"A" * 256
    deadline = time.monotonic() + 20
    assert parser.feed(b"data: ") == []
    for _ in range(32 * 1024 * 4):
        assert parser.feed(chunk) == []
        assert time.monotonic() < deadline, "the parser rescans what it has already looked at"
    [(kind, data)] = parser.feed(b"\r\n\r\n")
    assert kind == "message" and len(data) == 32 * 1024 * 1024


def test_an_event_past_its_size_limit_is_refused_as_it_arrives() -> None:
    parser = EventParser(max_event_bytes=1000)
    # Two events of 600 bytes each are fine: the limit is per event.
    assert len(parser.feed((b"data: " + b"x" * 594 + b"\n\n") * 2)) == 2
    # Data lines add up, and the line still arriving (no newline yet) counts.
    with pytest.raises(iw.APIError, match="more than 1,000 bytes for a stream event"):
        parser.feed(b"data: " + b"x" * 594 + b"\ndata: " + b"y" * 500)
    endless = EventParser(max_event_bytes=1000)
    with pytest.raises(iw.APIError, match="more than 1,000 bytes for a stream event") as caught:
        for _ in range(100):
            endless.feed(b"z" * 100)  # never a newline: refused at the chunk passing 1,000
    assert caught.value.status == 200 and "Images API server" in str(caught.value)
    comments = EventParser(max_event_bytes=1000)  # comments do not add up: nothing is kept
    assert comments.feed(b": keep-alive\n" * 1000 + b"data: ok\n\n") == [("message", "ok")]


def test_the_default_event_limit_holds_the_largest_real_image() -> None:
    """A 3840x2160 PNG of noise (RGBA, 33 MB, 44 MB as base64) fits one event."""
    from imagewidgets.api import transport as _http

    largest = 3840 * 2160 * 4 + 2160  # pixels and a filter byte per row: PNG at its worst
    assert largest * 4 // 3 + 1024 < _http.MAX_EVENT_BYTES == EventParser().max_event_bytes
    assert largest * 4 // 3 + 1024 < _http.MAX_ANSWER_BYTES_PER_IMAGE
    assert largest < _http.MAX_DOWNLOAD_BYTES
    assert _http.Limits().answer(10) == 10 * _http.MAX_ANSWER_BYTES_PER_IMAGE


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


def _sse(kind: str, **payload: Any) -> bytes:
    return f"event: image_generation.{kind}\ndata: {json.dumps({'b64_json': B64, **payload})}\n\n".encode()


def test_an_event_stream_gives_events_one_at_a_time() -> None:
    body = _sse("partial_image", partial_image_index=0) + _sse("completed", created_at=5)
    events = EventStream()
    assert events.next() is None  # nothing fed yet: more bytes needed
    events.feed(body[:10])
    assert events.next() is None
    events.feed(body[10:])
    first, second = events.next(), events.next()
    assert first is not None and not first.final and second is not None and second.final
    assert events.next() is None


@pytest.mark.parametrize("tail", [b"", b"data: [DONE]\n\n"], ids=["end", "done"])
def test_an_event_stream_that_ends_before_completed(tail: bytes) -> None:
    events = EventStream()
    events.feed(_sse("partial_image") + tail)
    events.feed(b"")
    assert events.next() is not None
    with pytest.raises(iw.StreamIncompleteError, match="ended before its completed event") as caught:
        events.next()
    assert caught.value.last_partial is None


def test_an_event_stream_keeps_a_partial_before_an_error() -> None:
    events = EventStream()
    events.feed(_sse("partial_image") + b'data: {"error": {"message": "no"}}\n\n')
    assert events.next() is not None
    with pytest.raises(iw.APIError, match="no"):
        events.next()


def test_an_event_stream_ignores_bytes_after_its_end() -> None:
    events = EventStream()
    events.feed(b"")
    events.feed(_sse("completed"))
    with pytest.raises(iw.StreamIncompleteError):
        events.next()


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


# -- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "nope", "retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "later"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after({"retry-after": soon}) or 0) <= 30.5
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after({"retry-after": past}) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_error(408, b""), True),
        (api_error(409, b""), True),
        (api_error(429, b""), True),
        (api_error(429, b'{"error": {"code": "insufficient_quota"}}'), False),
        (api_error(500, b""), True),
        (api_error(503, b""), True),
        (api_error(400, b""), False),
        (api_error(401, b""), False),
        (api_error(404, b""), False),
        (iw.APIConnectionError("refused"), True),
        (iw.APITimeoutError("slow"), True),
        (iw.StreamIncompleteError("cut"), False),
        (iw.ImageDecodeError("broken"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_what_is_retried(error: iw.ImagesError, expected: bool) -> None:
    assert retryable(error) is expected


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


# -- GET /v1/models --------------------------------------------------------------------------


def test_models_are_read_leniently() -> None:
    raw = json.dumps({"object": "list", "data": [
        {"id": "gpt-image-2.6-flare", "object": "model", "created": 1793750400,
         "owned_by": "system", "shutdown_date": None},
        {"id": "dall-e-3", "object": "model", "created": 1698785189, "owned_by": "system",
         "shutdown_date": "2026-05-12"},
        {"id": "gpt-image-2.7-flare", "created": "soon", "owned_by": 5,
         "shutdown_date": "2027-01-01T00:00:00Z", "capabilities": ["gif"], "tier": "beta"},
        {"id": "unix-shutdown", "shutdown_date": 1798761600},
        {"id": "odd-shutdown", "shutdown_date": "next year"},
        {"object": "model"}, {"id": ""}, {"id": 7}, "not a model",
    ]}).encode()
    models = parse_models(raw)
    assert [model.id for model in models] == ["gpt-image-2.6-flare", "dall-e-3", "gpt-image-2.7-flare",
                                              "unix-shutdown", "odd-shutdown"]
    flare, dalle, future, unix, odd = models
    assert (flare.created, flare.owned_by, flare.shutdown_date, flare.extra) == (
        1793750400, "system", None, {})
    assert dalle.shutdown_date == date(2026, 5, 12) and dalle.retired() and not flare.retired()
    assert (future.created, future.owned_by, future.shutdown_date) == (0, "", date(2027, 1, 1))
    assert future.extra == {"capabilities": ["gif"], "tier": "beta"} and not future.known
    assert unix.shutdown_date == date(2027, 1, 1) and odd.shutdown_date is None
    assert flare.known and hash(future) == hash(ModelInfo("gpt-image-2.7-flare", 0, "",
                                                          date(2027, 1, 1)))
    for bad in (b"[]", b'{"data": {}}', b"nope"):
        with pytest.raises(iw.APIError):
            parse_models(bad)


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
