"""The export's two SHA-256 passes can run below ffmpeg's priority (copies.HASH_NICE), in
threads of their own: the thread that asks for the copy (a server's job thread) and the
ffmpeg it starts keep their priority; and a segment changed by one bit is still refused."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from custody_helpers import segment_bytes

from kustosz.custody import copy_remux as copies
from kustosz.storage.base import Tampered


def _segments(tmp: Path) -> tuple[list[Path], list[SimpleNamespace]]:
    paths = []
    for i in range(3):
        paths.append(tmp / f"s{i}.ts")
        paths[-1].write_bytes(segment_bytes())
    recs = [SimpleNamespace(storage_key=f"cam-hol/{p.name}",
                            sha256=hashlib.sha256(segment_bytes()).hexdigest()) for p in paths]
    return paths, recs


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_hashing_runs_lowered_and_the_caller_and_ffmpeg_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copies, "HASH_NICE", 5)
    paths, recs = _segments(tmp_path)
    caller = _nice(threading.get_native_id())
    seen: dict[str, int] = {}
    real_sha, real_grow, real_popen = (copies.segment_sha256, copies._hash_growing,
                                       subprocess.Popen)

    def sha(path: Path, view: memoryview) -> str:
        seen["check"] = _nice(threading.get_native_id())
        return real_sha(path, view)

    def grow(out: Path, proc: Any) -> str:
        seen["mp4"] = _nice(threading.get_native_id())
        return real_grow(out, proc)

    def popen(*a: Any, **kw: Any) -> Any:
        proc = real_popen(*a, **kw)
        seen["ffmpeg"] = _nice(proc.pid)
        return proc

    monkeypatch.setattr(copies, "segment_sha256", sha)
    monkeypatch.setattr(copies, "_hash_growing", grow)
    monkeypatch.setattr(copies.subprocess, "Popen", popen)
    out = tmp_path / "kopia.mp4"
    digest = copies._remux_checked(paths, recs, out)  # type: ignore[arg-type]
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    want = min(caller + 5, 19)
    assert seen == {"check": want, "mp4": want, "ffmpeg": caller}
    assert _nice(threading.get_native_id()) == caller


def test_a_segment_changed_in_place_is_refused_and_leaves_no_mp4(tmp_path: Path) -> None:
    paths, recs = _segments(tmp_path)
    data = bytearray(paths[2].read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of the picture: ffmpeg remuxes it without a word
    paths[2].write_bytes(bytes(data))
    out = tmp_path / "kopia.mp4"
    with pytest.raises(Tampered) as exc:
        copies._remux_checked(paths, recs, out)  # type: ignore[arg-type]
    assert exc.value.key == "cam-hol/s2.ts"
    assert not out.exists()
