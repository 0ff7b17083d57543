"""The custom size controls, driven as a user would: typing, picking, clicking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
import pytest

import imagewidgets as iw
from imagewidgets.models import CustomSizes, parse_size
from imagewidgets.ui.controls import Controls
from imagewidgets.ui.widgets import is_shown as shown

GPT2_RULES = iw.MODELS["gpt-image-2"].custom_sizes


@pytest.fixture
def made() -> Iterator[Controls]:
    params = iw.ImageParams(model="gpt-image-2", prompt="A lighthouse", quality="high",
                            size="1024x1536")
    controls = Controls(params)
    yield controls
    controls.close()


def test_the_controls_are_there_named_and_found_by_class(made: Controls) -> None:
    custom = made.custom_size
    for widget, css in ((custom.text, "iw-size-custom"), (custom.ratio, "iw-size-ratio"),
                        (custom.message, "iw-size-message"), (custom.nearest, "iw-size-nearest")):
        assert css in widget._dom_classes
    assert custom.text.description == "Custom" and custom.ratio.description == "Aspect ratio"
    assert custom.text.continuous_update and "1920x1088" in custom.text.placeholder
    assert "divisible by 16" in custom.text.tooltip
    assert custom.ratio.options == ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
    assert custom.text.value == "1024x1536" and custom.ratio.value == "2:3"
    assert shown(custom.text) and shown(custom.ratio) and not custom.text.disabled
    assert not shown(custom.nearest) and custom.message.value == ""
    # next to the Size dropdown
    grid = next(child for child in made.children if isinstance(child, widgets.GridBox))
    at = list(grid.children).index(made.widgets["size"])
    assert list(grid.children)[at + 1:at + 3] == [custom.text, custom.ratio]
    assert "listed sizes" not in made.explain.value


def test_a_valid_size_typed_is_set_and_shown_in_the_dropdown(made: Controls) -> None:
    made.custom_size.text.value = "1920x1088"
    size = made.widgets["size"]
    assert made.params.size == "1920x1088"
    assert size.value == "1920x1088" and "1920x1088" in size.options
    assert made.custom_size.message.value == "" and not shown(made.custom_size.nearest)
    assert made.custom_size.ratio.value is None  # not one of the listed ratios
    made.custom_size.text.value = "2048 X 1152"  # spelt loosely: read, and left as typed
    assert made.params.size == "2048x1152" and made.custom_size.text.value == "2048 X 1152"
    assert made.custom_size.ratio.value == "16:9"
    assert "1920x1088" not in size.options  # only the current custom size is listed
    size.value = "1024x1024"  # back to a preset, from the dropdown
    assert made.params.size == "1024x1024" and made.custom_size.text.value == "1024x1024"
    assert size.options == ("auto", "1024x1024", "1536x1024", "1024x1536")


def test_a_size_off_the_multiple_is_explained_and_the_nearest_offered(made: Controls) -> None:
    custom = made.custom_size
    custom.text.value = "1000x1000"
    message = custom.message.value
    assert "size &#x27;1000x1000&#x27; is not allowed for gpt-image-2" in message
    assert "both sides must be divisible by 16" in message
    assert "the size stays 1024x1536" in message
    assert shown(custom.nearest) and custom.nearest.description == "Use 1008x1008"
    assert GPT2_RULES is not None and GPT2_RULES.problem("1008x1008") is None
    # nothing else was lost meanwhile
    params = made.params
    assert (params.size, params.quality, params.prompt) == ("1024x1536", "high", "A lighthouse")
    assert made.widgets["size"].value == "1024x1536"

    custom.nearest.click()
    assert params.size == "1008x1008" and made.widgets["size"].value == "1008x1008"
    assert custom.text.value == "1008x1008" and custom.message.value == ""
    assert not shown(custom.nearest)
    assert (params.quality, params.prompt) == ("high", "A lighthouse")


def test_not_a_size_is_explained_with_nothing_to_offer(made: Controls) -> None:
    made.custom_size.text.value = "abc"
    assert "size &#x27;abc&#x27; is not allowed" in made.custom_size.message.value
    assert "not of the form WIDTHxHEIGHT" in made.custom_size.message.value
    assert not shown(made.custom_size.nearest)
    assert made.params.size == "1024x1536" and made.params.quality == "high"
    made.custom_size.text.value = ""  # cleared: nothing to say
    assert made.custom_size.message.value == "" and made.params.size == "1024x1536"


def test_a_size_of_400_digits_is_explained_not_raised(made: Controls) -> None:
    made.custom_size.text.value = "1" + "0" * 400 + "x1"
    assert "the aspect ratio must be between" in made.custom_size.message.value
    assert made.custom_size.nearest.description == "Use 3840x1280"
    assert made.params.size == "1024x1536"


def test_a_ratio_beyond_the_limit_is_explained_and_brought_in(made: Controls) -> None:
    custom = made.custom_size
    custom.text.value = "4000x1000"
    message = custom.message.value
    assert "4000x1000" in message and "the aspect ratio must be between 1:3 and 3:1" in message
    assert "at most 3840x2160" in message
    offered = custom.nearest.description.removeprefix("Use ")
    width, height = parse_size(offered) or (0, 0)
    assert GPT2_RULES is not None and GPT2_RULES.problem(offered) is None
    assert width > height and width / height <= 3
    assert made.params.size == "1024x1536" and made.params.prompt == "A lighthouse"
    custom.nearest.click()
    assert made.params.size == offered and custom.text.value == offered


def test_picking_a_ratio_sets_the_size(made: Controls) -> None:
    custom = made.custom_size
    custom.ratio.value = "16:9"
    assert made.params.size == "1360x768" == custom.text.value == made.widgets["size"].value
    assert custom.ratio.value == "16:9"
    custom.ratio.value = "3:2"  # the model's own preset of that aspect
    assert made.params.size == "1536x1024" and custom.ratio.value == "3:2"
    custom.text.value = "abc"
    custom.ratio.value = "16:9"  # a pick replaces a bad entry, and its message
    assert made.params.size == "1360x768" and custom.text.value == "1360x768"
    assert custom.message.value == ""


def test_only_ratios_the_model_allows_are_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    narrow = iw.ModelSpec.like("gpt-image-2", name="narrow",
                               custom_sizes=CustomSizes(16, 2.0, 2048, 2048))
    monkeypatch.setitem(iw.MODELS, narrow.name, narrow)
    controls = Controls(iw.ImageParams(model="narrow", prompt="x"))
    assert controls.custom_size.ratio.options == ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16")
    controls.close()


def test_a_model_without_custom_sizes_hides_them(made: Controls) -> None:
    custom = made.custom_size
    made.custom_size.text.value = "1000x1000"  # a bad entry pending
    made.params.model = "dall-e-3"
    for widget in (custom.text, custom.ratio, custom.row):
        assert not shown(widget)
    assert custom.text.disabled and custom.ratio.disabled and custom.nearest.disabled
    assert custom.message.value == ""
    assert "dall-e-3 takes only the listed sizes, no custom WIDTHxHEIGHT" in made.explain.value
    assert "does not take size" not in made.explain.value  # it takes size: the listed ones
    made.params.model = "gpt-image-2"
    assert shown(custom.text) and not custom.text.disabled
    assert custom.text.value == made.params.size and custom.message.value == ""


def test_a_custom_size_survives_a_round_trip_through_dall_e_3(made: Controls) -> None:
    made.custom_size.text.value = "1920x1088"
    made.widgets["model"].value = "dall-e-3"
    assert made.params.size == "1792x1024" == made.widgets["size"].value  # the closest it takes
    made.widgets["model"].value = "gpt-image-2"
    assert made.params.size == "1920x1088"  # the params remembered the choice
    assert made.custom_size.text.value == "1920x1088" == made.widgets["size"].value
    assert made.params.quality == "high"


def test_a_switch_from_a_custom_size_refreshes_once_and_sends_once(watch_refreshes: Any) -> None:
    params = iw.ImageParams(model="gpt-image-2", prompt="x", size="1920x1088")
    controls = Controls(params)
    refreshes, option_sets = watch_refreshes(controls)
    params.model = "dall-e-2"
    assert refreshes == [None] and len(option_sets) == 1
    assert controls.widgets["size"].value == params.size == "1024x1024"
    controls.close()


def test_typing_sends_the_dropdown_its_options_and_value_together(made: Controls) -> None:
    sent: list[dict[str, Any]] = []
    original = widgets.Widget._send
    size = made.widgets["size"]

    def spy(self: widgets.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        if self is size:
            sent.append(msg)
        original(self, msg, buffers)

    widgets.Widget._send = spy  # type: ignore[method-assign]
    try:
        made.custom_size.text.value = "1920x1088"
    finally:
        widgets.Widget._send = original  # type: ignore[method-assign]
    states = [msg["state"] for msg in sent if msg.get("method") == "update"]
    assert len(states) == 1 and states[0]["index"] == 4


def test_the_message_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = iw.ModelSpec.like("gpt-image-2", name="<b>odd</b>")
    monkeypatch.setitem(iw.MODELS, odd.name, odd)
    controls = Controls(iw.ImageParams(model=odd.name, prompt="x"))
    controls.custom_size.text.value = "<i>1</i>"
    assert "<b>" not in controls.custom_size.message.value
    assert "<i>" not in controls.custom_size.message.value
    assert "&lt;b&gt;odd&lt;/b&gt;" in controls.custom_size.message.value
    controls.close()
