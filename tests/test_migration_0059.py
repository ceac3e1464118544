"""Migration 0059 (issue 67) up and down on SQLite and PostgreSQL: jobs queued by an earlier
release in procrastinate's queue "kustosz" move to their schema's own queue (the one its
worker listens to and fetches from: kustosz.db.office_keys.queue_name), and back on the
downgrade; another queue's rows are left alone. Nothing to do on SQLite."""

from __future__ import annotations

import importlib

import pytest
from alembic import command
from sqlalchemy import text

from kustosz.db import office_keys
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.jobs.queue import QUEUE, TASK, Queue
from kustosz.vault import Vault

MIGRATION = importlib.import_module("kustosz.db.migrations.versions.0059_office_queue")
PREVIOUS = MIGRATION.down_revision


def _defer(vault: Vault, queue: str) -> int:
    """A job queued as the release before 0059 queued it (into ``queue``)."""
    app = Queue(vault).app
    with vault.engine.begin() as conn:
        raw = conn.connection.driver_connection
        return int(app.configure_task(TASK, queue=queue, connection=raw).defer(job=1,
                                                                             kind="test"))


def _queues(vault: Vault) -> dict[int, str]:
    with vault.engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, queue_name FROM procrastinate_jobs")).all())


def test_0059_moves_queued_jobs_to_the_schemas_queue_and_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    if vault.engine.dialect.name != "postgresql":
        upgrade(vault.engine)  # nothing of procrastinate's on SQLite: up and down run empty
        return
    old = _defer(vault, QUEUE)
    elsewhere = _defer(vault, "a-queue-of-someone-else")
    with vault.engine.connect() as conn:
        mine = office_keys.current_queue(conn)
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    assert mine == f"kustosz:{schema}"
    upgrade(vault.engine)
    assert _queues(vault) == {old: mine, elsewhere: "a-queue-of-someone-else"}
    command.downgrade(cfg, PREVIOUS)
    assert _queues(vault) == {old: QUEUE, elsewhere: "a-queue-of-someone-else"}
    upgrade(vault.engine)
    assert _queues(vault) == {old: mine, elsewhere: "a-queue-of-someone-else"}


@pytest.mark.parametrize("schema", ["public", "kt_0123456789ab", "office_mops_pleszew",
                                    "office_" + "z" * 40, "office_" + "ż" * 20])
def test_0059_names_the_queue_as_the_program_does(schema: str) -> None:
    """The migration keeps its own copy of the naming; it must agree with the program's, and
    procrastinate's channel `procrastinate_queue_v1#<queue>` must stay under PostgreSQL's
    63 bytes (pg_notify refuses a longer one)."""
    assert MIGRATION._queue(schema) == office_keys.queue_name(schema)
    channel = "procrastinate_queue_v1#" + office_keys.queue_name(schema)
    assert len(channel.encode("utf-8")) <= 63
