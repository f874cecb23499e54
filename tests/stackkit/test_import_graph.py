"""stackkit's import graph: no module circle; its folders are its layers, in order (no import runs up a layer, no
two folders import each other); no module is over 400 lines but the Alloy parser."""

from __future__ import annotations

import ast
from pathlib import Path

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


# The package's folders are its layers, bottom first (DEVELOPERS.md, "The package"). A module imports only from
# its own layer or below, and no two folders import each other, even within a layer. A top-level module of the
# package is its own folder here (cli).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # errors, settings, env files, secrets, processes, health, ports, file modes
    ("phoenix", "alloy", "docker", "demo"),  # each backend's own operations: nothing of the stack
    ("components",),  # what a component is, one module per component, the registry
    ("runtimes",),  # native and docker, and the rendered folder they run from
    ("stack",),  # the stack's lifecycle: the applied record, the lock, the shared procedures
    ("commands",),  # one module per task
    ("verify", "monitoring"),  # the checks, and what the user's Prometheus scrapes
    ("cli",),  # every error becomes one message and an exit code
)
LAYER_OF = {folder: level for level, folders in enumerate(LAYERS) for folder in folders}


def _folder(module: str) -> str:
    return module.split(".")[1]


def _folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    folders: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module == "stackkit":
            continue
        folders.setdefault(_folder(module), set()).update(
            _folder(target) for target in targets if _folder(target) != _folder(module)
        )
    return folders


def test_every_folder_has_a_layer() -> None:
    assert set(_folder_graph(_graph())) - set(LAYER_OF) == set()


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module != "stackkit"
        for target in targets
        if LAYER_OF.get(_folder(target), -1) > LAYER_OF.get(_folder(module), -1)
    )


def test_no_import_runs_up_a_layer() -> None:
    assert _upward(_graph()) == []


def test_the_folders_import_each_other_in_no_circle() -> None:
    assert _cycles(_folder_graph(_graph())) == []


def test_an_import_up_a_layer_and_a_folder_circle_are_found() -> None:
    # What ports.py did before issue 33: the bottom layer reading the component model above it.
    graph = {"stackkit.core.ports": {"stackkit.components.component"}, "stackkit.components.component": set()}
    assert _upward(graph) == ["stackkit.core.ports -> stackkit.components.component"]
    same_layer = {
        "stackkit.phoenix.metrics": {"stackkit.docker.images"},
        "stackkit.docker.images": {"stackkit.phoenix.api"},
    }
    assert _upward(same_layer) == []
    assert _cycles(_folder_graph(same_layer)) == [["docker", "phoenix"]]


# --- the house's size rule (issue 23), kept true by this test --------------------------------

MAX_MODULE_LINES = 400
# The one module allowed past it: Alloy's parser, a grammar read top to bottom.
LONG_MODULES_ALLOWED = {"stackkit/alloy/syntax.py"}


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_400_lines_but_the_alloy_parser() -> None:
    too_long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _package_files()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert set(too_long) <= LONG_MODULES_ALLOWED, too_long
