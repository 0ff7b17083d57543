"""An edit's request, checked once before anything is sent: its fields at ``edits``, and its files.

Fields follow the model as at generations, through :class:`ImageParams` with ``endpoint``
``edits`` (``moderation`` is refused there, ``input_fidelity`` taken); the files are read
off the event loop and checked against the table by :func:`~imagewidgets.edit_rules.check_edit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from traitlets import TraitError

from ..edit_rules import check_edit
from ..errors import ParamsError
from ..inputs import EditInputs, ImageSource
from ..models import FIELDS
from ..params import ImageParams, RequestBody

__all__ = ["EDITS_ENDPOINT", "EditSource", "edit_params", "edit_request"]

EDITS_ENDPOINT = "edits"

EditSource = EditInputs | ImageSource | Sequence[ImageSource]
"""What an edit's ``inputs`` may be: :class:`EditInputs`, or what :meth:`EditInputs.of` reads."""


def edit_params(params: ImageParams | Mapping[str, Any] | None, fields: Mapping[str, Any]) -> ImageParams:
    """``params`` with ``fields`` at the ``edits`` endpoint, each value checked there.

    An :class:`ImageParams` already at ``edits`` with no ``fields`` is used as it is; any
    other is copied (the caller's stays as it was), and so is a :class:`RequestBody` (a
    generation's, e.g. a result's ``params``): what ``edits`` does not take is left out, as
    when a model changes. A plain mapping names fields as ``ImageParams`` does, each checked.
    """
    try:
        if isinstance(params, RequestBody):
            params = ImageParams.from_dict(params)
        if isinstance(params, ImageParams):
            if params.endpoint == EDITS_ENDPOINT and not fields:
                return params
            return params.copy(endpoint=EDITS_ENDPOINT, **fields)
        values = {**(params or {}), **fields}
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise ParamsError([f"unknown field {unknown[0]!r}; request fields are: {', '.join(FIELDS)}"])
        made = ImageParams(model=values.pop("model", None))
        made.endpoint = EDITS_ENDPOINT  # first: what the fields may hold follows it
        for name, value in values.items():
            if value is not None:
                setattr(made, name, value)
        return made
    except TraitError as error:
        raise ParamsError([str(error)]) from None


async def edit_request(params: ImageParams | Mapping[str, Any] | None, fields: Mapping[str, Any],
                       inputs: EditSource) -> tuple[RequestBody, EditInputs]:
    """The checked body and files of an edit, or :class:`ParamsError`: nothing bad is sent.

    Inputs not read yet are read (:meth:`EditInputs.of`) on a worker thread: decoding a
    mask's alpha, or a large file, never stalls the loop.
    """
    checked = edit_params(params, fields)
    body = checked.to_request()
    files = inputs if isinstance(inputs, EditInputs) else await asyncio.to_thread(EditInputs.of, inputs)
    check_edit(checked, files)
    return body, files
