"""access: camera and mailbox passwords encrypted at rest

The RTSP password column widens to hold a sealed value (AES-256-GCM under the vault's key,
`keys/secrets.key`). The upgrade changes the column only: a migration gets the engine, not
the data folder, so it cannot reach the key. `Vault.open` — the only way the product runs
this migration — reads the key before migrating and seals every password still in clear
right after it (kustosz/atrest/vault_key.py), in one transaction with an audit entry.

The downgrade must give the older code clear passwords back, so it needs the key: it is
handed over as `config.attributes["secrets"]` (a SecretBox); without it, a vault holding
sealed passwords refuses to go down rather than leave values no version could read.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
# The slot sits on the access branch (after 0008); the column it widens is the cameras
# branch's, which must be there first.
depends_on = "0002"

PREFIX = "kustosz-sealed:1:"
_cameras = sa.table("cameras", sa.column("id", sa.Integer),
                    sa.column("rtsp_password", sa.Text))
_sources = sa.table("sources", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                    sa.column("settings", sa.JSON))
_settings = sa.table("vault_settings", sa.column("key", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("rtsp_password", existing_type=sa.String(length=200),
                           type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    conn = op.get_bind()
    cameras = conn.execute(sa.select(_cameras.c.id, _cameras.c.rtsp_password)
                           .where(_cameras.c.rtsp_password.like(PREFIX + "%"))).all()
    mailboxes = [(i, s) for i, s in conn.execute(
        sa.select(_sources.c.id, _sources.c.settings).where(_sources.c.kind == "mailbox"))
        if str((s or {}).get("imap_password", "")).startswith(PREFIX)]
    box = context.config.attributes.get("secrets")
    if (cameras or mailboxes) and box is None:
        raise RuntimeError("downgrading below 0009 must open the sealed passwords: hand the "
                           "vault's SecretBox over as config.attributes['secrets']")
    for cid, value in cameras:
        conn.execute(_cameras.update().where(_cameras.c.id == cid)
                     .values(rtsp_password=box.open(value, "camera.rtsp_password")))
    for sid, settings in mailboxes:
        clear = {**settings, "imap_password": box.open(settings["imap_password"],
                                                       "mailbox.imap_password")}
        conn.execute(_sources.update().where(_sources.c.id == sid).values(settings=clear))
    # The key's fingerprint goes too: the older code keeps passwords in clear, and the next
    # upgrade + open records the fingerprint again and seals what it finds.
    conn.execute(_settings.delete().where(_settings.c.key == "secrets_key_fingerprint"))
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("rtsp_password", existing_type=sa.Text(),
                           type_=sa.String(length=200), existing_nullable=True)
