"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from kustosz.db.deadline import DeadlineConnection
from kustosz.db.functions import SQLITE_LOWER, python_lower
from kustosz.errors import ConfigError


def normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"database_url {url!r} is not a database URL",
                          pl=f"database_url „{url}” nie jest adresem bazy danych.") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"database_url: {parsed.drivername} is not supported "
                          "(use sqlite or postgresql)",
                          pl=f"database_url: sterownik {parsed.drivername} nie jest obsługiwany "
                             "(użyj sqlite albo postgresql).")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def missing_database(path: Path) -> ConfigError:
    """The refusal to open a SQLite file that is not there (make_engine would create it)."""
    return ConfigError(f"the database {path} does not exist: restore it, or point database_url "
                       "at the vault's PostgreSQL database",
                       pl=f"Baza danych {path} nie istnieje: odtwórz ją albo wskaż w database_url "
                          "bazę PostgreSQL skarbca.")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Manage transactions ourselves so that writers take the lock up front
            # (BEGIN IMMEDIATE) instead of failing on upgrade from a read lock.
            dbapi_conn.isolation_level = None
            dbapi_conn.create_function(SQLITE_LOWER, 1, python_lower, deterministic=True)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # Readers take no write lock (WAL lets them run beside the one writer).
            read_only = conn.get_execution_options().get("kustosz_read", False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S,
                           connect_args=pg_connect_args(url))

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        # Every answer awaited with a deadline (db.deadline): a silent server is an error.
        return DeadlineConnection.connect(*cargs, **cparams)

    return engine


# Issue 27: a database that goes away must turn into an error within a bounded time on every
# path, never a hang. Connecting: libpq's connect_timeout. A peer that vanished (cable, power):
# TCP keepalives and tcp_user_timeout. A server that holds the connection but stops answering:
# the client's own deadline (db.deadline). Inside the server: a statement or a lock wait that
# never ends, and a transaction whose client vanished while holding locks.
CONNECT_TIMEOUT_S = 10
POOL_TIMEOUT_S = 30.0
PG_TIMEOUTS = {"connect_timeout": str(CONNECT_TIMEOUT_S), "keepalives": "1",
               "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3",
               "tcp_user_timeout": "30000"}
SESSION_LIMITS = ("statement_timeout=15min", "lock_timeout=60s",
                  "idle_in_transaction_session_timeout=15min")


def pg_connect_args(url: str) -> dict[str, str]:
    """libpq parameters: the timeouts above unless the URL sets its own, and the options."""
    given = make_url(url).query
    return {**{k: v for k, v in PG_TIMEOUTS.items() if k not in given},
            "options": pg_options(url)}


def pg_options(url: str) -> str:
    """libpq `options` for the vault's connections: the URL's own (a search_path, say), then
    the session's zone and limits (those the URL sets win). Times are naive UTC in the tables
    (db/types.UTCDateTime); a session in UTC makes what PostgreSQL turns into timestamptz
    (index.recordings.spans) come back in UTC, whatever zone the server defaults to."""
    given = make_url(url).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    limits = " ".join(f"-c {limit}" for limit in SESSION_LIMITS
                      if limit.split("=")[0] not in given)
    return f"{given} -c timezone=UTC {limits}".strip()
