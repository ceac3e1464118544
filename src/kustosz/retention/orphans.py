"""Orphans: undone intakes whose object the app's credentials could not delete, removed by the
sweep with its own (`Vault.deleting_storage`). The intake (kustosz.ingest.files) marks them;
the sweep's recovery (kustosz.retention.sweep) removes them."""

from __future__ import annotations

from sqlalchemy import delete, select

from kustosz.db.dependents import drop_dependents
from kustosz.db.models import Recording
from kustosz.states import RecordingState
from kustosz.storage.base import Refused, legal_hold
from kustosz.vault import Vault

# An intake undone whose object the app's credentials may not delete (an object store's lock,
# or a store that stopped answering): its row stays `pending` with this flag until the sweep,
# with the sweep's credentials, removes both (`remove_orphans`). The row keeps the key known:
# an object that no row names would never be found again.
ORPHAN = "orphan"


def remove_orphans(vault: Vault) -> int:
    """The sweep's part (its credentials, `Vault.deleting_storage`): remove the objects of
    undone intakes that the app could not delete, and their rows. A legal hold on such an
    object (a hold covered its times when it was written) is cleared first: nothing of it is
    material, it was never stored."""
    with vault.reading() as s:
        orphans = [(rec.id, rec.storage_key) for rec in s.execute(select(Recording).where(
            Recording.state == RecordingState.PENDING)).scalars()
            if (rec.meta or {}).get(ORPHAN)]
    if not orphans:
        return 0
    store = vault.deleting_storage()
    removed = []
    for rid, key in orphans:
        try:
            store.delete(key)
        except Refused:
            legal_hold(store, key, False)
            try:
                store.delete(key)
            except Refused:  # its retain-until is ahead (no bypass, issue 28): a later sweep
                continue
        removed.append(rid)
    with vault.transaction() as s:
        drop_dependents(s, removed)
        s.execute(delete(Recording).where(Recording.id.in_(removed)))
    return len(removed)
