"""Migration 0062 (issue 68 item 3) up and down: on PostgreSQL `recordings` becomes a table
partitioned by local day with its earlier rows kept, unrewritten, in `recordings_legacy`, and
the downgrade makes it one table again with every row and the foreign keys that referenced it;
on both databases the day deletion records' tables come and go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Connection, insert, inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.retention.partitions import ensure_days, partition_name, partitioned
from kustosz.vault import Vault

PREVIOUS = "0061"
WARSAW = ZoneInfo("Europe/Warsaw")


def _add(vault: Vault, source_id: int, start: datetime, n: int, tag: str) -> None:
    with vault.transaction() as s:
        s.execute(insert(Recording), [{
            "source_id": source_id, "kind": "camera", "start_at": start + timedelta(seconds=10 * i),
            "end_at": start + timedelta(seconds=10 * i + 10), "size": 100 + i,
            "sha256": f"{i:064x}", "storage_key": f"cam/{tag}-{i}.ts", "meta": {},
            "state": "stored", "ingested_at": start} for i in range(n)])


def _where(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(text(  # type: ignore[arg-type]
        "SELECT tableoid::regclass::text, count(*) FROM recordings GROUP BY 1")).all())


def _referencing(conn: Connection) -> int:
    return int(conn.execute(text(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid = to_regclass('recordings')")).scalar_one())


def test_0062_partitions_postgresql_and_goes_back_with_every_row(vault: Vault) -> None:
    with vault.transaction() as s:
        source_id = add_source(s, vault.policy, "cam", "camera", "test").id
    now = datetime.now(UTC)
    _add(vault, source_id, now - timedelta(days=3), 5, "old")
    with vault.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM recordings")).scalar_one()
    assert before == 5
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "deletion_days" not in inspect(vault.engine).get_table_names()
    with vault.engine.connect() as conn:
        assert not partitioned(conn)
        assert conn.execute(text("SELECT count(*) FROM recordings")).scalar_one() == 5
        if conn.dialect.name == "postgresql":
            assert _referencing(conn) == 5  # calls, clock, events, mail (two)
    upgrade(vault.engine)
    assert {"deletion_days", "partition_sweeps"} <= set(inspect(vault.engine).get_table_names())
    with vault.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            assert conn.execute(text("SELECT count(*) FROM recordings")).scalar_one() == 5
            return
        assert partitioned(conn)
        assert _referencing(conn) == 0
        assert _where(conn) == {"recordings_legacy": 5}  # kept where they were
        # the parent's indexes took the table's own (built once), none built twice
        assert conn.execute(text("SELECT count(*) FROM pg_index WHERE indrelid = "
                                 "to_regclass('recordings_legacy')")).scalar_one() == 6
        made = ensure_days(conn, WARSAW, now)
    tomorrow = now.astimezone(WARSAW).date() + timedelta(days=1)
    assert tomorrow in made
    _add(vault, source_id, now + timedelta(days=1), 3, "next")
    _add(vault, source_id, now + timedelta(days=400), 2, "far")  # no partition: never refused
    with vault.engine.connect() as conn:
        assert _where(conn) == {"recordings_legacy": 5, partition_name(tomorrow): 3,
                                "recordings_rest": 2}
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    with vault.engine.connect() as conn:
        assert not partitioned(conn)
        assert conn.execute(text("SELECT count(*) FROM recordings")).scalar_one() == 10
        assert _referencing(conn) == 5
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        assert _where(conn) == {"recordings_legacy": 10}


def test_0062_does_not_go_back_over_day_deletion_records(vault: Vault) -> None:
    with vault.transaction() as s:
        source_id = add_source(s, vault.policy, "cam", "camera", "test").id
    now = datetime.now(UTC)
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO deletion_days (sweep_id, source_id, day, count, size, first_start, "
            "last_end, rule, deleted_at, list_sha256, listing) VALUES (1, :s, :d, 0, 0, :t, "
            ":t, 'retention', :t, '', :b)"),
            {"s": source_id, "d": now.date(), "t": now.replace(tzinfo=None), "b": b""})
    with pytest.raises(RuntimeError, match="day deletion records"):
        command.downgrade(alembic_config(vault.engine), PREVIOUS)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM deletion_days")).scalar_one() == 1
