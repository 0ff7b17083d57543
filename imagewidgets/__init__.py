"""Jupyter widgets for image generation through the Images API.

The core (models, params, client, emulator) imports no ipywidgets; the
widgets load on first use, through the module ``__getattr__`` below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .models import MODELS as MODELS, ModelSpec as ModelSpec, register_model as register_model
from .params import ImageParams as ImageParams

# "X as X" marks a re-export for type checkers and linters, which cannot read a derived
# __all__; tests/test_package.py checks these imports against _PUBLIC.
if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from . import emulator as emulator, spending as spending
    from .api import ImagesClient as ImagesClient, ModelInfo as ModelInfo
    from .errors import (
        APIConnectionError as APIConnectionError,
        APIError as APIError,
        APITimeoutError as APITimeoutError,
        AuthenticationError as AuthenticationError,
        BadRequestError as BadRequestError,
        BudgetExceededError as BudgetExceededError,
        ContentPolicyError as ContentPolicyError,
        ImageDecodeError as ImageDecodeError,
        ImageExpiredError as ImageExpiredError,
        ImagesError as ImagesError,
        InsufficientQuotaError as InsufficientQuotaError,
        ModelRetiredError as ModelRetiredError,
        NotFoundError as NotFoundError,
        ParamsError as ParamsError,
        PermissionDeniedError as PermissionDeniedError,
        RateLimitError as RateLimitError,
        ServerError as ServerError,
        StreamIncompleteError as StreamIncompleteError,
    )
    from .inputs import EditInputs as EditInputs
    from .results import (
        GeneratedImage as GeneratedImage,
        Generation as Generation,
        PartialImage as PartialImage,
        Usage as Usage,
    )
    from .storage import ImageStore as ImageStore
    from .sync import edit as edit, generate as generate
    from .ui.compare import CompareGrid as CompareGrid, compare as compare
    from .ui.gallery import Gallery as Gallery
    from .ui.panel import ImagePanel as ImagePanel
    from .ui.tile import ImageTile as ImageTile

__version__ = "0.1.0"

_ERRORS = (
    "ImagesError", "ParamsError", "APIError", "BadRequestError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "RateLimitError", "InsufficientQuotaError",
    "ContentPolicyError", "ServerError", "APIConnectionError", "APITimeoutError",
    "StreamIncompleteError", "ImageExpiredError", "ImageDecodeError", "ModelRetiredError",
    "BudgetExceededError",
)

# The one list of public names: name -> the module that defines it. Names of the
# core are imported above; the rest load on first access (``__getattr__``), so
# ``import imagewidgets`` imports neither httpx nor ipywidgets.
_PUBLIC = {
    "MODELS": "models",
    "ModelSpec": "models",
    "register_model": "models",
    "ImageParams": "params",
    "ImagesClient": "api.client",
    "ModelInfo": "api.client",
    "generate": "sync",
    "edit": "sync",
    "EditInputs": "inputs",
    "GeneratedImage": "results",
    "Generation": "results",
    "PartialImage": "results",
    "Usage": "results",
    "ImageStore": "storage.store",
    "ImagePanel": "ui.panel",
    "Gallery": "ui.gallery",
    "CompareGrid": "ui.compare",
    "compare": "ui.compare",
    "ImageTile": "ui.tile",
    **dict.fromkeys(_ERRORS, "errors"),
}
_SUBMODULES = ("emulator", "spending")

__all__ = sorted([*_PUBLIC, *_SUBMODULES])  # derived: one list of names


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'imagewidgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
