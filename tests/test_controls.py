"""The controls, headless: real widgets bound to an ImageParams, no kernel, no server."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pytest

import imagewidgets as iw
from imagewidgets.ui.controls import Controls
from imagewidgets.ui.widgets import is_shown


@pytest.fixture
def spy_sends() -> Any:
    """``watch(widget)`` -> the list of messages that widget sends to the front end."""
    original = widgets.Widget._send
    watched: dict[int, list[dict[str, Any]]] = {}

    def spy(self: widgets.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        if id(self) in watched:
            watched[id(self)].append(msg)
        original(self, msg, buffers)

    def watch(widget: widgets.Widget) -> list[dict[str, Any]]:
        return watched.setdefault(id(widget), [])

    widgets.Widget._send = spy  # type: ignore[method-assign]
    try:
        yield watch
    finally:
        widgets.Widget._send = original  # type: ignore[method-assign]


def test_model_switch_updates_every_control(spy_sends: Any) -> None:
    params = iw.ImageParams(model="gpt-image-1", size="1536x1024", quality="high", prompt="x")
    made = Controls(params)
    controls = made.widgets
    assert not is_shown(controls["style"])
    assert is_shown(controls["background"])
    assert controls["size"].options == ("auto", "1024x1024", "1536x1024", "1024x1536")
    assert controls["output_compression"].disabled  # png: compression does not apply
    assert "jpeg or webp" in controls["output_compression"].tooltip

    sizes_seen: list[str] = []
    params.observe(lambda change: sizes_seen.append(change["new"]), names="size")
    sent = spy_sends(controls["size"])
    controls["model"].value = "dall-e-3"
    assert sizes_seen == ["1792x1024"]  # the model never saw the dropdown's reset
    assert controls["size"].options == ("1024x1024", "1792x1024", "1024x1792")
    assert controls["size"].value == "1792x1024" and controls["quality"].value == "hd"
    assert is_shown(controls["style"])
    assert not is_shown(controls["background"])
    assert controls["background"].tooltip == "transparent or opaque background"
    assert controls["n"].disabled and controls["n"].value == 1
    # one state message for the switch: options and index together, never the first option alone
    states = [msg["state"] for msg in sent if msg.get("method") == "update"]
    assert len(states) == 1 and states[0]["index"] == 1

    controls["model"].value = "gpt-image-1"
    assert controls["size"].value == "1536x1024" and controls["quality"].value == "high"
    controls["output_format"].value = "jpeg"
    assert not controls["output_compression"].disabled
    assert "transparent" not in controls["background"].options
    made.close()


def test_a_model_switch_refreshes_the_controls_once(watch_refreshes: Any) -> None:
    params = iw.ImageParams(model="gpt-image-1", size="1536x1024", quality="high", prompt="x",
                            stream=True, partial_images=2)
    controls = Controls(params)
    refreshes, option_sets = watch_refreshes(controls)

    params.model = "dall-e-2"  # moves size, quality, background, format, stream, ... at once
    assert refreshes == [None]  # one refresh of every control, after the params settled
    assert len(option_sets) == 1
    assert controls.widgets["size"].options == ("256x256", "512x512", "1024x1024")
    assert controls.widgets["size"].value == params.size
    assert not is_shown(controls.widgets["stream"])
    controls.close()


def test_a_field_change_refreshes_only_what_it_affects() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="x")
    controls = Controls(params)
    refreshed: list[set[str]] = []
    real = controls._refresh_control

    def recording(name: str) -> None:
        refreshed.append({name})
        real(name)

    controls._refresh_control = recording  # type: ignore[method-assign]
    params.output_format = "jpeg"
    touched = set().union(*refreshed)
    assert {"output_format", "output_compression", "background"} <= touched
    assert "size" not in touched and "model" not in touched
    assert not controls.widgets["output_compression"].disabled  # jpeg: compression applies
    assert "transparent" not in controls.widgets["background"].options
    refreshed.clear()
    params.prompt = "a new prompt"
    assert refreshed == []  # the prompt box and its count only
    assert controls.prompt.value == "a new prompt" and "12 / " in controls.count.value
    controls.close()


def test_a_refused_value_is_explained_and_the_control_restored() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="keep me")
    controls = Controls(params)
    user = controls.widgets["n"]
    user.max = 50
    user.value = 20  # past what any model takes
    assert "n 20 is out of range" in controls.message.value
    assert user.value == params.n == 1 and params.prompt == "keep me"
    controls.close()


def test_prompt_count_warns_past_the_limit() -> None:
    params = iw.ImageParams(model="dall-e-2", prompt="x" * 999)
    controls = Controls(params)
    assert "999 / 1,000" in controls.count.value
    assert "iw-count-over" not in controls.count.value
    controls.prompt.value = "x" * 1200
    assert params.prompt == "x" * 1200  # never truncated
    assert "iw-count-over" in controls.count.value
    assert "1,200 / 1,000" in controls.count.value
    controls.close()


def test_ctrl_enter_submits() -> None:
    controls = Controls(iw.ImageParams(prompt="x"))
    box = controls.prompt
    submitted: list[str] = []
    box.on_submit(lambda: submitted.append("yes"))
    box._on_message(None, {"event": "submit"}, [])
    box._on_message(None, {"event": "other"}, [])
    assert submitted == ["yes"]
    assert repr(box) == "PromptBox(len=1)"
    controls.close()


def test_set_models_restricts_the_dropdown_and_keeps_labels() -> None:
    params = iw.ImageParams(model="gpt-image-2", prompt="x")
    controls = Controls(params)
    dropdown = controls.widgets["model"]
    controls.set_models(["dall-e-3", "gpt-image-2", "no-such-model"])
    assert list(dropdown.options) == [("gpt-image-2", "gpt-image-2"),
                                      ("dall-e-3 · retired 2026-05-12", "dall-e-3")]
    assert dropdown.value == "gpt-image-2" and params.model == "gpt-image-2"
    # The params' own model stays listed, so the dropdown always shows what they hold.
    params.model = "gpt-image-2.6-sunburst"
    assert dropdown.value == "gpt-image-2.6-sunburst"
    assert controls.models == ("gpt-image-2", "gpt-image-2.6-sunburst", "dall-e-3")
    controls.set_models(None)
    # Every model, the current ones first in the table's order, the retired ones after.
    current = tuple(name for name, spec in iw.MODELS.items() if not spec.retired())
    retired = tuple(name for name, spec in iw.MODELS.items() if spec.retired())
    assert controls.models == current + retired and retired
    assert controls.models[0] != "dall-e-2" and controls.models[-len(retired):] == retired
    controls.close()


def test_the_explain_line_says_what_the_model_hides_and_why() -> None:
    params = iw.ImageParams(model="gpt-image-1", prompt="x")
    controls = Controls(params)
    explain = controls.explain
    assert "iw-controls-explain" in explain._dom_classes
    assert list(controls.children).index(explain) == list(controls.children).index(controls.message) - 1
    params.model = "dall-e-2"
    line = explain.value.split("<br>")[0]
    assert line.startswith("dall-e-2 does not take ")
    for word in ("background", "format", "compression", "moderation", "streaming", "partial images"):
        assert word in line
    assert "size" not in line and "quality" not in line  # dall-e-2 takes those

    params.model = "gpt-image-1"
    assert "background" not in explain.value.split("<br>")[0]  # taken again
    assert "style" in explain.value  # only the DALL·E models take it
    assert "compression applies only with format jpeg or webp" in explain.value  # png
    assert "partial images apply only with streaming on" in explain.value

    controls.widgets["output_format"].value = "jpeg"
    assert ("background transparent is not offered with format jpeg: "
            "a transparent background needs png or webp") in explain.value
    assert "compression applies" not in explain.value
    controls.close()


def test_the_explain_line_names_rules() -> None:
    params = iw.ImageParams(model="gpt-image-2.6-flare", prompt="x", output_format="svg")
    controls = Controls(params)
    assert "number of images is only 1 with format svg: SVG generation requires n=1" in (
        controls.explain.value)
    params.output_format = "png"
    assert "SVG" not in controls.explain.value
    controls.close()


def test_the_explain_line_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = iw.ModelSpec.like("dall-e-2", name="<b>odd</b>")
    monkeypatch.setitem(iw.MODELS, odd.name, odd)
    controls = Controls(iw.ImageParams(model=odd.name, prompt="x"))
    assert "&lt;b&gt;odd&lt;/b&gt; does not take" in controls.explain.value
    assert "<b>" not in controls.explain.value
    controls.close()


def test_tooltips_say_what_a_field_does_not_who_takes_it() -> None:
    for model in ("gpt-image-1", "dall-e-2", "dall-e-3", "gpt-image-2.6-flare"):
        controls = Controls(iw.ImageParams(model=model, prompt="x"))
        for name, control in controls.widgets.items():
            if name == "prompt":
                continue
            assert control.tooltip, name
            assert not any(known in control.tooltip for known in iw.MODELS), (name, control.tooltip)
            assert not any(family in control.tooltip.lower() for family in ("dall", "gpt")), (
                name, control.tooltip)  # nor a model family
        controls.close()
    controls = Controls(iw.ImageParams(model="gpt-image-1", prompt="x"))
    assert controls.widgets["size"].tooltip == "Width x height in pixels"
    assert controls.widgets["output_compression"].tooltip.startswith("JPEG/WebP compression")
    controls.close()


def test_controls_follow_the_endpoint_input_fidelity_at_edits_moderation_at_generations() -> None:
    params = iw.ImageParams(model="gpt-image-1.5", prompt="x")
    controls = Controls(params)
    fidelity, moderation = controls.widgets["input_fidelity"], controls.widgets["moderation"]
    assert not is_shown(fidelity) and is_shown(moderation)
    assert "input fidelity" not in controls.explain.value  # no model takes it here
    params.endpoint = "edits"
    assert is_shown(fidelity) and not fidelity.disabled
    assert tuple(fidelity.options) == ("high", "low") and fidelity.value == "low"
    assert not is_shown(moderation)
    fidelity.value = "high"
    assert params.input_fidelity == "high"
    params.model = "gpt-image-2"  # the SDK: omit it for gpt-image-2
    assert not is_shown(fidelity) and params.input_fidelity is None
    assert "input fidelity" in controls.explain.value.split("<br>")[0]  # others take it here
    params.model = "gpt-image-1.5"  # the choice comes back
    assert fidelity.value == params.input_fidelity == "high"
    params.endpoint = "generations"
    assert not is_shown(fidelity) and is_shown(moderation)
    controls.close()
