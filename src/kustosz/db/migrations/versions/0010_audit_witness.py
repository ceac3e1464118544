"""audit: access records join the chain; signed checkpoints

The served media requests (access_log) get their own hash chain (seq, prev_hash, hash), whose
head each signed checkpoint seals into the audit log. Existing rows are chained in the order
they were written (by id).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 11:00:00.000000
"""

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 5000
GENESIS = "0" * 64


def access_hash(seq: int, viewing_id: int, at: datetime, what: str, recording_id: int | None,
                client: str, nbytes: int, prev_hash: str) -> str:
    """The access chain's hash as this migration first wrote it, copied here rather than
    imported from kustosz.audit.access_chain: a later change there must not change what an
    old migration does (tests/test_migration_0010.py holds the two equal while they should be)."""
    payload = "\x1f".join([str(seq), str(viewing_id),
                           at.astimezone(UTC).isoformat(timespec="microseconds"), what,
                           "" if recording_id is None else str(recording_id), client,
                           str(nbytes), prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def upgrade() -> None:
    from kustosz.db.types import UTCDateTime

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = sa.table("access_log", sa.column("id", sa.BigInteger()),
                    sa.column("viewing_id", sa.Integer()), sa.column("at", UTCDateTime()),
                    sa.column("what", sa.String()), sa.column("recording_id", sa.BigInteger()),
                    sa.column("client", sa.String()), sa.column("bytes", sa.BigInteger()),
                    sa.column("seq", sa.BigInteger()), sa.column("prev_hash", sa.String()),
                    sa.column("hash", sa.String()))
    seq, prev, last_id = 0, GENESIS, None
    while True:
        query = sa.select(rows.c.id, rows.c.viewing_id, rows.c.at, rows.c.what,
                          rows.c.recording_id, rows.c.client, rows.c.bytes) \
            .order_by(rows.c.id).limit(BATCH)
        if last_id is not None:
            query = query.where(rows.c.id > last_id)
        batch = conn.execute(query).all()
        if not batch:
            break
        updates = []
        for r in batch:
            seq += 1
            digest = access_hash(seq, r.viewing_id, r.at, r.what, r.recording_id, r.client,
                                 r.bytes, prev)
            updates.append({"rid": r.id, "s": seq, "p": prev, "h": digest})
            prev, last_id = digest, r.id
        conn.execute(rows.update().where(rows.c.id == sa.bindparam("rid"))
                     .values(seq=sa.bindparam("s"), prev_hash=sa.bindparam("p"),
                             hash=sa.bindparam("h")), updates)
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_access_log_seq", ["seq"])


def downgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_access_log_seq", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
