"""The front end's files, read once from the package: ES modules for anywidget, stylesheets.

The code the browser runs lives in ``ui/js/*.js`` and ``ui/css/*.css``, shipped as package
data, never in Python strings. anywidget loads a widget's ``_esm`` from a ``blob:`` URL,
where a relative ``import`` cannot resolve: :func:`esm` puts each imported file (the shared
attach-and-cleanup helper ``./lifecycle.js``, the file delivery ``./delivery.js``) in place of
its first ``import`` line, once however often it is imported, so every widget module still
reads, and runs, as a plain ES module file.
Whole-line comments, blank lines and indentation are left out of what is sent (outside template
literals), and comments out of stylesheets: every view's state carries its ``_esm`` (a saved notebook
with widget state too), and the browser needs none of them; the files stay readable.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["css", "esm", "stylesheet"]

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_IMPORT = re.compile(r'^import \{ \w+(?:, \w+)* \} from "\./([\w-]+\.js)";\n', re.MULTILINE)
"""A relative import of a sibling module's names, one line: the only kind the files use."""


def _read(folder: str, name: str) -> str:
    return (resources.files(__package__ or "imagewidgets.ui") / folder / name).read_text("utf-8")


def esm(name: str) -> str:
    """The ES module ``ui/js/<name>``, each of its relative imports replaced by the file imported."""
    return _compact(_inlined(name, set()))


def _compact(code: str) -> str:
    """``code`` without whole-line ``//`` comments, blank lines and indentation.

    A line inside a template literal (after an odd number of backticks) is kept as it is:
    its spaces and ``//`` are the string's.
    """
    kept, inside = [], False
    for line in code.splitlines(keepends=True):
        if not inside:
            line = line.lstrip(" \t")
            if not line.strip() or line.startswith("//"):
                continue
        kept.append(line)
        if line.count("`") % 2:
            inside = not inside
    return "".join(kept)


def _inlined(name: str, seen: set[str]) -> str:
    """``name`` with its imports inlined, depth first; a file already in ``seen`` only once."""
    seen.add(name)

    def inline(found: re.Match[str]) -> str:
        return "" if found[1] in seen else _inlined(found[1], seen)

    return _IMPORT.sub(inline, _read("js", name))


def css(name: str) -> str:
    """The stylesheet ``ui/css/<name>``, without its comments, blank lines and indentation."""
    text = _CSS_COMMENT.sub("", _read("css", name))
    return "".join(line.lstrip(" \t") for line in text.splitlines(keepends=True) if line.strip())


def stylesheet(*names: str) -> str:
    """The stylesheets ``ui/css/<name>`` as one element for an ``HTML`` widget.

    In the widget's own output, the rules apply exactly while the widget is drawn.
    """
    return "<style>\n" + "".join(css(name) for name in names) + "</style>"
