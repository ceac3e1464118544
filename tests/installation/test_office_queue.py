"""One infrastructure, fair to all (issue 67 items 2 and 4): the job queue. procrastinate's
tables live in each office's schema (migration 0020 through the office's search_path), but
its LISTEN/NOTIFY channels are the database's. Each office's jobs go to its schema's own
queue (kustosz.db.office_keys.queue_name), so its notifications go on a channel no other
office's worker listens to; and an office's job never runs in another office's worker.

Real offices made by `kustosz offices add`, each vault opened on its own URL and role, real
procrastinate workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from tests.installation.install_helpers import Install

from kustosz import jobs
from kustosz.db import office_keys
from kustosz.db.jobs import JobState
from kustosz.installation.pg_scope import schema_name
from kustosz.jobs import JobContext
from kustosz.jobs.queue import Queue, QueueWorker
from kustosz.vault import Vault

pytestmark = pytest.mark.pg
WITHIN_S = 30.0  # every wait below ends on its condition; this only bounds a failure
KIND = "test.office_where"
_ran: list[tuple[Path, int, str]] = []  # (the vault that ran it, the job, its argument)
_RAN_CHANGED = threading.Condition()


def _where(ctx: JobContext, what: str) -> str:
    with _RAN_CHANGED:
        _ran.append((ctx.vault.root, ctx.job_id, what))
        _RAN_CHANGED.notify_all()
    return what


@pytest.fixture
def offices(pg_inst: Install) -> Iterator[tuple[Install, Vault, Vault]]:
    pg_inst.init()
    a = pg_inst.add("urzad")
    b = pg_inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie 🏠")
    vault_a = Vault.open(pg_inst.root / "offices" / a)
    vault_b = Vault.open(pg_inst.root / "offices" / b)
    jobs.register(KIND, _where)
    _ran.clear()
    try:
        yield pg_inst, vault_a, vault_b
    finally:
        jobs.unregister(KIND)
        for vault in (vault_a, vault_b):
            jobs.stop(vault, 10)
            vault.close()


def _channel(vault: Vault) -> str:
    return "procrastinate_queue_v1#" + office_keys.queue_name(_schema(vault))


def _schema(vault: Vault) -> str:
    with vault.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())


def _listener(url: str, channel: str) -> psycopg.Connection:  # type: ignore[type-arg]
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    return conn


def _heard(conn: psycopg.Connection, within_s: float) -> list[str]:  # type: ignore[type-arg]
    """The payloads ``conn`` was sent; a round trip first, so that whatever the server had
    queued for it before now has arrived (it sends notifications when a transaction ends)."""
    conn.execute("SELECT 1")
    return [n.payload for n in conn.notifies(timeout=within_s, stop_after=1)]


def test_an_offices_jobs_notify_only_its_own_channel(
        offices: tuple[Install, Vault, Vault]) -> None:
    inst, vault_a, vault_b = offices
    assert {_schema(vault_a), _schema(vault_b)} == {schema_name(s) for s in inst.slugs}
    assert _channel(vault_a) != _channel(vault_b)
    hears_a = _listener(inst.url, _channel(vault_a))
    hears_b = _listener(inst.url, _channel(vault_b))
    try:
        jobs.use(vault_a, Queue(vault_a))  # A only queues: nothing runs the job here
        job = jobs.defer(vault_a, KIND, started_by="burmistrz", what="wniosek „Łódź” 📄")
        [payload] = _heard(hears_a, WITHIN_S)
        assert '"job_inserted"' in payload
        assert _heard(hears_b, 0.0) == []  # B's channel: nothing, though A's arrived first
        assert jobs.get(vault_a, job).state == JobState.QUEUED
    finally:
        hears_a.close()
        hears_b.close()


def test_an_offices_job_never_runs_in_another_offices_worker(
        offices: tuple[Install, Vault, Vault]) -> None:
    """A's job queued, B's worker running: B's worker runs B's job and never A's, though both
    jobs have the number 1 in their offices; A's job waits for A's worker and runs there."""
    _, vault_a, vault_b = offices
    jobs.use(vault_a, Queue(vault_a))
    job_a = jobs.defer(vault_a, KIND, what="A")
    worker_b = QueueWorker(vault_b, name="mops", poll_s=0.5).start()
    jobs.use(vault_b, worker_b)
    job_b = jobs.defer(vault_b, KIND, what="B")
    assert job_a == job_b == 1  # numbered per office: the same number, two jobs
    assert jobs.wait(vault_b, job_b, WITHIN_S).state == JobState.DONE
    assert _ran == [(vault_b.root, job_b, "B")]
    assert jobs.get(vault_a, job_a).state == JobState.QUEUED  # not taken by B's worker
    worker_a = QueueWorker(vault_a, name="urzad", poll_s=0.5).start()
    jobs.use(vault_a, worker_a)
    assert jobs.wait(vault_a, job_a, WITHIN_S).state == JobState.DONE
    with _RAN_CHANGED:
        _RAN_CHANGED.wait_for(lambda: len(_ran) == 2, WITHIN_S)
    # each job ran once, in its own office's worker
    assert sorted(_ran) == sorted([(vault_b.root, job_b, "B"), (vault_a.root, job_a, "A")])
