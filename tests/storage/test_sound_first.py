"""A camera file's own work beside the intake's step (1) (issue 68 item 4, ingest/sound_first.py):
its sound check runs while the `pending` rows are written, nothing is uploaded before the check
ends, a refused file leaves no row; what the check found reaches the row even when the store is
away and the file waits in the local spool; on a store without conditional writes the key is
looked at while the check runs, and a taken key is still refused."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest
import sqlalchemy as sa
from tests.conftest import make_vault, snapshot
from tests.storage.conftest import S3Server
from tests.storage.test_spool_buffer import s3_vault, store_away

from kustosz.db.models import Recording
from kustosz.errors import InputError
from kustosz.index.sources import add_source
from kustosz.ingest import sound_first
from kustosz.ingest.files import SOUND_CHECKED, ingest_file
from kustosz.ingest.upload_queue import QUEUED, queue_of
from kustosz.storage.base import KeyTaken
from kustosz.vault import Vault

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def clip(path: Path, sound: bool) -> Path:
    """A real MPEG-TS clip, with a tone beside its picture or without."""
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=1", "-map", "0:v",
            "-map", "1:a", "-c:a", "aac"] if sound else []
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:d=1", *tone,
                    "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", str(path)],
                   check=True, capture_output=True)
    return path


def kinds(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


def wait_for(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def pending(vault: Vault) -> int:
    with vault.reading() as s:
        return len(s.execute(sa.select(Recording.id)).all())


def test_the_check_runs_while_step_one_writes_and_before_any_upload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = make_vault(tmp_path / "vault")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hol", "camera", "test")
        checking, checked = threading.Event(), threading.Event()
        real_check = sound_first.video_only

        def check(path: Path, scratch: Path) -> Path | None:
            checking.set()
            wait_for(lambda: pending(vault) == 1)  # step (1)'s row, written meanwhile
            try:
                return real_check(path, scratch)
            finally:
                checked.set()

        def put(storage: Any, key: str, source: Path, **kw: Any) -> Any:
            assert checked.is_set(), "uploaded before its check ended"
            return storage.put(key, source, **kw)

        monkeypatch.setattr(sound_first, "video_only", check)
        monkeypatch.setattr("kustosz.ingest.copies.put_retained",
                            lambda st, key, src, *, retain_until, legal_hold=False, **kw:
                            put(st, key, src, **kw))
        rec = ingest_file(vault, "hol", clip(tmp_path / "a.ts", sound=True), T0)
        assert checking.is_set() and rec.state == "stored"
        assert rec.meta["audio_removed"] is True and rec.meta[SOUND_CHECKED] == rec.sha256
        assert kinds(vault.storage.path(rec.storage_key)) == ["video"]
        assert list(vault.storage.tmp.glob("*")) == []
    finally:
        vault.close()


def test_a_file_refused_by_its_check_leaves_no_row_though_step_one_ran(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = make_vault(tmp_path / "vault")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hol", "camera", "test")
        before = snapshot(vault)
        real_check = sound_first.video_only

        def check(path: Path, scratch: Path) -> Path | None:
            wait_for(lambda: pending(vault) == 1)  # refused after its row was written
            return real_check(path, scratch)

        monkeypatch.setattr(sound_first, "video_only", check)
        tone = tmp_path / "ton.wav"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                        "-f", "lavfi", "-i", "sine=frequency=440:d=1", str(tone)], check=True)
        with pytest.raises(InputError, match="sound and no picture"):
            ingest_file(vault, "hol", tone, T0)
        assert pending(vault) == 0
        assert snapshot(vault) == before
    finally:
        vault.close()


def test_what_the_check_found_reaches_a_row_waiting_in_the_spool(
        tmp_path: Path, seaweed: S3Server) -> None:
    root = s3_vault(tmp_path / "vault", seaweed, seaweed.make_bucket())  # type: ignore[arg-type]
    store_away(root, seaweed.endpoint)
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hol", "camera", "test")
        rec = ingest_file(vault, "hol", clip(tmp_path / "a.ts", sound=True), T0)
        assert rec.state == "pending" and rec.meta[QUEUED]
        assert rec.meta["audio_removed"] is True and rec.meta[SOUND_CHECKED] == rec.sha256
        kept = queue_of(vault).path_for(rec.id, rec.storage_key)
        assert kinds(kept) == ["video"]  # the copy without sound waits, not the original
    finally:
        vault.close()


def test_a_key_looked_at_ahead_is_not_looked_at_again_and_a_taken_one_is_refused(
        tmp_path: Path, seaweed: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    store = seaweed.storage(seaweed.make_bucket(), tmp_path / "scratch", False)
    store.conditional = False  # as Ceph RGW 16: the PUT cannot refuse a taken key itself
    body = tmp_path / "body"
    body.write_bytes(os.urandom(1000))
    store.put("taken", body)
    store.look_ahead(["taken", "free"])
    looked: list[str] = []
    real = type(store).exists
    monkeypatch.setattr(type(store), "exists",
                        lambda self, key: looked.append(key) or real(self, key))
    store.put("free", body)
    assert looked == []  # found free ahead: no second HEAD
    with pytest.raises(KeyTaken):
        store.put("taken", body)
    assert looked == ["taken"]  # not found free: the PUT's own look, which refuses it
