"""Whether an edit can be sent: a stand-in that checks only that the model edits.

The full rules (counts, formats, sizes, the mask's dimensions and alpha, mask vs markup)
are another change's; this keeps the client's call to :func:`check_edit` in one place.
"""

from __future__ import annotations

from typing import Any

from .errors import ParamsError

__all__ = ["check_edit"]


def check_edit(params: Any, inputs: Any) -> None:
    """Raise :class:`ParamsError` unless ``params.spec`` (an ``ImageParams``'s model) edits."""
    spec = params.spec
    if not spec.edits:
        raise ParamsError([f"model {spec.name!r} does not edit images; choose a model that "
                           "takes POST /v1/images/edits, e.g. gpt-image-2"])
