"""refusals folded per class and reason: input_refusals keyed by (device, reason)

Issue 64 item 4: 5 000 forged source addresses made 5 000 input_refusals rows (and as many
alert rows and audit entries). A refusal from a sender anyone can forge now folds by the
device class and the reason, not by its address, so a row is one (device, reason): `reason`
joins the key ("" for a known device's own row, whose reasons vary), UNIQUE (device, reason)
replaces UNIQUE (device), and the row keeps, for the interval of its alert row, how many
distinct addresses sent it (`addresses`), the first few by name (`sample`, a JSON list) and
the last (`last_address`). Existing rows are known devices' rows: reason "".

The downgrade refuses, changing nothing, while a device holds rows for several reasons: the
earlier schema has one row per device, and adding up rows of different reasons would say a
refusal was given for a reason it was not. Otherwise it drops the new columns and key.

SQLite cannot drop a constraint: the table is rebuilt from the definition written out below
(nothing references input_refusals, so no other table is touched), as 0044 does.

Revision ID: 0046
Revises: 0044
Create Date: 2026-12-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0044"
branch_labels = None
depends_on = None

_UNIQUE = "uq_input_refusals_device_reason"
_OLD_COLUMNS = ("id, device, source_id, count, first_at, last_at, last_reason, alert_id, "
                "alert_count")
_COMMON = ("source_id INTEGER", "count BIGINT NOT NULL", "first_at DATETIME NOT NULL",
           "last_at DATETIME NOT NULL", "last_reason TEXT NOT NULL", "alert_id INTEGER",
           "alert_count BIGINT NOT NULL")
_REFERENCES = ("FOREIGN KEY(source_id) REFERENCES sources (id)",
               "FOREIGN KEY(alert_id) REFERENCES alerts (id)")
# 0039's table, and this one's, written out (a migration stays as it ran)
_SQLITE_BEFORE = ("id INTEGER NOT NULL", "device VARCHAR(200) NOT NULL", *_COMMON,
                  "PRIMARY KEY (id)", "UNIQUE (device)", *_REFERENCES)
_SQLITE_AFTER = ("id INTEGER NOT NULL", "device VARCHAR(200) NOT NULL",
                 "reason VARCHAR(300) DEFAULT '' NOT NULL", *_COMMON,
                 "addresses BIGINT DEFAULT 0 NOT NULL", "sample JSON DEFAULT '[]' NOT NULL",
                 "last_address VARCHAR(100)", "PRIMARY KEY (id)",
                 f"CONSTRAINT {_UNIQUE} UNIQUE (device, reason)", *_REFERENCES)


def _sqlite_rebuild(conn: sa.Connection, definition: tuple[str, ...]) -> None:
    conn.exec_driver_sql("CREATE TABLE input_refusals_0046 (\n\t" + ",\n\t".join(definition)
                         + "\n)")
    conn.exec_driver_sql(f"INSERT INTO input_refusals_0046 ({_OLD_COLUMNS}) "
                         f"SELECT {_OLD_COLUMNS} FROM input_refusals")
    conn.exec_driver_sql("DROP TABLE input_refusals")
    conn.exec_driver_sql("ALTER TABLE input_refusals_0046 RENAME TO input_refusals")
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check(input_refusals)").all()
    if problems:
        raise RuntimeError(f"the rebuild of input_refusals broke references: {problems}")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_rebuild(conn, _SQLITE_AFTER)
        return
    for unique in sa.inspect(conn).get_unique_constraints("input_refusals"):
        if unique["column_names"] == ["device"] and unique["name"]:
            op.drop_constraint(unique["name"], "input_refusals", type_="unique")
    op.add_column("input_refusals", sa.Column("reason", sa.String(300), nullable=False,
                                              server_default=""))
    op.add_column("input_refusals", sa.Column("addresses", sa.BigInteger(), nullable=False,
                                              server_default="0"))
    op.add_column("input_refusals", sa.Column("sample", sa.JSON(), nullable=False,
                                              server_default=sa.text("'[]'")))
    op.add_column("input_refusals", sa.Column("last_address", sa.String(100), nullable=True))
    op.create_unique_constraint(_UNIQUE, "input_refusals", ["device", "reason"])


def downgrade() -> None:
    conn = op.get_bind()
    several = conn.execute(sa.text(
        "SELECT device FROM input_refusals GROUP BY device HAVING count(*) > 1 "
        "ORDER BY device")).scalars().all()
    if several:
        raise RuntimeError(
            "the schema before 0046 holds one refusal row per device; this vault holds rows "
            f"for several reasons of {', '.join(several)} — nothing was changed (adding them "
            "up would give a refusal a reason it was not given for)")
    if conn.dialect.name == "sqlite":
        _sqlite_rebuild(conn, _SQLITE_BEFORE)
        return
    op.drop_constraint(_UNIQUE, "input_refusals", type_="unique")
    for column in ("last_address", "sample", "addresses", "reason"):
        op.drop_column("input_refusals", column)
    op.create_unique_constraint("input_refusals_device_key", "input_refusals", ["device"])
