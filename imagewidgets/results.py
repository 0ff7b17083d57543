"""What a generation returns: small frozen dataclasses holding encoded bytes.

Results never hold decoded bitmaps: a 1536x1024 PNG is a few hundred KB
encoded and 6 MB decoded, and a notebook keeps many of them.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import mimetypes
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ImageDecodeError
from .files import write_new, write_replacing
from .models import MODELS, image_cost
from .naming import download_name

__all__ = ["GeneratedImage", "Generation", "PartialImage", "Usage", "billed_cost"]


@dataclass(frozen=True)
class Usage:
    """Token usage the API reports for GPT image models."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    text_tokens: int = 0
    image_tokens: int = 0

    @classmethod
    def from_api(cls, usage: Any) -> Usage | None:
        """Read the API's ``usage`` object: None (unknown) unless every count in it is sound.

        Unknown fields are ignored and missing counts are 0. One malformed count
        (text, negative, a fraction, implausibly large) makes the whole of it
        unknown, so the cost is estimated rather than reported as $0 or less.
        """
        if not isinstance(usage, Mapping) or not usage:
            return None
        details = usage.get("input_tokens_details")
        details = details if isinstance(details, Mapping) else {}
        raw = {"input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens"),
               "total_tokens": usage.get("total_tokens"), "text_tokens": details.get("text_tokens"),
               "image_tokens": details.get("image_tokens")}
        counts: dict[str, int] = {}
        for name, value in raw.items():
            count = 0 if value is None else count_or_none(value)
            if count is None:
                return None
            counts[name] = count
        return cls(**counts)


SHOWN_SIDE = 256
"""Longest side, in pixels, of an image shown as a cell's value: larger ones show a thumbnail."""

MAX_COUNT = 10**12
"""No image takes a trillion tokens: a larger count is malformed (and would overflow a float)."""


def billed_cost(asked: Mapping[str, Any], usage: Usage | None,
                said: Mapping[str, Any]) -> float | None:
    """Dollars for one image the server finished, before its bytes are read: from ``usage``,
    else estimated from the size and quality the answer ``said``, or those ``asked``."""
    model = str(asked.get("model", ""))
    reported = said.get("quality") if isinstance(said.get("quality"), str) else None
    quality = _quality_used(model, str(asked.get("quality") or "auto"), reported)
    size = said.get("size") if isinstance(said.get("size"), str) else str(asked.get("size") or "auto")
    fmt = said.get("output_format")
    fmt = fmt if isinstance(fmt, str) else asked.get("output_format")
    return image_cost(model, quality, str(size), dataclasses.asdict(usage) if usage else None,
                      output_format=str(fmt) if fmt else None)


def _quality_used(model: str, asked: str, reported: str | None) -> str:
    """The quality a server used: what it reported, else what ``asked`` (``auto`` too) means."""
    spec = MODELS.get(model)
    return reported or (spec.resolve("quality", asked) if spec else asked)


def count_or_none(value: Any, limit: int = MAX_COUNT) -> int | None:
    """A count from a server: a whole number from 0 to ``limit``; None for anything else.

    Whole floats (``272.0``) and ASCII digit strings (``"272"``) are read; a bool,
    a fraction, a negative number, infinity or other text is not.
    """
    digits = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20
    if digits or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= limit else None


@dataclass(frozen=True, repr=False)
class _Encoded:
    data: bytes
    format: str  # "png" | "jpeg" | "webp" | "gif" | "svg"
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        return "image/svg+xml" if self.format == "svg" else f"image/{self.format}"

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format

    def _repr_fields(self) -> str:
        return f"{self.format} {self.width}x{self.height}, {len(self.data):,} bytes"

    # What a notebook shows for a cell's value, for partial and final images alike.

    @functools.cached_property
    def _shown(self) -> tuple[bytes, str]:
        """The bytes a notebook shows and their format: the image as it is when at most
        :data:`SHOWN_SIDE` pixels on its longest side, else a thumbnail of that size.

        A cell's value is saved inside the notebook: a 1024x1024 PNG weighed 123 KB there, a
        photographic one would weigh 2.5 MB; ``image.save()`` keeps the full image. A GIF
        stays whole (a still would lose its frames) and an SVG is shown whole by the browser.
        """
        if self.format in ("gif", "svg") or max(self.width, self.height) <= SHOWN_SIDE:
            return self.data, self.format
        from .imaging import thumbnail  # Pillow, only when a notebook shows one

        try:
            small = thumbnail(self.data, SHOWN_SIDE)
        except ImageDecodeError:
            return b"", "none"  # bytes that are no picture: the text repr says what they are
        return small.data, small.format

    def _repr_png_(self) -> bytes | None:
        data, shown = self._shown
        return data if shown == "png" else None

    def _repr_jpeg_(self) -> bytes | None:
        data, shown = self._shown
        return data if shown == "jpeg" else None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str] | None:
        """A GIF (animated) or WEBP as it is; IPython has no ``_repr_gif_``. Base64 text, as
        ``IPython.display.Image`` sends it: JupyterLab draws both in an ``<img>``."""
        data, shown = self._shown
        if shown not in ("gif", "webp"):
            return None
        return {f"image/{shown}": base64.b64encode(data).decode("ascii")}

    def _repr_html_(self) -> str | None:
        """An SVG as an ``<img>`` of a ``data:`` URL, the only way it is shown.

        Never as ``image/svg+xml``: JupyterLab draws that in an ``<img>`` too, but
        classic Notebook, VS Code and nbconvert's HTML put the markup inline, where an
        ``onload`` runs, and JupyterLab shows nothing for it once the notebook is
        reopened (untrusted). In an ``<img>`` an SVG runs no script and fetches
        nothing, and its ``data:`` URL, opened on its own, has no origin to attack.
        The base64 alphabet holds no quote: the attribute cannot be broken out of.
        """
        if self.format != "svg":
            return None
        source = base64.b64encode(self.data).decode("ascii")
        return (f'<img src="data:image/svg+xml;base64,{source}" width="{self.width}" '
                f'style="max-width:100%;height:auto" alt="generated SVG image">')


@dataclass(frozen=True, repr=False)
class PartialImage(_Encoded):
    """One streamed partial render of image ``image_index``."""

    image_index: int = 0
    partial_index: int = 0

    def __repr__(self) -> str:
        return (
            f"PartialImage(image_index={self.image_index}, partial_index={self.partial_index}, "
            f"{self._repr_fields()})"
        )


@dataclass(frozen=True, repr=False)
class GeneratedImage(_Encoded):
    """A final image and what produced it.

    Attributes
    ----------
    data : bytes
        The encoded image exactly as the server sent it.
    params : dict
        The request body that produced it (never holds the API key).
    request_id : str or None
        The server's ``x-request-id`` for the request, to quote to support.
    resolved : dict
        The settings the server says it used (``size``, ``quality``,
        ``background``, ``output_format``), ``auto`` resolved; empty when it
        says nothing (DALL·E).
    """

    image_index: int = 0
    revised_prompt: str | None = None
    usage: Usage | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    created: int = 0
    url: str | None = None
    request_id: str | None = None
    resolved: Mapping[str, str] = field(default_factory=dict)

    def settings_used(self, asked: Mapping[str, Any] | None = None) -> tuple[str, str]:
        """The model and the quality actually used: the server's word, else what ``auto`` means.

        ``asked`` stands in for :attr:`params` when the image carries none.
        """
        request = self.params or asked or {}
        model = str(request.get("model", ""))
        quality = str(request.get("quality") or "auto")
        return model, _quality_used(model, quality, self.resolved.get("quality"))

    def cost(self, asked: Mapping[str, Any] | None = None) -> float | None:
        """Dollars for this image: from the usage reported, else estimated; None if unpriced."""
        model, quality = self.settings_used(asked)
        return image_cost(model, quality, f"{self.width}x{self.height}",
                          dataclasses.asdict(self.usage) if self.usage else None, output_format=self.format)

    def __repr__(self) -> str:
        return f"GeneratedImage(image_index={self.image_index}, {self._repr_fields()})"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the image's bytes, exactly as the server sent them, to a file.

        Parameters
        ----------
        path : str or path-like
            A file name (replaced whole if it exists, as Pillow's ``save`` does); the
            format's extension is added when it has no known one. Or an existing folder:
            the file is named there from the prompt, the model and the time, as
            the panel's Download names it, never over an existing file.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        ValueError
            When the name's extension is another type's, e.g. ``.jpg`` for a PNG.
        """
        target = Path(path).expanduser()
        if target.is_dir():
            return self._save_in(target)
        if os.fspath(path).endswith(("/", os.sep)):  # meant as a folder: never "name.png" beside it
            raise FileNotFoundError(f"no folder {os.fspath(path)!r}")
        suffix = target.suffix.lower()
        if suffix in _SUFFIXES.get(self.format, {f".{self.extension}"}):
            pass
        elif mimetypes.guess_type(target.name, strict=False)[0]:
            # A .jpg holding PNG bytes misleads every program that opens it.
            raise ValueError(f"{target.name!r} names a {suffix} file but the image is {self.format}: "
                             f"use .{self.extension}, or no extension to have it added")
        else:  # no extension, or a dot that is part of the name ("dusk.v2")
            target = target.with_name(f"{target.name}.{self.extension}")
        write_replacing(target, self.data)  # a crash leaves the old file or the new one, never half
        return target

    def _save_in(self, folder: Path) -> Path:
        name = download_name(str(self.params.get("prompt") or ""), str(self.params.get("model") or ""),
                             self.created or time.time(), self.extension)
        stem = name.removesuffix(f".{self.extension}")
        # The n images of one request share prompt, model and second: number them. Each
        # name is taken only if free, in one step with filling it (never overwriting).
        others = (folder / f"{stem}-{number}.{self.extension}" for number in range(2, 10_000))
        return write_new(folder / name, self.data, others)


_SUFFIXES = {"png": {".png"}, "jpeg": {".jpg", ".jpeg", ".jpe"}, "webp": {".webp"},
             "gif": {".gif"}, "svg": {".svg"}}
"""The extensions each format's files may have (lower case)."""


@dataclass(frozen=True)
class Generation:
    """The answer to one ``generate()`` call."""

    images: list[GeneratedImage]
    usage: Usage | None = None
    created: int = 0
    request_id: str | None = None
    elapsed: float = 0.0
