"""The README's table of models, made from the registry."""

from __future__ import annotations

import re
from pathlib import Path

from imagewidgets.models import models_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_models_table_is_current() -> None:
    found = re.search(r"<!-- models:start -->\n(.*?)<!-- models:end -->", README.read_text(), re.S)
    assert found is not None, "README.md lost its Models table markers"
    assert found[1] == models_markdown(), "run: python -m imagewidgets models, paste into README.md"


def test_the_edits_column_says_what_each_model_takes_or_no() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ")
            for line in models_markdown().splitlines()[2:]}
    header = models_markdown().splitlines()[0].split(" | ")
    column = header.index("edits")
    assert rows["dall-e-2"][column] == "1 square png · mask"
    assert rows["dall-e-3"][column] == "no"
    assert rows["gpt-image-1.5"][column] == "16 png/webp/jpeg · mask · input_fidelity high/low"
    assert rows["gpt-image-1-mini"][column] == "16 png/webp/jpeg · mask · input_fidelity low"
    assert rows["gpt-image-2"][column] == "16 png/webp/jpeg · mask"
    assert rows["gpt-image-2.6-sunburst"][column] == "16 png/webp/jpeg · mask · markup"
    assert "[edits](" in rows["gpt-image-2"][-1] and "[markup](" in rows["gpt-image-2.5-flare"][-1]
