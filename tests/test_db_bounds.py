"""Every database path ends in bounded time (issue 27 item 3), and one rule says when an error
means the database is away (db.outage). Real PostgreSQL: the shared test server for settings,
a private one behind a proxy of the test's own for a server that stops answering."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from kustosz.cli.common import DATABASE_AWAY_EXIT
from kustosz.db import deadline
from kustosz.db.engine import make_engine, pg_connect_args
from kustosz.db.outage import Backoff, is_database_away
from tests.conftest import Cli, make_vault
from tests.support.pg_outage import PrivatePostgres, Proxy, available, free_port


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    if not available():
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
    pg = PrivatePostgres(tmp_path)
    try:
        yield pg
    finally:
        pg.stop()


def test_postgres_sessions_run_with_limits(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            shown = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                     for name in ("statement_timeout", "lock_timeout",
                                  "idle_in_transaction_session_timeout", "TimeZone")}
            libpq = conn.connection.driver_connection.info.get_parameters()
    finally:
        engine.dispose()
    assert shown == {"statement_timeout": "15min", "lock_timeout": "1min",
                     "idle_in_transaction_session_timeout": "15min", "TimeZone": "UTC"}
    # the client's own side: keepalives on its socket, a bound on unacknowledged data
    assert {k: libpq.get(k) for k in ("connect_timeout", "keepalives", "keepalives_idle",
                                      "tcp_user_timeout")} == {
        "connect_timeout": "10", "keepalives": "1", "keepalives_idle": "10",
        "tcp_user_timeout": "30000"}


def test_the_url_wins_over_the_defaults() -> None:
    args = pg_connect_args("postgresql://u@h/d?connect_timeout=3"
                           "&options=-c%20lock_timeout%3D5s")
    assert "connect_timeout" not in args  # the URL's own 3 reaches libpq, not ours
    assert args["keepalives_idle"] == "10"
    assert "lock_timeout=5s" in args["options"] and "lock_timeout=60s" not in args["options"]
    assert "statement_timeout=15min" in args["options"]


def test_nothing_listening_is_away_within_the_connect_timeout() -> None:
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    try:
        with pytest.raises(OperationalError) as caught, engine.connect():
            pass
    finally:
        engine.dispose()
    assert is_database_away(caught.value)


def test_a_silent_server_is_an_error_not_a_hang(private_pg: PrivatePostgres,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy holds the connection and forwards nothing: TCP sees a live peer, only the
    client's own deadline ends the wait. Afterwards the pool works again by itself."""
    monkeypatch.setattr(deadline, "DEFAULT_S", 3.0)
    with Proxy(private_pg.port) as proxy:
        engine = make_engine(private_pg.url_via(proxy.port) + "?connect_timeout=3")
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
            proxy.silence()
            started = time.monotonic()
            with pytest.raises(OperationalError) as caught, engine.connect() as conn:
                conn.execute(text("SELECT 2"))
            took = time.monotonic() - started
            assert is_database_away(caught.value)
            # pre-ping (deadline) then a new connection (connect_timeout): both bounded
            assert took < 3.0 + 3.0 + 5.0, took
            proxy.restore()
            deadline_at = time.monotonic() + 30
            while True:
                try:
                    with engine.connect() as conn:
                        assert conn.execute(text("SELECT 3")).scalar_one() == 3
                    break
                except OperationalError:
                    assert time.monotonic() < deadline_at, "the pool never recovered"
                    time.sleep(0.2)
        finally:
            engine.dispose()


def test_patience_raises_the_bound_for_its_thread_only() -> None:
    seen: list[float] = []
    with deadline.patience(600):
        seen.append(deadline.current_s())
        other = threading.Thread(target=lambda: seen.append(deadline.current_s()))
        other.start()
        other.join(10)
    seen.append(deadline.current_s())
    assert seen == [600, deadline.DEFAULT_S, deadline.DEFAULT_S]
    with deadline.hurry(5):
        with deadline.patience(30):
            assert deadline.current_s() == 30
        assert deadline.current_s() == 5
    # nothing of its own left behind: the thread follows the default, not a frozen copy
    assert "seconds" not in vars(deadline._local)


def test_a_wrong_statement_is_no_outage(pg_url: str, tmp_path: Path) -> None:
    """Errors of the statement itself are not retried for ever as if the database were
    away; a locked SQLite database is (busy: someone else writes)."""
    engine = make_engine(pg_url)
    try:
        with pytest.raises(ProgrammingError) as bad, engine.connect() as conn:
            conn.execute(text("SELECT no_such_column FROM no_such_table"))
        assert not is_database_away(bad.value)
        with pytest.raises(IntegrityError) as dup, engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE t (x int PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1), (1)"))
        assert not is_database_away(dup.value)
    finally:
        engine.dispose()
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x int)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        lite = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
        with pytest.raises(DBAPIError) as locked, lite.connect() as conn:
            conn.execute(text("SELECT * FROM t"))
        assert is_database_away(locked.value)
        lite.dispose()
    finally:
        holder.close()


def test_backoff_doubles_to_its_limit_and_resets() -> None:
    backoff = Backoff(first_s=1.0, limit_s=8.0)
    delays = [backoff.delay() for _ in range(6)]
    for got, nominal in zip(delays, (1, 2, 4, 8, 8, 8), strict=True):
        assert 0.8 * nominal <= got <= nominal
    backoff.reset()
    assert backoff.delay() <= 1.0
    stop = threading.Event()
    stop.set()
    assert backoff.wait(stop) is True  # a stop ends the wait at once


def test_sqlite_no_such_table_is_no_outage(tmp_path: Path) -> None:
    lite = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(OperationalError) as missing, lite.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        lite.dispose()
    assert not is_database_away(missing.value)


def test_a_verb_with_the_database_away_says_so_in_one_line(tmp_path: Path, pg_url: str,
                                                           cli: Cli) -> None:
    """serve (and any verb) started while the database is away: one line in English and one
    in Polish, exit 75 (EX_TEMPFAIL: systemd starts serve again), no traceback, and the URL's
    password never shown."""
    make_vault(cli.data, url=pg_url).close()
    config = cli.data / "kustosz.toml"
    away = f"postgresql://kustosz:sekret-hasla@127.0.0.1:{free_port()}/x?connect_timeout=3"
    text_before = config.read_text()
    lines = [f'database_url = "{away}"' if line.startswith("database_url") else line
             for line in text_before.splitlines()]
    assert lines != text_before.splitlines(), "the vault names its database in kustosz.toml"
    config.write_text("\n".join(lines) + "\n")
    result = cli("sources", "list", ok=False)
    assert result.exit_code == DATABASE_AWAY_EXIT, result.output
    assert "the database is not reachable" in result.output
    assert "baza danych jest niedostępna" in result.output
    assert "Traceback" not in result.output and "sekret-hasla" not in result.output


def test_whole_index_work_waits_as_long_as_the_server_allows() -> None:
    """The sweep, disk pressure, the bucket check and the version backfill read or write a
    whole index at once: their waits are bounded by the server's statement limit, not by the
    deadline of ordinary work."""
    from kustosz.maintenance.backfill import backfill_versions
    from kustosz.maintenance.store_check import check_bucket
    from kustosz.retention.pressure import relieve_pressure
    from kustosz.retention.sweep import run_sweep

    assert deadline.LONG_WORK_S == 15 * 60  # = SESSION_LIMITS' statement_timeout
    seen = deadline.patient(deadline.current_s)()
    assert seen == deadline.LONG_WORK_S and deadline.current_s() == deadline.DEFAULT_S
    for fn in (run_sweep, relieve_pressure, check_bucket, backfill_versions):
        assert getattr(fn, "__wrapped__", None) is not None, fn.__name__
