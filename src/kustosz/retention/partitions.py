"""The recording index partitioned by local day on PostgreSQL (issue 68 item 3).

docs/design.md, "Retention as partitions": one partition per local day of `start_at` (the
policy's zone, Europe/Warsaw), bounds at local midnight in UTC; `recordings_legacy` holds the
table as it was before migration 0062, `recordings_rest` (DEFAULT) whatever no day holds, so a
recording is never refused for want of a partition. SQLite has none of this.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

log = logging.getLogger(__name__)
AHEAD_DAYS = 14
DAY_NAME = re.compile(r"^recordings_d(\d{8})$")
# A day a sweep detached and has not dropped yet (retention.day_sweep): no longer a partition,
# still the vault's — recovery finishes it from whatever schema the vault is in.
DETACHED_NAME = re.compile(r"^recordings_gone_\d+_\d{8}$")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of ``day``, local midnight after it) in naive UTC, as stored (a day
    is 23, 24 or 25 hours long)."""
    lo = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi.replace(tzinfo=None)


def partition_name(day: date) -> str:
    return f"recordings_d{day:%Y%m%d}"


def detached_name(sweep_id: int, day: date) -> str:
    return f"recordings_gone_{sweep_id}_{day:%Y%m%d}"


def existing_days(conn: Connection) -> set[date]:
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'recordings'::regclass")).scalars()
    return {datetime.strptime(m.group(1), "%Y%m%d").date()
            for m in map(DAY_NAME.match, names) if m}


def partitioned(conn: Connection) -> bool:
    """Whether this database's `recordings` is partitioned (PostgreSQL after 0062)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text(
        "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'recordings'::regclass"
    )).scalar_one())


def partitioned_index(vault: Any) -> bool:
    """`partitioned` for a vault's database."""
    with vault.engine.connect() as conn:
        return partitioned(conn)


def ensure_days(conn: Connection, tz: ZoneInfo, now: datetime,
                ahead: int = AHEAD_DAYS) -> list[date]:
    """Create the day partitions from yesterday to ``ahead`` days on that are missing; a day
    whose rows the default partition already holds is made from them (`_adopt`), one the
    legacy partition covers is left to it. Returns the days created."""
    if not partitioned(conn):
        return []
    have = existing_days(conn)
    # The bound's text is in the session's DateStyle ("30/11/2026 23:00:00" under SQL, DMY):
    # the server reads back what it wrote
    legacy_end = conn.execute(text(
        "SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM $$TO \\('([^']+)'\\)$$)"
        "::timestamp FROM pg_class c WHERE c.oid = to_regclass('recordings_legacy')")).scalar()
    today = now.astimezone(tz).date()
    made = []
    for offset in range(-1, ahead + 1):
        day = today + timedelta(days=offset)
        lo, hi = day_bounds(day, tz)
        if day in have or (legacy_end is not None and lo < legacy_end):
            continue
        taken = conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM recordings_rest WHERE start_at >= :lo "
            "AND start_at < :hi)"), {"lo": lo, "hi": hi}).scalar_one()
        bounds = f"FROM ('{lo:%Y-%m-%d %H:%M:%S}') TO ('{hi:%Y-%m-%d %H:%M:%S}')"
        if taken:
            _adopt(conn, partition_name(day), lo, hi, bounds)
        else:
            conn.execute(text(f"CREATE TABLE {partition_name(day)} PARTITION OF recordings "
                              f"FOR VALUES {bounds}"))
        made.append(day)
    return made


def _adopt(conn: Connection, name: str, lo: datetime, hi: datetime, bounds: str) -> None:
    """A day whose rows landed in the default partition (no day was made ahead: serve and
    the sweep did not run) gets its partition all the same: the rows moved out of the
    default into a table of their own, attached as the day — PostgreSQL refuses to create a
    partition whose rows the default holds. One transaction: readers see the rows in one
    place or the other. A row of the day inserted meanwhile fails the attach's check of the
    default; the whole is rolled back and tried at the next run."""
    conn.execute(text(f"CREATE TABLE {name} (LIKE recordings INCLUDING DEFAULTS "
                      "INCLUDING CONSTRAINTS)"))
    conn.execute(text(f"WITH moved AS (DELETE FROM recordings_rest WHERE start_at >= :lo "
                      f"AND start_at < :hi RETURNING *) INSERT INTO {name} SELECT * FROM "
                      "moved"), {"lo": lo, "hi": hi})
    conn.execute(text(f"ALTER TABLE recordings ATTACH PARTITION {name} FOR VALUES {bounds}"))


def make_days(vault: Any, now: datetime | None = None) -> list[date]:
    """`ensure_days` for a vault, in its own transaction: at every start of `serve` and of
    the sweeper (retention.sweep.recover) and before every scheduled sweep (at least at each
    local midnight), so that in normal use no recording lands in the default partition.
    A failure is logged, never raised: the default takes the recordings meanwhile."""
    if vault.engine.dialect.name != "postgresql":
        return []  # no partitions; and on SQLite a transaction here would be a write lock
    try:
        with vault.engine.begin() as conn:
            made = ensure_days(conn, vault.policy.timezone, now or datetime.now(UTC))
    except Exception as exc:  # recording goes on: the default partition takes the rows
        log.warning("the index's day partitions ahead were not made: %s", exc)
        return []
    if made:
        log.info("day partitions made ahead: %s", ", ".join(d.isoformat() for d in made))
    return made
