"""The disk watch's episode when several writers find the disk full at once (issue 52's CI
runs, where tests/test_full_disk_cameras.py failed now and then on a loaded machine; a run of
five copies side by side found the same races in about one in twenty-five):

- each recorder that found the disk full waited inside the watch for the others' ffmpeg to
  stop, while the others waited there for its own: all waited out the limit, their ffmpeg
  wrote on into the released reserve, and then not even the recorders' status could be
  written. Now the watch stops the writers' processes itself, and releases the reserve only
  once they have ended (kustosz.retention.writers);
- a `space_back` measured before another writer found the disk full ended that episode (its
  alert cleared, the reserve made again on a full disk). Now it asks the disk again, in turn
  with `disk_full`;
- a short disk let recording resume into the bytes the released reserve had held, which are
  the records' own.

The writers are real ffmpeg processes writing a test picture into the vault's folder."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import imageio_ffmpeg
import pytest
from sqlalchemy import select

from kustosz.db.models import Alert
from kustosz.retention import writers as writers_module
from kustosz.retention.pressure import DiskWatch, watch_of
from kustosz.retention.writers import process_writer
from kustosz.storage.reserve import Space
from kustosz.vault import Vault
from tests.alerts_helpers import wait_until
from tests.conftest import make_vault

pytestmark = pytest.mark.disk_margin  # the default margin (5 %): a reserve to release
MIB = 1 << 20


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    made = make_vault(tmp_path / "vault")
    yield made
    made.close()


def _ffmpeg(out: Path) -> subprocess.Popen[bytes]:
    """A recorder's ffmpeg as far as the disk is concerned: it writes until it is stopped
    (returned once it has written, so that it is past its start)."""
    proc = subprocess.Popen(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-re", "-f",
         "lavfi", "-i", "testsrc=size=320x240:rate=10", "-flush_packets", "1", "-f", "mpegts",
         "-y", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: (out.exists() and out.stat().st_size > 0) or proc.poll() is not None,
               30, f"ffmpeg writing {out.name}")
    assert proc.poll() is None
    return proc


def _hung(out: Path) -> subprocess.Popen[bytes]:
    """A writer that does not stop when asked (SIGTERM ignored), as a hung process."""
    proc = subprocess.Popen([sys.executable, "-c", HUNG, str(out)])
    wait_until(lambda: out.exists() or proc.poll() is not None, 30, "the hung writer")
    assert proc.poll() is None
    return proc


HUNG = """import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1], "wb") as f:
    while True:
        f.write(b"x" * 4096); f.flush(); time.sleep(0.05)
"""


def _short(watch: DiskWatch, monkeypatch: pytest.MonkeyPatch, free: int, total: int,
           reserve: int = 0) -> None:
    monkeypatch.setattr(watch.reserve, "space", lambda: Space(free, total, reserve))


def test_recorders_finding_the_disk_full_at_once_stop_every_ffmpeg_before_the_reserve_goes(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    watch = watch_of(vault)
    procs = [_ffmpeg(vault.root / f"cam{i}.ts") for i in range(3)]
    running_at_release: list[list[bool]] = []
    release = watch.reserve.release

    def noted_release() -> int:
        running_at_release.append([p.poll() is None for p in procs])
        return release()

    monkeypatch.setattr(watch.reserve, "release", noted_release)
    go = threading.Barrier(3)
    errors: list[BaseException] = []

    def recorder(proc: subprocess.Popen[bytes]) -> None:
        try:
            watch.writers.add(process_writer(datetime.now(UTC), proc))
            go.wait()
            watch.disk_full("a write failed: no space left")  # each from its own thread
            watch.writers.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=recorder, args=(p,)) for p in procs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert len(running_at_release) == 3  # each released it (once there, then a no-op)
        assert running_at_release == [[False] * 3] * 3, running_at_release
        assert all(p.returncode == 255 for p in procs), [p.returncode for p in procs]  # asked
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_writer_that_ignores_the_stop_is_killed_before_the_reserve_goes(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers_module, "STOP_S", 0.5)  # the test's patience, not a bound
    watch = watch_of(vault)
    proc = _hung(vault.root / "hung.ts")
    try:
        watch.writers.add(process_writer(datetime.now(UTC), proc))
        running: list[bool] = []
        monkeypatch.setattr(watch.reserve, "release",
                            lambda: running.append(proc.poll() is None) or 0)
        watch.disk_full("a write failed: no space left")
        assert running == [False]
        assert proc.returncode == -9  # SIGKILL, after SIGTERM was ignored
    finally:
        watch.writers.remove()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_space_back_measured_before_the_disk_filled_does_not_end_the_episode(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    watch = watch_of(vault)
    _short(watch, monkeypatch, free=0, total=32 * MIB)
    watch.disk_full("a write failed: no space left")
    ensured: list[bool] = []
    monkeypatch.setattr(watch.reserve, "ensure", lambda: ensured.append(True) or True)
    watch.space_back()  # a recorder whose after_write measured before the disk filled
    with vault.reading() as s:
        open_kinds = {a.kind for a in s.execute(select(Alert).where(
            Alert.cleared_at.is_(None))).scalars()}
    assert "disk_full" in open_kinds
    assert watch.full_since is not None and watch.row_written
    assert ensured == []  # no reserve made on a full disk

    _short(watch, monkeypatch, free=4 * MIB, total=32 * MIB)  # room again: now it ends
    watch.space_back()
    with vault.reading() as s:
        still = list(s.execute(select(Alert).where(Alert.cleared_at.is_(None))).scalars())
    assert still == [] and watch.full_since is None and ensured == [True]


@pytest.mark.parametrize(("free_mib", "held_mib", "room"), [
    (150, 0, False),  # the released reserve's 64 MiB are the records': 86 MiB left
    (150, 64, True),  # the reserve in place: 150 MiB free beside it
    (200, 0, True),  # 136 MiB beyond the reserve's bytes
    (6000, 0, True),  # not short at all
])
def test_recording_does_not_resume_into_the_released_reserve(
        vault: Vault, monkeypatch: pytest.MonkeyPatch, free_mib: int, held_mib: int,
        room: bool) -> None:
    """A 100 GiB disk with only held material left: 5 % margin, a 64 MiB reserve, so below
    32 MiB free it counts as full and at 128 MiB free recording resumes — never counting
    the bytes the released reserve gave back."""
    watch = watch_of(vault)
    _short(watch, monkeypatch, free_mib * MIB, 100 * 1024 * MIB, held_mib * MIB)
    assert watch.reserve.size(100 * 1024 * MIB) == 64 * MIB
    assert watch.has_room() is room


def test_a_disk_filled_while_every_recorder_waits_for_room_is_noticed(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded run: the sweep made room, the reserve was made again, and before any
    recorder resumed another program took the rest. Nothing closed a file, so nothing
    looked: the reserve stayed held, no sweep ran, nothing could be written for a minute.
    A waiting recorder's look now does what a closing segment does."""
    watch = watch_of(vault)
    watch.listener = True  # a scheduler runs the sweep when woken
    size = watch.reserve.size(32 * MIB)
    _short(watch, monkeypatch, free=0, total=32 * MIB, reserve=size)
    released: list[bool] = []
    monkeypatch.setattr(watch.reserve, "release", lambda: released.append(True) or size)
    assert watch.look() is False
    assert released == [True] and watch.wake.is_set() and watch.full_since is not None
