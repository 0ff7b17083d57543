"""What a tile shows until its first picture arrives: a transparent image of the asked aspect."""

from __future__ import annotations

from ..models import parse_size

__all__ = ["BLANK", "box_size"]

BLANK = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x04\x00\x00\x00"
         b"\xb5\x1c\x0c\x02\x00\x00\x00\x0bIDATx\x9cc``\x00\x00\x00\x03\x00\x01\xb8\xad:c\x00\x00\x00\x00IEND\xaeB`\x82")
"""A transparent 1x1 PNG: the placeholder until a partial or final image arrives.

Pillow's ``Image.new("LA", (1, 1), (0, 0))`` as PNG, written out: making it at import would
import Pillow with the panel (tests/test_package.py reads them back)."""


def box_size(size: str | None, longest: int) -> tuple[int, int]:
    """The placeholder's pixel box, same aspect as the image asked for."""
    width, height = parse_size(size) or (1, 1)
    scale = longest / max(width, height)
    return round(width * scale), round(height * scale)
