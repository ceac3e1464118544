"""Typed job kinds (issue 32 item 3): a kind is queued through the object `register` returns
(`JobKind.defer`), whose arguments are its function's, so a type checker holds the call and a
name the function does not take is refused before anything is queued. The kind's name stays
what the job row keeps; the program's own code queues no job by that name."""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path
from typing import Any

import pytest

import kustosz
from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.errors import InputError
from kustosz.jobs import JobContext, JobKind, catalogue
from kustosz.jobs.catalogue import copy_make, hold_legal_holds, masking_period
from kustosz.jobs.kinds import kind_of
from kustosz.jobs.kinds import kinds as kind_names
from kustosz.vault import Vault
from tests.conftest import snapshot

SRC = Path(kustosz.__file__).parent


def add(ctx: JobContext, a: int, b: int = 0) -> dict[str, int]:
    return {"sum": a + b}


def job_rows(vault: Vault) -> list[tuple[Any, ...]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM jobs ORDER BY id")]


@pytest.fixture
def adding(kinds: list[str]) -> JobKind[[int, int]]:
    kinds.append("test.add")
    return jobs.register("test.add", add)


def test_a_typed_kind_queues_under_its_name_with_its_arguments(
        vault: Vault, adding: JobKind[[int, int]]) -> None:
    view = jobs.get(vault, adding.defer(vault, "anna", a=2, b=3))
    assert (view.kind, view.started_by, view.args) == ("test.add", "anna", {"a": 2, "b": 3})
    assert view.state == JobState.DONE and view.result == {"sum": 5}


def test_a_value_given_by_position_is_kept_by_its_name(
        sqlite_vault: Vault, adding: JobKind[[int, int]]) -> None:
    view = jobs.get(sqlite_vault, adding.defer(sqlite_vault, jobs.SYSTEM, 4, b=1))
    assert (view.started_by, view.args, view.result) == ("system", {"a": 4, "b": 1},
                                                         {"sum": 5})
    with pytest.raises(InputError, match=r"job test.add got a twice; nothing was queued"):
        adding.defer(sqlite_vault, "anna", 4, a=1)
    with pytest.raises(InputError, match=r"takes at most 2 arguments, 3 were given"):
        adding.defer(sqlite_vault, "anna", 1, 2, 3)


def test_an_unknown_keyword_is_refused_at_defer_time_and_nothing_is_queued(
        sqlite_vault: Vault, adding: JobKind[[int, int]]) -> None:
    before = snapshot(sqlite_vault)
    with pytest.raises(InputError, match=r"^job test\.add takes no argument c \(its arguments: "
                                         r"a, b\); nothing was queued$") as refused:
        adding.defer(sqlite_vault, "anna", a=1, c=2)  # type: ignore[call-arg]
    assert refused.value.pl == ("Zadanie „test.add” nie przyjmuje argumentu c (przyjmuje: a, b); "
                                "niczego nie zlecono.")
    with pytest.raises(InputError, match=r"needs the argument a \(its arguments: a, b\)"):
        adding.defer(sqlite_vault, "anna", b=2)  # type: ignore[call-arg]
    # by name (kinds a test registers) the same refusal
    with pytest.raises(InputError, match=r"takes no arguments c, d \(its arguments: a, b\)"):
        jobs.defer(sqlite_vault, "test.add", a=1, c=2, d=3)
    assert job_rows(sqlite_vault) == [] and snapshot(sqlite_vault) == before


def test_a_misspelt_argument_of_a_copy_is_refused_before_its_check(sqlite_vault: Vault) -> None:
    # check_copy would answer "no request 7"; the misspelling is named first, nothing queued
    with pytest.raises(InputError, match=r"^job copy\.make takes no argument reqest_id \(its "
                                         r"arguments: request_id, by, actor, playable\)"):
        copy_make.defer(sqlite_vault, "anna", reqest_id=7,  # type: ignore[call-arg]
                        by="anna", actor="anna")
    assert job_rows(sqlite_vault) == []


def test_a_kind_taking_any_keyword_takes_any_name(sqlite_vault: Vault,
                                                  kinds: list[str]) -> None:
    def anything(ctx: JobContext, **kw: Any) -> list[str]:
        return sorted(kw)

    kinds.append("test.any")
    view = jobs.get(sqlite_vault, jobs.register("test.any", anything).defer(
        sqlite_vault, "anna", x=1, y=2))
    assert view.result == ["x", "y"]


def test_the_built_in_kinds_keep_their_stored_names() -> None:
    # rows queued by an older version name these: they must still find their kind
    assert [k.name for k in (copy_make, hold_legal_holds, masking_period)] == [
        "copy.make", "hold.legal_holds", "masking.period"]
    for kind in (copy_make, hold_legal_holds, masking_period):
        assert kind_of(kind.name) is kind


def test_a_kind_checks_exactly_the_arguments_it_runs_with() -> None:
    def after_first(fn: Any) -> list[inspect.Parameter]:
        return list(inspect.signature(fn).parameters.values())[1:]

    for kind in (copy_make, hold_legal_holds, masking_period):
        if kind.check is not None:
            assert after_first(kind.check) == after_first(kind.run), kind.name
    # masking.period's functions repeat masking.job's arguments (imported only when it runs)
    from kustosz.masking import job

    assert after_first(catalogue.mask_period) == after_first(job.run)
    assert after_first(catalogue.check_mask_period) == after_first(job.check)


def _kind_name(node: ast.expr) -> bool:
    # a kind's stored name ("copy.make"), not a typed call's started_by ("system", a login)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and (
        node.value in kind_names() or re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", node.value) is not None)


def _by_name(path: Path) -> list[str]:
    """Calls in ``path`` that queue a job by its stored name: ``jobs.defer(...)``,
    ``x.defer(vault, "copy.make", ...)``, and ``defer`` imported from kustosz.jobs."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "kustosz.jobs" and any(
                a.name == "defer" for a in node.names):
            found.append(f"{path}:{node.lineno}: from kustosz.jobs import defer")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "defer":
            continue
        via_jobs = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "jobs"
        named = len(node.args) > 1 and _kind_name(node.args[1])
        if via_jobs or named:
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_the_program_queues_no_job_by_its_stored_name() -> None:
    outside = [p for p in sorted(SRC.rglob("*.py")) if SRC / "jobs" not in p.parents]
    assert len(outside) > 100  # the walk found the program
    assert [hit for path in outside for hit in _by_name(path)] == []


def test_the_search_finds_a_call_by_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('from kustosz import jobs\n\n'
                      'jobs.defer(vault, "copy.make", started_by="a", request_id=1)\n'
                      'x = other.defer(\n    vault, "masking.period")\n'
                      'copy_make.defer(vault, "anna", request_id=1, by="a", actor="a")\n'
                      'hold_legal_holds.defer(vault, "system", hold_id=1, on=True)\n')
    assert [hit.split(": ")[0].rsplit(":", 1)[1] for hit in _by_name(sample)] == ["3", "4"]


MYPY_SAMPLE = '''
from kustosz.jobs.catalogue import copy_make, hold_legal_holds, masking_period
from kustosz.vault import Vault


def ok(vault: Vault) -> None:
    copy_make.defer(vault, "anna", request_id=7, by="anna", actor="anna")
    copy_make.defer(vault, "anna", request_id=7, by="anna", actor="anna", playable=False)
    hold_legal_holds.defer(vault, "system", hold_id=1, on=True)
    masking_period.defer(vault, "anna", source="cam", start="a", end="b", every=2)


def wrong(vault: Vault) -> None:
    copy_make.defer(vault, "anna", reqest_id=7, by="anna", actor="anna")
    copy_make.defer(vault, "anna", request_id="7", by="anna", actor="anna")
    masking_period.defer(vault, "anna", source="cam", start="a")
'''


def test_a_type_checker_holds_a_call_to_its_kinds_arguments(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed")
    sample = tmp_path / "sample.py"
    sample.write_text(MYPY_SAMPLE)
    monkeypatch.setenv("MYPYPATH", str(SRC.parent))
    out, _, _ = api.run(["--follow-imports=silent", "--no-error-summary",
                         "--cache-dir", os.fspath(tmp_path / "cache"), str(sample)])
    errors = sorted(f"{place.rsplit(':', 1)[1]}: {said}" for place, _, said in
                    (line.partition(": error: ") for line in out.splitlines())
                    if said)
    assert errors == ['14: Unexpected keyword argument "reqest_id" for "defer" of "JobKind"; '
                      'did you mean "request_id"?  [call-arg]',
                      '15: Argument "request_id" to "defer" of "JobKind" has incompatible type '
                      '"str"; expected "int"  [arg-type]',
                      '16: Missing positional argument "end" in call to "defer" of "JobKind"  '
                      '[call-arg]'], out
