"""An object store that stops answering (its process frozen: TCP still accepts, nothing
answers) is told as the store's, never as "the database is away" (issue 48 item 13): a
camera's wait for its segment ends while the group committer is uploading, and the camera's
log names the object store; once the store answers again the segment is stored."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.storage.test_spool_buffer import s3_vault, segment
from tests.support import seaweedfs

from kustosz.db.models import Recording
from kustosz.db.outage import is_database_away
from kustosz.index.sources import add_source
from kustosz.ingest.camera import index_batch
from kustosz.ingest.camera.backlog import Retry
from kustosz.vault import Vault


@pytest.fixture
def store(tmp_path: Path) -> Iterator[seaweedfs.SeaweedFS]:
    server = seaweedfs.start(tmp_path / "weed")
    try:
        yield server
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def test_a_silent_store_is_told_as_the_stores_not_the_databases(
        tmp_path: Path, store: seaweedfs.SeaweedFS, caplog: pytest.LogCaptureFixture) -> None:
    bucket = store.make_bucket(f"silent-{os.urandom(4).hex()}")
    vault = Vault.open(s3_vault(tmp_path / "vault", store, bucket), actor="test")
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hol", "camera", "test").id
        path = segment(vault.root / "spool" / "cameras" / str(cam) / "s1", 0)
        data = path.read_bytes()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        os.kill(store.process.pid, signal.SIGSTOP)  # silent: connections accepted, no answer

        with pytest.raises(index_batch.StoreTimeout) as waited, index_batch.waiting(2.0):
            index_batch.adopt_segment(vault, cam, path, start, start + timedelta(seconds=4),
                                      {"segment": path.name}, None,
                                      (len(data), hashlib.sha256(data).hexdigest()))
        assert "object store" in str(waited.value) and "index" not in str(waited.value)
        assert is_database_away(waited.value)  # waited out as an outage: kept, asked again
        retry = Retry(1.0, 30.0, name="hol")
        with caplog.at_level(logging.WARNING, logger="kustosz.ingest.camera.backlog"):
            retry.failed(waited.value)
        said = " ".join(r.getMessage() for r in caplog.records)
        assert "camera hol: the object store is away" in said and "database" not in said

        os.kill(store.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 240  # the upload under way ends (or its retry does)
        while time.monotonic() < deadline:
            with vault.reading() as s:
                states = list(s.execute(sa.select(Recording.state)).scalars())
            if states == ["stored"]:
                break
            time.sleep(0.5)
        assert states == ["stored"]
        assert not path.exists()
    finally:
        vault.close()
