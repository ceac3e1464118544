"""Issue 15 item 1: code compares kinds and states through kustosz.kinds and kustosz.states,
not bare strings. A comparison of a ``.state``, ``.kind``, ``.status``, ``.mode``,
``.material`` or ``.capacity`` attribute with a literal that is one of the values the database
checks for that column is found by walking the source (AST)."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

from kustosz.kinds import Material, SourceKind
from kustosz.states import (
    Capacity,
    CopyState,
    RecordingState,
    RequestKind,
    RequestStatus,
    SweepMode,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# Which enums' values a bare literal compared with each attribute would stand for.
ATTRIBUTES: dict[str, tuple[type[StrEnum], ...]] = {
    "state": (RecordingState, CopyState),
    "kind": (SourceKind, RequestKind),
    "status": (RequestStatus,),
    "mode": (SweepMode,),
    "material": (Material,),
    "capacity": (Capacity,),
}


def _bare(path: Path, root: Path = SRC) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        values: set[str] = set()
        for side in sides:
            if isinstance(side, ast.Attribute) and side.attr in ATTRIBUTES:
                values |= {str(m) for e in ATTRIBUTES[side.attr] for m in e}
        literals = [s for s in sides if isinstance(s, ast.Constant)]
        literals += [e for s in sides if isinstance(s, ast.Tuple | ast.List | ast.Set)
                     for e in s.elts if isinstance(e, ast.Constant)]
        if any(lit.value in values for lit in literals):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_kinds_and_states_are_not_compared_as_bare_strings() -> None:
    modules = [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    found = [line for p in modules for line in _bare(p)]
    assert found == []


def test_the_walk_finds_a_bare_comparison(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('a = rec.state == "stored"\n'
                     'b = src.kind in ("camera", "phone")\n'
                     'c = recorder.state == "refused"  # not a checked column\n'
                     'd = rec.state == RecordingState.STORED\n')
    assert [line.split(":")[1] for line in _bare(probe, tmp_path)] == ["1", "2"]
