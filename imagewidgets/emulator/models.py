"""``GET /v1/models`` and ``GET /v1/models/{model}``: what the emulator offers.

The official shape (developers.openai.com/api/reference/resources/models/methods/list):
``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by",
"shutdown_date"}]}``. With ``as_of`` set, models shut down by then are left out,
as an account no longer sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..models import MODELS, ModelSpec
from .state import EmulatorState
from .validation import Refusal, shut_down, shut_down_refusal, unknown_model_refusal

__all__ = ["list_models", "retrieve_model"]


def _model_object(spec: ModelSpec) -> dict[str, Any]:
    """A model as ``GET /v1/models`` describes it."""
    released = spec.released
    created = (int(datetime(released.year, released.month, released.day, tzinfo=UTC).timestamp())
               if released else 0)
    return {"id": spec.name, "object": "model", "created": created, "owned_by": "system",
            "shutdown_date": spec.shutdown.isoformat() if spec.shutdown else None}


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: every model served, shut-down ones left out when ``as_of`` is set."""
    state: EmulatorState = request.app.state.emulator  # the key was checked by guard.Guard
    data = [_model_object(spec) for spec in list(MODELS.values()) if not shut_down(spec, state.as_of)]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> Response:
    """``GET /v1/models/{model}``: one model, or 404 ``model_not_found``."""
    state: EmulatorState = request.app.state.emulator
    name = request.path_params["model"]
    try:
        spec = MODELS.get(name)
        if spec is None:
            raise unknown_model_refusal(name)
        if shut_down(spec, state.as_of):
            raise shut_down_refusal(name)
    except Refusal as refusal:
        return refusal.response()
    return JSONResponse(_model_object(spec))
