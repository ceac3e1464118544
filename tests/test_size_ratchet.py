"""The size ratchet (issue 51 item 5): modules over 500 lines and functions over 80 are listed
in tests/size_allowed.txt with their sizes, like the mypy allow-list: a listed one may only
shrink (lower its number when it does), nothing new may pass either bound. Measured with
`ast`, functions named by their qualified name (module:Class.function), so moving code does
not change a name."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.size_budget import FUNCTION_LINES, MODULE_LINES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "kustosz"
ALLOWED = Path(__file__).with_name("size_allowed.txt")


def measure(root: Path = SRC) -> dict[str, int]:
    """Every module over MODULE_LINES and function over FUNCTION_LINES: name -> lines."""
    out: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # written once and never grown
        rel = path.relative_to(root.parent).as_posix()
        text = path.read_text("utf-8")
        lines = text.count("\n") + 1
        if lines > MODULE_LINES:
            out[rel] = lines
        _functions(ast.parse(text), rel, "", out)
    return out


def _functions(node: ast.AST, rel: str, prefix: str, out: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                if length > FUNCTION_LINES:
                    key = f"{rel}:{name}"
                    out[key] = max(out.get(key, 0), length)
            _functions(child, rel, f"{name}.", out)


def allowed() -> dict[str, int]:
    out = {}
    for line in ALLOWED.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, size = line.rsplit(" ", 1)
            out[name] = int(size)
    return out


def test_nothing_grows_past_the_size_budget() -> None:
    now, allow = measure(), allowed()
    new = {k: v for k, v in now.items() if k not in allow}
    grown = {k: (allow[k], v) for k, v in now.items() if k in allow and v > allow[k]}
    assert not new, f"new past the budget ({MODULE_LINES} lines a module, {FUNCTION_LINES} a " \
                    f"function): split them: {new}"
    assert not grown, f"grown past their listed size (listed, now): {grown}"


def test_the_list_only_shrinks() -> None:
    now, allow = measure(), allowed()
    stale = {k: (v, now.get(k)) for k, v in allow.items() if now.get(k, 0) < v}
    assert not stale, "smaller than tests/size_allowed.txt allows — lower (or remove) these " \
                      f"entries (listed, now): {stale}"


def test_the_measure_names_what_is_long(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(FUNCTION_LINES))
    (root / "m.py").write_text(f"class K:\n    def long(self) -> None:\n{body}\n")
    (root / "big.py").write_text("\n".join(f"y{i} = {i}" for i in range(MODULE_LINES + 1)))
    assert measure(root) == {"pkg/m.py:K.long": FUNCTION_LINES + 1,
                             "pkg/big.py": MODULE_LINES + 1}
