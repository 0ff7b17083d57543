"""The rules an edit's files must keep, read from the table, checked before anything is sent.

Each model's :attr:`~imagewidgets.models.ModelSpec.uploads` says what its
``image``, ``mask`` and ``markup`` may be (formats as sniffed from the bytes,
sizes, counts, dimensions, transparency); this module holds no per-model
``if``. Every message names the file (``image[2]``, ``mask``, ``markup``),
what it is and what is allowed.
"""

from __future__ import annotations

from .errors import ParamsError
from .inputs import EditInputs, InputImage
from .models import MODELS, Upload
from .params import ImageParams

__all__ = ["check_edit", "edit_problems"]

_MB = 1024 * 1024


def _megabytes(count: int) -> str:
    return f"{count / _MB:.1f} MB" if count % _MB else f"{count // _MB} MB"


def _either(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _file_problems(label: str, image: InputImage, rule: Upload, model: str,
                   first: InputImage | None) -> list[str]:
    """Why one file breaks ``rule``; ``first`` is the image it must match in size, if any."""
    found = []
    if image.format not in rule.formats:
        what = "not an image we could read" if image.format == "unknown" else image.format
        found.append(f"{label} is {what} (read from its bytes, not its name); {model} takes "
                     f"only {_either(rule.formats)} here")
    if len(image.data) >= rule.max_bytes:
        found.append(f"{label} is {_megabytes(len(image.data))}; {model} takes files under "
                     f"{_megabytes(rule.max_bytes)} here")
    size = f"{image.width}x{image.height}"
    if rule.square and image.width != image.height:
        found.append(f"{label} is {size}; {model} takes only square images (equal sides)")
    if rule.same_size and first is not None and (image.width, image.height) != (first.width, first.height):
        found.append(f"{label} is {size} but image[0] is {first.width}x{first.height}; the "
                     f"{label} must have the first image's dimensions")
    if rule.transparent and not image.transparent:
        found.append(f"{label} has no fully transparent pixel; alpha 0 marks where to edit, so "
                     f"{model} needs a {label} with some")
    return found


def edit_problems(params: ImageParams, inputs: EditInputs) -> list[str]:
    """Every reason ``inputs`` cannot go with ``params`` to ``POST /v1/images/edits``; [] when they can.

    Only the files and what ties them to the fields (a mask with GIF output);
    the fields' own rules are :meth:`ImageParams.problems`.
    """
    spec = params.spec
    if not spec.edits:
        editors = ", ".join(name for name, other in MODELS.items() if other.edits)
        return [f"model {spec.name} does not edit images; models that edit: "
                f"{editors or 'no known model'}"]
    found = []
    rule = spec.uploads["image"]
    count = len(inputs.images)
    if not 1 <= count <= rule.max_count:
        allowed = "exactly 1" if rule.max_count == 1 else f"1 to {rule.max_count}"
        found.append(f"image: {count} given; {spec.name} takes {allowed} input images")
    first = inputs.images[0] if inputs.images else None
    for index, image in enumerate(inputs.images[:rule.max_count]):
        found.extend(_file_problems(f"image[{index}]", image, rule, spec.name,
                                    first if index else None))
    if inputs.mask is not None and inputs.markup is not None:
        found.append("mask and markup cannot go together; send one of them")
    extras = {"mask": inputs.mask, "markup": inputs.markup}
    for name, extra in extras.items():
        if extra is None:
            continue
        if name not in spec.uploads:
            takers = ", ".join(other.name for other in MODELS.values() if name in other.uploads)
            found.append(f"{name} is not taken by {spec.name}; models that take it: "
                         f"{takers or 'no known model'}")
            continue
        found.extend(_file_problems(name, extra, spec.uploads[name], spec.name, first))
    if inputs.mask is not None and params.output_format == "gif":
        found.append("mask cannot go with output_format 'gif': GIF output takes no mask; "
                     "choose png, jpeg or webp, or send no mask")
    return found


def check_edit(params: ImageParams, inputs: EditInputs) -> None:
    """Raise :class:`~imagewidgets.errors.ParamsError` naming every problem of this edit.

    The fields are checked as the edits endpoint takes them (``params`` at
    ``endpoint="edits"``, on a copy when they are at generations), then the files.
    """
    at_edits = params if params.endpoint == "edits" else params.copy(endpoint="edits")
    found = edit_problems(at_edits, inputs)
    if at_edits.spec.edits:  # else the one sentence says it all
        found = at_edits.problems() + found
    if found:
        raise ParamsError(found)
