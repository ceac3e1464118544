"""A batch intake in which one copy fails with an error of the store (not of the file) still
syncs the copies that did finish before their rows say `stored` (review s24, S4): the caller
marks them stored and then raises the failure, so without the sync a power cut could leave a
row saying stored over a file that never reached the disk.

The failing copy is a stand-in: `put_retained` refuses the second item the way the local
storage refuses a key that already holds a file (InputError), which a real intake cannot be
made to hit (every key carries a random part)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from sqlalchemy import select
from tests.custody.custody_helpers import setup_camera

from kustosz.db.models import Recording
from kustosz.errors import InputError
from kustosz.ingest import copies
from kustosz.ingest.files import Item, ingest_batch
from kustosz.states import RecordingState
from kustosz.vault import Vault


def test_finished_copies_are_synced_before_they_are_marked_stored(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    items = []
    for i in range(3):
        path = tmp_path / f"seg-{i}.ts"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                        "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:d=1",
                        "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", str(path)],
                        check=True, capture_output=True)
        t = start + timedelta(seconds=i)
        items.append(Item(path, t, t + timedelta(seconds=1)))
    real_put, real_sync = copies.put_retained, vault.storage.sync
    events: list[str] = []

    def put(storage: Any, key: str, path: Path, **kw: Any) -> Any:
        if path.name == "seg-1.ts":
            raise InputError(f"storage key {key!r} already holds a file")
        done = real_put(storage, key, path, **kw)
        events.append(f"copied {path.name}")
        return done

    def sync() -> None:
        events.append("sync")
        real_sync()

    monkeypatch.setattr(copies, "put_retained", put)
    monkeypatch.setattr(vault.storage, "sync", sync)
    with pytest.raises(InputError):
        ingest_batch(vault, "cam-hol", items, copy_workers=1)
    with vault.reading() as s:
        stored = list(s.execute(select(Recording).where(
            Recording.state == RecordingState.STORED)).scalars())
    # What finished before the failure (the first file; the copies stop there) is stored, the
    # failure is raised after, and the finished copy was synced before its row said stored.
    assert [r.start_at for r in stored] == [items[0].start]
    assert events == ["copied seg-0.ts", "sync"]
