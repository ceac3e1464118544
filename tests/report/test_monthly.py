"""serve makes last month's accountability report by itself (issue 53), with an injected
clock: nothing before the 1st; on the 1st one job makes it (progress to the end, recorded in
the audit log); a report on the shelf is not made again; a failure raises report.failed and
is tried again an hour later, which clears it; the loop itself runs the same turn."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kustosz import jobs
from kustosz.db.jobs import jobs as job_rows
from kustosz.db.models import Alert, AuditEntry
from kustosz.report import monthly, store
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.report.report_helpers import month_of_activity


def _jobs(vault: Vault) -> list[tuple[int, str, str, float]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(
            job_rows.c.id, job_rows.c.kind, job_rows.c.state, job_rows.c.progress)
            .order_by(job_rows.c.id))]


def _open_alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.REPORT_FAILED, Alert.cleared_at.is_(None))).scalars())


def _made_entries(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "report.made")).scalar_one()


def test_the_first_of_the_month_makes_last_months_report_once(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    month = month_of_activity(vault, tmp_path)
    label = month.period.label
    state = monthly.Monthly()
    state.tick(vault, month.period.hi - timedelta(minutes=5))  # the last day: the month before
    assert _jobs(vault) == [] and not store.exists(vault, label)  # ...is before the vault

    first = month.period.hi + timedelta(minutes=30)  # 00:30 on the 1st, office time
    state.tick(vault, first)
    assert store.exists(vault, label)
    [(job_id, kind, state_, progress)] = _jobs(vault)
    assert (kind, state_, progress) == ("report.accountability", "done", 1.0)
    assert jobs.get(vault, job_id).result["made"] is True
    assert _made_entries(vault) == 1
    [made] = store.made(vault)
    assert made.label == label and made.verified and made.audit_verified
    # the planted late deletion and the requests still undecided past the reminder
    assert made.findings == len(month.late_deletions) + len(month.late_decisions)

    for later in (first + timedelta(hours=2), first + timedelta(days=3)):
        state.tick(vault, later)
        monthly.Monthly().tick(vault, later)  # after a restart too
    assert len(_jobs(vault)) == 1 and _made_entries(vault) == 1


def test_a_failure_raises_an_alert_and_is_retried_an_hour_later(
        sqlite_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = sqlite_vault
    month = month_of_activity(vault, tmp_path)
    real = store.make

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("the disk said no")

    monkeypatch.setattr(store, "make", broken)
    state = monthly.Monthly()
    first = month.period.hi + timedelta(minutes=30)
    state.tick(vault, first)
    [message] = _open_alerts(vault)
    assert f"Sprawozdanie z rozliczalności za {month.period.label} nie powstało" in message
    assert "Przyczyna: " in message and "Kolejna próba za godzinę." in message
    [(job_id, *_)] = _jobs(vault)
    assert "the disk said no" in (jobs.get(vault, job_id).error or "")  # the job page says
    state.tick(vault, first + timedelta(minutes=20))  # not yet: an hour between attempts
    assert len(_jobs(vault)) == 1 and not store.exists(vault, month.period.label)

    monkeypatch.setattr(store, "make", real)
    state.tick(vault, first + monthly.RETRY + timedelta(minutes=1))
    assert store.exists(vault, month.period.label)
    assert [j[2] for j in _jobs(vault)] == ["failed", "done"]
    assert _open_alerts(vault) == []


def test_the_loop_runs_the_turn_on_its_clock(sqlite_vault: Vault, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    vault = sqlite_vault
    month = month_of_activity(vault, tmp_path)
    stop = threading.Event()
    clock_now = month.period.hi + timedelta(hours=1)

    def clock() -> datetime:
        return clock_now

    loop = threading.Thread(target=monthly.run_monthly, args=(vault, stop, clock))
    loop.start()
    try:
        deadline = datetime.now().timestamp() + 120
        while not store.exists(vault, month.period.label):
            assert datetime.now().timestamp() < deadline, "the loop made no report"
            stop.wait(0.2)
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive()


def test_a_job_queued_before_the_loop_began_is_followed_not_queued_again(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    """The job another node queued before the scheduler's lease moved here (or this serve
    before a restart) is still queued: the loop follows it rather than queuing a second."""
    from kustosz.jobs import records

    vault = sqlite_vault
    month = month_of_activity(vault, tmp_path)
    label = month.period.label
    first = month.period.hi + timedelta(minutes=30)
    with vault.engine.begin() as conn:
        job_id = records.create(conn, "report.accountability",
                                {"month": label, "actor": jobs.SYSTEM,
                                 "as_of": first.isoformat()}, jobs.SYSTEM)
    state = monthly.Monthly()
    state.tick(vault, first + timedelta(minutes=5))
    assert [j[0] for j in _jobs(vault)] == [job_id] and state.job == (label, job_id)

    store.make(vault, label, jobs.SYSTEM, first)  # the other node's worker runs it
    records.done(vault, job_id, {"month": label, "made": True})
    state.tick(vault, first + timedelta(minutes=10))
    monthly.Monthly().tick(vault, first + timedelta(minutes=15))
    assert [j[0] for j in _jobs(vault)] == [job_id]
    assert store.exists(vault, label) and _made_entries(vault) == 1
