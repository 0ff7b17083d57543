"""The package surface: a curated __all__, lazy UI, nothing patched at import."""

from __future__ import annotations

import subprocess
import sys

import imagewidgets as iw

EXPECTED = {
    "MODELS", "ModelSpec", "register_model", "ImageParams", "ImagesClient", "generate",
    "GeneratedImage", "Generation", "PartialImage", "Usage", "ImagePanel", "ImageTile", "emulator",
    "ImagesError", "ParamsError", "APIError", "BadRequestError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "RateLimitError", "InsufficientQuotaError",
    "ContentPolicyError", "ServerError", "APIConnectionError", "APITimeoutError",
    "StreamIncompleteError", "ImageExpiredError", "ImageDecodeError",
}


def test_all_is_curated_and_every_name_resolves() -> None:
    assert set(iw.__all__) == EXPECTED
    assert len(iw.__all__) == len(EXPECTED)
    for name in iw.__all__:
        assert getattr(iw, name) is not None, name


def test_import_is_light_and_patches_nothing() -> None:
    code = (
        "import asyncio, sys; before = asyncio.run, asyncio.get_event_loop_policy();"
        "import imagewidgets;"
        "assert 'ipywidgets' not in sys.modules and 'httpx' not in sys.modules;"
        "assert 'nest_asyncio' not in sys.modules;"
        "assert (asyncio.run, asyncio.get_event_loop_policy()) == before"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        iw.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")
