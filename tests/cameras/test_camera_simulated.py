"""The demo's simulated camera goes through the same recorder: segments appear, without sound."""

from __future__ import annotations

import av
from camera_helpers import index_matches_files, stored, wait_for

from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault


def test_simulated_camera_records_video_only(sqlite_vault: Vault) -> None:
    pool = start_simulated_camera(sqlite_vault, segment_seconds=1.0)
    assert pool is not None
    try:
        wait_for(lambda: len(stored(sqlite_vault)) >= 2, 30, "two segments")
    finally:
        pool.stop_all()
    for rec in stored(sqlite_vault):
        with av.open(str(sqlite_vault.storage.path(rec.storage_key))) as c:
            assert [s.type for s in c.streams] == ["video"]
    index_matches_files(sqlite_vault)
    # registering again is a no-op
    assert start_simulated_camera(sqlite_vault, start=False) is None
