"""One ffmpeg session's segments never overlap in the index (a camera is one time line): the
anchor (stream time 0 on the wall clock) is the smallest mtime − end seen, so a segment whose
close was delayed — a loaded machine — stamps a later anchor, and the next, closed on time,
would start before the previous ended. Seen as a 72 ms overlap within one session on a loaded
CI machine (tests/cluster/test_three_nodes.py)."""

from __future__ import annotations

import os
from itertools import pairwise

import pytest
from sqlalchemy import select
from tests.clock_helpers import Camera, ShiftedClock, camera_source

from kustosz.db.models import Recording
from kustosz.vault import Vault


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ShiftedClock:
    c = ShiftedClock()
    c.install(monkeypatch)
    return c


def _rows(vault: Vault) -> list[Recording]:
    with vault.reading() as s:
        return list(s.execute(select(Recording).order_by(Recording.start_at)).scalars())


@pytest.mark.parametrize("late_s", [0.072, 0.5, 1.9])
def test_a_late_close_does_not_make_the_next_segment_overlap(vault: Vault,
                                                             clock: ShiftedClock,
                                                             late_s: float) -> None:
    feed = Camera(vault, camera_source(vault), clock, f"20261123T030000-late{late_s}")
    first, _ = feed.record(2)
    path = feed.session.folder / first.name
    t = path.stat().st_mtime + late_s  # its close reached the disk late
    os.utime(path, (t, t))
    feed.take()
    for _ in range(3):
        feed.record(2)  # closed on time: a smaller mtime − end, an earlier anchor
        feed.take()
    rows = _rows(vault)
    assert len(rows) == 4
    for a, b in pairwise(rows):
        assert b.start_at >= a.end_at, (a.start_at, a.end_at, b.start_at, b.end_at)
        assert (b.start_at - a.end_at).total_seconds() <= late_s + 1e-3  # no gap invented
