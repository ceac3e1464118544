"""Migration 0020 (issue 16 item 2) up and down on SQLite and PostgreSQL: the `jobs` table on
both; on PostgreSQL procrastinate's own schema (tables, types, functions, triggers) from the
installed package, which a job can be queued into; the downgrade takes all of it away and
keeps everything else; up again works."""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

MIGRATION = importlib.import_module("kustosz.db.migrations.versions.0020_jobs")
PREVIOUS = MIGRATION.down_revision


def _tables(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _queue_objects(vault: Vault) -> list[str]:
    """procrastinate's types and functions in the vault's schema (PostgreSQL)."""
    if vault.engine.dialect.name != "postgresql":
        return []
    with vault.engine.connect() as conn:
        return sorted(conn.execute(text(
            "SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON "
            "n.oid = p.pronamespace WHERE n.nspname = current_schema() AND p.proname LIKE "
            "'procrastinate%' UNION ALL SELECT 'type ' || t.typname FROM pg_type t JOIN "
            "pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = current_schema() AND "
            "t.typname LIKE 'procrastinate%' AND t.typname NOT LIKE '\\_%'")).scalars())


def _rows(vault: Vault, queue_tables: set[str]) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the vault's own tables as the database has them now (reflected: the
    models describe the newest schema, not 0020's)."""
    found = sa.MetaData()
    found.reflect(vault.engine)
    skip = queue_tables | {"jobs", "alembic_version"}
    with vault.engine.connect() as conn:
        return {t.name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.select(t)))
                for t in found.sorted_tables if t.name not in skip}


def _defer(vault: Vault) -> int:
    from kustosz.jobs.queue import QUEUE, TASK, Queue

    app = Queue(vault).app
    with vault.engine.begin() as conn:
        raw = conn.connection.driver_connection
        return int(app.configure_task(TASK, queue=QUEUE, connection=raw).defer(job=1,
                                                                             kind="test"))


def test_0020_makes_the_job_tables_and_goes_back(vault: Vault) -> None:
    pg = vault.engine.dialect.name == "postgresql"
    queue_tables = {"procrastinate_jobs", "procrastinate_events", "procrastinate_workers",
                    "procrastinate_periodic_defers"}
    assert "jobs" in _tables(vault)
    assert (queue_tables <= _tables(vault)) == pg
    objects = _queue_objects(vault)
    assert bool(objects) == pg
    if pg:
        assert "function procrastinate_fetch_job_v2" in objects
        assert "type procrastinate_job_status" in objects
        assert _defer(vault) > 0
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, MIGRATION.revision)  # the later migrations' columns go first
    before = _rows(vault, queue_tables)
    command.downgrade(cfg, PREVIOUS)
    assert not (queue_tables | {"jobs"}) & _tables(vault)
    assert _queue_objects(vault) == []
    assert _rows(vault, queue_tables) == before  # the vault's own rows untouched
    upgrade(vault.engine)
    assert "jobs" in _tables(vault) and (queue_tables <= _tables(vault)) == pg
    assert _queue_objects(vault) == objects
    if pg:
        with vault.engine.connect() as conn:  # the queue starts empty again
            assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
        assert _defer(vault) > 0
    with vault.engine.begin() as conn:  # the state column takes only the four states
        conn.execute(text(
            "INSERT INTO jobs (kind, args, state, started_by, attempts, progress, created_at, "
            "updated_at) VALUES ('k', '{}', 'queued', 'x', 0, 0, :t, :t)"),
            {"t": "2026-11-22 22:00:00"})
    try:
        with vault.engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET state = 'lost'"))
    except sa.exc.IntegrityError:
        pass
    else:
        raise AssertionError("the state 'lost' was accepted")
