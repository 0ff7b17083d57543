"""What a generation returns: small frozen dataclasses holding encoded bytes.

Results never hold decoded bitmaps: a 1536x1024 PNG is a few hundred KB
encoded and 6 MB decoded, and a notebook keeps many of them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GeneratedImage", "Generation", "PartialImage", "Usage"]


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
        """Read the API's ``usage`` object leniently: unknown fields are ignored, missing
        or malformed counts are 0, and anything but a non-empty object is None."""
        if not isinstance(usage, Mapping) or not usage:
            return None
        details = usage.get("input_tokens_details")
        details = details if isinstance(details, Mapping) else {}
        return cls(
            input_tokens=count_or_zero(usage.get("input_tokens")),
            output_tokens=count_or_zero(usage.get("output_tokens")),
            total_tokens=count_or_zero(usage.get("total_tokens")),
            text_tokens=count_or_zero(details.get("text_tokens")),
            image_tokens=count_or_zero(details.get("image_tokens")),
        )


def count_or_zero(value: Any) -> int:
    """A number from a server, leniently: anything missing or malformed is 0.

    ``OverflowError`` too: JSON's ``1e999`` is infinity.
    """
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


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
    """

    image_index: int = 0
    revised_prompt: str | None = None
    usage: Usage | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    created: int = 0
    url: str | None = None
    request_id: str | None = None

    def __repr__(self) -> str:
        return f"GeneratedImage(image_index={self.image_index}, {self._repr_fields()})"

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def _repr_jpeg_(self) -> bytes | None:
        return self.data if self.format == "jpeg" else None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str] | None:
        """A GIF (animated) or WEBP as it is; IPython has no ``_repr_gif_``. Base64 text, as
        ``IPython.display.Image`` sends it: JupyterLab draws both in an ``<img>``."""
        if self.format not in ("gif", "webp"):
            return None
        return {self.mime_type: base64.b64encode(self.data).decode("ascii")}

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


@dataclass(frozen=True)
class Generation:
    """The answer to one ``generate()`` call."""

    images: list[GeneratedImage]
    usage: Usage | None = None
    created: int = 0
    request_id: str | None = None
    elapsed: float = 0.0
