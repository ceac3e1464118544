"""Crash safety of the segment intake without a camera: a rename into storage interrupted
before its last step is finished on restart; an unfinished segment is indexed for what it
really holds (PyAV) or discarded, never as whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from camera_helpers import index_matches_files, make_ts, stored
from sqlalchemy import select

from kustosz.db.models import Recording
from kustosz.ingest.camera.spool import Session, settle_leftovers, spool_root
from kustosz.ingest.files import adopt_file, recover_pending
from kustosz.vault import Vault


def test_interrupted_rename_is_finished_by_recovery(site_vault: Vault, cam: int,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seg = make_ts(site_vault.root / "seg.ts", 1)
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    def crash(*_a: object) -> None:
        raise KeyboardInterrupt("killed between rename and commit")

    monkeypatch.setattr("kustosz.ingest.files._mark_stored", crash)
    with pytest.raises(KeyboardInterrupt):
        adopt_file(site_vault, cam, seg, t0, t0 + timedelta(seconds=1))
    monkeypatch.undo()
    assert not seg.exists()
    assert recover_pending(site_vault) == 1
    (rec,) = stored(site_vault)
    assert rec.end_at - rec.start_at == timedelta(seconds=1)
    index_matches_files(site_vault)


def test_rename_that_never_happened_is_undone_and_taken_again(site_vault: Vault,
                                                               cam: int) -> None:
    root = spool_root(site_vault)
    folder = root / str(cam) / "20261120T100000-aaaa"
    folder.mkdir(parents=True)
    make_ts(folder / "seg00000000.ts", 2)
    (folder / "segments.csv").write_text("seg00000000.ts,0.000000,2.000000\n")
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with site_vault.transaction() as s:  # step (1) done, crash before the rename
        s.add(Recording(source_id=cam, kind="camera", start_at=t0, end_at=t0, size=1,
                        sha256="0" * 64, storage_key="hol/x.ts", meta={"adopted": True},
                        state="pending", ingested_at=t0))
    assert recover_pending(site_vault) == 1
    assert settle_leftovers(site_vault, root, cam) == 1
    (rec,) = stored(site_vault)
    assert (rec.end_at - rec.start_at).total_seconds() == pytest.approx(2.0)
    assert not folder.exists()
    index_matches_files(site_vault)


def test_unfinished_segment_is_indexed_as_what_it_holds(site_vault: Vault, cam: int) -> None:
    root = spool_root(site_vault)
    folder = root / str(cam) / "20261120T100000-bbbb"
    folder.mkdir(parents=True)
    make_ts(folder / "seg00000000.ts", 2)
    whole = make_ts(folder.parent / "whole.ts", 2)
    data = whole.read_bytes()
    (folder / "seg00000001.ts").write_bytes(data[: len(data) // 2])  # killed mid-write
    (folder / "seg00000002.ts").write_bytes(b"\x47" + b"\x00" * 100)  # nothing readable
    whole.unlink()
    (folder / "segments.csv").write_text("seg00000000.ts,0.000000,2.000000\n")
    Session(site_vault, cam, folder.name, folder).settle()
    recs = stored(site_vault)
    assert [r.meta.get("partial", False) for r in recs] == [False, True]
    first, partial = recs
    assert partial.start_at == first.end_at
    assert 0.3 < (partial.end_at - partial.start_at).total_seconds() < 1.9
    assert not folder.exists()  # the unreadable one was discarded
    with site_vault.reading() as s:
        assert s.execute(select(Recording).where(Recording.state != "stored")).first() is None
    index_matches_files(site_vault)
