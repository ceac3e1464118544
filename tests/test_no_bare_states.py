"""Issue 15 item 1: code compares kinds and states through kustosz.kinds and kustosz.states,
not bare strings. A comparison of a ``.state``, ``.kind``, ``.status``, ``.mode``,
``.material`` or ``.capacity`` attribute with a literal that is one of the values the database
checks for that column is found by walking the source (AST)."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

from kustosz.kinds import Action, Material, SourceKind
from kustosz.states import (
    AlertRow,
    Capacity,
    CopyState,
    RecorderState,
    RecordingState,
    RequestKind,
    RequestStatus,
    SpoolOutcome,
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


def _bare(path: Path, root: Path = SRC,
          attributes: dict[str, tuple[type[StrEnum], ...]] = ATTRIBUTES) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        values: set[str] = set()
        for side in sides:
            if isinstance(side, ast.Attribute) and side.attr in attributes:
                values |= {str(m) for e in attributes[side.attr] for m in e}
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


# Migration 0017's columns too: a recorder's state, a spool file's outcome, an alert's kind, a
# viewing session's action.
SINCE_0017: dict[str, tuple[type[StrEnum], ...]] = {
    **ATTRIBUTES,
    "state": (*ATTRIBUTES["state"], RecorderState),
    "kind": (*ATTRIBUTES["kind"], AlertRow),
    "outcome": (SpoolOutcome,),
    "action": (Action,),
}


def test_the_0017_columns_are_not_compared_as_bare_strings() -> None:
    modules = [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    found = [line for p in modules for line in _bare(p, attributes=SINCE_0017)]
    assert found == []


def test_the_walk_finds_a_bare_comparison_of_the_0017_columns(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('a = recorder.state == "refused"\n'
                     'b = Alert.kind == "disk_full_held"\n'
                     'c = PhoneSpoolItem.outcome != "skipped"\n'
                     'd = vs.action in ("playback", "live")\n'
                     'e = recorder.state == RecorderState.REFUSED\n'
                     'f = row.action == "stored"  # not an action\n')
    assert [line.split(":")[1] for line in _bare(probe, tmp_path, SINCE_0017)] == \
        ["1", "2", "3", "4"]
