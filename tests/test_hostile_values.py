"""Hostile values: an SVG that would run or fetch when opened from the folder, prices no source
gives, usage that hides what the input cost, and comparison axes that are no values at all."""

from __future__ import annotations

import base64
import html
import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets import spending
from imagewidgets.emulator import EmulatorServer
from imagewidgets.errors import ParamsError
from imagewidgets.imaging import SafeSvg, inspect, sanitise_svg
from imagewidgets.imaging.contact_sheet import SHEET_LABEL_WIDTH, SHEET_TITLE_HEIGHT
from imagewidgets.results import GeneratedImage
from imagewidgets.storage import ImageStore, sidecar_record

from hostile import Hostile
from samples import PNG

SVG_NS = "http://www.w3.org/2000/svg"
PIXEL = base64.b64encode(PNG).decode()
KEPT = '<rect id="kept" width="64" height="48" fill="teal"/>'


def _svg(inside: str, *, root: str = "") -> bytes:
    return (f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="64" height="48"{root}>{KEPT}{inside}</svg>').encode()


# Each would run a script, or fetch from example.invalid / a file, if opened in a browser.
# Every one says alert(1) or example.invalid (or reads a local file): neither may survive.
CONSTRUCTS: dict[str, bytes] = {
    "script": _svg("<script>alert(1)</script>"),
    "script-cdata": _svg("<script><![CDATA[ alert(1) ]]></script>"),
    "xhtml-script": _svg('<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>'),
    "script-in-metadata": _svg('<metadata><h:script xmlns:h="http://www.w3.org/1999/xhtml">'
                               "alert(1)</h:script></metadata>"),
    "handler-element": _svg('<handler type="application/ecmascript">alert(1)</handler>'),
    "onload-root": _svg("", root=' onload="alert(1)"'),
    "onclick": _svg('<circle r="5" onclick="alert(1)"/>'),
    "onbegin-animate": _svg('<animate attributeName="x" dur="1s" onbegin="alert(1)"/>'),
    "a-javascript": _svg('<a href="javascript:alert(1)"><text>go</text></a>'),
    "a-xlink-obfuscated": _svg('<a xlink:href=" jav&#x09;asCRIPT:alert(1)"><text>go</text></a>'),
    "a-external": _svg('<a href="https://example.invalid/phish"><text>go</text></a>'),
    "set-href": _svg('<a href="#kept"><set attributeName="href" to="javascript:alert(1)"/>'
                     "<text>go</text></a>"),
    "set-handler": _svg('<set attributeName="onmouseover" to="alert(1)"/>'),
    "animate-values": _svg('<a href="#kept"><animate attributeName="href" '
                           'values="#kept;javascript:alert(1)"/><text>go</text></a>'),
    "foreignObject": _svg('<foreignObject width="9" height="9"><iframe xmlns="http://www.w3.org/1999/xhtml" '
                          'src="https://example.invalid/"/></foreignObject>'),
    "image-http": _svg('<image href="http://example.invalid/x.png" width="9" height="9"/>'),
    "image-file": _svg('<image href="file:///etc/passwd" width="9" height="9"/>'),
    "image-data-html": _svg('<image href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==" '
                            'width="9" height="9"/>'),
    "image-data-svg": _svg('<image xlink:href="data:image/svg+xml,&lt;svg onload=alert(1)&gt;" '
                           'width="9" height="9"/>'),
    "use-external": _svg('<use href="https://example.invalid/sprite.svg#a"/>'),
    "use-data": _svg('<use href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+#a"/>'),
    "textPath-external": _svg('<text><textPath href="https://example.invalid/p.svg#p">t</textPath></text>'),
    "pattern-external": _svg('<pattern id="p" href="https://example.invalid/p.svg#q"/>'),
    "feImage": _svg('<filter id="f"><feImage href="https://example.invalid/x.png"/></filter>'),
    "fill-url": _svg('<circle r="5" fill="url(https://example.invalid/g.svg#g)"/>'),
    "clip-path-url": _svg("<circle r=\"5\" clip-path=\"url('https://example.invalid/c.svg#c')\"/>"),
    "style-attr-url": _svg('<circle r="5" style="fill: url(https://example.invalid/x.svg#g)"/>'),
    "style-import": _svg("<style>@import url(https://example.invalid/x.css);</style>"),
    "style-font-face": _svg("<style>@font-face { font-family: f; src: url(https://example.invalid/f.woff) }"
                            "</style>"),
    "style-escape": _svg("<style>rect { fill: \\75 rl(https://example.invalid/x) }</style>"),
    "style-image-set": _svg('<style>rect { background: image-set("https://example.invalid/x.png" 1x) }'
                            "</style>"),
    "style-unclosed-url": _svg("<style>rect { fill: url(#kept) } circle { fill: url(https://example.invalid/"
                               "</style>"),
    "xml-base": _svg('<g xml:base="https://example.invalid/"><use href="#kept"/></g>'),
    # Before the root, the client already refuses it (the root must come first); inside, dropped.
    "xml-stylesheet": _svg('<?xml-stylesheet href="https://example.invalid/x.css"?>'),
    "iframe-svg-ns": _svg('<iframe src="https://example.invalid/"/>'),
}


def _image(data: bytes, prompt: str = "A lighthouse") -> GeneratedImage:
    fmt, width, height = inspect(data)
    return GeneratedImage(data=data, format=fmt, width=width, height=height,
                          params={"model": "gpt-image-2.6-flare", "prompt": prompt, "output_format": "svg"})


def _assert_safe(saved: bytes) -> None:
    """What a user's browser would find in the file: nothing that runs or fetches."""
    # The settings the store embeds are text in our own <metadata>: the removals are named there.
    text = re.sub(r'<metadata id="imagewidgets">[^<]*</metadata>', "", saved.decode("utf-8"))
    for word in ("alert(1)", "example.invalid", "file:", "javascript", "<script", "foreignObject"):
        assert word.lower() not in text.lower(), word
    root = ElementTree.fromstring(saved)  # our own output: no DOCTYPE, nothing to expand
    for element in root.iter():
        assert element.tag.startswith(f"{{{SVG_NS}}}"), element.tag
        for name in element.attrib:
            assert not name.lower().startswith("on"), name
    assert root.find(f".//{{{SVG_NS}}}rect[@id='kept']") is not None  # the picture is still there
    assert inspect(saved)[1:] == (64, 48)


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_a_hostile_svg_construct_does_not_survive_in_the_saved_file(tmp_path: Path, name: str) -> None:
    data = CONSTRUCTS[name]
    image = _image(data)
    saved = ImageStore(tmp_path).save(image, sidecar_record(image, cost=None, estimated=None,
                                                           seconds=None, server=None))
    _assert_safe(saved.path.read_bytes())
    sidecar = json.loads(saved.sidecar.read_text("utf-8"))
    assert sidecar["svg_sanitised"], "what was removed is said"
    assert sidecar["bytes"] == len(data) and image.data == data  # the exact bytes stay in memory
    copy = image.save(tmp_path / "exact.svg")  # and are written when asked for
    assert copy.read_bytes() == data


async def test_an_svg_from_a_server_is_saved_safe_and_the_sidecar_says_what_went(
        hostile: Hostile, tmp_path: Path) -> None:
    data = _svg('<script>alert(1)</script><image href="http://example.invalid/x.png"/>',
                root=' onload="alert(1)"')
    hostile.answer = lambda path, headers: (200, {}, json.dumps({
        "created": 1, "output_format": "svg",
        "data": [{"b64_json": base64.b64encode(data).decode()}]}).encode())
    async with iw.ImagesClient(api_key="sk-test-values", base_url=hostile.url, max_retries=0) as client:
        panel = iw.ImagePanel(client=client, store=tmp_path, params=iw.ImageParams(
            model="gpt-image-2.6-flare", prompt="A lighthouse", output_format="svg"))
        spending.SESSION.allow_unpriced = True  # an SVG has no known price (see below)
        (tile,) = await panel.generate()
    assert tile.status == "done" and tile.saved is not None
    _assert_safe(tile.saved.path.read_bytes())
    sidecar = json.loads(tile.saved.sidecar.read_text("utf-8"))
    assert sidecar["svg_sanitised"] == ["onload", "<script>", "href=external reference"]
    # Saved, the kernel keeps no bytes: the result reads the safe copy back from the file.
    assert tile.result is not None and tile.result.data == tile.saved.path.read_bytes()
    panel.close()


async def test_an_svg_the_emulator_makes_is_saved_whole(client: iw.ImagesClient, tmp_path: Path) -> None:
    """No false alarm: a generator's ordinary SVG loses nothing, and a prompt full of markup
    stays text in its title."""
    prompt = 'A <script>alert(1)</script> "lighthouse" & onload=x'
    panel = iw.ImagePanel(client=client, store=tmp_path, params=iw.ImageParams(
        model="gpt-image-2.6-flare", prompt=prompt, output_format="svg"))
    spending.SESSION.allow_unpriced = True
    (tile,) = await panel.generate()
    assert tile.saved is not None and tile.result is not None
    sidecar = json.loads(tile.saved.sidecar.read_text("utf-8"))
    assert sidecar["svg_sanitised"] == []
    saved = ElementTree.fromstring(tile.saved.path.read_bytes())
    raw = await client.generate(panel.params.to_request())  # the same picture, as the server sent it
    sent = ElementTree.fromstring(raw.images[0].data)
    assert [element.tag for element in saved.iter() if element.get("id") != "imagewidgets"] == \
        [element.tag for element in sent.iter()]
    assert saved.findtext(f"{{{SVG_NS}}}title") == prompt
    panel.close()


def test_an_svg_that_cannot_be_parsed_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    data = f'<svg xmlns="{SVG_NS}" width="64" height="48"><g><script>alert(1)</script></svg>'.encode()
    image = _image(data)  # its root tag and end pass the text checks
    with pytest.raises(ValueError, match="not well-formed XML"):
        ImageStore(tmp_path).save(image, {})
    assert list(tmp_path.iterdir()) == []


# -- prices: unknown where no source gives one, and unknown all the way through ---------------

@pytest.mark.parametrize("fmt", ["gif", "svg"])
async def test_a_gif_or_svg_under_a_budget_is_refused_naming_allow_unpriced(
        client: iw.ImagesClient, server: EmulatorServer, fmt: str) -> None:
    params = iw.ImageParams(model="gpt-image-2.6-sunburst", prompt="A lighthouse", output_format=fmt)
    assert params.estimate() is None
    before = server.request_count
    panel = iw.ImagePanel(client=client, params=params, store=None, budget=5.0)
    assert await panel.generate() == []
    message = html.unescape(panel.status.value)
    assert "the price of this request is unknown" in message
    assert "panel.spending.allow_unpriced = True" in message
    spending.SESSION.budget = 5.0
    with pytest.raises(iw.BudgetExceededError, match=r"iw\.spending\.SESSION\.allow_unpriced = True"):
        iw.generate("A lighthouse", model="gpt-image-2.6-sunburst", output_format=fmt, store=None)
    assert server.request_count == before  # nothing was sent
    panel.close()


async def test_an_allowed_gif_is_billed_as_unknown_not_as_a_guess(
        client: iw.ImagesClient, tmp_path: Path) -> None:
    panel = iw.ImagePanel(client=client, store=tmp_path, budget=5.0, params=iw.ImageParams(
        model="gpt-image-2.6-sunburst", prompt="A lighthouse", output_format="gif", frame_count=3))
    panel.spending.allow_unpriced = spending.SESSION.allow_unpriced = True
    (tile,) = await panel.generate()
    assert tile.status == "done" and tile.result is not None and tile.result.usage is not None
    assert tile.cost is None and tile.result.cost() is None  # the server reported usage: still unknown
    assert panel.spending.emulated == 0 and panel.spending.reserved == 0
    assert tile.saved is not None
    cost = json.loads(tile.saved.sidecar.read_text("utf-8"))["cost"]
    assert cost["estimated"] is None and cost["actual"] is None
    assert "$" not in tile.caption  # no price shown that is not one
    panel.close()


@pytest.mark.parametrize("details", [None, {}, {"text_tokens": 10}])
async def test_input_tokens_without_their_split_are_unknown_not_free(
        hostile: Hostile, details: dict[str, int] | None) -> None:
    usage: dict[str, Any] = {"input_tokens": 400, "output_tokens": 272, "total_tokens": 672}
    if details is not None:
        usage["input_tokens_details"] = details
    hostile.answer = lambda path, headers: (200, {}, json.dumps({
        "created": 1, "data": [{"b64_json": PIXEL}], "usage": usage}).encode())
    async with iw.ImagesClient(api_key="sk-test-values", base_url=hostile.url, max_retries=0) as client:
        panel = iw.ImagePanel(client=client, store=None, params=iw.ImageParams(
            model="gpt-image-2", prompt="A lighthouse", quality="low", size="1024x1024"))
        (tile,) = await panel.generate()
    assert tile.status == "done" and tile.result is not None
    assert tile.cost is None and tile.result.cost() is None
    output_only = 272 * 30 / 1e6  # what it was priced as: input free
    assert f"${output_only:.3f}" not in tile.caption
    panel.close()


# -- axes: a value that is no value -------------------------------------------------------------

@pytest.mark.parametrize("value", [["1024x1024"], {"size": "1024x1024"}, {"1024x1024"},
                                   bytearray(b"1024x1024"), ("1024x1024",), None],
                         ids=["list", "dict", "set", "bytearray", "tuple", "none"])
def test_an_axis_value_that_is_no_value_is_a_params_error_naming_it(value: Any) -> None:
    with pytest.raises(ParamsError) as raised:
        iw.CompareGrid("A lighthouse", rows=("size", [value]), columns=("quality", ["low"]))
    message = str(raised.value)
    assert message.startswith("rows: size value ") and repr(value) in message
    assert "flat list of values" in message and "1024x1024" in message  # what is allowed


def test_compare_with_a_nested_model_list_names_the_model_axis() -> None:
    with pytest.raises(ParamsError, match=r"rows: model value \['gpt-image-2'\] is a list"):
        iw.compare("A lighthouse", models=[["gpt-image-2"]], qualities=["low"])
    with pytest.raises(ParamsError, match=r"columns: quality value \['low'\] is a list"):
        iw.compare("A lighthouse", models=["gpt-image-2"], qualities=[["low"]])
    with pytest.raises(ParamsError, match=r"rows field must be a field's name.*got \['size'\]"):
        iw.CompareGrid("A lighthouse", rows=(["size"], ["1024x1024"]))


# -- the contact sheet: an SVG's square says what it is --------------------------------------------

async def test_a_contact_sheet_labels_an_svg_cell_instead_of_leaving_it_blank(
        client: iw.ImagesClient) -> None:
    spending.SESSION.allow_unpriced = True
    grid = iw.CompareGrid("A lighthouse", rows=("model", ["gpt-image-2.6-flare"]),
                          columns=("output_format", ["svg"]), client=client, store=None)
    await grid.run()
    (cell,) = grid.cells
    assert cell.status == "done"
    sheet = grid.contact_sheet(image_size=128)
    top = SHEET_TITLE_HEIGHT + 60
    square = sheet.crop((SHEET_LABEL_WIDTH + 4, top + 4, SHEET_LABEL_WIDTH + 132, top + 132))
    greys = square.convert("L")
    assert greys.getextrema()[1] > 200  # a light box
    ink = greys.point(lambda value: 255 if value < 150 else 0).getbbox()
    assert ink is not None  # with words in it, not a blank
    left, upper, right, lower = ink
    assert lower - upper > 30 and right - left > 80  # two lines: "SVG: open the" / "file"
    grid.close()


def test_the_safe_copy_repr_is_cheap_and_names_what_went() -> None:
    safe = sanitise_svg(CONSTRUCTS["onload-root"])
    assert isinstance(safe, SafeSvg) and re.fullmatch(r"SafeSvg\([\d,]+ bytes, removed=\['onload'\]\)",
                                                     repr(safe))
