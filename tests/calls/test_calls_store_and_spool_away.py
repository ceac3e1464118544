"""A call file the vault could not keep anywhere is left where the PBX wrote it (issue 27, a
reliability finding of issue 32's type work): on an object store that is away, an intake keeps
its file in the local spool (spool/uploads); when that fails too, `ingest_batch` undoes the
row and answers with the store's error. The phone intake counted such an answer as stored and,
with `remove_after_intake`, deleted the PBX's only copy. Real parts: SeaweedFS stopped, and a
spool that cannot take a file because a plain file stands where its folder should be (a real
filesystem error, which root cannot override as it can permissions)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from calls_pbx import Pbx, add_line, day_of_calls, stored_calls
from tests.storage.test_spool_buffer import s3_vault, start_store, stop_store
from tests.support import seaweedfs

from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

pytestmark = [pytest.mark.pg, pytest.mark.slow]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweedfs.SeaweedFS]:
    server = seaweedfs.start(tmp_path_factory.mktemp("weed-calls"))
    try:
        yield server
    finally:
        server.stop()


def _no_sleep(_: float) -> None:
    pass


def test_a_call_kept_nowhere_stays_on_the_pbx(tmp_path: Path, store: seaweedfs.SeaweedFS,
                                              backend_url: str) -> None:
    start_store(store)
    bucket = store.make_bucket(f"calls-away-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket, url=backend_url, preset="walbrzych")
    pbx = Pbx(tmp_path / "pbx")
    calls = day_of_calls(pbx)
    originals = {k: (pbx.spool / c.relpath).read_bytes() for k, c in calls.items()}
    vault = Vault.open(root, actor="test")
    try:
        add_line(vault, pbx, remove_after_intake=True)
        stop_store(store)
        uploads = root / "spool" / "uploads"
        if uploads.is_dir():
            for p in sorted(uploads.rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            uploads.rmdir()
        uploads.parent.mkdir(parents=True, exist_ok=True)
        uploads.write_text("not a folder")  # the spool cannot keep anything
        scan(vault, "centrala", sleep=_no_sleep)
        assert stored_calls(vault) == {}
        for key, c in calls.items():  # nothing kept: every file is still the PBX's
            assert (pbx.spool / c.relpath).read_bytes() == originals[key], key
        # Both back: the next pass takes the calls in scope and removes only those.
        uploads.unlink()
        start_store(store)
        scan(vault, "centrala", sleep=_no_sleep)
        kept = stored_calls(vault)
        assert kept
        for key, c in calls.items():
            if c.uniqueid in kept:
                assert not (pbx.spool / c.relpath).exists(), key
            else:
                assert (pbx.spool / c.relpath).read_bytes() == originals[key], key
    finally:
        start_store(store)
        vault.close()
