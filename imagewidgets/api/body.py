"""The request body we send: checked once, so that nothing bad is ever sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traitlets import TraitError

from ..errors import ParamsError
from ..params import ImageParams, RequestBody

__all__ = ["request_body"]


def request_body(params: ImageParams | Mapping[str, Any] | None, fields: Mapping[str, Any]) -> RequestBody:
    """The checked JSON body, or ParamsError: nothing bad is ever sent.

    A :class:`RequestBody` with no ``fields`` was checked where it was built and
    is used as it is; anything else is checked here, once.
    """
    if isinstance(params, RequestBody) and not fields:
        return params
    if isinstance(params, ImageParams) and params.endpoint != "generations":
        # Its fields were checked for another endpoint: never sent as a generation.
        raise ParamsError([f"endpoint {params.endpoint!r} needs the images to edit: call "
                           "client.edit(params, image) or client.stream(params, inputs=image)"])
    try:
        if isinstance(params, ImageParams):
            checked = params.copy(**fields) if fields else params
        else:
            checked = ImageParams(**{**(params or {}), **fields})
    except TraitError as error:
        raise ParamsError([str(error)]) from None
    return checked.to_request()
