"""a camera's purposes: a list of codes instead of one of art. 22² § 1

Issue 66 item 1: a camera serves one or more purposes, each with its legal basis — the
employer's four of art. 22² § 1 k.p., the public-order purposes of art. 9a u.s.g. and art. 4b
u.s.p., a school's of art. 108a p.o., an office's own (policy.video). `cameras.purpose` (one
code of the four) becomes `cameras.purposes`, a JSON list of codes in the order given, each
camera's one purpose its only item.

The downgrade refuses, changing nothing, while a camera has more or other purposes than one
of the four, or a zone is of a kind the earlier code does not know (issue 66 split the
entrance and added a school's, a care home's and the offices' own kinds): the earlier schema
and code cannot hold them, and keeping one purpose of several would misstate the register.

SQLite (3.35 and later) drops a column in place; the added column keeps a '[]' default there,
as SQLite adds no NOT NULL column without one.

Revision ID: 0056
Revises: 0052
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0056"
down_revision = "0052"
branch_labels = None
depends_on = None

# What the code before this migration knows (policy.video_law as it was).
_OLD_PURPOSES = ("employee_safety", "property", "production_control", "secrecy")
_OLD_KINDS = ("social_room", "corridor", "staircase", "entrance", "customer_hall", "outdoor",
              "parking", "server_room", "archive", "ordinary", "sanitary", "changing_room",
              "canteen", "smoking_room", "union_room")

_cameras = sa.table("cameras", sa.column("id", sa.Integer), sa.column("purpose", sa.String),
                    sa.column("purposes", sa.JSON))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ALTER TABLE cameras ADD COLUMN purposes JSON NOT NULL "
                             "DEFAULT '[]'")
    else:
        op.add_column("cameras", sa.Column("purposes", sa.JSON(), nullable=True))
    rows = conn.execute(sa.select(_cameras.c.id, _cameras.c.purpose)).all()
    for cid, purpose in rows:
        conn.execute(_cameras.update().where(_cameras.c.id == cid)
                     .values(purposes=[purpose]))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ALTER TABLE cameras DROP COLUMN purpose")
    else:
        op.alter_column("cameras", "purposes", existing_type=sa.JSON(), nullable=False)
        op.drop_column("cameras", "purpose")


def _refuse_what_the_old_code_cannot_hold(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(_cameras.c.id, _cameras.c.purposes)
                        .order_by(_cameras.c.id)).all()
    cameras = [str(cid) for cid, purposes in rows
               if not isinstance(purposes, list) or len(purposes) != 1
               or purposes[0] not in _OLD_PURPOSES]
    kinds = conn.execute(sa.text("SELECT DISTINCT kind FROM camera_zones ORDER BY kind")) \
        .scalars().all()
    new_kinds = [k for k in kinds if k not in _OLD_KINDS]
    if cameras or new_kinds:
        raise RuntimeError(
            "the schema before 0056 holds one purpose of art. 22² § 1 k.p. per camera and the "
            "zone kinds of its day; this vault holds "
            + "; ".join(([f"cameras {', '.join(cameras)} with other or several purposes"]
                         if cameras else [])
                        + ([f"zones of kinds {', '.join(new_kinds)}"] if new_kinds else []))
            + " — nothing was changed (dropping a purpose would misstate the register)")


def downgrade() -> None:
    conn = op.get_bind()
    _refuse_what_the_old_code_cannot_hold(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ALTER TABLE cameras ADD COLUMN purpose VARCHAR(30) NOT NULL "
                             "DEFAULT ''")
    else:
        op.add_column("cameras", sa.Column("purpose", sa.String(30), nullable=True))
    for cid, purposes in conn.execute(sa.select(_cameras.c.id, _cameras.c.purposes)).all():
        conn.execute(_cameras.update().where(_cameras.c.id == cid)
                     .values(purpose=purposes[0]))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ALTER TABLE cameras DROP COLUMN purposes")
    else:
        op.alter_column("cameras", "purpose", existing_type=sa.String(30), nullable=False)
        op.drop_column("cameras", "purposes")
