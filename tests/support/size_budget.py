"""The soft size budget (issue 32 item 6): modules over 500 lines and functions over 80, as
the suite's last words — a reminder of what has grown past what one person holds, never a
failure. Measured from the source with `ast`, so it names the same thing every run."""

from __future__ import annotations

import ast
from pathlib import Path

MODULE_LINES = 500
FUNCTION_LINES = 80


def over_budget(root: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(modules over MODULE_LINES, functions over FUNCTION_LINES) under ``root``, each with
    its length in lines, longest first; names relative to ``root``'s parent."""
    modules: list[tuple[str, int]] = []
    functions: list[tuple[str, int]] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # written once and never grown
        text = path.read_text("utf-8")
        rel = path.relative_to(root.parent).as_posix()
        lines = text.count("\n") + 1
        if lines > MODULE_LINES:
            modules.append((rel, lines))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    functions.append((f"{rel}:{node.lineno} {node.name}", length))
    return (sorted(modules, key=lambda m: -m[1]), sorted(functions, key=lambda f: -f[1]))


def report(root: Path) -> list[str]:
    modules, functions = over_budget(root)
    out = [f"size budget (a reminder, not a gate): {len(modules)} module(s) over "
           f"{MODULE_LINES} lines, {len(functions)} function(s) over {FUNCTION_LINES}"]
    out += [f"  {lines:5d}  {name}" for name, lines in modules]
    out += [f"  {lines:5d}  {name}" for name, lines in functions]
    return out
