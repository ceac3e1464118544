"""Issue 48 item 15: a transaction whose client is gone (cut by a proxy or a NAT that forgot
the connection, so the server never hears it close) kept the audit chain's lock on the server
for the 15 minutes of idle_in_transaction_session_timeout: every audit entry waited, and
serve's starts took 260 s instead of 25. An appender waiting for the lock ends such a holder
once it has been idle in its transaction for the stale age; a holder that is working, or idle
for less, is waited for as before.

The real PostgreSQL server; the client that vanished is a psycopg connection that took the
lock and then says nothing (its socket stays open: the server cannot tell)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

import kustosz.audit.log as audit_log
from kustosz.audit import append
from kustosz.audit.verifier import verify
from kustosz.db import office_keys
from kustosz.vault import Vault
from tests.conftest import PG, make_vault, pg_schema_url

# The chain's lock of the schema the connection works in (kustosz.db.office_keys): the
# vault's here, a schema of the test's own in the suite's shared database. The stale age is
# cut to a second below, and only this schema's holders are this vault's to end: other
# workers' vaults, in schemas of their own, are never touched (a PendingRollbackError in an
# unrelated test's set-up, 2026-11-27, when the lock was one number for the whole database).
LOCK = office_keys.lock_sql(audit_log.CHAIN_LOCK)


@pytest.fixture
def pg_vault(tmp_path, pg_url: str) -> Iterator[Vault]:  # type: ignore[no-untyped-def]
    v = make_vault(tmp_path / "vault", url=pg_url)
    yield v
    v.close()


@pytest.fixture
def other_schema(pg_url: str) -> Iterator[str]:
    """Another schema of the vault's database (another office's), empty: its URL."""
    assert PG
    schema = f"kt_other_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _holder(url: str) -> psycopg.Connection:  # type: ignore[type-arg]
    conn = psycopg.connect(url, autocommit=False)
    conn.execute(LOCK)  # a transaction is open and holds the lock; nothing more is sent
    return conn


def test_a_holder_whose_client_is_gone_is_ended(pg_vault: Vault, pg_url: str,
                                                other_schema: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 1.0)
    gone = _holder(pg_url)
    # The chain's lock of another schema of the same database (another office's vault) held
    # idle as long: it blocks nothing here and is not this appender's to end.
    elsewhere = _holder(other_schema)
    try:
        started = time.monotonic()
        with pg_vault.transaction() as s:
            append(s, "test", "test.after_a_vanished_client", "chain")
        assert time.monotonic() - started < 15
        with pytest.raises(psycopg.OperationalError):  # its session was ended
            gone.execute("SELECT 1")
        elsewhere.execute("SELECT 1")  # alive
    finally:
        gone.close()
        elsewhere.close()
    with pg_vault.reading() as s:  # the chain is whole: the ended transaction left nothing
        checked, problem = verify(s)
    assert problem is None and checked >= 2


def test_a_holder_that_is_working_is_waited_for(pg_vault: Vault, pg_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle for less than the stale age, then it commits: waited for, not ended."""
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 30.0)
    working = _holder(pg_url)
    done = threading.Event()

    def append_one() -> None:
        with pg_vault.transaction() as s:
            append(s, "test", "test.after_a_working_holder", "chain")
        done.set()

    thread = threading.Thread(target=append_one)
    thread.start()
    try:
        assert not done.wait(2.5)  # waits through more than one turn
        working.commit()  # the holder finishes its work
        assert done.wait(15)
        working.execute("SELECT 1")  # its session is alive
    finally:
        thread.join(15)
        working.close()


def test_a_holder_seen_idle_earlier_in_the_waiters_transaction_is_not_ended(
        pg_vault: Vault, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL keeps what a transaction first read of pg_stat_activity until it ends, while
    pg_locks is read anew each time. A waiter looks for stale holders again every turn of its
    wait, in one transaction: a session it first saw idle in a transaction (not holding the
    lock then) that has since taken the lock and is working looked, by that first look, idle
    for longer than the stale age, and was ended (a PendingRollbackError in an unrelated
    test's set-up of a suite run, 2026-11-27, twice, after the fix of the other database)."""
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 1.0)
    later = psycopg.connect(pg_url, autocommit=False)
    watch = psycopg.connect(pg_url, autocommit=True)
    pid = later.info.backend_pid
    try:
        later.execute("SELECT 1")  # idle in its transaction, holding nothing yet
        first = _holder(pg_url)  # the holder the waiter waits for, idle a moment only
        with pg_vault.transaction() as waiter:
            audit_log._end_stale_holders(waiter)  # the waiter's first look: nothing to end
            first.commit()  # done with the lock
            first.close()
            later.execute(LOCK)  # takes the lock ...
            working: dict[str, BaseException | None] = {}

            def work() -> None:  # ... and works with it
                try:
                    later.execute("SELECT pg_sleep(3)")
                    working["error"] = None
                except BaseException as exc:
                    working["error"] = exc

            thread = threading.Thread(target=work)
            thread.start()
            deadline = time.monotonic() + 10
            while watch.execute("SELECT state FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone() != ("active",):
                assert time.monotonic() < deadline, "the holder never started its work"
                time.sleep(0.02)
            # the first look now shows it idle past the stale age (1 s)
            stale_by_then = time.monotonic() + audit_log.STALE_HOLDER_S + 0.2
            while time.monotonic() < stale_by_then:
                time.sleep(0.05)
            audit_log._end_stale_holders(waiter)  # the next turn's look
            thread.join(15)
        assert working == {"error": None}, working
        later.execute("SELECT 1")  # its session is alive
    finally:
        later.close()
        watch.close()
