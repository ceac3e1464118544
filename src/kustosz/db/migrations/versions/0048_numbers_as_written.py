"""every number kept: a number with no canonical form stored as written

Issue 64 item 9: a caller or callee Kustosz could not make canonical ("09243820431",
"9996837840", a SIP user's "mcr") was stored as "", so the call could not be found by the
number a person gives (R4.2). From now on such a number is kept under its search key — its
digits, or its text case-folded where it has no digit (`kustosz.phone_numbers.keep`) — in
`calls.caller`/`callee`, and as written in the new `caller_written`/`callee_written` (64
characters, "" where the number has a canonical form), which is what is shown.

The calls stored before with an empty number get them back from their recording's meta
(`caller_raw`/`callee_raw`, which every intake has written beside the call), by the rule as
it is written here (never imported, so that this migration stays as run): a row's number was
empty only where it had no canonical form or said "no number" (anonymous, unknown...), which
stays empty. The downgrade drops the two columns; the keys given back stay (the earlier code
reads and searches them as any other, and an upgrade after it shows them by their keys).

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-06 09:00:00.000000
"""

import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

KEY_MAX, WRITTEN_MAX = 32, 64
BATCH = 1000
# kustosz.phone_numbers as of this migration
_UNKNOWN = frozenset({"", "anonymous", "unknown", "<unknown>", "restricted", "private",
                      "withheld", "unavailable", "unavailable number", "no caller id"})
_NOT_SHOWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

_calls = sa.table("calls", sa.column("recording_id", sa.BigInteger),
                  sa.column("caller", sa.String), sa.column("callee", sa.String),
                  sa.column("caller_written", sa.String),
                  sa.column("callee_written", sa.String))
_recordings = sa.table("recordings", sa.column("id", sa.BigInteger),
                       sa.column("meta", sa.JSON))


def _kept(raw: Any) -> tuple[str, str] | None:
    """(key, as written) of a number that had no canonical form; None for no number."""
    if not isinstance(raw, str):
        return None
    text = "".join(c for c in unicodedata.normalize("NFC", raw)
                   if unicodedata.category(c) not in _NOT_SHOWN).strip()[:WRITTEN_MAX]
    if text.lower() in _UNKNOWN:
        return None
    return (re.sub(r"[^0-9]", "", text) or text.casefold())[:KEY_MAX], text


def _given_back(conn: sa.Connection) -> None:
    after = -1
    while True:
        rows = conn.execute(
            sa.select(_calls.c.recording_id, _calls.c.caller, _calls.c.callee,
                      _recordings.c.meta)
            .join(_recordings, _recordings.c.id == _calls.c.recording_id)
            .where(_calls.c.recording_id > after,
                   sa.or_(_calls.c.caller == "", _calls.c.callee == ""))
            .order_by(_calls.c.recording_id).limit(BATCH)).all()
        if not rows:
            return
        for rid, caller, callee, meta in rows:
            values: dict[str, str] = {}
            for side, key in (("caller", caller), ("callee", callee)):
                kept = _kept((meta or {}).get(f"{side}_raw")) if key == "" else None
                if kept is not None:
                    values[side], values[f"{side}_written"] = kept
            if values:
                conn.execute(sa.update(_calls).where(_calls.c.recording_id == rid)
                             .values(**values))
        after = rows[-1][0]


def upgrade() -> None:
    for side in ("caller", "callee"):
        op.add_column("calls", sa.Column(f"{side}_written", sa.String(length=WRITTEN_MAX),
                                         nullable=False, server_default=""))
    _given_back(op.get_bind())


def downgrade() -> None:
    for side in ("caller", "callee"):
        if op.get_bind().dialect.name == "sqlite":
            # SQLite 3.35+ drops a column in place (as 0019, 0024): no rebuild
            op.execute(f"ALTER TABLE calls DROP COLUMN {side}_written")
        else:
            op.drop_column("calls", f"{side}_written")
