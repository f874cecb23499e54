"""stackkit's import graph has no circle, and no import hides inside a function to break one; no module is over
400 lines but the Alloy parser; each component's name is spelled in at most three modules."""

from __future__ import annotations

import ast
from pathlib import Path

from stackkit.setting_values import ALL_COMPONENTS

PACKAGE = Path(__file__).resolve().parents[2] / "stackkit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            imported |= {found for target in targets if (found := owner(target)) and found != name}
        graph[name] = {target for target in imported if target != "stackkit"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_circle() -> None:
    assert _cycles(_graph()) == []


def test_a_circle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The top layer (docs: DEVELOPERS.md's module map): what the tasks run. Nothing below it imports it.
TOP_LAYER = (
    "stackkit.cli",
    "stackkit.tasks",
    "stackkit.verify",
    "stackkit.monitoring",
    "stackkit.evals",
    "stackkit.ui_check",
    "stackkit.dev",
)


def _in_top_layer(module: str) -> bool:
    return any(module == top or module.startswith(f"{top}.") for top in TOP_LAYER)


def test_no_import_runs_back_up_from_below_the_top_layer() -> None:
    upward = {
        (module, target)
        for module, targets in _graph().items()
        if not _in_top_layer(module)
        for target in targets
        if _in_top_layer(target)
    }
    assert upward == set()


# --- the house's size and naming rules (issue 23), kept true by these tests --------------------------------

MAX_MODULE_LINES = 400
# The one module allowed past it: Alloy's parser, a grammar read top to bottom.
LONG_MODULES_ALLOWED = {"stackkit/alloy/syntax.py"}
MAX_FILES_SPELLING_A_NAME = 3


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_400_lines_but_the_alloy_parser() -> None:
    too_long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _package_files()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert set(too_long) <= LONG_MODULES_ALLOWED, too_long


def test_each_component_name_is_spelled_in_at_most_three_modules() -> None:
    """`grep -rln '"<name>"' stackkit --include=*.py` for each component: the name is declared once (setting_values)
    and used literally only where that component lives; everywhere else reads it from there."""
    for name in ALL_COMPONENTS:
        spelled = [
            str(path.relative_to(PACKAGE.parent)) for path in _package_files() if f'"{name}"' in path.read_text()
        ]
        assert len(spelled) <= MAX_FILES_SPELLING_A_NAME, (name, spelled)
