"""Issue 48 item 9: a camera that goes silent — the connection kept, no reset, nothing sent —
is told once it has been silent for the grace, counted from the end of its last stored
segment as docs/operations/alerts.md says, not from ffmpeg's give-up after its I/O timeout
(5 s later): a silence a few seconds longer than the grace was never reported.

The real parts: `run_serve` records the GStreamer RTSP server with ffmpeg; the server process
is stopped with SIGSTOP (its sockets stay open and say nothing, as a hung camera's do) and
continued after the silence."""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime

import pytest
from sqlalchemy import select
from tests.alerts_helpers import camera_under_serve
from tests.cameras.camera_helpers import stored, wait_for
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.db.models import AuditEntry
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
GRACE_S = 10.0
OPTIONS = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=1.0, down_alert_after_s=GRACE_S)


def test_a_silent_camera_is_told_counting_from_its_last_segment(sqlite_vault: Vault) -> None:
    root = sqlite_vault.root
    sqlite_vault.close()
    with RtspServer(audio=False) as srv, camera_under_serve(root, srv.url(), OPTIONS) as (v, cam):
        wait_for(lambda: len(stored(v, cam.source_id)) >= 2, 30, "two segments")
        assert srv.proc is not None
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: _down_entries(v), GRACE_S + 30, "the camera-down alert")
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        last_end = max(r.end_at for r in stored(v, cam.source_id))
        [since] = [json.loads(e.details)["since"] for e in _down_entries(v)]
        # the grace counted from what was recorded, not from the give-up 5 s later
        assert abs((_parse(since) - last_end).total_seconds()) < 1.5, (since, last_end)
    v.close()


def _down_entries(v: Vault) -> list[AuditEntry]:
    with v.reading() as s:
        return list(s.execute(select(AuditEntry).where(
            AuditEntry.action == "alert.camera_down")).scalars())


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
