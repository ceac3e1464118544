"""An intake undone: its objects deleted and its rows removed, or, where the app's credentials
cannot delete an object (Object Lock) or the store cannot say, the row kept as an orphan for
the sweep's recovery (`retention.sweep.recover`)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kustosz.db.dependents import drop_dependents
from kustosz.db.models import Recording
from kustosz.retention.orphans import ORPHAN
from kustosz.storage.base import Refused, Unavailable
from kustosz.vault import Vault


def undo(vault: Vault, ids: list[int], keys: list[str]) -> None:
    kept = {rid for rid, key in zip(ids, keys, strict=True) if not remove_object(vault, key)}
    with vault.transaction() as s:
        gone = [i for i in ids if i not in kept]
        drop_dependents(s, gone)
        s.execute(delete(Recording).where(Recording.id.in_(gone)))
        mark_orphans(s, kept)


def remove_object(vault: Vault, key: str) -> bool:
    """Delete an undone intake's object with the app's credentials; False if it may be left
    in the store (then its row is kept as an orphan)."""
    try:
        vault.storage.delete(key)
    except (Refused, Unavailable):
        return False
    return True


def mark_orphans(session: Session, ids: set[int]) -> None:
    for rec in session.execute(select(Recording).where(Recording.id.in_(ids))).scalars():
        rec.meta = {**(rec.meta or {}), ORPHAN: True}
