"""The files an edit sends: input images, a mask, a markup overlay, each read once and checked.

An :class:`InputImage` is the bytes as they will be sent with what was sniffed from
them (format, dimensions, whether they hold transparent pixels), never from a file
name, and the saved image it came from when there is one (for lineage).
:class:`EditInputs` groups an edit's files; the rules they must follow per model
are the table's (:attr:`~imagewidgets.models.ModelSpec.uploads`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .errors import ImageDecodeError, ParamsError
from .imaging.untrusted import RASTER, gif_walk, opened, sniff
from .results import GeneratedImage

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MAX_INPUT_BYTES", "EditInputs", "ImageSource", "InputImage"]

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Largest file read as an input, in bytes: above every model's limit (50 MB), so the table's
rules name the real one; a bigger file is refused before it is read."""

MAX_SIDECAR_BYTES = 1024 * 1024
"""Largest sidecar read for an input's lineage: a store's are a few KB."""

ImageSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", "Image.Image",
                    GeneratedImage, "InputImage"]
"""What an input may be given as: bytes, a path (a store's saved image too), a PIL image,
a result, or an :class:`InputImage` already read."""

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
          (b"GIF89a", "gif"))


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

    @classmethod
    def of(cls, source: ImageSource, *, name: str | None = None) -> InputImage:
        """Read ``source`` once, sniffing what it holds from its bytes.

        Parameters
        ----------
        source
            Bytes; a path (``str`` or path-like), and when it is a store's saved image (a
            :class:`~imagewidgets.storage.SavedImage`, or the path of one beside its
            sidecar) :attr:`parent` names it; a PIL image (sent as PNG); a
            :class:`~imagewidgets.GeneratedImage`; or an :class:`InputImage` (kept, renamed
            when ``name`` is given).
        name
            The file name sent; by default the file's own, else ``image.<format>``.

        Raises
        ------
        ParamsError
            For anything else (a number), a missing or unreadable file, one larger than
            :data:`MAX_INPUT_BYTES` (not read), or an image claiming too many pixels (a
            decompression bomb, refused before any pixel is decoded).
        """
        return _read(source, name, "image")

    @property
    def lineage(self) -> dict[str, Any]:
        """What a sidecar says of where this input came from: the saved image's file and id,
        or ``{"file": None, "name": ...}`` for bytes that are no saved image."""
        return dict(self.parent) if self.parent else {"file": None, "name": self.name}


@dataclass(frozen=True)
class EditInputs:
    """An edit's files: the images (the first is the one edited), and a mask or a markup."""

    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    markup: InputImage | None = None

    @classmethod
    def of(cls, image_or_images: ImageSource | Sequence[ImageSource] | EditInputs, *,
           mask: ImageSource | None = None, markup: ImageSource | None = None) -> EditInputs:
        """An edit's files, each read by :meth:`InputImage.of`.

        ``image_or_images`` is one image or a list (or tuple) of them, the first being the
        one edited; ``mask`` and ``markup`` are single images. Rules per model (how many,
        which formats, the mask's size) are checked before sending, not here.
        """
        if isinstance(image_or_images, EditInputs):
            if mask is None and markup is None:
                return image_or_images
            image_or_images = list(image_or_images.images)
        many = isinstance(image_or_images, (list, tuple))
        sources: Sequence[Any] = image_or_images if many else [image_or_images]  # type: ignore[assignment]
        if not sources:
            raise ParamsError(["image is an empty list; give at least one image to edit"])
        images = tuple(_read(source, None, f"image[{index}]" if many else "image")
                       for index, source in enumerate(sources))
        return cls(images,
                   mask=None if mask is None else _read(mask, None, "mask"),
                   markup=None if markup is None else _read(markup, None, "markup"))

    @property
    def parents(self) -> list[dict[str, Any]]:
        """Each image's :attr:`InputImage.lineage`, in order: what an edit's sidecar names."""
        return [image.lineage for image in self.images]


def _read(source: Any, name: str | None, what: str) -> InputImage:
    """:meth:`InputImage.of`, its errors naming the argument ``what``."""
    parent: Mapping[str, str] | None = None
    stem = what.partition("[")[0]  # image, mask or markup: the name sent when there is none
    if isinstance(source, InputImage):
        return source if name is None else dataclasses.replace(source, name=name)
    if isinstance(source, GeneratedImage):
        data, default = source.data, f"{stem}.{source.extension}"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, default = bytes(source), None
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        data, default, parent = _file(path, what), path.name, _saved(path)
    elif _is_pil(source):
        buffer = io.BytesIO()
        source.save(buffer, "PNG")
        data, default = buffer.getvalue(), f"{stem}.png"
    else:
        raise ParamsError([f"{what} {_shown(source)} is not an image; give bytes, a path, a PIL "
                           "image, a GeneratedImage or a saved image of the store"])
    if len(data) > MAX_INPUT_BYTES:
        raise ParamsError([f"{what} is {len(data):,} bytes; the largest read is "
                           f"{MAX_INPUT_BYTES:,} (no model takes more than 50 MB)"])
    fmt, width, height, transparent = _sniffed(data, what)
    extension = "jpg" if fmt == "jpeg" else fmt
    return InputImage(data, fmt, width, height, name=name or default or f"{stem}.{extension}",
                      transparent=transparent, parent=parent)


def _file(path: Path, what: str) -> bytes:
    """The bytes of ``path``, its size checked before it is read."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise ParamsError([f"{what} {str(path)!r} is {size:,} bytes; the largest read is "
                               f"{MAX_INPUT_BYTES:,} (no model takes more than 50 MB)"])
        with path.open("rb") as file:
            return file.read(MAX_INPUT_BYTES + 1)  # grown since stat: checked again after
    except FileNotFoundError:
        raise ParamsError([f"{what} {str(path)!r}: no such file"]) from None
    except IsADirectoryError:
        raise ParamsError([f"{what} {str(path)!r} is a folder; give an image file"]) from None
    except OSError as error:
        raise ParamsError([f"{what} {str(path)!r} cannot be read: {error.strerror or error}"]) from None


def _saved(path: Path) -> dict[str, str] | None:
    """The saved image ``path`` is, by its sidecar: ``{"file": ..., "id": ...}``; else None."""
    sidecar = path.with_suffix(".json")
    try:
        if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        record = json.loads(sidecar.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("file") != path.name:
        return None  # a JSON file beside it that is no sidecar of it
    found = {"file": path.name}
    if isinstance(record.get("id"), str):
        found["id"] = record["id"]
    return found


def _sniffed(data: bytes, what: str) -> tuple[str, int, int, bool]:
    """Format, width, height and whether any pixel has alpha 0; ``unknown`` for what is no
    image. Sizes are checked on the header before a pixel is decoded (:func:`opened`)."""
    fmt = next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)
    if fmt is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt = "webp"
    try:
        if fmt == "gif":
            width, height, _frames = gif_walk(data)
            return "gif", width, height, False
        if fmt is None:
            # No model takes an SVG: named so by the rules, its size never needed.
            return ("svg" if sniff(data) == "svg" else "unknown"), 0, 0, False
        with opened(data, RASTER) as image:
            width, height = image.size
            return fmt, width, height, _has_clear_pixel(image)
    except ImageDecodeError as error:
        raise ParamsError([f"{what} ({len(data):,} bytes of {fmt}) cannot be sent: "
                           f"{error}"]) from None


def _has_clear_pixel(image: Image.Image) -> bool:
    """Whether a pixel of ``image`` has alpha 0; decodes it (its size already checked)."""
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = image.getchannel("A")
    elif "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
    else:
        return False
    low, _high = alpha.getextrema()
    return bool(low == 0)


def _is_pil(value: Any) -> bool:
    """Whether ``value`` is a PIL image, without importing Pillow for the other cases."""
    image = sys.modules.get("PIL.Image")
    return image is not None and isinstance(value, image.Image)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:40]}..."
