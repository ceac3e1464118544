"""recordings partitioned by local day on PostgreSQL; day deletion records (issue 68 item 3)

docs/design.md, "Retention as partitions". PostgreSQL: the table as it is becomes the
partition `recordings_legacy` of a new `recordings` partitioned by RANGE (start_at), for
`(MINVALUE) TO (cutover)` — the local midnight after today (or after the latest row) — with
no row rewritten: a CHECK constraint of that range lets the attach skip its scan, and the
unique indexes the partition key needs, `(id, start_at)` and `(storage_key, start_at)`, are
built on it once. `recordings_rest` is the DEFAULT partition and the next days get their own.
The five foreign keys that reference `recordings.id` are dropped (a key to a partitioned table
must name `(id, start_at)`): `retention.partitions` does what their cascades did. SQLite: only
the two new tables.

Revision ID: 0062
Revises: 0061
Create Date: 2026-11-29 22:00:00.000000
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0062"
down_revision = "0061"
branch_labels = None
# The tables whose foreign keys it drops come from the calls (0003) and events (0005) branches.
depends_on = ("0003", "0005")

WARSAW = ZoneInfo("Europe/Warsaw")
REFERENCING = (  # (table, constraint, column, on delete)
    ("calls", "calls_recording_id_fkey", "recording_id", "CASCADE"),
    ("clock_rebased", "clock_rebased_recording_id_fkey", "recording_id", "CASCADE"),
    ("monitoring_events", "monitoring_events_recording_id_fkey", "recording_id", "CASCADE"),
    ("mail_messages", "mail_messages_recording_id_fkey", "recording_id", "CASCADE"),
    ("mail_messages", "mail_messages_eml_recording_id_fkey", "eml_recording_id", "SET NULL"),
)
INDEXES = ("ix_recordings_source_span", "ix_recordings_state_expires", "ix_recordings_sweep")


def _tables() -> None:
    op.create_table(
        "deletion_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sweep_id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=True),
        sa.Column("first_start", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_end", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("list_sha256", sa.String(length=64), nullable=False),
        sa.Column("listing", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sweep_id", "source_id", "day", name="uq_deletion_days"),
    )
    op.create_index("ix_deletion_days_source_day", "deletion_days", ["source_id", "day"])
    op.create_table(
        "partition_sweeps",
        sa.Column("sweep_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("sweep_id", "name"),
    )


def _cutover(bind: sa.Connection) -> datetime:
    latest = bind.execute(sa.text("SELECT max(start_at) FROM recordings")).scalar()
    now = datetime.now(UTC)
    last = max(now, latest.replace(tzinfo=UTC) if latest else now)
    day = last.astimezone(WARSAW).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=WARSAW).astimezone(UTC).replace(tzinfo=None)


def upgrade() -> None:
    _tables()
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # A day record's id comes from the per-item records' sequence: "deleted after id N" (a
    # backup's journal mark) is then one mark over both (kustosz.db.deleted).
    seq = bind.execute(sa.text("SELECT pg_get_serial_sequence('deletions', 'id')")).scalar()
    op.execute(f"ALTER TABLE deletion_days ALTER COLUMN id SET DEFAULT nextval('{seq}'::regclass)")
    cut = f"{_cutover(bind):%Y-%m-%d %H:%M:%S}"
    for table, name, _column, _rule in REFERENCING:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
    op.execute("ALTER TABLE recordings RENAME TO recordings_legacy")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_legacy")
    op.execute(f"ALTER TABLE recordings_legacy ADD CONSTRAINT ck_recordings_legacy_range "
               f"CHECK (start_at IS NOT NULL AND start_at < '{cut}')")
    op.execute("CREATE UNIQUE INDEX recordings_legacy_id_start ON recordings_legacy "
               "(id, start_at)")
    op.execute("CREATE UNIQUE INDEX recordings_legacy_key_start ON recordings_legacy "
               "(storage_key, start_at)")
    # The partition's primary key must be the parent's, (id, start_at): the old one gives way.
    # Its key to `sources` too: the parent's, added below, then makes the partition's under
    # the parent's name, as a restore of a dump does (kept, it would keep its old name there
    # and only there).
    op.execute("ALTER TABLE recordings_legacy DROP CONSTRAINT recordings_source_id_fkey")
    op.execute("ALTER TABLE recordings_legacy DROP CONSTRAINT recordings_pkey, ADD CONSTRAINT "
               "recordings_legacy_pkey PRIMARY KEY USING INDEX recordings_legacy_id_start, "
               "ADD CONSTRAINT recordings_legacy_key UNIQUE USING INDEX "
               "recordings_legacy_key_start")
    # INCLUDING CONSTRAINTS copies the CHECKs, the range one too: dropped from the parent.
    op.execute("CREATE TABLE recordings (LIKE recordings_legacy INCLUDING DEFAULTS INCLUDING "
               "CONSTRAINTS) PARTITION BY RANGE (start_at)")
    op.execute("ALTER TABLE recordings DROP CONSTRAINT ck_recordings_legacy_range")
    op.execute("ALTER SEQUENCE recordings_id_seq OWNED BY recordings.id")
    op.execute(f"ALTER TABLE recordings ATTACH PARTITION recordings_legacy FOR VALUES FROM "
               f"(MINVALUE) TO ('{cut}')")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_pkey_part "
               "PRIMARY KEY (id, start_at)")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_key_part "
               "UNIQUE (storage_key, start_at)")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_source_id_fkey_part "
               "FOREIGN KEY (source_id) REFERENCES sources(id)")
    op.execute("CREATE INDEX ix_recordings_source_span ON recordings (source_id, start_at, "
               "end_at, state, session, id)")
    op.execute("CREATE INDEX ix_recordings_state_expires ON recordings (state, expires_at)")
    op.execute("CREATE INDEX ix_recordings_sweep ON recordings (sweep_id)")
    op.execute("CREATE TABLE recordings_rest PARTITION OF recordings DEFAULT")


def downgrade() -> None:
    bind = op.get_bind()
    days = bind.execute(sa.text("SELECT count(*) FROM deletion_days")).scalar_one()
    if days:
        raise RuntimeError(
            f"the schema before 0062 has no day deletion records; this vault holds {days} — "
            "nothing was changed (dropping them would lose the record of those deletions, "
            "R2.2)")
    if bind.dialect.name == "postgresql":
        _unpartition(bind)
    op.drop_table("partition_sweeps")
    op.drop_index("ix_deletion_days_source_day", table_name="deletion_days")
    op.drop_table("deletion_days")


def _unpartition(bind: sa.Connection) -> None:
    """Back to one table: every partition's rows copied into it (a downgrade rewrites; the
    upgrade does not), the constraints and indexes of 0060 made again."""
    if not bind.execute(sa.text("SELECT count(*) FROM pg_partitioned_table WHERE partrelid "
                                "= 'recordings'::regclass")).scalar_one():
        return
    op.execute("CREATE TABLE recordings_plain (LIKE recordings INCLUDING DEFAULTS)")
    op.execute("INSERT INTO recordings_plain SELECT * FROM recordings")
    op.execute("ALTER SEQUENCE recordings_id_seq OWNED BY recordings_plain.id")
    op.execute("DROP TABLE recordings")
    op.execute("ALTER TABLE recordings_plain RENAME TO recordings")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_pkey PRIMARY KEY (id)")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_storage_key_key "
               "UNIQUE (storage_key)")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT recordings_source_id_fkey "
               "FOREIGN KEY (source_id) REFERENCES sources(id)")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT ck_recordings_kind CHECK (kind IN "
               "('camera', 'phone', 'mailbox', 'endpoint'))")
    op.execute("ALTER TABLE recordings ADD CONSTRAINT ck_recordings_state CHECK (state IN "
               "('pending', 'stored', 'deleting', 'missing'))")
    op.execute("CREATE INDEX ix_recordings_source_span ON recordings (source_id, start_at, "
               "end_at, state, session, id)")
    op.execute("CREATE INDEX ix_recordings_state_expires ON recordings (state, expires_at)")
    op.execute("CREATE INDEX ix_recordings_sweep ON recordings (sweep_id)")
    for table, name, column, rule in REFERENCING:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                   f"REFERENCES recordings(id) ON DELETE {rule}")
