"""The package surface: a curated __all__, lazy UI, nothing patched at import."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import imagewidgets as iw

EXPECTED = {
    "MODELS", "ModelSpec", "register_model", "ImageParams", "ImagesClient", "generate",
    "GeneratedImage", "Generation", "PartialImage", "Usage", "ImagePanel", "ImageTile", "emulator",
    "ImagesError", "ParamsError", "APIError", "BadRequestError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "RateLimitError", "InsufficientQuotaError",
    "ContentPolicyError", "ServerError", "APIConnectionError", "APITimeoutError",
    "StreamIncompleteError", "ImageExpiredError", "ImageDecodeError", "ModelRetiredError",
    "ModelInfo", "CompareGrid", "compare", "BudgetExceededError", "ImageStore", "spending", "Gallery",
    "edit", "EditInputs",
}


def test_all_is_curated_and_every_name_resolves() -> None:
    assert set(iw.__all__) == EXPECTED
    assert len(iw.__all__) == len(EXPECTED)
    for name in iw.__all__:
        assert getattr(iw, name) is not None, name


def test_every_public_name_is_the_object_its_module_defines() -> None:
    # __all__ is derived from the table, so the table is what must not lie.
    for name, module in iw._PUBLIC.items():
        defined = importlib.import_module(f"imagewidgets.{module}")
        assert getattr(iw, name) is getattr(defined, name), name
        assert name in getattr(defined, "__all__", ()), f"{name} missing from {module}.__all__"


def test_type_checkers_see_the_same_names_as_the_table() -> None:
    # IDEs and mypy read the TYPE_CHECKING imports; users read __all__: one list for both.
    tree = ast.parse(Path(iw.__file__).read_text())
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    seen.update(alias.asname or alias.name for alias in statement.names)
    eager = {name for name, module in iw._PUBLIC.items() if module in ("models", "params")}
    assert seen == set(iw.__all__) - eager


def test_import_is_light_and_patches_nothing() -> None:
    code = (
        "import asyncio, sys; before = asyncio.run, asyncio.get_event_loop_policy();"
        "import imagewidgets;"
        "assert 'ipywidgets' not in sys.modules and 'httpx' not in sys.modules;"
        "assert 'nest_asyncio' not in sys.modules;"
        "assert (asyncio.run, asyncio.get_event_loop_policy()) == before"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)


LATER = ("PIL", "httpx", "uvicorn", "starlette", "xml.sax", "imagewidgets.api.client",
         "imagewidgets.emulator", "imagewidgets.ui.compare", "imagewidgets.capabilities", "fractions",
         "openai")
"""What the panel needs only once an image arrives, a client is made, the emulator started, a
comparison opened or a custom size checked (``fractions``); the old ``capabilities`` name and the
openai SDK never."""


def test_the_panel_imports_nothing_it_needs_only_later() -> None:
    # Each costs the panel's import time before any use (benchmarks/bench_import.py, B8).
    code = "import sys; import imagewidgets as iw; iw.ImagePanel; print(*sys.modules)"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = done.stdout.split()
    assert "imagewidgets.ui.panel" in loaded
    assert [name for name in loaded if any(name == later or name.startswith(f"{later}.")
                                           for later in LATER)] == []


def test_no_part_of_the_package_imports_the_openai_sdk() -> None:
    # The client speaks HTTP itself: a bug shared with the SDK would hide in the benchmarks.
    code = ("import sys, imagewidgets as iw, imagewidgets.emulator, imagewidgets.sync;"
            "[getattr(iw, name) for name in iw.__all__]; print(*sys.modules)")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = done.stdout.split()
    assert "imagewidgets.ui.compare" in loaded and "imagewidgets.api.client" in loaded
    assert [name for name in loaded if name == "openai" or name.startswith("openai.")] == []


def test_the_widgets_package_still_names_every_widget() -> None:
    import imagewidgets.ui as ui

    for name in ui.__all__:
        assert getattr(ui, name) is getattr(iw, name), name



def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        iw.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_the_old_capabilities_module_warns_and_gives_the_models_objects() -> None:
    sys.modules.pop("imagewidgets.capabilities", None)
    with pytest.warns(DeprecationWarning, match="moved to imagewidgets.models"):
        from imagewidgets.capabilities import FIELDS, describe_values  # an earlier lesson's line
    assert FIELDS is iw.models.FIELDS and describe_values is iw.models.describe_values
