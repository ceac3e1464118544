"""No import cycles in kustosz (issue 15): the modules form layers, each importing only
below itself. An AST walk collects every import of a kustosz module — at module level,
inside functions and under `if TYPE_CHECKING:` alike (an import moved into a function or
behind a type check hides a cycle, it does not break it) — and a strongly connected
component of more than one module fails the test, naming the imports that tie it.

`from package import name` counts as importing the module package.name when there is one,
otherwise the package itself. The package an imported module sits in is not counted as
imported with it (most `__init__.py` files only hand names on)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import kustosz

ROOT = Path(kustosz.__file__).parent


def module_name(path: Path) -> str:
    parts = ("kustosz", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imported(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> Iterator[
        tuple[str, int]]:
    """Each kustosz module `name` imports, with the line of the import."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    yield target, node.lineno
                elif base in known:
                    yield base, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    graph: dict[str, dict[str, int]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges = graph.setdefault(name, {})
        for target, line in imported(tree, name, path.name == "__init__.py", known):
            if target != name:
                edges.setdefault(target, line)
    return graph


def components(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(sorted(component))
    return found


def describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    members = set(component)
    lines = [f"{len(component)} modules import each other:"]
    for name in component:
        for target, line in sorted(graph[name].items()):
            if target in members:
                lines.append(f"  {name}:{line} -> {target}")
    return "\n".join(lines)


def test_the_walk_sees_module_level_and_function_local_imports() -> None:
    graph = import_graph()
    # A walk that missed either kind would pass vacuously.
    assert "kustosz.audit.log" in graph["kustosz.vault"]  # module level
    assert "kustosz.ingest.mail.imap" in graph["kustosz.ingest.mail.service"]  # in a function
    assert len(graph) > 100
    assert sum(len(edges) for edges in graph.values()) > 300


@pytest.mark.parametrize("hidden", [
    "def f():\n    from kustosz.b import thing\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kustosz.b import Thing\n",
    "from . import b\n",
])
def test_the_walk_finds_a_cycle_however_the_import_is_hidden(hidden: str) -> None:
    a = ast.parse(hidden)
    b = ast.parse("from kustosz import a\n")
    known = {"kustosz.a", "kustosz.b"}
    graph = {"kustosz.a": dict(imported(a, "kustosz.a", False, known)),
             "kustosz.b": dict(imported(b, "kustosz.b", False, known))}
    assert [c for c in components(graph) if len(c) > 1] == [["kustosz.a", "kustosz.b"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [c for c in components(graph) if len(c) > 1]
    assert not cycles, "\n\n".join(describe(c, graph) for c in cycles)
