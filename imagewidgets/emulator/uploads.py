"""The files of an edit, checked as the API checks them, and decoded within bounds.

Every rule comes from the table (``spec.uploads``: formats, bytes, how many,
square, same size, transparent); the format is sniffed from the bytes
(:func:`imagewidgets.imaging.untrusted.inspect`), never taken from the file's
name or content type. This module never imports the client's checks
(``imagewidgets.edit_rules``): a bug shared by client and server would hide.

Decoding is bounded: :func:`~imagewidgets.imaging.untrusted.inspect` reads
headers only and refuses a size past its limits (a PNG claiming 100000x100000
is refused before one pixel is decoded); only then are pixels decoded, the
first image at full size (it is what the edit changes), the others as
thumbnails, one at a time.

Rules the table does not hold, from the SDK's words (``image_edit_params.py``):
a mask and a markup are never sent together, and GIF output takes no mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image
from starlette.datastructures import UploadFile

from ..errors import ImageDecodeError
from ..imaging.untrusted import inspect, opened
from ..models import ModelSpec, Upload, image_input_tokens
from .validation import Refusal

__all__ = ["FILE_FIELDS", "THUMBNAIL", "Inputs", "check_files"]

FILE_FIELDS = ("image", "mask", "markup")
"""The fields an edit sends as files (``image`` also as ``image[]``, the SDK's name for a list)."""
THUMBNAIL = 256
"""Longest side, in pixels, of the other reference images as decoded: they show as insets."""
_MB = 1024 * 1024


@dataclass(frozen=True)
class Inputs:
    """An edit's files, checked and decoded.

    ``first`` is the first image (RGBA, full size); ``region`` is where to
    repaint (L, 255 inside: alpha 0 in the mask, or the markup's strokes),
    None for the whole image; ``guided`` says the region comes from a markup;
    ``references`` are the other images as thumbnails; ``image_tokens`` the
    input tokens of every image sent (mask and markup not counted).
    """

    first: Image.Image
    region: Image.Image | None
    guided: bool
    references: tuple[Image.Image, ...]
    image_tokens: int

    @property
    def size(self) -> str:
        """The first image's size as ``WIDTHxHEIGHT``: what ``size=auto`` keeps."""
        return f"{self.first.width}x{self.first.height}"


def _mime_list(formats: Sequence[str]) -> str:
    named = [f"'image/{kind}'" for kind in sorted(formats)]
    if len(named) == 1:
        return named[0]
    return ", ".join(named[:-1]) + f"{',' if len(named) > 2 else ''} and {named[-1]}"


def _refuse(param: str, message: str, code: str = "invalid_value") -> Refusal:
    return Refusal(400, message, param=param, code=code)


def _checked(spec: ModelSpec, rule: Upload, label: str, param: str, upload: UploadFile,
             first: tuple[int, int] | None) -> tuple[bytes, int, int]:
    """One file's bytes and size, every rule of ``rule`` checked but transparency."""
    declared = upload.size if upload.size is not None else 0
    data = upload.file.read(rule.max_bytes + 1) if declared <= rule.max_bytes else b""
    if declared > rule.max_bytes or len(data) > rule.max_bytes:
        size = max(declared, len(data))
        raise _refuse(param, f"Invalid file '{label}': it is {size:,} bytes; {spec.name} takes "
                             f"files of less than {rule.max_bytes // _MB} MB "
                             f"({rule.max_bytes:,} bytes).", "file_too_large")
    try:
        kind, width, height = inspect(data)  # headers only: a bomb stops here
    except ImageDecodeError as error:
        # Its closing hint speaks to a client reading a server's image: not this reader's.
        why = str(error).rsplit(" (nothing was decoded", 1)[0]
        raise _refuse(param, f"Invalid image file '{label}', please check your image file: "
                             f"{why}.", "invalid_image") from None
    if kind not in rule.formats:
        raise _refuse(param, f"Invalid file '{label}': unsupported mimetype ('image/{kind}'). "
                             f"Supported file formats are {_mime_list(rule.formats)}.",
                      "invalid_image_format")
    if rule.square and width != height:
        raise _refuse(param, f"Invalid file '{label}': {spec.name} takes square images, but it "
                             f"is {width}x{height}.", "invalid_image")
    if rule.same_size and first is not None and (width, height) != first:
        raise _refuse(param, f"Invalid file '{label}': it is {width}x{height}; it must have the "
                             f"first image's dimensions, {first[0]}x{first[1]}.",
                      "invalid_image_dimensions")
    return data, width, height


def _alpha(data: bytes, label: str, param: str) -> Image.Image:
    """A mask's or markup's alpha channel (L); refused when no pixel is fully transparent."""
    with opened(data) as image:
        alpha = image.convert("RGBA").getchannel("A")
    if alpha.getextrema()[0] != 0:
        raise _refuse(param, f"Invalid file '{label}': it has no transparent pixels; alpha 0 "
                             f"marks where to edit, so a {param} needs some.", "invalid_image")
    return alpha


def check_files(spec: ModelSpec, fields: dict[str, Any], images: list[UploadFile],
                mask: UploadFile | None, markup: UploadFile | None, listed: bool) -> Inputs:
    """Check an edit's files against ``spec.uploads`` and decode them (run off the event loop).

    ``listed``: the images came as a list (``image[]``), so messages name
    ``image[0]``, ``image[1]``, ...

    Raises
    ------
    Refusal
        What the API answers such a request with.
    """
    rule = spec.uploads["image"]
    if not images:
        raise _refuse("image", "Missing required parameter: 'image'.", "missing_required_parameter")
    if len(images) > rule.max_count:
        raise _refuse("image", f"Invalid 'image': array too long. Expected an array with maximum "
                               f"length {rule.max_count}, but got an array with length "
                               f"{len(images)} instead.", "array_above_max_length")
    for name, sent in (("mask", mask), ("markup", markup)):
        if sent is not None and name not in spec.uploads:
            raise _refuse(name, f"Unknown parameter: '{name}'.", "unknown_parameter")
    if mask is not None and markup is not None:
        raise _refuse("markup", "Invalid 'markup': it cannot be combined with 'mask'; send one "
                                "of them.")
    if mask is not None and fields.get("output_format") == "gif":
        raise _refuse("mask", "Invalid 'mask': GIF output does not support masks "
                              "(output_format='gif'); send no mask, or another output_format.")
    tokens = 0
    first: Image.Image | None = None
    references: list[Image.Image] = []
    for index, upload in enumerate(images):
        label = f"image[{index}]" if listed else "image"
        data, width, height = _checked(spec, rule, label, "image", upload, None)
        tokens += image_input_tokens(width, height)
        with opened(data) as image:
            if first is None:
                first = image.convert("RGBA")
            else:
                image.draft("RGB", (THUMBNAIL, THUMBNAIL))  # JPEG: decode at a fraction
                image.thumbnail((THUMBNAIL, THUMBNAIL))
                references.append(image.convert("RGB"))
    assert first is not None  # at least one image, checked above
    region: Image.Image | None = None
    for name, sent in (("mask", mask), ("markup", markup)):
        if sent is None:
            continue
        data, _, _ = _checked(spec, spec.uploads[name], name, name, sent, first.size)
        alpha = _alpha(data, name, name) if spec.uploads[name].transparent else None
        if alpha is not None and name == "mask":
            region = alpha.point(lambda value: 255 if value == 0 else 0)
        elif alpha is not None:  # the markup's strokes: where it is not transparent
            region = alpha.point(lambda value: 255 if value > 0 else 0)
    return Inputs(first, region, markup is not None, tuple(references), tokens)
