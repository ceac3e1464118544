"""the camera's own clock read over ONVIF, and the ONVIF alerts

Issue 34 item 3: serve reads the clock of each camera added over ONVIF (GetSystemDateAndTime)
on start and every [cameras] clock_check_minutes: each reading is a row of
camera_clock_readings (a copy's manifest names the ones of its period), and the last answer
or failure is kept on camera_devices (onvif_ok_at, onvif_error: item 5's health); motion
and digital inputs the camera reports are intervals in camera_marks (item 4). The
administrator's consent to let Kustosz set a camera's clock (SetNTP to the office's server,
or SetSystemDateAndTime) is kept per camera: who, when, how. Four alert kinds join the CHECK
constraint of 0028: camera_clock_off and camera_onvif_unreachable, and what a camera reports
itself over ONVIF events (item 4), camera_tamper and camera_video_loss; the downgrade refuses
while rows hold them, naming them, and changes nothing, else drops the table and the columns.
On SQLite the constraint is rewritten in the table's definition in sqlite_master, as 0016-0028
do.

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-25 08:20:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

from kustosz.db.types import BigId, UTCDateTime

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_KINDS_BEFORE = (  # 0028's
    "camera_down", "phone.unreachable", "phone.backlog", "phone.silent", "disk_pressure",
    "disk_full", "disk_full_held", "audit.witness", "recorder_restarting", "disk_forecast",
    "sweep_failed", "sweep_late", "audit_verify_failed", "cert_expiring", "clock_jump",
    "backup_missing", "backup_failed", "node_missing", "source_without_node", "node_clock_skew",
    "storage_unreachable", "spool_over_limit", "storage_unknown_objects",
    "database_unreachable", "storage_missing_versions", "retention_disagrees")
NEW: dict[tuple[str, str], tuple[str, ...]] = {
    ("alerts", "kind"): ("camera_clock_off", "camera_onvif_unreachable", "camera_tamper",
                         "camera_video_loss")}
_BEFORE: dict[tuple[str, str], tuple[str, ...]] = {("alerts", "kind"): _KINDS_BEFORE}
# Written out, not imported (a migration stays as it ran); the newest list of each column is
# its enum's values (tests/test_migration_0017.py).
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {k: _BEFORE[k] + NEW[k] for k in NEW}
DEVICE_COLUMNS = ("onvif_ok_at", "onvif_error", "clock_consent_by", "clock_consent_at",
                  "clock_setting", "ntp_server")


def _sqlite_set(conn: sa.Connection, table: str, column: str,
                values: tuple[str, ...]) -> None:
    name = f"ck_{table}_{column}"
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = :t"), {"t": table}).scalar_one()
    pattern = re.compile(rf",\s*CONSTRAINT {name} CHECK \({column} IN \([^)]*\)\)")
    clause = (f",\n\tCONSTRAINT {name} CHECK ({column} IN "
              f"({', '.join(repr(v) for v in values)}))")
    changed, n = pattern.subn(lambda _m: clause, sql)
    if n != 1:
        raise RuntimeError(f"{name} is not where 0016/0021 put it in {table}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND "
                             "name = :t"), {"sql": changed, "t": table})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema change left the database inconsistent: {problems}")


def _set(conn: sa.Connection, lists: dict[tuple[str, str], tuple[str, ...]]) -> None:
    for (table, column), values in lists.items():
        if conn.dialect.name == "sqlite":
            _sqlite_set(conn, table, column, values)
            continue
        name = f"ck_{table}_{column}"
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table,
                                   f"{column}::text IN ({', '.join(repr(v) for v in values)})")


def upgrade() -> None:
    _set(op.get_bind(), CHECKS)
    op.create_table(
        "camera_clock_readings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), nullable=False),
        sa.Column("measured_at", UTCDateTime(), nullable=False),
        sa.Column("offset_s", sa.Double(), nullable=False),
        sa.Column("round_trip_s", sa.Double(), nullable=False),
        sa.Column("ntp", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_camera_clock_readings_source", "camera_clock_readings",
                    ["source_id", "measured_at"])
    op.create_table(
        "camera_marks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_camera_marks_source_start", "camera_marks", ["source_id", "start_at"])
    with op.batch_alter_table("camera_devices") as batch:
        batch.add_column(sa.Column("onvif_ok_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("onvif_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("clock_consent_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("clock_consent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("clock_setting", sa.String(10), nullable=True))
        batch.add_column(sa.Column("ntp_server", sa.String(300), nullable=True))


def downgrade() -> None:
    conn = op.get_bind()
    used = []
    for (table, column), values in NEW.items():
        used += [f"{table}.{column} = {v!r}" for v in conn.execute(sa.text(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN "
            f"({', '.join(repr(v) for v in values)})")).scalars().all()]
    if used:
        raise RuntimeError("rows hold values the earlier version does not know (nothing was "
                           "changed): " + "; ".join(sorted(used)))
    with op.batch_alter_table("camera_devices") as batch:
        for column in DEVICE_COLUMNS:
            batch.drop_column(column)
    op.drop_index("ix_camera_marks_source_start", table_name="camera_marks")
    op.drop_table("camera_marks")
    op.drop_index("ix_camera_clock_readings_source", table_name="camera_clock_readings")
    op.drop_table("camera_clock_readings")
    _set(conn, _BEFORE)
