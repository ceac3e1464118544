"""A large batch of small files is copied into the local store by a process of its own
(issue 68 item 5, `storage/local_copier.py`): byte for byte as the threads copied it, each
failure in its item's place, a killed copier failing its batch and replaced by the next one,
and a copier whose parent died linking nothing more."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import make_vault

from kustosz import side_process
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import Item, ingest_batch
from kustosz.states import RecordingState
from kustosz.storage import LocalStorage, StoredFile
from kustosz.storage import local_copier as copier
from kustosz.storage.base import KeyTaken


def spool(folder: Path, n: int) -> list[Path]:
    """``n`` small files, each with bytes of its own; names with Polish letters and emoji."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"Józef Żółć 📞 {i:04d}.wav"
        path.write_bytes(os.urandom(3000 + i))
        out.append(path)
    return out


def test_a_large_batch_is_copied_by_the_copier_byte_for_byte(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES + 44)
    pairs = [(f"centrala/2026/11/30/{i:04d}-ą.wav", path) for i, path in enumerate(files)]
    store.put_file(files[7], pairs[7][0])  # a key already taken
    files[9].unlink()  # a file gone between the look and the copy
    batch = copier.batch_copy(store, pairs, [None] * len(pairs))
    assert batch is not None
    results, failure = batch.results()
    assert failure is results[7]
    assert copier.worker_pids() and os.getpid() not in copier.worker_pids()
    assert isinstance(results[7], KeyTaken)
    assert isinstance(results[9], FileNotFoundError)
    for i, (key, path) in enumerate(pairs):
        if i in (7, 9):
            continue
        got = results[i]
        data = path.read_bytes()
        assert isinstance(got, StoredFile)
        assert (got.key, got.size, got.sha256) == (key, len(data), hashlib.sha256(data).hexdigest())
        assert store.path(key).read_bytes() == data


def test_a_short_batch_stays_with_the_threads(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES - 1)
    assert copier.batch_copy(store, [(f"k/{i}", p) for i, p in enumerate(files)],
                             [None] * len(files)) is None


def test_a_past_retention_date_is_refused_before_any_copy(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES)
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Exception, match="not in the future"):
        copier.batch_copy(store, [(f"k/{i}", p) for i, p in enumerate(files)],
                          [None] * (len(files) - 1) + [past])
    assert list(store.keys()) == []


def test_a_killed_copier_fails_its_batch_and_the_next_batch_gets_a_new_one(
        tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES)
    first = copier.batch_copy(store, [(f"a/{i}", p) for i, p in enumerate(files)],
                              [None] * len(files))
    assert first is not None
    assert first.results()[1] is None
    [pid] = copier.worker_pids()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(side_process.SideGone):
        batch = copier.batch_copy(store, [(f"b/{i}", p) for i, p in enumerate(files)],
                                  [None] * len(files))
        assert batch is not None
        batch.results()
    again = copier.batch_copy(store, [(f"c/{i}", p) for i, p in enumerate(files)],
                              [None] * len(files))
    assert again is not None
    assert all(isinstance(r, StoredFile) for r in again.results()[0])
    assert copier.worker_pids() and copier.worker_pids() != [pid]


def test_a_copier_whose_parent_died_links_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", 3)
    pairs = [(f"k/{i}", str(p)) for i, p in enumerate(files)]
    # The parent is gone before the first file: nothing is copied.
    with pytest.raises(copier.Orphaned):
        copier.copy_chunk(str(store.root), os.getppid() + 100_000, pairs, sync=False)
    assert list(store.keys()) == []
    # The parent dies while the second file is written: its link is taken back.
    parent = os.getppid()
    answers = iter([parent, parent, parent, 1])  # before and after each file's link
    monkeypatch.setattr(copier.os, "getppid", lambda: next(answers))
    with pytest.raises(copier.Orphaned):
        copier.copy_chunk(str(store.root), parent, pairs, sync=True)
    assert list(store.keys()) == ["k/0"]


def test_an_intake_of_many_small_files_goes_through_the_copier(tmp_path: Path,
                                                              backend_url: str) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    with vault.transaction() as s:
        add_source(s, vault.policy, "centrala", "phone", "test")
    files = spool(tmp_path / "spool", copier.FROM_FILES + 1)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    before = time.monotonic()
    results = ingest_batch(vault, "centrala", [
        Item(p, start + timedelta(seconds=i), start + timedelta(seconds=i + 1))
        for i, p in enumerate(files)])
    assert copier.worker_pids(), f"no copier after {time.monotonic() - before:.1f} s"
    with vault.reading() as s:
        rows = {r.storage_key: r for r in s.execute(select(Recording)).scalars()}
    assert len(rows) == len(files)
    for path, result in zip(files, results, strict=True):
        assert not isinstance(result, BaseException), result
        row = rows[result.key]
        data = path.read_bytes()
        assert row.state == RecordingState.STORED
        assert row.sha256 == hashlib.sha256(data).hexdigest() == result.sha256
        with vault.storage.open(result.key) as f:
            assert f.read() == data
    vault.close()


def test_no_copier_to_be_had_leaves_the_batch_to_the_threads(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES)

    def no_process(*args: object, **kwargs: object) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(side_process, "_children", {})
    monkeypatch.setattr(side_process.subprocess, "Popen", no_process)
    assert copier.batch_copy(store, [(f"k/{i}", p) for i, p in enumerate(files)],
                             [None] * len(files)) is None
    assert copier.worker_pids() == []


def test_ctrl_c_at_the_terminal_leaves_the_copier_to_finish_its_batch(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "data")
    store.prepare()
    files = spool(tmp_path / "spool", copier.FROM_FILES * 4)
    warm = copier.batch_copy(store, [(f"w/{i}", p) for i, p in enumerate(files)],
                             [None] * len(files))
    assert warm is not None and warm.results()[1] is None  # the child is past its start
    batch = copier.batch_copy(store, [(f"k/{i}", p) for i, p in enumerate(files)],
                              [None] * len(files))
    assert batch is not None
    [pid] = copier.worker_pids()
    os.kill(pid, signal.SIGINT)
    results, failure = batch.results()
    assert failure is None and all(isinstance(r, StoredFile) for r in results)
    assert copier.worker_pids() == [pid]
