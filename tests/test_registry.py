"""The registry: the catalog's models, models added at run time, and lookups across them."""

from __future__ import annotations

import pytest

import imagewidgets as iw
from imagewidgets.models import MODELS, ModelSpec, default_model_for, models_taking, register_model
from imagewidgets.models.catalog import CATALOG

SEED_MODELS = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5",
               "chatgpt-image-latest"]
IN_CATALOG = {spec.name for spec in CATALOG}


def test_the_registry_holds_the_catalog_in_its_order() -> None:
    assert [name for name in MODELS if name in IN_CATALOG] == [spec.name for spec in CATALOG]


def test_registry_holds_the_seed_models_and_gpt_image_2() -> None:
    assert set(SEED_MODELS) | {"gpt-image-2"} <= set(MODELS)


def test_default_model_rule() -> None:
    assert default_model_for({"prompt": "a"}) == "dall-e-2"
    assert default_model_for({"prompt": "a", "size": "1024x1024"}) == "dall-e-2"
    for gpt_only in ("background", "output_format", "moderation", "stream", "output_compression"):
        assert default_model_for({"prompt": "a", gpt_only: "x"}).startswith("gpt-image")


def test_register_a_compatible_model() -> None:
    spec = register_model(ModelSpec.like("gpt-image-1.5", name="my-model"))
    try:
        assert MODELS["my-model"] is spec and spec.fields == MODELS["gpt-image-1.5"].fields
        params = iw.ImageParams(model="my-model", prompt="x", quality="high")
        assert params.to_request()["model"] == "my-model"
    finally:
        del MODELS["my-model"]
    with pytest.raises(KeyError, match="known models"):
        ModelSpec.like("nope", name="x")


def test_models_taking_reads_the_table_in_order() -> None:
    def known(names: tuple[str, ...]) -> tuple[str, ...]:  # other tests may register models
        return tuple(name for name in names if name in IN_CATALOG)

    assert known(models_taking("style")) == ("dall-e-3",)
    assert known(models_taking("response_format")) == ("dall-e-2", "dall-e-3")
    gpt_in_table_order = tuple(name for name in MODELS if name in IN_CATALOG and "dall-e" not in name)
    assert known(models_taking("stream")) == gpt_in_table_order
    assert known(models_taking("complexity")) == ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
    assert models_taking("prompt") == tuple(MODELS) == models_taking("model")
    assert models_taking("colour") == ()
    register_model(ModelSpec.like("dall-e-3", name="my-dalle"))
    try:
        assert models_taking("style")[-1] == "my-dalle"
        assert "my-dalle" not in models_taking("background")
    finally:
        del MODELS["my-dalle"]
