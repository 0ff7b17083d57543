"""The catalog: today's models and their lifecycle on a fixed clock."""

from __future__ import annotations

from datetime import date

import pytest

from imagewidgets.models import MODELS, default_model, set_today
from imagewidgets.params import ImageParams

NOV_25, DEC_2 = date(2026, 11, 25), date(2026, 12, 2)

# model -> (status on 2026-11-25, status on 2026-12-02)
LIFECYCLE = {
    "dall-e-2": ("retired", "retired"),
    "dall-e-3": ("retired", "retired"),
    "gpt-image-1": ("retired", "retired"),
    "gpt-image-1-mini": ("retiring", "retired"),
    "gpt-image-1.5": ("retiring", "retired"),
    "gpt-image-1.5-2025-12-16": ("retiring", "retired"),
    "chatgpt-image-latest": ("retiring", "retired"),
    "gpt-image-2": ("live", "live"),
    "gpt-image-2-2026-04-21": ("live", "live"),
    "gpt-image-2.5-flare": ("live", "live"),
    "gpt-image-2.5-flare-2026-09-08": ("live", "live"),
    "gpt-image-2.5-sunburst": ("live", "live"),
    "gpt-image-2.5-sunburst-2026-09-08": ("live", "live"),
    "gpt-image-2.6-flare": ("live", "live"),
    "gpt-image-2.6-sunburst": ("live", "live"),
}


def test_every_model_of_the_reference_and_of_today_is_in_the_table() -> None:
    assert set(LIFECYCLE) <= set(MODELS)


@pytest.mark.parametrize("model", list(LIFECYCLE))
def test_lifecycle_on_a_fixed_clock(model: str) -> None:
    spec = MODELS[model]
    assert (spec.status(NOV_25), spec.status(DEC_2)) == LIFECYCLE[model]
    assert spec.sources.get("lifecycle") or spec.snapshot_of, "every lifecycle fact has a source"
    if spec.status(NOV_25) != "live":
        assert spec.replacement in MODELS and not MODELS[spec.replacement].retired(DEC_2)


def test_labels_mark_retired_and_retiring_models() -> None:
    assert MODELS["dall-e-3"].label(NOV_25) == "dall-e-3 · retired 2026-05-12"
    assert MODELS["gpt-image-1.5"].label(NOV_25) == "gpt-image-1.5 · shuts down 2026-12-01"
    assert MODELS["gpt-image-1.5"].label(DEC_2) == "gpt-image-1.5 · retired 2026-12-01"
    assert MODELS["gpt-image-2.6-flare"].label(DEC_2) == "gpt-image-2.6-flare"
    note = MODELS["gpt-image-1.5"].retirement_note(DEC_2)
    assert note is not None and "2026-12-01" in note and "gpt-image-2.6-sunburst" in note


@pytest.mark.parametrize("day", [NOV_25, DEC_2])
def test_the_default_is_the_newest_live_general_model(day: date) -> None:
    assert default_model(day) == "gpt-image-2.6-flare"
    set_today(day)
    assert ImageParams().model == "gpt-image-2.6-flare"
    # Before 2.6 was released, the newest general model was a 2.5 one.
    assert default_model(date(2026, 11, 1)) == "gpt-image-2.5-flare"
    assert default_model(date(2026, 5, 1)) == "gpt-image-2"


def test_svg_takes_one_image_and_gif_does_not_stream() -> None:
    p = ImageParams(model="gpt-image-2.6-flare", prompt="x", n=4, stream=True)
    p.output_format = "svg"  # chosen last: n and stream give way
    assert (p.n, p.stream, p.problems()) == (1, False, [])
    assert p.options("n") == (1,)
    p.n = 3  # chosen last: the format gives way
    assert (p.output_format, p.n) == ("png", 3)
    p.output_format = "gif"
    assert p.to_request()["frame_count"] == 9 and "stream" not in p.to_request()
    assert "frame_count" not in ImageParams(model="gpt-image-2.6-flare", prompt="x").to_request()
