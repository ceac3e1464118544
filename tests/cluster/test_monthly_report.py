"""Issue 53: a cluster makes last month's accountability report by itself, on one node. Three
nodes (`run_node`, in this process, each with its own stop and its own opened vault, as
tests/cluster/test_phone_lines.py) on one PostgreSQL database; the monthly loop runs only on
the node holding `singleton:scheduler`, with the single-node test's injected clock (the 1st,
00:30 office time, after the month of tests/report/report_helpers.py). A failure raises the
`report` alert (row report.failed) as on one machine and is tried again an hour later, which
makes the report and clears the alert; the holder stopped, the node that takes the lease over
runs the loop and does not make the report again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from kustosz.cameras.register import set_enabled
from kustosz.cli import serve as serve_mod
from kustosz.cli.serve import run_node
from kustosz.cluster.settings import ClusterSettings
from kustosz.db.jobs import jobs as job_rows
from kustosz.db.models import Alert, AuditEntry
from kustosz.report import monthly, store
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.report.report_helpers import month_of_activity

NODES = ("a", "b", "c")


def _scheduler_holder(vault: Vault) -> str | None:
    with vault.engine.connect() as conn:
        return conn.execute(text("SELECT node FROM leases WHERE resource = "
                                 "'singleton:scheduler' AND until > now() AT TIME ZONE 'UTC'")
                            ).scalar()


def _report_jobs(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return list(conn.execute(select(job_rows.c.state).where(
            job_rows.c.kind == "report.accountability").order_by(job_rows.c.id)).scalars())


def _open_report_alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.REPORT_FAILED, Alert.cleared_at.is_(None))).scalars())


def _made_entries(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "report.made")).scalar_one()


class Loops:
    """serve's monthly loop as each node runs it, on the test's clock: which nodes ran it,
    and how many turns each took (the loop reads the clock once a turn)."""

    def __init__(self, now: datetime, opened: dict[str, Vault]) -> None:
        self.now = now
        self.node_of = {id(v): n for n, v in opened.items()}
        self.started: list[str] = []
        self.turns = dict.fromkeys(opened, 0)

    def run(self, vault: Vault, stop: threading.Event) -> None:
        node = self.node_of[id(vault)]
        self.started.append(node)

        def clock() -> datetime:
            self.turns[node] += 1
            return self.now

        monthly.run_monthly(vault, stop, clock)


@pytest.fixture
def cluster_month(tmp_path: Path, pg_database: str) -> Iterator[tuple[Vault, datetime]]:
    vault = make_vault(tmp_path / "vault", "pleszew", pg_database)
    month = month_of_activity(vault, tmp_path)
    with vault.transaction() as s:  # nothing to record: the cameras' address is TEST-NET
        for name in ("cam-hol", "cam-parking"):
            set_enabled(s, name, False, "test")
    yield vault, month.period.hi + timedelta(minutes=30)  # 00:30 on the 1st
    vault.close()


def test_one_node_of_three_makes_the_report_and_a_failure_alerts(
        cluster_month: tuple[Vault, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    vault, first = cluster_month
    label = monthly.last_month(first, vault)
    opened = {n: Vault.open(vault.root) for n in NODES}  # as three processes would
    loops = Loops(first, opened)
    monkeypatch.setattr(serve_mod, "run_monthly", loops.run)
    monkeypatch.setattr(monthly, "TICK_S", 0.2)
    real = store.make

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("the disk said no")

    monkeypatch.setattr(store, "make", broken)
    stops = {n: threading.Event() for n in NODES}
    threads = {n: threading.Thread(target=run_node, args=(
        opened[n], stops[n], ClusterSettings(n, 3.0, 1.0)), name=f"node-{n}") for n in NODES}
    for t in threads.values():
        t.start()
    try:
        [message] = wait_for(lambda: _open_report_alerts(vault), 120, "the report alert")
        assert f"Sprawozdanie z rozliczalności za {label} nie powstało" in message
        assert "Przyczyna: " in message and "Kolejna próba za godzinę." in message
        holder = _scheduler_holder(vault)
        assert loops.started == [holder], (loops.started, holder)
        assert _report_jobs(vault) == ["failed"] and not store.exists(vault, label)

        monkeypatch.setattr(store, "make", real)
        loops.now = first + monthly.RETRY + timedelta(minutes=1)
        # the job's row says "done" only after its work returned: the report and the
        # alert's end come a moment before it (a fresh clone read "running")
        wait_for(lambda: store.exists(vault, label) and not _open_report_alerts(vault)
                 and "running" not in _report_jobs(vault), 180,
                 "the report made on the next try, the alert cleared and the job ended")
        assert _report_jobs(vault) == ["failed", "done"] and _made_entries(vault) == 1
        assert loops.started == [holder]  # only the scheduler's node ran the loop

        assert holder is not None
        stops[holder].set()  # its leases are given up as it stops: another node takes over
        threads[holder].join(60)
        assert not threads[holder].is_alive()
        heir = wait_for(lambda: (h := _scheduler_holder(vault)) not in (None, holder) and h,
                        60, "another node holding the scheduler")
        assert isinstance(heir, str)
        wait_for(lambda: loops.turns[heir] >= 3, 60, "the heir's monthly loop turning")
        assert loops.started == [holder, heir]
        assert _report_jobs(vault) == ["failed", "done"] and _made_entries(vault) == 1
        assert [m.label for m in store.made(vault)] == [label]
        assert _open_report_alerts(vault) == []
    finally:
        for stop in stops.values():
            stop.set()
        for t in threads.values():
            t.join(30)
        for v in opened.values():
            v.close()
