"""The package's layout: what each kind of file holds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import imagewidgets

PACKAGE = Path(imagewidgets.__file__).parent

FRONT_END = re.compile("|".join((
    r"\baddEventListener\s*\(", r"\bexport\s+default\b", r"\bfunction\s*\w*\s*\([^)]*\)\s*\{",
    r"=>\s*[{(]", r"\bdocument\.\w", r"\bmodel\.(?:get|on|send)\(", r"<script\b",
    r"<style[^>]*>\s*[^<\s]",  # a style element with rules in it
    r"[\w\])-]\s*\{\s*[\w-]+\s*:\s*[^;{}]+;",  # a CSS rule: selector { property: value;
)))
"""What JavaScript or CSS looks like; a docstring or a message never reads so."""


def _front_end_strings(path: Path) -> list[str]:
    """Each string constant of the module that reads as code, docstrings aside (they may name
    a ``<script>`` they guard against): a bare string statement is documentation, never run."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    documentation = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in documentation):
            match = FRONT_END.search(node.value)
            if match:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {match[0]!r}")
    return found


def test_no_python_module_holds_front_end_code() -> None:
    # JavaScript and CSS live in ui/js/*.js and ui/css/*.css, loaded by ui/frontend.py.
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _front_end_strings(path)]
    assert not found, "front-end code in Python strings:\n" + "\n".join(found)


def test_the_check_finds_front_end_code(tmp_path: Path) -> None:
    module = tmp_path / "widget.py"
    for code in ('"function render({ model, el }) {}"', '"button.addEventListener(\'click\', go)"',
                 '"<style>.iw-root .iw-tile { border: 0; }</style>"', '"export default { render };"',
                 '"const off = () => { el.remove(); };"', '".a, .b > p {\\n  color: red; }"'):
        module.write_text(f"X = {code}\n")
        assert _front_end_strings(module), code
    module.write_text('"""No ``<script>`` runs: the request {"model": ..., "n": 2}; {x: y}."""\n'
                      'X = \'<span class="iw-error">failed</span>\'\nY = "<style>"\n')
    assert not _front_end_strings(module)
