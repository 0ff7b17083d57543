"""The emulator's ``GET /v1/models``: the official shape, registered models listed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx

from imagewidgets.emulator import EmulatorServer
from imagewidgets.models import (
    MODELS,
    ModelSpec,
)

from emulator_http import error_of

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


def test_models_list_has_the_official_shape(server: EmulatorServer, http: httpx.Client) -> None:
    before = server.request_count
    answer = http.get("/models").json()
    assert answer["object"] == "list" and [m["id"] for m in answer["data"]] == list(MODELS)
    by_id = {entry["id"]: entry for entry in answer["data"]}
    for entry in answer["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by", "shutdown_date"}
        assert entry["object"] == "model" and entry["owned_by"] == "system"
    assert by_id["dall-e-3"]["shutdown_date"] == "2026-05-12"
    assert by_id["gpt-image-1.5"]["shutdown_date"] == "2026-12-01"
    assert by_id["gpt-image-2.6-sunburst"]["shutdown_date"] is None
    released = datetime.fromtimestamp(by_id["gpt-image-2.6-flare"]["created"], UTC).date()
    assert released == MODELS["gpt-image-2.6-flare"].released == date(2026, 11, 4)
    assert by_id["chatgpt-image-latest"]["created"] == 0  # the table does not know its release
    one = http.get("/models/gpt-image-2.6-flare")
    assert one.status_code == 200 and one.json() == by_id["gpt-image-2.6-flare"]
    missing = http.get("/models/gpt-image-9")
    assert missing.status_code == 404 and error_of(missing) == {
        "message": "The model `gpt-image-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": None, "code": "model_not_found"}
    assert server.request_count == before  # the request log is of generations only
    with httpx.Client(base_url=server.url, timeout=120) as anonymous:
        for path in ("/models", "/models/dall-e-3"):
            denied = anonymous.get(path)
            assert denied.status_code == 401 and error_of(denied)["code"] == "invalid_api_key"


def test_a_registered_model_is_listed(http: httpx.Client, registered: Any) -> None:
    registered(ModelSpec.like("gpt-image-2", name="gpt-image-2.7-test"))
    assert "gpt-image-2.7-test" in {m["id"] for m in http.get("/models").json()["data"]}
