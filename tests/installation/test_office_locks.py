"""One infrastructure, fair to all (issue 67 items 2 and 4): two offices of one installation
are two schemas and roles of one PostgreSQL database, and an advisory lock is the database's.
Each office's locks are keyed on its schema (kustosz.db.office_keys): an office holding its
audit chain's lock in an open transaction does not hold up another office's audit entries,
and an appender's clean-up of stale holders (kustosz.audit.log) never ends another office's
session — neither as the office's own role nor when the office runs on a superuser's URL.

Real offices made by `kustosz offices add`, each vault opened on its own URL and role."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.conftest import pg_schema_url
from tests.installation.install_helpers import Install

import kustosz.audit.log as audit_log
from kustosz.audit import append, verify
from kustosz.db import office_keys
from kustosz.db.engine import make_engine
from kustosz.installation.pg_scope import schema_name
from kustosz.vault import Vault

pytestmark = pytest.mark.pg
WITHIN_S = 20.0  # every wait below ends on its condition; this only bounds a failure


class Offices:
    def __init__(self, inst: Install, a: str, b: str) -> None:
        self.inst, self.a, self.b = inst, a, b
        self.vaults: dict[str, Vault] = {}
        self.conns: list[psycopg.Connection] = []  # type: ignore[type-arg]

    def vault(self, slug: str) -> Vault:
        if slug not in self.vaults:
            self.vaults[slug] = Vault.open(self.inst.root / "offices" / slug)
        return self.vaults[slug]

    def holder(self, url: str,
               lock: str = office_keys.AUDIT_CHAIN) -> psycopg.Connection:  # type: ignore[type-arg]
        """A session that takes ``lock`` of its schema in a transaction and says no more."""
        conn = psycopg.connect(url, autocommit=False)
        self.conns.append(conn)
        conn.execute(f"SET lock_timeout = '{int(WITHIN_S)}s'")  # a test's mistake fails
        conn.execute(office_keys.lock_sql(lock))
        return conn


@pytest.fixture
def offices(pg_inst: Install) -> Iterator[Offices]:
    pg_inst.init()
    made = Offices(pg_inst, pg_inst.add("urzad"),
                   pg_inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie 🏠"))
    try:
        yield made
    finally:
        for conn in made.conns:
            conn.close()
        for vault in made.vaults.values():
            vault.close()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _until_stale(inst: Install, holder: psycopg.Connection) -> None:  # type: ignore[type-arg]
    """Until ``holder`` has been idle in its transaction past the stale age."""
    pid = holder.info.backend_pid
    with psycopg.connect(inst.url, autocommit=True) as watch:
        def stale() -> bool:
            row = watch.execute(
                "SELECT state = 'idle in transaction' AND state_change < clock_timestamp() - "
                "make_interval(secs => %s) FROM pg_stat_activity WHERE pid = %s",
                (audit_log.STALE_HOLDER_S, pid)).fetchone()
            return bool(row and row[0])

        _until(stale, "the holder never went stale")


def _alive(conn: psycopg.Connection) -> bool:  # type: ignore[type-arg]
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


@pytest.mark.parametrize("lock", [office_keys.AUDIT_CHAIN, office_keys.ACCESS_CHAIN])
def test_each_office_has_its_own_chain_locks(offices: Offices, lock: str) -> None:
    """Held by office A: taken at once by office B, refused to A's own second session."""
    inst, a, b = offices.inst, offices.a, offices.b
    offices.holder(inst.office_url(a), lock)
    with psycopg.connect(inst.office_url(b), autocommit=False) as other, \
            psycopg.connect(inst.office_url(a), autocommit=False) as same:
        assert other.execute(office_keys.try_lock_sql(lock)).fetchone() == (True,)
        assert same.execute(office_keys.try_lock_sql(lock)).fetchone() == (False,)


def test_an_office_appends_while_another_holds_its_chain_lock(offices: Offices) -> None:
    vault_a, vault_b = offices.vault(offices.a), offices.vault(offices.b)
    with vault_a.transaction() as held:  # A's chain locked, its transaction open
        append(held, "burmistrz", "test.held", "łańcuch urzędu 🔒")
        a_waiter_done, b_done = threading.Event(), threading.Event()

        def append_in(vault: Vault, done: threading.Event, subject: str) -> None:
            with vault.transaction() as s:
                append(s, "kierownik", "test.meanwhile", subject)
            done.set()

        b = threading.Thread(target=append_in, args=(vault_b, b_done, "wpis MOPS-u ✅"))
        b.start()
        assert b_done.wait(WITHIN_S), "office B waited for office A's chain lock"
        b.join(WITHIN_S)
        # The lock is really held: A's own second appender waits for it.
        a = threading.Thread(target=append_in, args=(vault_a, a_waiter_done, "drugi wpis"))
        a.start()
        with vault_a.engine.connect() as watch:
            _until(lambda: watch.execute(text(
                "SELECT count(*) FROM pg_locks l WHERE NOT l.granted AND "
                + office_keys.held_sql(office_keys.AUDIT_CHAIN))).scalar() == 1,
                "office A's second appender never waited for A's lock")
        assert not a_waiter_done.is_set()
    assert a_waiter_done.wait(WITHIN_S)
    a.join(WITHIN_S)
    for vault, entries in ((vault_a, {"test.held", "test.meanwhile"}),
                           (vault_b, {"test.meanwhile"})):
        with vault.reading() as s:
            checked, problem = verify(s)
            actions = set(s.execute(text("SELECT action FROM audit_log")).scalars())
        assert problem is None and checked >= 2
        assert entries <= actions and ("test.held" in actions) == (vault is vault_a)


def test_a_stale_holder_cleanup_ends_only_its_own_offices_holder(
        offices: Offices, monkeypatch: pytest.MonkeyPatch) -> None:
    """A's appender finds A's lock held by a client that is gone and ends that session; B's
    session idle as long while holding B's lock is another office's: it survives."""
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 1.0)
    inst, a, b = offices.inst, offices.a, offices.b
    gone_a = offices.holder(inst.office_url(a))
    idle_b = offices.holder(inst.office_url(b))
    for conn in (gone_a, idle_b):
        _until_stale(inst, conn)
    vault_a = offices.vault(a)
    with vault_a.transaction() as s:
        append(s, "burmistrz", "test.after_a_vanished_client", "łańcuch")
    assert not _alive(gone_a)  # A's vanished client: ended
    assert _alive(idle_b)  # B's: untouched, still holding B's lock
    with psycopg.connect(inst.office_url(b), autocommit=False) as other_b:
        assert other_b.execute(office_keys.try_lock_sql(office_keys.AUDIT_CHAIN)).fetchone() \
            == (False,)


def test_a_cleanup_on_a_superusers_url_never_ends_another_offices_session(
        offices: Offices, monkeypatch: pytest.MonkeyPatch) -> None:
    """An office run on a superuser's URL (its search_path its schema) may end any session
    of the server; its clean-up still looks at its own schema's key and role only. B's
    holders — as B's role, and as the superuser in B's schema — idle past the stale age,
    both survive it."""
    monkeypatch.setattr(audit_log, "STALE_HOLDER_S", 1.0)
    inst, a, b = offices.inst, offices.a, offices.b
    superuser_in_a = make_engine(pg_schema_url(schema_name(a)))
    try:
        for url in (inst.office_url(b), pg_schema_url(schema_name(b))):
            held_b = offices.holder(url)
            _until_stale(inst, held_b)
            with Session(superuser_in_a) as s, s.begin():
                assert s.execute(text("SELECT current_schema()")).scalar() == schema_name(a)
                audit_log._end_stale_holders(s)
            assert _alive(held_b)
            held_b.rollback()  # B's lock given back for the next round
    finally:
        superuser_in_a.dispose()
