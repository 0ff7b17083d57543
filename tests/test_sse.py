"""Server-sent events: any chunking and newline, size limits, events one at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.api.answers import stream_event
from imagewidgets.api.sse import EventParser, EventStream

from samples import B64

# -- server-sent events ---------------------------------------------------------------------


def _parse_in_pieces(raw: bytes, size: int) -> list[tuple[str, bytes]]:
    parser = EventParser()
    events = []
    for start in range(0, len(raw), size):
        events += parser.feed(raw[start:start + size])
    return events + parser.close()


STREAM = (b"event: image_generation.partial_image\ndata: {\"a\": 1}\n\n"
          b": keep-alive\n\n"
          b"event: image_generation.completed\ndata: {\"b\": 2}\n\n")
EXPECTED = [("image_generation.partial_image", b'{"a": 1}'), ("image_generation.completed", b'{"b": 2}')]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_events_in_any_chunking_and_any_newline(newline: bytes) -> None:
    raw = STREAM.replace(b"\n", newline)
    for size in (1, 2, 3, 7, 64, len(raw)):
        assert _parse_in_pieces(raw, size) == EXPECTED, size


def test_the_parser_handles_a_lone_cr_split_from_its_lf() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r\n") == [("message", b"a")]
    # a CR at the very end might be half of a CRLF: the event waits for the next byte or the end
    assert parser.feed(b"event: x\rdata: b\r\r") == []
    assert parser.close() == [("x", b"b")]


def test_multiline_data_comments_unknown_fields_and_a_missing_last_blank_line() -> None:
    parser = EventParser()
    raw = b":comment\nid: 7\nretry: 10\ndata: {\ndata:  \"x\": 1\ndata: }\n\ndata: tail"
    assert parser.feed(raw) == [("message", b'{\n "x": 1\n}')]
    assert parser.close() == [("message", b"tail")]
    assert parser.close() == []  # nothing twice


def test_a_blank_line_without_data_resets_the_event_name() -> None:
    assert _parse_in_pieces(b"event: lost\n\ndata: x\n\n", 4) == [("message", b"x")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert EventParser().feed(b"event: \xff\ndata: \xff\xfe\n\n") == [("\ufffd", b"\xff\xfe")]
    payload = json.dumps({"type": "image_generation.completed", "b64_json": B64, "quality": "\x00"})
    event = stream_event("message", payload.encode().replace(b"\\u0000", b"\xff"))
    assert event is not None and event.fields["quality"] == "\ufffd"  # the image still counts


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
    """131,072 chunks of a 32 MB line: each chunk's bytes are looked at once. A parser
    rescanning its buffer for every chunk looks at some 2 TB (the old one took 7 s for a
    20 MB line in 1 KB chunks); ``scanned`` is checked after every chunk, so a parser
    that rescans fails at its second chunk, not after minutes."""
    parser = EventParser()
    chunk = b"A" * 256
    assert parser.feed(b"data: ") == []
    fed = len(b"data: ")
    for _ in range(32 * 1024 * 4):
        assert parser.feed(chunk) == []
        fed += len(chunk)
        assert parser.scanned <= fed, "the parser rescans what it has already looked at"
    [(kind, data)] = parser.feed(b"\r\n\r\n")
    assert kind == "message" and len(data) == 32 * 1024 * 1024


def test_an_event_past_its_size_limit_is_refused_as_it_arrives() -> None:
    parser = EventParser(max_event_bytes=1000)
    # Two events of 600 bytes each are fine: the limit is per event.
    assert len(parser.feed((b"data: " + b"x" * 594 + b"\n\n") * 2)) == 2
    # Data lines add up, and the line still arriving (no newline yet) counts.
    with pytest.raises(iw.StreamIncompleteError, match="more than 1,000 bytes for a stream event"):
        parser.feed(b"data: " + b"x" * 594 + b"\ndata: " + b"y" * 500)
    endless = EventParser(max_event_bytes=1000)
    with pytest.raises(iw.StreamIncompleteError,
                       match="more than 1,000 bytes for a stream event") as caught:
        for _ in range(100):
            endless.feed(b"z" * 100)  # never a newline: refused at the chunk passing 1,000
    assert "Images API server" in str(caught.value)
    comments = EventParser(max_event_bytes=1000)  # comments do not add up: nothing is kept
    assert comments.feed(b": keep-alive\n" * 1000 + b"data: ok\n\n") == [("message", b"ok")]


def test_the_default_event_limit_holds_the_largest_real_image() -> None:
    """A 3840x2160 PNG of noise (RGBA, 33 MB, 44 MB as base64) fits one event."""
    from imagewidgets.api import transport as _http

    largest = 3840 * 2160 * 4 + 2160  # pixels and a filter byte per row: PNG at its worst
    assert largest * 4 // 3 + 1024 < _http.MAX_EVENT_BYTES == EventParser().max_event_bytes
    assert largest * 4 // 3 + 1024 < _http.MAX_ANSWER_BYTES_PER_IMAGE
    assert largest < _http.MAX_DOWNLOAD_BYTES
    assert _http.Limits().answer(10) == 10 * _http.MAX_ANSWER_BYTES_PER_IMAGE


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


@pytest.mark.parametrize("payload", [
    {"type": "image_generation.completed", "b64_json": B64, "usage": {"input_tokens": 3}},
    {"type": "image_generation.partial_image", "partial_image_index": 1, "b64_json": B64,
     "extra": {"b64_json": "nested"}},  # a second b64_json: read the plain way
], ids=["one", "nested-second"])
def test_an_event_read_from_bytes_is_the_event_read_from_text(payload: dict[str, Any]) -> None:
    """The image is decoded from the event's bytes (no string of its base64): same event."""
    text = json.dumps(payload, indent=1)
    from_bytes, from_text = stream_event("message", text.encode()), stream_event("message", text)
    assert from_bytes is not None and from_text is not None
    assert (from_bytes.final, from_bytes.data, from_bytes.partial_index, from_bytes.usage,
            from_bytes.fields) == (from_text.final, from_text.data, from_text.partial_index,
                                   from_text.usage, from_text.fields)
