"""The widgets' shared parts: one layout and style for widgets laid out alike, never changed."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pytest

import imagewidgets as iw
from imagewidgets.models import MODELS
from imagewidgets.ui.widgets import close_tree, is_shown, set_shown, shared_layout, shared_style


def _tree(root: widgets.Widget) -> list[widgets.Widget]:
    """``root`` and every widget below it, children first found, each once."""
    found: dict[int, widgets.Widget] = {}
    pending = [root]
    while pending:
        current = pending.pop()
        if id(current) not in found:
            found[id(current)] = current
            pending.extend(getattr(current, "children", ()) or ())
    return list(found.values())


def _parts(root: widgets.Widget, name: str) -> dict[str, Any]:
    """The distinct layouts (or styles) of the widgets under ``root``, by model id."""
    return {part.model_id: part for widget in _tree(root)
            if isinstance(part := getattr(widget, name, None), widgets.Widget)}


async def test_a_panel_shares_its_layouts_and_never_changes_one(client: iw.ImagesClient) -> None:
    panel = iw.ImagePanel(client=client, params=iw.ImageParams(model="gpt-image-1", prompt="A fox"))
    await panel.generate()
    await panel.generate()
    shared = {model_id: dict(part.get_state()) for model_id, part in _parts(panel, "layout").items()}
    # Each layout is a model of the notebook's widget state: ~1.1 KB each when every widget had its own.
    assert len(_tree(panel)) > 50 and len(shared) <= 12
    assert len(_parts(panel, "style")) <= 8
    # Everything that hides or shows a control (every model, both endpoints, the custom size,
    # a row folded) goes through a class: a shared layout changed would refuse (AttributeError).
    for name in MODELS:
        panel.params.model = name
        panel.params.endpoint = "edits" if panel.params.endpoint == "generations" else "generations"
    fold = panel.grid.children[0].children[0].children[0]
    fold.click()
    fold.click()
    assert {model_id: dict(part.get_state()) for model_id, part in _parts(panel, "layout").items()
            if model_id in shared} == shared
    panel.close()


def test_a_shared_layout_refuses_a_change_naming_the_field_and_value() -> None:
    layout = shared_layout(width="245px")
    assert shared_layout(width="245px") is layout and shared_layout(width="246px") is not layout
    one, two = (widgets.Dropdown(options=["a"], layout=layout) for _ in range(2))
    with pytest.raises(AttributeError, match=r"display cannot be set to 'none'.*shared by many widgets"):
        one.layout.display = "none"
    assert layout.display is None and two.layout is layout
    # Hidden by its class instead: only that widget.
    set_shown(one, False)
    assert not is_shown(one) and is_shown(two)
    set_shown(one, True)
    assert is_shown(one)


def test_closing_one_widget_leaves_the_shared_layout_and_style_to_the_others() -> None:
    layout, style = shared_layout(), shared_style(widgets.HTML)
    assert isinstance(style, type(widgets.HTML().style))
    first, second = (widgets.HTML("x", layout=layout, style=style) for _ in range(2))
    close_tree(first)
    assert first.comm is None and layout.comm is not None and style.comm is not None
    assert second.layout is layout and shared_layout() is layout
    close_tree(second)


def test_a_shared_layout_is_sent_with_what_it_sets_only() -> None:
    # The front end's defaults are null: the nulls need not travel nor be saved in the notebook.
    state = shared_layout(align_items="center").get_state()
    assert state["align_items"] == "center" and "width" not in state and "display" not in state
    assert state["_model_name"] == "LayoutModel" and state["_view_name"] == "LayoutView"
    assert widgets.Layout().get_state()["width"] is None  # an own layout: every field, as before
