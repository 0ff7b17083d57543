"""What a tile shows until its first picture arrives: a box of the asked aspect."""

from __future__ import annotations

from ..models import parse_size

__all__ = ["box_size"]


def box_size(size: str | None, longest: int) -> tuple[int, int]:
    """The placeholder's pixel box, same aspect as the image asked for."""
    width, height = parse_size(size) or (1, 1)
    scale = longest / max(width, height)
    return round(width * scale), round(height * scale)
