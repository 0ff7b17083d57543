"""One cell of a comparison grid, on its own: what its facts line says before it runs, its status.

The cells of a running grid are tested through the grid, in tests/test_compare.py.
"""

from __future__ import annotations

from typing import Any

import imagewidgets as iw
from imagewidgets.comparison import CellPlan
from imagewidgets.ui.cell import GridCell


def _cell(reason: str | None = None, **fields: Any) -> GridCell:
    plan = CellPlan("row", "column", iw.ImageParams(prompt="A fox", **fields), reason=reason)
    return GridCell(plan, 0, on_rerun=lambda _index: None)


def test_a_cell_not_run_shows_its_estimate_or_none_when_the_price_is_unknown() -> None:
    priced = _cell(model="gpt-image-1", quality="low", size="1024x1024")
    assert priced.facts.value == "not run yet · estimated $0.011 each"
    unpriced = _cell(model="gpt-image-2.6-flare", output_format="gif")  # no published GIF price
    assert unpriced.facts.value == "not run yet"
    priced.close()
    unpriced.close()


def test_a_cell_with_no_tiles_is_not_run_even_after_a_run() -> None:
    cell = _cell(model="gpt-image-1")
    cell.ran = True  # a run that made no tile: nothing was sent
    cell.refresh()
    assert cell.status == "not run" and cell.facts.value.startswith("not run yet")
    assert not cell.rerun_button.disabled  # it can be run again
    unavailable = _cell(reason="gif is not available for dall-e-3", model="dall-e-3")
    assert unavailable.status == "not available"
    assert unavailable.facts.value == "not available: gif is not available for dall-e-3"
    cell.close()
    unavailable.close()
