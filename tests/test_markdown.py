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
