"""Issue 68 item 1: a camera segment's digest is taken while ffmpeg writes it — each byte read
once, as it is appended — and the segment enters storage by rename with that digest: nothing
reads the file again to take it in (no second hash pass, no copy). The stored file is
read-only, and its row holds the digest of what was written."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from camera_helpers import make_ts, register_camera

from kustosz.db.models import Recording
from kustosz.ingest.camera import index_batch, segments
from kustosz.ingest.camera.segments import ListedSegment
from kustosz.ingest.camera.spool import Session, new_session
from kustosz.storage import local
from kustosz.storage.proof import WRITE_BITS
from kustosz.vault import Vault


def test_each_byte_of_a_segment_is_read_once_while_it_is_written(
        site_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_ts(tmp_path / "s.ts", 2.0).read_bytes()
    sid = register_camera(site_vault, "cam-hol", "rtsp://127.0.0.1:9/a").source_id
    index_batch.index_of(site_vault).window_s = 0.2
    _n, folder = new_session(site_vault.root / "spool" / "cameras", sid)
    session = Session(site_vault, sid, folder.name, folder)
    read = {"bytes": 0}
    real_open = open

    class Counted:
        def __init__(self, f: Any) -> None:
            self.f = f

        def __enter__(self) -> Counted:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.f.close()

        def readinto(self, buf: Any) -> int:
            n = self.f.readinto(buf)
            read["bytes"] += n or 0
            return n  # type: ignore[no-any-return]

        def __getattr__(self, name: str) -> Any:
            return getattr(self.f, name)

    monkeypatch.setattr(segments, "open", lambda *a, **kw: Counted(real_open(*a, **kw)),
                        raising=False)

    def never(*_a: Any, **_kw: Any) -> Any:
        raise AssertionError("a taken-in segment was read again")

    monkeypatch.setattr(local, "_hash", never)
    monkeypatch.setattr(local, "_hash_and_size", never)
    path = folder / "seg00000000.ts"
    with path.open("wb") as out:  # ffmpeg writing, the recorder waking between writes
        for at in range(0, len(data), 4096):
            out.write(data[at:at + 4096])
            out.flush()
            session.hash_ahead()
    assert read["bytes"] == len(data)  # all of it read while it grew
    assert session.take(ListedSegment("seg00000000.ts", 0.0, 2.0)) is not None
    assert read["bytes"] == len(data)  # and not once more to take it in
    with site_vault.reading() as s:
        [rec] = s.query(Recording).filter(Recording.source_id == sid).all()
    stored = site_vault.storage.path(rec.storage_key)
    assert rec.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert rec.size == len(data) == stored.stat().st_size
    assert not stat.S_IMODE(os.stat(stored).st_mode) & WRITE_BITS
