"""The front end's files: shipped with the package, each widget module whole and with its cleanup."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from imagewidgets.ui import assist, controls, download, frontend, gallery, gallery_grid, liveness, widgets

MODULES = {"assist.js": assist.PageAssist, "download.js": download.FullImageButton,
           "gallery.js": gallery_grid.GalleryGrid, "liveness.js": liveness.KernelWatch,
           "prompt.js": controls.PromptBox}
"""Each widget module and the widget that loads it."""


def _files(folder: str) -> set[str]:
    return {entry.name for entry in (resources.files("imagewidgets.ui") / folder).iterdir()
            if entry.is_file()}


def test_every_front_end_file_is_package_data() -> None:
    # importlib.resources reads what an installed wheel holds (hatch ships the whole package).
    assert _files("js") == {"lifecycle.js", *MODULES}
    assert _files("css") == {"widgets.css", "gallery.css", "liveness.css"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_widget_loads_its_module_with_the_helper_inlined(name: str) -> None:
    code = frontend.esm(name)
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
    body = code.split("export function lifecycle()")[0] + code.split("\n}\n", 1)[1]
    for raw in ("addEventListener", "MutationObserver", "setTimeout", "requestAnimationFrame",
                "model.on("):
        assert raw not in body, f"{name} calls {raw} itself, not through lifecycle.js"


def test_stylesheets_are_read_once_into_the_style_widgets() -> None:
    assert frontend.stylesheet("widgets.css", "liveness.css") == widgets.STYLE
    assert widgets.STYLE.startswith("<style>") and ".iw-root .iw-tile-image" in widgets.STYLE
    assert ".iw-gallery .iw-gallery-grid" in gallery._GALLERY_STYLE
