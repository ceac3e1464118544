"""custody: whom a mail/events request concerns gets its own column

Until now a mail/events request kept its "who" (a person, an address, a host) in `place`,
which means a building or zone for video. Existing rows are moved over.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_requests = sa.table("custody_requests", sa.column("material", sa.String),
                     sa.column("place", sa.String), sa.column("who", sa.String))
_CHUNK = ("mail", "events")


def upgrade() -> None:
    with op.batch_alter_table("custody_requests") as batch:
        batch.add_column(sa.Column("who", sa.String(length=400), nullable=True))
    op.execute(_requests.update().where(_requests.c.material.in_(_CHUNK))
               .values(who=_requests.c.place, place=None))


def downgrade() -> None:
    op.execute(_requests.update().where(_requests.c.material.in_(_CHUNK))
               .values(place=_requests.c.who))
    with op.batch_alter_table("custody_requests") as batch:
        batch.drop_column("who")
