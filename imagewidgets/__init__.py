"""Jupyter widgets for image generation through the Images API.

The core (capabilities, params, client, emulator) imports no ipywidgets; the
widgets load on first use, through the module ``__getattr__`` below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .capabilities import MODELS, ModelSpec, register_model
from .params import ImageParams

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from . import emulator
    from .client import ImagesClient, generate
    from .errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ContentPolicyError,
        ImageDecodeError,
        ImageExpiredError,
        ImagesError,
        InsufficientQuotaError,
        NotFoundError,
        ParamsError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        StreamIncompleteError,
    )
    from .results import GeneratedImage, Generation, PartialImage, Usage
    from .ui.panel import ImagePanel
    from .ui.tile import ImageTile

__version__ = "0.1.0"

# Public name -> module that defines it, imported on first access.
_LAZY = {
    "ImagesClient": "client",
    "generate": "client",
    "GeneratedImage": "results",
    "Generation": "results",
    "PartialImage": "results",
    "Usage": "results",
    "ImagePanel": "ui.panel",
    "ImageTile": "ui.tile",
    **{
        name: "errors"
        for name in (
            "ImagesError", "ParamsError", "APIError", "BadRequestError", "AuthenticationError",
            "PermissionDeniedError", "NotFoundError", "RateLimitError", "InsufficientQuotaError",
            "ContentPolicyError", "ServerError", "APIConnectionError", "APITimeoutError",
            "StreamIncompleteError", "ImageExpiredError", "ImageDecodeError",
        )
    },
}
_SUBMODULES = {"emulator"}

__all__ = [
    "MODELS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyError",
    "GeneratedImage",
    "Generation",
    "ImageDecodeError",
    "ImageExpiredError",
    "ImagePanel",
    "ImageParams",
    "ImageTile",
    "ImagesClient",
    "ImagesError",
    "InsufficientQuotaError",
    "ModelSpec",
    "NotFoundError",
    "ParamsError",
    "PartialImage",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StreamIncompleteError",
    "Usage",
    "emulator",
    "generate",
    "register_model",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'imagewidgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
