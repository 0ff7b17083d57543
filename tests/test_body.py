"""The request body we send: checked once, built from parameters or a mapping."""

from __future__ import annotations

from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.api.body import request_body
from imagewidgets.params import RequestBody

# -- the body we send ----------------------------------------------------------------------


def test_a_checked_body_is_sent_as_it_is() -> None:
    body = iw.ImageParams(model="gpt-image-1", prompt="A fox").to_request()
    assert request_body(body, {}) is body


def test_anything_else_is_checked_and_built() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="A fox")
    built = request_body(params, {"quality": "low"})
    assert isinstance(built, RequestBody) and built["quality"] == "low" and params.quality != "low"
    from_mapping = request_body({"model": "dall-e-3", "prompt": "x"}, {"size": "1792x1024"})
    assert from_mapping["size"] == "1792x1024" and isinstance(from_mapping, RequestBody)
    checked = request_body(params.to_request(), {"n": 2})  # a checked body, changed: checked again
    assert checked["n"] == 2


@pytest.mark.parametrize(
    ("params", "fields", "words"),
    [
        ({"model": "gpt-image-1", "prompt": ""}, {}, "prompt is empty"),
        ({"model": "gpt-image-1", "prompt": "x"}, {"size": "512x512"}, "size '512x512'"),
        ({"model": "gpt-image-1", "prompt": "x", "n": "three"}, {}, "n"),
        (None, {"prompt": "x", "no_such_field": 1}, "no_such_field"),
    ],
    ids=["empty", "size", "wrong-type", "unknown"],
)
def test_bad_parameters_raise_params_error(params: Any, fields: dict[str, Any], words: str) -> None:
    with pytest.raises(iw.ParamsError, match=words):
        request_body(params, fields)
