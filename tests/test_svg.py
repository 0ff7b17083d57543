"""An SVG's safe copy: what a drawing needs is kept, whole; what cannot be checked is refused."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ElementTree

import pytest

from imagewidgets.errors import ImageDecodeError
from imagewidgets.imaging import MAX_SVG_BYTES, inspect, sanitise_svg
from imagewidgets.imaging.svg import MAX_REMOVED

from samples import LAUGHS, PNG, SVG

NS = "http://www.w3.org/2000/svg"
# What a generator's SVG holds: paint servers, filters, clip paths, CSS by class, reuse, text,
# a raster picture, animation of a colour. Every reference is to a fragment of the file itself.
DRAWING = f"""<svg xmlns="{NS}" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="100"
 viewBox="0 0 200 100"><title>A lighthouse &amp; "sea" &lt;at dusk&gt;</title>
<style>.sea {{ fill: url(#waves); stroke: rgb(0, 40, 80) }} #beam:not(.off) {{ opacity: .8 }}</style>
<defs><linearGradient id="waves" gradientTransform="rotate(90)"><stop offset="0" stop-color="#036"/>
<stop offset="1" stop-color="#0af"/></linearGradient>
<filter id="glow"><feGaussianBlur stdDeviation="2" result="b"/><feMerge><feMergeNode in="b"/>
<feMergeNode in="SourceGraphic"/></feMerge></filter>
<clipPath id="c"><circle cx="50" cy="50" r="40"/></clipPath><path id="tower" d="M0 0 L10 40 H-10 Z"/></defs>
<rect class="sea" y="60" width="200" height="40"/>
<g transform="translate(100 20)" filter="url(#glow)" clip-path="url('#c')"><use href="#tower"/>
<use xlink:href="#tower" x="30"/></g>
<image href="data:image/png;base64,{base64.b64encode(PNG).decode()}" width="8" height="8"/>
<text x="5" y="95" font-family="'Open Sans', sans-serif" xml:space="preserve">Ahoy  there</text>
<circle id="beam" r="3" style="fill: hsl(50, 100%, 50%)"><animate attributeName="fill"
 values="yellow;orange;yellow" dur="2s" repeatCount="indefinite"/></circle>
<a href="#beam"><text y="10">beam</text></a></svg>""".encode()


def _tags(data: bytes) -> list[str]:
    return [element.tag.removeprefix(f"{{{NS}}}") for element in ElementTree.fromstring(data).iter()]


def test_a_drawing_loses_nothing_and_stays_the_same_size() -> None:
    safe = sanitise_svg(DRAWING)
    assert safe.removed == ()
    assert _tags(safe.data) == _tags(DRAWING)
    assert inspect(safe.data) == inspect(DRAWING) == ("svg", 200, 100)
    root = ElementTree.fromstring(safe.data)
    assert root.findtext(f"{{{NS}}}title") == 'A lighthouse & "sea" <at dusk>'
    assert "url(#waves)" in (root.findtext(f"{{{NS}}}style") or "")
    text = root.find(f".//{{{NS}}}text")
    assert text is not None and text.text == "Ahoy  there"
    assert text.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    assert sanitise_svg(safe.data) == safe  # a safe copy is its own safe copy


def test_the_samples_svg_keeps_its_picture() -> None:
    safe = sanitise_svg(SVG)  # a BOM, an XML declaration and a comment before the root
    assert safe.removed == () and _tags(safe.data) == ["svg", "rect"]


def test_a_doctype_is_refused_so_no_entity_expands() -> None:
    with pytest.raises(ValueError, match="DOCTYPE"):
        sanitise_svg(LAUGHS)
    internal = f'<svg xmlns="{NS}"><text>&undefined;</text></svg>'.encode()
    with pytest.raises(ValueError, match=r"not well-formed XML.*undefined entity"):
        sanitise_svg(internal)


@pytest.mark.parametrize("data, why", [
    (b"<html><script>alert(1)</script></html>", "root element is 'html'"),
    (b'<svg xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></svg>', "namespace"),
    (f'<svg xmlns="{NS}"><g></svg>'.encode(), "not well-formed XML"),
], ids=["html", "xhtml-svg", "unclosed"])
def test_what_is_not_an_svg_document_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sanitise_svg(data)


def test_input_is_bounded_before_it_is_parsed() -> None:
    huge = f'<svg xmlns="{NS}">'.encode() + b" " * MAX_SVG_BYTES + b"</svg>"
    with pytest.raises(ImageDecodeError, match="limit"):
        sanitise_svg(huge)
    with pytest.raises(ImageDecodeError, match="UTF-8"):
        sanitise_svg(f'<svg xmlns="{NS}"><title>\xff</title></svg>'.encode("latin-1"))


def test_the_list_of_removals_is_bounded() -> None:
    many = "".join(f"<x{index}/>" for index in range(MAX_REMOVED * 3))
    safe = sanitise_svg(f'<svg xmlns="{NS}">{many}</svg>'.encode())
    assert len(safe.removed) == MAX_REMOVED
    assert safe.removed[-1] == f"and {MAX_REMOVED * 2 + 1} more kinds"


def test_removals_are_named_once_each_in_order() -> None:
    data = (f'<svg xmlns="{NS}" onload="a()"><script>1</script><script>2</script>'
            '<circle onclick="b()" fill="url(http://example.invalid/#g)"/>'
            '<image href="data:image/svg+xml,x"/></svg>').encode()
    assert sanitise_svg(data).removed == ("onload", "<script>", "onclick", "fill=external url()",
                                          "href=data: URL")
