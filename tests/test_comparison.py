"""Planning a comparison grid: axes checked, cells adapted or not available, cost up front."""

from __future__ import annotations

from typing import Any

import pytest

from imagewidgets.comparison import (
    AXIS_FIELDS,
    Axis,
    CellPlan,
    base_params,
    check_axes,
    default_axes,
    estimate,
    estimate_text,
    mark_best,
    plan_cells,
)
from imagewidgets.errors import ParamsError
from imagewidgets.models import MODELS, estimate_cost, image_cost, newest_models
from imagewidgets.params import ImageParams

BASE = ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk", stream=True,
                   partial_images=2)


def _plan(rows: Any, columns: Any, base: ImageParams = BASE, **options: Any) -> list[CellPlan]:
    grid = plan_cells(base, Axis.read(rows, "rows"), Axis.read(columns, "columns"), **options)
    return [cell for row in grid for cell in row]


def test_each_cell_is_the_base_plus_its_row_and_column() -> None:
    cells = _plan(("model", ["gpt-image-1", "gpt-image-2"]), ("quality", ["low", "high"]))
    assert [(c.params.model, c.params.quality) for c in cells] == [
        ("gpt-image-1", "low"), ("gpt-image-1", "high"), ("gpt-image-2", "low"),
        ("gpt-image-2", "high")]
    for cell in cells:
        body = cell.params.to_request()
        assert body["prompt"] == "A lighthouse at dusk" and body["stream"] is True
        assert body["partial_images"] == 2 and cell.notes == () and cell.available


def test_a_value_the_model_lacks_is_mapped_to_the_nearest_and_the_cell_says_so() -> None:
    cells = _plan(("model", ["dall-e-3", "gpt-image-1"]), ("quality", ["high", "low"]))
    dalle_high, dalle_low, gpt_high, _gpt_low = cells
    assert dalle_high.params.to_request()["quality"] == "hd"
    assert dalle_high.notes == ("quality 'high' → 'hd': dall-e-3 has no 'high'",)
    assert dalle_low.params.to_request()["quality"] == "standard"
    assert gpt_high.params.quality == "high" and gpt_high.notes == ()
    assert all(cell.available for cell in cells)


def test_without_adapt_such_a_cell_is_not_available() -> None:
    cells = _plan(("model", ["dall-e-3", "gpt-image-1"]), ("quality", ["high"]), adapt=False)
    assert not cells[0].available
    assert "quality 'high' is not available for dall-e-3" in str(cells[0].reason)
    assert cells[1].available


def test_where_nothing_fits_the_cell_is_not_available_and_says_why() -> None:
    cells = _plan(("model", ["dall-e-3", "gpt-image-2"]), ("style", ["vivid", "natural"]))
    assert [cell.available for cell in cells] == [True, True, False, False]
    assert cells[2].reason == "gpt-image-2 does not take style"
    assert cells[1].params.to_request()["style"] == "natural"


def test_two_axis_values_that_cannot_go_together_make_the_cell_unavailable() -> None:
    cells = _plan(("output_format", ["png", "jpeg"]), ("background", ["transparent", "opaque"]))
    by_place = {(c.row, c.column): c for c in cells}
    assert by_place["png", "transparent"].params.to_request()["background"] == "transparent"
    reason = by_place["jpeg", "transparent"].reason
    assert reason is not None and "background 'transparent' cannot go with output_format 'jpeg'" in reason
    assert by_place["jpeg", "opaque"].available


def test_a_value_that_would_not_be_sent_makes_the_cell_unavailable() -> None:
    # Compression applies with jpeg or webp only: a png cell would look the same for every value.
    cells = _plan(("output_format", ["png", "webp"]), ("output_compression", [40, 90]))
    png, _png90, webp40, webp90 = cells
    assert png.reason == "output_compression applies only when output_format is jpeg or webp"
    assert webp40.params.to_request()["output_compression"] == 40
    assert webp90.params.to_request()["output_compression"] == 90


def test_a_prompt_axis_and_one_image_per_cell() -> None:
    base = BASE.copy(n=4)
    cells = _plan(("prompt", ["a red fox", "a blue whale"]), ("model", ["gpt-image-1"]), base)
    assert [c.params.prompt for c in cells] == ["a red fox", "a blue whale"]
    assert all(c.params.to_request()["n"] == 1 for c in cells)  # repeats are separate samples


def test_gif_cells_stop_streaming_on_their_own() -> None:
    cells = _plan(("output_format", ["png", "gif"]), ("model", ["gpt-image-2.6-flare"]))
    png, gif = (cell.params.to_request() for cell in cells)
    assert png["stream"] is True and "stream" not in gif and gif["frame_count"] == 9


def test_default_axes_are_the_newest_models_by_three_qualities() -> None:
    rows, columns = default_axes(None, None, BASE)
    assert rows == ("model", list(newest_models()))
    assert newest_models() == ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
    assert columns == ("quality", ["low", "medium", "high"])


@pytest.mark.parametrize(("rows", "columns", "filled"), [
    # One axis given: the other is whichever of the two it does not vary...
    (("quality", ["low"]), None, ("model", ["gpt-image-2.6-flare", "gpt-image-2.6-sunburst"])),
    (None, ("model", ["gpt-image-2"]), ("quality", ["low", "medium", "high"])),
    (("size", ["1024x1024"]), None, ("quality", ["low", "medium", "high"])),
    # ... with values the grid can use: DALL·E's own qualities, the models that take style.
    (("model", ["dall-e-3", "dall-e-2"]), None, ("quality", ["standard", "hd"])),
    (None, ("style", ["vivid"]), ("model", ["dall-e-3"])),
])
def test_a_missing_axis_is_filled_with_values_the_grid_can_use(
        rows: Any, columns: Any, filled: Any) -> None:
    made = default_axes(rows, columns, BASE)
    assert made[1 if rows is not None else 0] == filled
    _plan(*made)  # and the grid is accepted


def test_the_base_s_own_choices_moved_by_a_cell_are_said() -> None:
    base = BASE.copy(quality="high", size="1536x1024")
    dalle, _gpt = _plan(("model", ["dall-e-3", "gpt-image-1"]), ("style", ["natural"]), base)
    assert dalle.params.to_request()["size"] == "1792x1024"
    assert dalle.notes == ("quality 'high' → 'hd': dall-e-3 has no 'high'",
                           "size '1536x1024' → '1792x1024': dall-e-3 has no '1536x1024'")
    strict = _plan(("model", ["dall-e-3", "gpt-image-2"]), ("quality", ["hd", "high"]), base,
                   adapt=False)
    assert strict[0].reason == "size '1536x1024' is not available for dall-e-3"
    jpeg = BASE.copy(output_format="jpeg", output_compression=40)
    (transparent,) = _plan(("model", ["gpt-image-1"]), ("background", ["transparent"]), jpeg)
    assert transparent.params.to_request()["output_format"] == "png"
    assert transparent.notes == ("output_format 'jpeg' → 'png': with background 'transparent'",)
    gif = _plan(("model", ["gpt-image-2.6-flare"]), ("output_format", ["gif"]))[0]
    assert gif.notes == ("stream True → False: with output_format 'gif'",)


def test_a_choice_with_no_nearest_value_is_not_adapted() -> None:
    # png is no nearer to gif than webp is: a gif column on gpt-image-2 is not a png.
    png, gif = _plan(("model", ["gpt-image-2", "gpt-image-2.6-flare"]),
                     ("output_format", ["png", "gif"]))[:2]
    assert png.available and not gif.available
    assert str(gif.reason).startswith("output_format 'gif' is not available for gpt-image-2")


def test_a_grid_where_no_cell_can_be_sent_is_refused() -> None:
    with pytest.raises(ParamsError, match=r"no cell of this grid can be sent; .*1,000"):
        _plan(("prompt", ["x" * 1500]), ("model", ["dall-e-2"]))


def test_the_estimate_of_a_gif_is_unknown() -> None:
    (gif,) = _plan(("model", ["gpt-image-2.6-flare"]), ("output_format", ["gif"]))
    assert estimate(gif.params) is None  # no price per frame is published


@pytest.mark.parametrize(("rows", "columns", "message"), [
    (("colour", ["red"]), ("quality", ["low"]), "rows field 'colour' is unknown; choose one of: prompt"),
    (("quality", []), ("model", ["gpt-image-1"]), "rows: quality has no values; give at least one"),
    (("quality", "high"), ("model", ["gpt-image-1"]), "rows values of quality must be a list"),
    ("quality", ("model", ["gpt-image-1"]), "rows must be (field, values)"),
    (("quality", ["ultra"]), ("model", ["gpt-image-1", "dall-e-3"]),
     "rows: quality 'ultra' is not taken by any model in the grid (gpt-image-1, dall-e-3); "
     "they take 'auto', 'high', 'medium', 'low', 'hd', 'standard'"),
    (("model", ["gpt-image-9"]), ("quality", ["low"]), "rows: model 'gpt-image-9' is unknown"),
    (("n", [1, 2]), ("quality", ["low"]), "rows: n is not an axis: repeats=k puts k samples"),
    (("quality", ["low"]), ("quality", ["high"]), "rows and columns both vary quality"),
    (("prompt", ["a fox", "  "]), ("quality", ["low"]), "rows: prompt '  ' is empty"),
    (("model", ["gpt-image-1"]), ("style", ["vivid"]),
     "columns: style 'vivid' is not taken by any model in the grid (gpt-image-1); "
     "none of them takes style"),
])
def test_bad_axes_are_refused_naming_the_field_the_value_and_what_is_allowed(
        rows: Any, columns: Any, message: str) -> None:
    with pytest.raises(ParamsError) as caught:
        _plan(rows, columns)
    assert message in str(caught.value)


def test_an_empty_prompt_is_refused_unless_prompts_are_an_axis() -> None:
    empty = BASE.copy(prompt="")
    with pytest.raises(ParamsError, match="prompt is empty"):
        check_axes(empty, Axis("model", ("gpt-image-1",)), Axis("quality", ("low",)))
    check_axes(empty, Axis("prompt", ("a fox",)), Axis("quality", ("low",)))


def test_every_axis_field_is_a_request_field_but_n_and_user() -> None:
    assert "n" not in AXIS_FIELDS and "user" not in AXIS_FIELDS
    assert {"prompt", "model", "quality", "size", "style", "background", "output_format",
            "moderation", "complexity"} <= set(AXIS_FIELDS)


def test_the_estimate_is_the_price_of_what_each_cell_sends() -> None:
    cells = _plan(("model", ["dall-e-3", "gpt-image-1"]), ("quality", ["high", "auto"]),
                  BASE.copy(size="1024x1024"))
    dalle_hd, dalle_auto, gpt_high, gpt_auto = (estimate(cell.params) for cell in cells)
    assert (dalle_hd, dalle_auto) == (0.08, 0.04)  # auto on dall-e-3 is standard
    prompt = BASE.prompt  # its tokens are billed too
    assert gpt_high == estimate_cost("gpt-image-1", "high", "1024x1024", prompt=prompt).per_image
    assert gpt_auto == estimate_cost("gpt-image-1", "medium", "1024x1024", prompt=prompt).per_image
    assert gpt_high > image_cost("gpt-image-1", "high", "1024x1024")  # the prompt's share
    assert gpt_high is not None and gpt_auto is not None and gpt_high > gpt_auto
    assert MODELS["gpt-image-1"].resolve("quality", "auto") == "medium"


def test_mark_best_flags_every_done_cell_tied_for_fastest_and_cheapest_only() -> None:
    rows = [{"status": "done", "seconds": 2.0, "cost": 0.04, "fastest": False, "cheapest": False},
            {"status": "done", "seconds": 1.0, "cost": 0.04, "fastest": False, "cheapest": False},
            {"status": "failed", "seconds": 0.5, "cost": 0.01, "fastest": False, "cheapest": False},
            {"status": "done", "seconds": None, "cost": None, "fastest": False, "cheapest": False}]
    mark_best(rows)
    assert [row["fastest"] for row in rows] == [False, True, False, False]  # a failure is no winner
    assert [row["cheapest"] for row in rows] == [True, True, False, False]  # a tie: both


def test_a_prompt_base_streams_two_partials_where_the_model_streams() -> None:
    streaming = base_params("a lighthouse")
    assert streaming.stream and streaming.partial_images == 2
    given = ImageParams(model="dall-e-3", prompt="a cat")
    copied = base_params(given)
    assert copied is not given and copied.to_dict() == given.to_dict()
    with pytest.raises(TypeError, match="prompt or ImageParams"):
        base_params(42)  # type: ignore[arg-type]


def test_the_estimate_line_counts_requests_and_says_what_has_no_price_or_cannot_run() -> None:
    text = estimate_text(4, [0.01, None, 0.02], repeats=2)
    assert text.startswith("4 cells · 2 samples each · 6 requests")
    assert "estimated $0.06 before running" in text  # (0.01 + 0.02) x 2: the unpriced cell apart
    assert "1 cell with no known price" in text and "1 cell not available" in text
    assert "estimated" not in estimate_text(1, [None], repeats=1)


@pytest.mark.parametrize("side", ["rows", "columns"])
def test_a_nested_value_on_the_only_axis_given_is_named_before_the_other_is_filled(side: str) -> None:
    given = ("quality", [["low", "high"]])
    with pytest.raises(ParamsError, match=rf"^{side}: quality value \['low', 'high'\] is a list, not one"):
        default_axes(given if side == "rows" else None, given if side == "columns" else None, BASE)
