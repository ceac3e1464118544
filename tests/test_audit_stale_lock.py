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
from collections.abc import Iterator

import psycopg
import pytest

import kustosz.audit.log as audit_log
from kustosz.audit import append
from kustosz.audit.verifier import verify
from kustosz.vault import Vault
from tests.conftest import PG, make_vault

LOCK = f"SELECT pg_advisory_xact_lock({audit_log.CHAIN_LOCK})"


@pytest.fixture
def pg_vault(tmp_path, pg_url: str) -> Iterator[Vault]:  # type: ignore[no-untyped-def]
    v = make_vault(tmp_path / "vault", url=pg_url)
    yield v
    v.close()


def _holder() -> psycopg.Connection:  # type: ignore[type-arg]
    assert PG is not None
    conn = psycopg.connect(PG, autocommit=False)
    conn.execute(LOCK)  # a transaction is open and holds the lock; nothing more is sent
    return conn


def test_a_holder_whose_client_is_gone_is_ended(pg_vault: Vault,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 1.0)
    gone = _holder()
    try:
        started = time.monotonic()
        with pg_vault.transaction() as s:
            append(s, "test", "test.after_a_vanished_client", "chain")
        assert time.monotonic() - started < 15
        with pytest.raises(psycopg.OperationalError):  # its session was ended
            gone.execute("SELECT 1")
    finally:
        gone.close()
    with pg_vault.reading() as s:  # the chain is whole: the ended transaction left nothing
        checked, problem = verify(s)
    assert problem is None and checked >= 2


def test_a_holder_that_is_working_is_waited_for(pg_vault: Vault,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle for less than the stale age, then it commits: waited for, not ended."""
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 30.0)
    working = _holder()
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
