"""The front end's files: shipped with the package, each widget module whole and with its cleanup."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from imagewidgets.ui import (
    assist,
    controls,
    download,
    frontend,
    gallery,
    gallery_grid,
    liveness,
    shared,
    widgets,
)

MODULES = {"assist.js": assist.PageAssist, "download.js": download.FullImageButton,
           "gallery.js": gallery_grid.GalleryGrid, "liveness.js": liveness.KernelWatch,
           "prompt.js": controls.PromptBox}
"""Each widget module and the widget that loads it."""
SHARED = {"tile.js"}
"""Each widget module held once in a SharedCode model, loaded by shared.js."""


def _files(folder: str) -> set[str]:
    return {entry.name for entry in (resources.files("imagewidgets.ui") / folder).iterdir()
            if entry.is_file()}


def test_every_front_end_file_is_package_data() -> None:
    # importlib.resources reads what an installed wheel holds (hatch ships the whole package).
    assert _files("js") == {"lifecycle.js", "delivery.js", "shared.js", *MODULES, *SHARED}
    assert _files("css") == {"widgets.css", "gallery.css", "liveness.css", "tile.css", "compare.css"}


@pytest.mark.parametrize("name", sorted({*MODULES, *SHARED}))
def test_each_widget_loads_its_module_with_the_helper_inlined(name: str) -> None:
    code = frontend.esm(name)
    if name in MODULES:
        widget = MODULES[name]
        loaded = widget.class_traits()["_esm"].default_value if "_esm" in widget.class_traits() \
            else widget._esm
        assert loaded == code
    # anywidget imports _esm from a blob: URL: a relative import would not resolve there.
    assert not re.search(r"^import ", code, re.MULTILINE)
    assert "export function lifecycle()" in code and code.rstrip().endswith("export default { render };")
    # Every render hands anywidget the function that undoes what it attached.
    assert code.count("return life.cleanup;") == code.count("function render(") == 1
    # Nothing attached around the helper: every listener, observer and timer goes through it.
    # (Read where the helper ends from the files as written: what is sent has no indentation.)
    source = frontend._inlined(name, set())
    body = source.split("export function lifecycle()")[0] + source.split("\n}\n", 1)[1]
    for raw in ("addEventListener", "MutationObserver", "setTimeout", "requestAnimationFrame",
                "model.on("):
        assert raw not in body, f"{name} calls {raw} itself, not through lifecycle.js"


def test_stylesheets_are_read_once_into_the_style_widgets() -> None:
    assert frontend.stylesheet("widgets.css", "liveness.css") == widgets.STYLE
    assert widgets.STYLE.startswith("<style>") and ".iw-root .iw-tile-image" in widgets.STYLE
    assert ".iw-gallery .iw-gallery-grid" in gallery._GALLERY_STYLE


def test_what_is_sent_has_no_comments_nor_indentation_but_keeps_template_literals() -> None:
    # Each tile's state (and a notebook saved with widget state) carries the loader: its bytes count.
    loader = frontend.esm("shared.js")
    assert "//" not in loader and not re.search(r"^[ \t]", loader, re.MULTILINE)
    assert len(loader) < len((resources.files("imagewidgets.ui") / "js" / "shared.js").read_text()) * 0.8
    # A template literal's lines are the string's: kept as written, a "//" in it too.
    code = frontend._compact("a();\n  // gone\n  const t = `x\n  // kept\n    y`;\n  b();\n")
    assert code == "a();\nconst t = `x\n  // kept\n    y`;\nb();\n"
    assert "/*" not in frontend.css("widgets.css") and ".iw-hidden" in frontend.css("widgets.css")


def test_a_module_imported_twice_is_inlined_once() -> None:
    # tile.js imports lifecycle.js and delivery.js, which imports lifecycle.js too.
    code = frontend.esm("tile.js")
    assert code.count("export function lifecycle()") == 1
    assert code.count("export function receive(") == 1 and not re.search(r"^import ", code, re.MULTILINE)


def test_the_tile_code_travels_once_in_a_shared_model() -> None:
    from imagewidgets.ui.tile import ImageTile

    assert ImageTile.class_traits()["_esm"].default_value == shared.LOADER == frontend.esm("shared.js")
    reference = shared.shared_code("tile.js", "tile.css")
    assert reference == shared.shared_code("tile.js", "tile.css")  # one for the kernel
    model = shared._SHARED["tile.js"]
    assert reference == f"anywidget:{model.model_id}"
    assert model.code == frontend.esm("tile.js") and model.css == frontend.css("tile.css")
    model.close()  # closed (Widget.close_all): made again when next asked for
    assert shared.shared_code("tile.js", "tile.css") != reference
