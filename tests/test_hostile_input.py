"""Hostile or broken input, from the server and from the user: what a user sees is our error,
never a raw Python one, and a good image is never lost over a bad bookkeeping field."""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as widgets
import pytest
from traitlets import TraitError

import imagewidgets as iw
from imagewidgets.api import answers as _answers
from imagewidgets.api.answers import answer_image, parse_answer, stream_event
from imagewidgets.api.body import request_body
from imagewidgets.api.sse import EventStream
from imagewidgets.emulator.validation import Refusal, validate
from imagewidgets.models import ModelSpec, image_cost, parse_size
from imagewidgets.results import GeneratedImage
from imagewidgets.ui.controls import Controls
from imagewidgets.ui.tile import ImageTile

from hostile import B64, PNG

BODY = {"model": "gpt-image-1", "prompt": "A fox", "quality": "low", "size": "1024x1024"}


def _answer(item: dict[str, Any] | None = None, **top: Any) -> bytes:
    return json.dumps({"created": 1_795_000_000, "data": [{"b64_json": B64, **(item or {})}],
                       **top}).encode()


def _image(raw: bytes) -> GeneratedImage:
    answer = parse_answer(raw)
    return answer_image(answer, 0, PNG, ("png", 1024, 1024), BODY, 0)


# -- wrong types from the server: bookkeeping fields are unknown, the image is kept -------------

ESTIMATE = image_cost("gpt-image-1", "low", "1024x1024")  # no usage: output tokens alone


@pytest.mark.parametrize(
    "usage",
    ["lots", [1, 2], {"input_tokens": "abc", "output_tokens": 272}, {"output_tokens": -272},
     {"output_tokens": True}, {"output_tokens": 272.5}, {"output_tokens": [272]},
     {"output_tokens": 272, "input_tokens_details": {"text_tokens": 10**400}},
     {"output_tokens": 10**30}],
    ids=["text", "list", "letters", "negative", "bool", "fraction", "list-count", "huge-detail",
         "implausible"])
def test_a_malformed_usage_is_unknown_and_the_image_kept(usage: Any) -> None:
    image = _image(_answer(usage=usage))
    assert image.data == PNG and image.usage is None
    # Unknown usage: the cost is the estimate, never $0, a negative sum or an OverflowError.
    assert ESTIMATE and image.cost() == pytest.approx(ESTIMATE)


def test_a_well_formed_usage_is_still_read() -> None:
    usage = {"input_tokens": 12, "output_tokens": 272.0, "total_tokens": "284"}
    assert _image(_answer(usage=usage)).usage == iw.Usage(12, 272, 284)


@pytest.mark.parametrize("created", ["yesterday", [1], True, -10**15, 10**30, 1e300],
                         ids=["text", "list", "bool", "far-past", "far-future", "float-huge"])
def test_a_malformed_created_is_unknown_and_the_image_can_be_saved(created: Any,
                                                                    tmp_path: Path) -> None:
    answer = parse_answer(_answer(created=created))
    assert answer.created == 0
    image = answer_image(answer, 0, PNG, ("png", 16, 16), BODY, 0)
    assert abs(image.created - time.time()) < 60  # unknown: the time it arrived
    assert image.save(tmp_path).read_bytes() == PNG  # its file name holds a real date


def test_a_completed_event_with_malformed_bookkeeping_keeps_its_image() -> None:
    event = stream_event("message", json.dumps({
        "type": "image_generation.completed", "b64_json": B64, "usage": "x",
        "created_at": 10**30}))
    assert event is not None and event.final and event.data == PNG
    assert event.usage is None and event.created == 0


def _partial(index: Any) -> bytes:
    payload = {"type": "image_generation.partial_image", "b64_json": B64, "partial_image_index": index}
    return f"data: {json.dumps(payload)}\n\n".encode()


def test_a_malformed_partial_index_counts_the_partials_so_far() -> None:
    events = EventStream()
    events.feed(b"".join(_partial(index) for index in ("one", [1], -3, 10**30, 4)))
    indexes = []
    while (event := events.next()) is not None:
        assert not event.final and event.data == PNG  # every partial image is shown
        indexes.append(event.partial_index)
    assert indexes == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("raw", "field", "got"),
    [
        (json.dumps({"data": {"b64_json": "abc"}}), "data", "{'b64_json': 'abc'}"),
        (json.dumps({"data": "images"}), "data", "'images'"),
        (json.dumps({"data": [3]}), "data[0]", "3"),
        (json.dumps({"data": [{"b64_json": B64}, None]}), "data[1]", "None"),
        (json.dumps({"data": [{"url": 5}]}), "data[0].url", "5"),
        (json.dumps({"data": [{"b64_json": ["abc"]}]}), "data[0].b64_json", "['abc']"),
        (json.dumps({"data": [{"b64_json": 12}]}), "data[0].b64_json", "12"),
    ],
    ids=["data-object", "data-text", "entry-number", "entry-null", "url-number", "b64-list",
         "b64-number"])
def test_wrong_types_in_an_answer_name_the_field_and_what_came(raw: str, field: str, got: str) -> None:
    with pytest.raises(iw.APIError) as caught:
        parse_answer(raw.encode())
    message = str(caught.value)
    assert "malformed" in message and f"{field} is {got}" in message


@pytest.mark.parametrize(
    ("payload", "field", "got"),
    [
        ({"type": 5, "b64_json": B64}, "type", "5"),
        ({"type": ["image_generation.completed"], "b64_json": B64}, "type",
         "['image_generation.completed']"),
        ({"type": "image_generation.completed", "b64_json": {"png": 1}}, "b64_json", "{'png': 1}"),
    ],
    ids=["type-number", "type-list", "b64-object"])
def test_wrong_types_in_a_stream_event_name_the_field_and_what_came(
        payload: dict[str, Any], field: str, got: str) -> None:
    with pytest.raises(iw.APIError) as caught:
        stream_event("message", json.dumps(payload))
    message = str(caught.value)
    assert "malformed" in message and f"{field} is {got}" in message


def test_a_malformed_value_is_shown_short_and_escaped() -> None:
    hostile = "\x1b[31m\u202e<b>" + "A" * 1_000_000 + "\ud800"
    with pytest.raises(iw.APIError) as caught:
        parse_answer(json.dumps({"data": hostile}).encode())
    message = str(caught.value)
    assert len(message) < 400
    assert "\x1b" not in message and "\u202e" not in message and "\\x1b" in message
    message.encode("utf-8")  # no lone surrogate either: it can be logged and shown anywhere


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
                         ids=["unclosed", "deep"])
def test_deeply_nested_json_is_an_api_error(raw: bytes) -> None:
    with pytest.raises(iw.APIError, match="not valid JSON"):
        parse_answer(raw)
    with pytest.raises(iw.APIError, match="not valid JSON"):
        stream_event("message", raw.decode())


def test_server_text_with_a_lone_surrogate_is_made_encodable() -> None:
    image = _image(_answer({"revised_prompt": "A fox \ud800 at dusk"}))
    assert image.revised_prompt == "A fox \ufffd at dusk"
    image.revised_prompt.encode("utf-8")  # a sidecar, a widget message, a log line take it


# -- the same through ImagesClient on a mock transport ----------------------------------------


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[iw.ImagesClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return iw.ImagesClient(api_key="sk-hostile", base_url="https://api.test/v1", http_client=http,
                           allow_retired=True), http


async def test_through_the_client_bad_bookkeeping_keeps_the_image(tmp_path: Path) -> None:
    raw = _answer(usage={"input_tokens": "abc"}, created="yesterday")
    client, http = _client(lambda request: httpx.Response(200, content=raw))
    try:
        result = await client.generate(iw.ImageParams(**BODY))
    finally:
        await http.aclose()
    (image,) = result.images
    assert image.data == PNG and image.usage is None and result.usage is None
    assert image.save(tmp_path).exists()


async def test_through_the_client_a_stream_with_bad_bookkeeping_keeps_its_images() -> None:
    completed = {"type": "image_generation.completed", "b64_json": B64, "usage": [1],
                 "created_at": "yesterday"}
    body = _partial("one") + _partial(None) + f"data: {json.dumps(completed)}\n\n".encode()
    client, http = _client(lambda request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body))
    try:
        events = [event async for event in client.stream(iw.ImageParams(
            **BODY, stream=True, partial_images=2))]
    finally:
        await http.aclose()
    assert [type(event).__name__ for event in events] == ["PartialImage", "PartialImage",
                                                          "GeneratedImage"]
    assert [event.partial_index for event in events[:2]] == [0, 1]
    assert events[2].usage is None and abs(events[2].created - time.time()) < 60


async def test_through_the_client_a_malformed_answer_is_an_api_error() -> None:
    raw = json.dumps({"created": 1, "data": {"url": "https://x"}}).encode()
    client, http = _client(lambda request: httpx.Response(200, content=raw))
    try:
        with pytest.raises(iw.APIError, match=r"malformed.*data is \{'url': 'https://x'\}"):
            await client.generate(iw.ImageParams(**BODY))
    finally:
        await http.aclose()


# -- bad input from the user --------------------------------------------------------------------


@pytest.mark.parametrize(("model", "allowed"), [("gpt-image-1", "from 1 to 10"),
                                                ("dall-e-3", "only 1")])
def test_n_true_says_it_got_a_bool_and_what_is_allowed(model: str, allowed: str) -> None:
    with pytest.raises(TraitError) as caught:
        iw.ImageParams(model=model, prompt="A fox", n=True)
    message = str(caught.value)
    assert "n got True (a bool)" in message and allowed in message and model in message
    with pytest.raises(iw.ParamsError, match=r"n got True \(a bool\)"):
        request_body({"model": model, "prompt": "A fox", "n": True}, {})


@pytest.mark.parametrize("size", ["١٠٢٤x١٠٢٤", "１０２４x１０２４", "1024x१०२४"],
                         ids=["arabic-indic", "fullwidth", "devanagari"])
@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-2"])
def test_a_size_in_digits_of_another_script_is_refused(size: str, model: str) -> None:
    assert parse_size(size) is None
    with pytest.raises(TraitError) as caught:
        iw.ImageParams(model=model, prompt="A fox", size=size)
    message = str(caught.value)
    assert f"size {size!r}" in message and "0-9" in message and "1024x1024" in message
    with pytest.raises(Refusal) as refused:
        validate({"model": model, "prompt": "A fox", "size": size})
    assert (refused.value.status, refused.value.param, refused.value.code) == (400, "size",
                                                                               "invalid_value")


@pytest.mark.parametrize(("fields", "name", "position"),
                         [({"prompt": "A fox \ud800"}, "prompt", 6),
                          ({"prompt": "A fox", "user": "user-\udc00"}, "user", 5)])
async def test_a_lone_surrogate_is_a_params_error_naming_field_and_position(
        fields: dict[str, Any], name: str, position: int) -> None:
    expected = rf"{name} holds a character that cannot be encoded \(U\+D[8C]00, at position {position}:"
    with pytest.raises(iw.ParamsError, match=expected):
        request_body({"model": "gpt-image-1", **fields}, {})
    if name == "prompt":  # a prompt is never refused as it is typed: problems() says it
        params = iw.ImageParams(model="gpt-image-1", **fields)
        assert any(problem.startswith("prompt holds") for problem in params.problems())
        with pytest.raises(iw.ParamsError, match=expected):
            params.to_request()
    client, http = _client(lambda request: httpx.Response(200, content=_answer()))
    try:
        with pytest.raises(iw.ParamsError, match=expected):  # never a UnicodeEncodeError
            await client.generate({"model": "gpt-image-1", **fields})
    finally:
        await http.aclose()


# -- markup and size from the server or the table, in the UI ---------------------------------------

MARKUP = "<img src=x onerror=alert(1)>"


def _html_values(root: widgets.Widget) -> list[str]:
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        if isinstance(widget, widgets.HTML):
            found.append(widget.value)
        todo.extend(getattr(widget, "children", ()))
    return found


def test_a_model_name_with_markup_is_escaped_in_the_controls(registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-2", name=MARKUP))
    params = iw.ImageParams(model=MARKUP, prompt="A fox " * 10_000, size="1024x1024")
    controls = Controls(params)
    try:
        controls.custom_size.text.value = "1000x1000"  # not a multiple of 16: explained
        shown = [*_html_values(controls), controls.count.value, controls.custom_size.message.value]
        assert any("&lt;img src=x onerror=alert(1)&gt;" in value for value in shown)
        assert not any(MARKUP in value for value in shown)
    finally:
        controls.close()


async def test_a_model_name_with_markup_is_escaped_in_a_tile(registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-2", name=MARKUP))
    tile = ImageTile(iw.ImageParams(model=MARKUP, prompt="A fox"), label=MARKUP)
    try:
        await tile.show(GeneratedImage(data=PNG, format="png", width=8, height=8,
                                       params={"model": MARKUP, "prompt": "A fox"},
                                       revised_prompt=MARKUP))
        # What the browser sets as HTML is escaped; the label and alt are set as text.
        assert not any(MARKUP in value for value in (tile.caption, tile.save_note, tile.reuse_note))
        assert "&lt;img" in tile.caption and tile.label == MARKUP
    finally:
        tile.close()


async def test_a_huge_revised_prompt_is_cut_in_the_caption_and_kept_whole() -> None:
    revised = "<b>" + "A lighthouse at dusk. " * 1_000_000  # 22 MB
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="A lighthouse"))
    try:
        await tile.show(GeneratedImage(data=PNG, format="png", width=8, height=8,
                                       params=BODY, revised_prompt=revised))
        caption = tile.caption
        assert len(caption) < 2_000 and "&lt;b&gt;A lighthouse" in caption
        assert f"{len(revised):,} characters" in caption and "tile.result.revised_prompt" in caption
        assert tile.result is not None and tile.result.revised_prompt == revised
    finally:
        tile.close()


def test_a_huge_error_message_is_cut_in_the_caption_and_kept_whole() -> None:
    error = iw.APIError("<script>" + "x" * 20_000_000, status=500)
    tile = ImageTile(iw.ImageParams(model="gpt-image-1", prompt="A lighthouse"))
    try:
        tile.fail(error)
        caption = tile.caption
        assert len(caption) < 2_000 and "&lt;script&gt;" in caption and "<script>" not in caption
        assert "tile.error" in caption and tile.error is error
    finally:
        tile.close()


# -- answers read with their images cut out of the text: exactly what json.loads gives --------

ALL_BYTES = base64.b64encode(bytes(range(256))).decode()  # holds "/" and "+"
OTHER = base64.b64encode(b"another picture").decode()


def _outcome(raw: bytes) -> tuple[Any, ...]:
    """What ``parse_answer`` makes of ``raw``: the answer's every part, or the error it raises."""
    try:
        answer = parse_answer(raw)
    except iw.ImagesError as error:
        return type(error), str(error)
    return ([(image.data, image.url, image.revised_prompt) for image in answer.images],
            answer.usage, answer.created, dict(answer.fields))


def _both_ways(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """``raw``'s outcome with images cut out, checked to be the plain ``json.loads`` outcome."""
    fast = _outcome(raw)
    with monkeypatch.context() as plain:
        plain.setattr(_answers, "_images_cut_out", lambda _raw: None)
        assert _outcome(raw) == fast, raw[:300]
    return fast


def _data(*items: str) -> bytes:
    return ('{"created": 1795000000, "data": [' + ", ".join(items) + '], "size": "1024x1024"}').encode()


@pytest.mark.parametrize("raw", [
    _data(f'{{"b64_json": "{B64}"}}'),
    _data(f'{{"b64_json": "{ALL_BYTES}", "revised_prompt": "a fox"}}', f'{{"b64_json": "{OTHER}"}}'),
    _data(f'{{"b64_json" \n:\t "{B64}"}}'),
    _data(f'{{"b64_json":"{B64}"}}'),
    f'{{"data":[{{"b64_json":"{B64}"}}],"usage":{{"output_tokens":272}}}}'.encode(),
    _data(f'{{"b64_json": "{B64}", "revised_prompt": "un renard \u00e0 l\'aube \u2014 \U0001f98a"}}'),
    _data(f'{{"revised_prompt": "b64_json", "b64_json": "{B64}", "note": "\\"b64_json\\": \\"x\\""}}'),
], ids=["one", "two", "spaces-around-colon", "compact", "usage", "non-ascii-text", "key-in-text"])
def test_an_answer_cut_out_is_read_as_json_loads_reads_it(raw: bytes,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert _answers._images_cut_out(raw) is not None  # the fast way was taken
    images, *_ = _both_ways(raw, monkeypatch)
    assert images[0][0] in (PNG, base64.b64decode(ALL_BYTES))


@pytest.mark.parametrize("raw", [
    _data(f'{{"b64_json": "{ALL_BYTES.replace("/", chr(92) + "/")}"}}'),  # escaped slashes: \/
    _data(f'{{"b64_json": "{B64[:40]}\\u0041{B64[40:]}"}}'),
    _data(f'{{"b64_json": "{OTHER}", "b64_json": "{B64}"}}'),  # json.loads keeps the last
    f'{{"data": [{{"b64_json": "{OTHER}"}}], "data": [{{"b64_json": "{B64}"}}]}}'.encode(),
    _data(f'{{"b64_json": "{B64}", "extra": {{"b64_json": "{OTHER}"}}}}'),
    _data(f'{{"b64_json": {{"b64_json": "{B64}"}}}}'),
    f'{{"b64_json": "{OTHER}", "data": [{{"b64_json": "{B64}"}}]}}'.encode(),
    _data(f'{{"x\\"b64_json": "{OTHER}", "b64_json": "{B64}"}}'),  # the key's text in another key
    _data(f'{{"revised_prompt": "\\\\", "b64_json": "{B64}"}}'),
    _data('{"b64_json": "", "url": "https://images.example/1.png"}'),
    _data('{"b64_json": NaN}'),
    (f'{{"created": NaN, "data": [{{"b64_json": "{B64}"}}]}}').encode(),
    (f'{{"created": Infinity, "data": [{{"b64_json": "{B64}"}}]}}').encode(),
    _data(f'{{"b64_json": "{B64}"}}', '{"b64_json": 12}'),
    _data(f'{{"b64_json": "{B64[:-4]}"}}'),  # not strict base64: its padding cut
    _data(f'{{"b64_json": "{B64[:20]} {B64[20:]}"}}'),
    _data(f'{{"b64_json": "{B64[:20]}\x01{B64[20:]}"}}'),  # a control character: not JSON
    _data(f'{{"b64_json": "{B64[:20]}\u00e9{B64[20:]}"}}'),
    _data(f'{{"b64_\\u006ason": "{B64}"}}'),  # the key spelled with an escape
    f'[{{"b64_json": "{B64}"}}]'.encode(),
    f'{{"data": {{"b64_json": "{B64}"}}}}'.encode(),
    f'{{"data": [{{"b64_json": "{B64}"}}]}} x'.encode(),
    f'{{"data": [{{"b64_json": "{B64}"}}]}}{{"data": 1}}'.encode(),
    b"\xef\xbb\xbf" + _data(f'{{"b64_json": "{B64}"}}'),  # a UTF-8 byte order mark
    _data(f'{{"b64_json": "{B64}"}}').decode().encode("utf-16"),
    _data(f'{{"b64_json": "{B64}"}}').decode().encode("utf-32-le"),
    _data(f'{{"b64_json": "{B64}", "revised_prompt": "\\ud800"}}'),
    _data(f'{{"revised_prompt": "{{\\"data\\": [{{\\"b64_json\\": \\"{OTHER}\\"}}]}}", '
          f'"b64_json": "{B64}"}}'),
], ids=["escaped-slashes", "unicode-escape", "duplicate-key", "duplicate-data", "nested",
        "b64-object", "top-level", "key-text-in-key", "escaped-backslash", "empty-with-url",
        "nan-value", "nan-elsewhere", "infinity-elsewhere", "second-a-number", "padding-cut",
        "space-inside", "control-character", "non-ascii-value", "escaped-key", "top-level-list",
        "data-object", "trailing-text", "two-documents", "bom", "utf-16", "utf-32",
        "lone-surrogate", "answer-in-text"])
def test_a_hostile_answer_reads_as_json_loads_reads_it(raw: bytes,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _both_ways(raw, monkeypatch)


def test_a_truncated_answer_reads_as_json_loads_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _data(f'{{"b64_json": "{B64}", "revised_prompt": "a fox"}}', f'{{"b64_json": "{OTHER}"}}')
    for end in [*range(0, 60), *range(len(raw) - 120, len(raw))]:
        _both_ways(raw[:end], monkeypatch)


def test_mangled_answers_read_as_json_loads_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotes, backslashes, colons and spaces put in or taken out anywhere: no other outcome."""
    raw = _data(f'{{"b64_json": "{OTHER}", "revised_prompt": "a \\"fox\\""}}',
                f'{{"b64_json" : "{ALL_BYTES}"}}')
    chance = random.Random(14)
    for _ in range(400):
        mangled = bytearray(raw)
        for _ in range(chance.randint(1, 3)):
            at = chance.randrange(len(mangled))
            if chance.random() < 0.5:
                del mangled[at]
            else:
                mangled[at:at] = chance.choice([b'"', b"\\", b":", b" ", b"{", b"}", b'"b64_json":"'])
        _both_ways(bytes(mangled), monkeypatch)


def _inspected(data: bytes) -> tuple[Any, ...]:
    try:
        return iw.imaging.inspect(data)
    except iw.ImagesError as error:
        return type(error), str(error)


def test_a_png_read_without_pillow_reads_as_pillow_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every byte of the header chunk, the next chunk's type and the end marker changed, the
    image cut or grown: the plain PNG's quick reading gives what Pillow's does."""
    def both(data: bytes) -> None:
        quick = _inspected(data)
        with monkeypatch.context() as plain:
            plain.setattr(iw.imaging.untrusted, "_plain_png", lambda _data: None)
            assert _inspected(data) == quick, data[:45]

    assert iw.imaging.untrusted._plain_png(PNG) is not None and _inspected(PNG)[0] == "png"
    for at in [*range(45), *range(len(PNG) - 12, len(PNG))]:
        for value in (0, 1, 0x7F, 0xFF, PNG[at] ^ 0x01, PNG[at] ^ 0x80):
            both(PNG[:at] + bytes([value]) + PNG[at + 1:])
    for end in (8, 16, 29, 33, 41, len(PNG) - 1):
        both(PNG[:end])
    both(PNG + b"\x00")
    for at in range(16, 29):  # the header's fields, its checksum made right: sizes, modes, filter
        for value in (0, 1, 2, 3, 4, 6, 8, 16, 0x40, 0xFF):
            header = PNG[12:at] + bytes([value]) + PNG[at + 1:29]
            both(PNG[:12] + header + zlib.crc32(header).to_bytes(4, "big") + PNG[33:])
