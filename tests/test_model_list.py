"""The models a server offers, read leniently."""

from __future__ import annotations

import json
from datetime import date

import pytest

import imagewidgets as iw
from imagewidgets.api.model_list import ModelInfo, parse_models

# -- GET /v1/models --------------------------------------------------------------------------


def test_models_are_read_leniently() -> None:
    raw = json.dumps({"object": "list", "data": [
        {"id": "gpt-image-2.6-flare", "object": "model", "created": 1793750400,
         "owned_by": "system", "shutdown_date": None},
        {"id": "dall-e-3", "object": "model", "created": 1698785189, "owned_by": "system",
         "shutdown_date": "2026-05-12"},
        {"id": "gpt-image-2.7-flare", "created": "soon", "owned_by": 5,
         "shutdown_date": "2027-01-01T00:00:00Z", "capabilities": ["gif"], "tier": "beta"},
        {"id": "unix-shutdown", "shutdown_date": 1798761600},
        {"id": "odd-shutdown", "shutdown_date": "next year"},
        {"object": "model"}, {"id": ""}, {"id": 7}, "not a model",
    ]}).encode()
    models = parse_models(raw)
    assert [model.id for model in models] == ["gpt-image-2.6-flare", "dall-e-3", "gpt-image-2.7-flare",
                                              "unix-shutdown", "odd-shutdown"]
    flare, dalle, future, unix, odd = models
    assert (flare.created, flare.owned_by, flare.shutdown_date, flare.extra) == (
        1793750400, "system", None, {})
    assert dalle.shutdown_date == date(2026, 5, 12) and dalle.retired() and not flare.retired()
    assert (future.created, future.owned_by, future.shutdown_date) == (0, "", date(2027, 1, 1))
    assert future.extra == {"capabilities": ["gif"], "tier": "beta"} and not future.known
    assert unix.shutdown_date == date(2027, 1, 1) and odd.shutdown_date is None
    assert flare.known and hash(future) == hash(ModelInfo("gpt-image-2.7-flare", 0, "",
                                                          date(2027, 1, 1)))
    for bad in (b"[]", b'{"data": {}}', b"nope"):
        with pytest.raises(iw.APIError):
            parse_models(bad)
