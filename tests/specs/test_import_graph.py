"""No import cycles among imcmap's modules: dependencies point one way (cli -> api -> specs, solver -> models).

The graph is read from the source with ``ast``, so an import inside a function or under
``TYPE_CHECKING`` counts as much as one at the top: a lazy import hides a cycle, it does not remove it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import imcmap

ROOT = Path(imcmap.__file__).resolve().parent

# Cycles known and being removed elsewhere, each as the set of modules in it. Remove an entry once its
# cycle is gone (the test then fails if it comes back, and also if an entry here no longer occurs).
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()


def _package_files(directory: Path, name: str) -> Iterator[tuple[str, Path]]:
    """(module name, file) for every module of the package in ``directory``, subpackages included
    (a subdirectory is a subpackage when it has an ``__init__.py``, as setuptools finds them)."""
    for path in sorted(directory.glob("*.py")):
        yield (name if path.stem == "__init__" else f"{name}.{path.stem}"), path
    for sub in sorted(p for p in directory.iterdir() if (p / "__init__.py").is_file()):
        yield from _package_files(sub, f"{name}.{sub.name}")


def _imported(module: str, is_package: bool, tree: ast.AST, known: set[str]) -> set[str]:
    """The imcmap modules ``module`` imports anywhere in its source; ``from p import m`` counts as
    importing the submodule ``p.m`` when there is one, else the package ``p``."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {target for target in found if target in known and target != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the imcmap modules it imports."""
    files = dict(_package_files(ROOT, "imcmap"))
    known = set(files)
    return {
        module: _imported(module, path.name == "__init__.py", ast.parse(path.read_text(), str(path)), known)
        for module, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_graph_sees_the_packages_and_their_imports() -> None:
    """The graph holds every subpackage and resolves relative imports (so an empty cycle list means something)."""
    graph = import_graph()
    assert {"imcmap", "imcmap.cli", "imcmap.models", "imcmap.solver", "imcmap.specs.loader"} <= set(graph)
    assert "imcmap.specs.loader" in graph["imcmap.specs.hardware"]  # from .loader import ...
    assert "imcmap.specs.hardware" in graph["imcmap.specs"]  # from .hardware import ... in __init__


def test_cycle_finder_finds_a_cycle_and_ignores_a_chain() -> None:
    """a -> b -> c -> a is one cycle; d -> a, a chain into it, is not part of it."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_imcmap_modules() -> None:
    """Every import cycle in the package is one of the known ones being removed, and each known one still exists."""
    found = cycles(import_graph())
    assert sorted(map(sorted, set(found) - set(KNOWN_CYCLES))) == []
    assert sorted(map(sorted, set(KNOWN_CYCLES) - set(found))) == []
