"""The files an edit sends: input images, a mask, a markup overlay, each read once and checked.

An :class:`InputImage` is the bytes as they will be sent with what was sniffed from
them (format, dimensions, whether they hold transparent pixels), never from a file
name, and the saved image it came from when there is one (for lineage).
:class:`EditInputs` groups an edit's files; the rules they must follow per model
are the table's (:attr:`~imagewidgets.models.ModelSpec.uploads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["EditInputs", "InputImage"]


@dataclass(frozen=True)
class InputImage:
    """One file of an edit, as sent.

    Parameters
    ----------
    data
        The bytes sent, unchanged.
    format
        As sniffed from ``data``: ``png``, ``webp``, ``jpeg``, ``gif``, ... or ``unknown``.
    width, height
        From the image's header (0 when unknown).
    name
        The file name sent in the multipart body (``image.png`` when none was given).
    transparent
        Whether it holds a pixel with alpha 0 (what a mask marks for editing).
    parent
        The saved image it came from, ``{"file": ..., "id": ...}``, or None.
    """

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    name: str = "image.png"
    transparent: bool = False
    parent: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        return (f"InputImage({self.name!r}, {self.format}, {self.width}x{self.height}, "
                f"{len(self.data):,} bytes)")


@dataclass(frozen=True)
class EditInputs:
    """An edit's files: the images (the first is the one edited), and a mask or a markup."""

    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    markup: InputImage | None = None
