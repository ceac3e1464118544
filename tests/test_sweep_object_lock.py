"""The sweep on a store that keeps a lock (issue 16 item 1), on SQLite and PostgreSQL, with the
in-memory store (which enforces the lock as S3 does): a hold placed after the sweep chose its
victims puts their objects under legal hold, the store refuses the sweep, and the sweep gives
the material back to `stored` instead of failing or deleting it; an intake undone with the
app's credentials leaves an orphan row the sweep's recovery removes with the object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.custody.holds import place_hold
from kustosz.db.models import Recording, Source
from kustosz.index.sources import add_source
from kustosz.ingest import files
from kustosz.ingest.files import ingest_file
from kustosz.retention import run_sweep
from kustosz.storage.memory import MemoryStorage
from kustosz.vault import Vault

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


class HoldArrives(MemoryStorage):
    """The sweep's view of the store; the first delete finds that a hold was just placed on
    everything (as if by another user between the sweep's marking and its deleting)."""

    vault: Vault | None = None

    def delete(self, key: str) -> bool:
        if self.vault is not None:
            vault, self.vault = self.vault, None
            with vault.transaction() as s:
                place_hold(s, sources=list(s.execute(sa.select(Source)).scalars()),
                           start=T0 - timedelta(days=1), end=T0 + timedelta(days=1),
                           basis="wniosek policji", actor="test")
        return super().delete(key)


def _states(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(sa.select(Recording.state)).scalars())


def test_a_hold_placed_during_the_sweep_keeps_the_material(vault: Vault,
                                                           tmp_path: Path) -> None:
    store = HoldArrives(vault.root / "tmp")
    vault.storage = store
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    segment = tmp_path / "seg.ts"
    segment.write_bytes(b"\x47" * 188)
    rec = ingest_file(vault, "hall", segment, T0)
    store.vault = vault
    report = run_sweep(vault, T0 + timedelta(days=400))
    assert report.deleted == []
    assert _states(vault) == ["stored"] and store.exists(rec.storage_key)
    assert store.lock_of(rec.storage_key).legal_hold


def test_an_undone_intake_the_app_cannot_delete_is_removed_by_the_sweep(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_view = MemoryStorage(vault.root / "tmp")
    vault.storage = sweep_view.as_role(deleting=False)  # the app's credentials
    vault.deleting_storage = lambda: sweep_view  # type: ignore[method-assign]
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    segment = tmp_path / "seg.ts"
    segment.write_bytes(b"\x47" * 188)

    def fail(*_args: object) -> None:
        raise RuntimeError("step 3 failed")

    monkeypatch.setattr(files, "_mark_many", fail)
    with pytest.raises(RuntimeError):
        ingest_file(vault, "hall", segment, T0)
    monkeypatch.undo()
    assert _states(vault) == ["pending"] and len(list(sweep_view.iterate())) == 1
    assert files.recover_pending(vault) == 0  # an orphan is the sweep's, not recovery's
    report = run_sweep(vault, T0)
    assert report.recovered == 1
    assert _states(vault) == [] and list(sweep_view.iterate()) == []
