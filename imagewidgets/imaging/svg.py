"""SVG made safe to open: the copy written to disk keeps only known-safe elements and attributes.

An SVG opened directly (from a folder, as ``file://``) is a document a browser
runs: its ``<script>``, ``onload`` and ``javascript:`` links run, and its
external references are fetched. Shown in an ``<img>`` (the tile, the
gallery) none of that happens; saved, it would. So :func:`sanitise_svg` keeps
what an allow-list names and drops the rest, saying what it dropped:

- elements: SVG shapes, text, paint servers, filters, clipping, markers and
  SMIL animation of presentation attributes; anything else (``script``,
  ``foreignObject``, ``iframe``, any other namespace) goes with everything in it;
- attributes: geometry and presentation ones; every ``on*`` handler and any
  unknown name goes;
- references: ``href`` only to a fragment (``#id``), an ``<image>`` only to a
  ``data:`` PNG, JPEG, GIF or WEBP; ``url(...)`` only to a fragment;
- CSS (``<style>``, ``style=``): no ``@`` rule (``@import``), no backslash
  escape, no function but those that only compute (``rgb``, ``translate``, ...).

Parsed with expat, bounded (:data:`~.untrusted.MAX_SVG_BYTES`, strict UTF-8), a
DOCTYPE refused: entities are defined nowhere else, so none expands and nothing
external is read. ``defusedxml`` would do the same but is not a dependency.
Comments and processing instructions (``<?xml-stylesheet?>``) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat

from .untrusted import svg_text

__all__ = ["MAX_REMOVED", "SafeSvg", "sanitise_svg"]

_SVG, _XLINK, _XML = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", \
    "http://www.w3.org/XML/1998/namespace"

MAX_REMOVED = 40
"""At most this many kinds of removal are named; the rest are counted."""

_ELEMENTS = frozenset((
    "svg", "g", "defs", "symbol", "use", "switch", "title", "desc", "metadata", "a", "view", "path",
    "rect", "circle", "ellipse", "line", "polyline", "polygon", "image", "text", "tspan", "textPath",
    "style", "linearGradient", "radialGradient", "stop", "pattern", "clipPath", "mask", "marker",
    "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feConvolveMatrix",
    "feDiffuseLighting", "feDisplacementMap", "feDistantLight", "feDropShadow", "feFlood", "feFuncA",
    "feFuncB", "feFuncG", "feFuncR", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology",
    "feOffset", "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
    "animate", "animateMotion", "animateTransform", "set", "mpath"
))

_ATTRIBUTES = frozenset((
    "id", "class", "style", "lang", "tabindex", "role", "aria-label", "aria-hidden", "aria-labelledby",
    "aria-describedby", "focusable", "xml:space", "xml:lang", "version", "baseProfile", "viewBox",
    "preserveAspectRatio", "transform", "transform-origin", "x", "y", "x1", "y1", "x2", "y2", "cx",
    "cy", "r", "rx", "ry", "fx", "fy", "fr", "width", "height", "d", "points", "pathLength", "dx", "dy",
    "rotate", "textLength", "lengthAdjust", "startOffset", "method", "spacing", "side", "fill",
    "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity", "color",
    "display", "visibility", "overflow", "clip", "clip-path", "clip-rule", "mask", "filter", "marker",
    "marker-start", "marker-mid", "marker-end", "paint-order", "vector-effect", "shape-rendering",
    "text-rendering", "image-rendering", "color-rendering", "color-interpolation",
    "color-interpolation-filters", "mix-blend-mode", "isolation", "font", "font-family", "font-size",
    "font-size-adjust", "font-stretch", "font-style", "font-variant", "font-weight", "text-anchor",
    "text-decoration", "dominant-baseline", "alignment-baseline", "baseline-shift", "letter-spacing",
    "word-spacing", "writing-mode", "direction", "unicode-bidi", "white-space", "offset", "stop-color",
    "stop-opacity", "gradientUnits", "gradientTransform", "spreadMethod", "patternUnits",
    "patternContentUnits", "patternTransform", "clipPathUnits", "maskUnits", "maskContentUnits",
    "markerWidth", "markerHeight", "markerUnits", "refX", "refY", "orient", "filterUnits",
    "primitiveUnits", "in", "in2", "result", "stdDeviation", "mode", "operator", "k1", "k2", "k3", "k4",
    "values", "type", "tableValues", "slope", "intercept", "amplitude", "exponent", "baseFrequency",
    "numOctaves", "seed", "stitchTiles", "scale", "xChannelSelector", "yChannelSelector", "flood-color",
    "flood-opacity", "lighting-color", "surfaceScale", "diffuseConstant", "specularConstant",
    "specularExponent", "kernelMatrix", "order", "divisor", "bias", "targetX", "targetY", "edgeMode",
    "kernelUnitLength", "preserveAlpha", "azimuth", "elevation", "pointsAtX", "pointsAtY", "pointsAtZ",
    "limitingConeAngle", "z", "radius", "href", "xlink:href", "attributeName", "attributeType", "from",
    "to", "by", "begin", "dur", "end", "min", "max", "restart", "repeatCount", "repeatDur", "calcMode",
    "keyTimes", "keySplines", "keyPoints", "additive", "accumulate", "path"
))

# Attributes whose value is prose, not CSS: a bracket in them is text, not a function.
_PROSE = frozenset({"aria-label", "aria-labelledby", "aria-describedby", "id", "class", "lang",
                    "xml:lang"})
# Animation may change only what the allow-list would accept as written: never a link or handler.
_ANIMATABLE = _ATTRIBUTES - {"href", "xlink:href", "attributeName", "style", "begin", "end"}
# CSS functions that compute and fetch nothing; ``url`` is checked on its own.
_FUNCTIONS = frozenset((
    "url", "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color", "color-mix",
    "calc", "min", "max", "clamp", "var", "attr", "translate", "translatex", "translatey", "rotate",
    "scale", "scalex", "scaley", "skewx", "skewy", "matrix", "linear-gradient", "radial-gradient",
    "conic-gradient", "not", "is", "where", "nth-child", "nth-of-type", "lang"
))
_RASTER_DATA = re.compile(r"data:image/(png|jpeg|gif|webp)(;base64)?,", re.IGNORECASE)
_URL = re.compile(r"url\(\s*(['\"]?)\s*([^)'\"]*)\1\s*\)", re.IGNORECASE)
_CALL = re.compile(r"([-\w]*)\(")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")  # what a browser ignores inside a URL's scheme


@dataclass(frozen=True, repr=False)
class SafeSvg:
    """An SVG's safe copy: its bytes and what was removed (empty when nothing was)."""

    data: bytes
    removed: tuple[str, ...]

    def __repr__(self) -> str:
        return f"SafeSvg({len(self.data):,} bytes, removed={list(self.removed)!r})"


def _scheme_problem(value: str) -> str | None:
    folded = _INVISIBLE.sub("", value).lower()
    for scheme in ("javascript:", "vbscript:"):
        if scheme in folded:
            return scheme
    return None


def _css_problem(text: str) -> str | None:
    """Why ``text`` (CSS, or a presentation value) may run or fetch something; None if it cannot."""
    if "@" in text:
        return "@import" if "@import" in text.lower() else "@-rule"
    if "\\" in text:
        return "CSS escape"  # escapes are how a filter like this one is got round
    for call in _CALL.finditer(text):
        if call.group(1) and call.group(1).lower() not in _FUNCTIONS:
            return f"{call.group(1)[:20]}()"
    for url in _URL.finditer(text):
        if not url.group(2).strip().startswith("#"):
            return "external url()"
    if text.lower().count("url(") != len(_URL.findall(text)):
        return "external url()"  # a url( the pattern could not read: not provably a fragment
    return _scheme_problem(text)


def _href_problem(element: str, value: str) -> str | None:
    value = value.strip()
    if value.startswith("#") and _scheme_problem(value) is None:
        return None
    if element == "image" and _RASTER_DATA.match(value):
        return None
    if (found := _scheme_problem(value)) is not None:
        return found
    return "data: URL" if value.lower().startswith("data:") else "external reference"


def _escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;") \
            .replace("\r", "&#13;")
    return text


class _Sanitiser:
    """Expat's handlers: each kept element written out, a dropped one skipped with its contents."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.removed: dict[str, None] = {}
        self.skipping = 0  # depth inside a dropped element
        self.stack: list[str] = []  # the kept elements open, by local name
        self.style: list[str] | None = None  # a <style>'s text, held until its end decides

    def remove(self, what: str) -> None:
        self.removed[what[:60]] = None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.skipping:
            self.skipping += 1
            return
        namespace, _, local = name.rpartition(" ")
        if namespace not in ("", _SVG) or local not in _ELEMENTS:
            if not self.stack:
                raise ValueError(f"its root element is {local!r} in namespace {namespace or 'none'!r}, "
                                 "not an SVG <svg>")
            self.remove(f"<{local}>")
            self.skipping = 1
            return
        if not self.stack and local != "svg":
            raise ValueError(f"its root element is <{local}>, not <svg>")
        kept = [f' xmlns="{_SVG}" xmlns:xlink="{_XLINK}"'] if not self.stack else []
        for key, value in attributes.items():
            space, _, attribute = key.rpartition(" ")
            attribute = {"": attribute, _XLINK: f"xlink:{attribute}",
                         _XML: f"xml:{attribute}"}.get(space, f"{{{space}}}{attribute}")
            problem = self.attribute_problem(local, attribute, value, attributes)
            if problem is None:
                kept.append(f' {attribute}="{_escape(value, quote=True)}"')
            else:
                self.remove(attribute if problem == "" else f"{attribute}={problem}")
        self.stack.append(local)
        self.out.append(f"<{local}{''.join(kept)}>")
        if local == "style":
            self.style = []

    def attribute_problem(self, element: str, attribute: str, value: str,
                          attributes: dict[str, str]) -> str | None:
        """Why an attribute goes ("" for a name not allowed), or None to keep it."""
        if attribute not in _ATTRIBUTES:
            return ""
        if attribute in ("href", "xlink:href"):
            return _href_problem(element, value)
        if attribute == "attributeName" and value not in _ANIMATABLE:
            return "link or handler"
        if attribute in _PROSE:
            return _scheme_problem(value)
        return _css_problem(value)

    def end(self, name: str) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        local = self.stack.pop()
        if local == "style" and self.style is not None:
            css, self.style = "".join(self.style), None
            if (problem := _css_problem(css)) is not None:
                self.remove(f"<style> {problem}")
            else:
                self.out.append(_escape(css))
        self.out.append(f"</{local}>")

    def text(self, data: str) -> None:
        if self.skipping:
            return
        if self.style is not None:
            self.style.append(data)
        else:
            self.out.append(_escape(data))

    def instruction(self, target: str, _data: str) -> None:
        self.remove(f"<?{target}?>")


def _refuse(what: str) -> NoReturn:
    raise ValueError(f"it has {what}, which can define entities or fetch files; an SVG with one is refused")


def sanitise_svg(data: bytes) -> SafeSvg:
    """The SVG ``data`` with only known-safe elements, attributes and references kept.

    Raises
    ------
    ImageDecodeError
        When ``data`` is too large or not UTF-8 (see :func:`~.untrusted.svg_text`).
    ValueError
        When it is not well-formed XML, has a DOCTYPE, or its root is not ``<svg>``:
        then no safe copy can be made.
    """
    text = svg_text(data)
    sanitiser = _Sanitiser()
    parser = expat.ParserCreate("UTF-8", namespace_separator=" ")
    parser.StartDoctypeDeclHandler = lambda *_: _refuse("a DOCTYPE")
    parser.EntityDeclHandler = lambda *_: _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = lambda *_: _refuse("an external entity")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = sanitiser.start
    parser.EndElementHandler = sanitiser.end
    parser.CharacterDataHandler = sanitiser.text
    parser.ProcessingInstructionHandler = sanitiser.instruction
    parser.buffer_text = True
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as error:
        raise ValueError(f"the svg image is not well-formed XML ({expat.errors.messages[error.code]}, "
                         f"line {error.lineno}, column {error.offset})") from None
    except ValueError as error:
        raise ValueError(f"the svg image cannot be made safe: {error}") from None
    removed = list(sanitiser.removed)
    if len(removed) > MAX_REMOVED:
        removed[MAX_REMOVED - 1:] = [f"and {len(removed) - MAX_REMOVED + 1} more kinds"]
    return SafeSvg("".join(sanitiser.out).encode("utf-8"), tuple(removed))
