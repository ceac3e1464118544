"""Helpers shared by the camera tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import date
from itertools import pairwise
from pathlib import Path

import imageio_ffmpeg
from sqlalchemy import select

from kustosz.cameras.register import CameraSpec, add_camera
from kustosz.db.cameras import Camera
from kustosz.db.models import Recording
from kustosz.vault import Vault

LONG_AGO = date(2026, 1, 1)


def register_camera(vault: Vault, name: str, url: str, segment: float = 2.0,
                    zone: str = "hol parter", **kw: object) -> Camera:
    kw.setdefault("notice_date", LONG_AGO)
    kw.setdefault("signage_date", LONG_AGO)
    spec = CameraSpec(name, "Ratusz", zone, url, "property", segment_seconds=segment,
                      **kw)  # type: ignore[arg-type]
    with vault.transaction() as s:
        return add_camera(s, vault.policy, spec, "test")


def stored(vault: Vault, source_id: int | None = None) -> list[Recording]:
    with vault.reading() as s:
        q = select(Recording).where(Recording.state == "stored").order_by(Recording.start_at)
        if source_id is not None:
            q = q.where(Recording.source_id == source_id)
        return list(s.execute(q).scalars())


# Liveness waits, not performance bounds: a loaded 2-core CI machine (or a parallel build) can
# stretch ffmpeg start-up several-fold, so every wait gets the same generous margin.
WAIT_SCALE = 3.0


def wait_for(check: Callable[[], object], timeout: float, what: str,
             shown: Callable[[], object] | None = None) -> object:
    """``shown``: what the failure message shows of the state it ended in."""
    timeout *= WAIT_SCALE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    state = f"; it ended as {shown()!r}" if shown is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{state}")


def index_matches_files(vault: Vault) -> None:
    """Invariant 5: every stored row has its file with its hash, and no file lacks a row."""
    with vault.reading() as s:
        rows = list(s.execute(select(Recording)).scalars())
    assert [r.id for r in rows if r.state != "stored"] == []
    assert {r.storage_key for r in rows} == set(vault.storage.keys())
    for r in rows:
        assert vault.storage.hash_of(r.storage_key) == r.sha256, r.storage_key
        assert vault.storage.path(r.storage_key).stat().st_size == r.size


def largest_gap(recs: list[Recording]) -> float:
    return max(((b.start_at - a.end_at).total_seconds() for a, b in pairwise(recs)),
               default=0.0)


def make_ts(path: Path, seconds: float) -> Path:
    """A small real camera segment: H.264 in MPEG-TS, 160×90 at 10 fps, a key frame a second."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=10", "-t", str(seconds), "-c:v", "libx264",
                    "-g", "10", "-pix_fmt", "yuv420p", "-f", "mpegts", str(path)], check=True)
    return path
