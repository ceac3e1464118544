"""Each xdist worker's PostgreSQL vaults in a database of its own on the shared test server.

Issue 52 item 7: the vaults of one database shared its advisory locks, the audit chain's
among them, while the lock was one number for the whole database: a test holding the
chain's lock idle on purpose (tests/test_audit_stale_lock.py), or one stalled on a loaded
machine, made another worker's vault wait for it, and a waiter ended a holder that belonged
to another test (a fresh clone's run lost a fixture's connection to it,
`PendingRollbackError`). The locks are now keyed on the vault's schema
(kustosz.db.office_keys, issue 67: an installation's offices are schemas of one database),
so the suite's schemas no longer need separate databases for that (tests/installation/
test_office_locks.py proves it with two offices' schemas in one database). A database per
worker is kept all the same: it takes nothing away, and moving every worker's vaults back
into one database is a change of the whole suite's, not needed for any test. Without a
worker (one process) or without the right to create a database, the URL stays as given."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit, urlunsplit

import psycopg

WORKER_ENV = "PYTEST_XDIST_WORKER"


def worker_url(url: str, worker: str) -> str:
    """``url`` with its database named for ``worker`` (``test`` -> ``test_gw0``)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}_{worker}"))


def own_database(url: str, worker: str) -> str:
    """The worker's database on ``url``'s server, made if missing; ``url`` when it cannot be."""
    if not worker.replace("_", "").isalnum():
        return url
    mine = worker_url(url, worker)
    name = urlsplit(mine).path.lstrip("/")
    with contextlib.suppress(psycopg.Error), \
            psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return mine
        # another run on the same server may make it meanwhile: it is this worker's too
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(f'CREATE DATABASE "{name}"')
        return mine
    return url
