"""The package's layout: what each kind of file holds, how big a module grows, which way imports go."""

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


# --- The house's shape: one job a module, imports downward only ---------------------------------

MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every imagewidgets module ``name`` imports: at the top, inside functions, for type checking only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
    found = {target for target in targets if target in modules and target != name}
    # Importing a.b.c from outside a.b runs a/b/__init__.py first: that is an import of a.b too.
    for target in list(found):
        parts = target.split(".")
        for depth in range(2, len(parts)):
            parent = ".".join(parts[:depth])
            if parent in modules and not name.startswith(parent + ".") and name != parent:
                found.add(parent)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_counting_late_and_type_checking_imports() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # The CLI is the entry point of the package it imports; nothing else may import the top.
    graph["imagewidgets.__main__"].discard("imagewidgets")
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_an_import_of_a_module_counts_its_package_from_outside_only() -> None:
    modules = _modules()
    results = _imports("imagewidgets.results", modules["imagewidgets.results"], modules)
    store = _imports("imagewidgets.storage.store", modules["imagewidgets.storage.store"], modules)
    assert "imagewidgets.naming" in results and "imagewidgets.storage" not in store


def test_no_module_is_over_500_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


def _third_party(path: Path) -> set[str]:
    """The top-level names of what a module imports from outside the package."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_layers_import_downward_only() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    below = {  # a layer and what it must never import
        "imagewidgets.models": ("api", "storage", "imaging", "ui", "emulator", "params", "spending"),
        "imagewidgets.params": ("api", "storage", "imaging", "ui", "emulator", "spending"),
        "imagewidgets.emulator": ("api", "storage", "ui", "spending", "params", "sync"),
        "imagewidgets.storage": ("api", "ui", "emulator", "spending"),
        "imagewidgets.api": ("storage", "ui", "spending", "sync"),
    }
    wrong = sorted(
        (name, target) for name, targets in graph.items() for layer, banned in below.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets if any(target == f"imagewidgets.{b}" or
                                     target.startswith(f"imagewidgets.{b}.") for b in banned))
    assert wrong == []
    # Widgets are the top layer: below ui/, nothing imports ipywidgets or anywidget.
    widget_imports = {name for name, path in modules.items() if not name.startswith("imagewidgets.ui")
                      and _third_party(path) & {"ipywidgets", "anywidget"}}
    assert widget_imports == set()
