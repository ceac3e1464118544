"""Issue 14's test of item 3 with the real parts: `run_serve` (as `kustosz serve` runs it,
without the web app) records the test's RTSP server (GStreamer) with the real ffmpeg; the
server is stopped, so the recorder opens a gap and raises its camera_down alert; serve's
notifier sends the e-mail to an SMTP relay on loopback (aiosmtpd) once the grace has passed,
and the all-clear when the server is back — and only those two."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from kustosz.alerts import notifier as notifier_mod
from kustosz.db.cameras import Gap
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, camera_under_serve, write_alerts
from tests.cameras.camera_helpers import stored, wait_for
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, down_alert_after_s=1.5)
GRACE_S = 5


def test_camera_down_mail_after_grace_and_all_clear_only(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifier_mod, "POLL_S", 0.2)
    root = sqlite_vault.root
    with SmtpSink() as smtp, RtspServer(audio=False) as srv:
        write_alerts(root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                           'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n'
                           f'[alerts.kinds.camera_down]\ngrace = "{GRACE_S} seconds"\n'
                           'repeat = "1 hour"\n')
        sqlite_vault.close()
        with camera_under_serve(root, srv.url(), FAST) as (v, cam):
            wait_for(lambda: len(stored(v, cam.source_id)) >= 2, 30, "two segments")
            srv.stop()
            wait_for(lambda: v.alerts_open(), 20, "the camera-down alert")
            wait_for(lambda: smtp.mails, 20, "the camera-down mail")
            before = len(stored(v, cam.source_id))
            srv.restart()
            wait_for(lambda: len(stored(v, cam.source_id)) > before, 30, "recording to resume")
            wait_for(lambda: len(smtp.mails) >= 2, 10, "the all-clear mail")
            time.sleep(1.0)  # five more passes of the notifier: nothing more is sent
    with v.reading() as s:
        gap = s.execute(select(Gap).where(Gap.source_id == cam.source_id)
                        .order_by(Gap.start_at.desc())).scalars().first()
    v.close()
    assert gap is not None and gap.end_at is not None
    since = gap.start_at.astimezone(v.policy.timezone).strftime("%d.%m.%Y %H:%M")
    subjects = smtp.subjects()
    assert len(subjects) == 2, subjects
    assert subjects[0] == f"[Kustosz] Kamera „wejscie” nie nagrywa od {since}"
    assert subjects[1].startswith("[Kustosz] Kamera „wejscie” znów nagrywa (przerwa ")
    # not before the grace, counted from when the camera stopped delivering
    assert smtp.received[0] >= gap.start_at + timedelta(seconds=GRACE_S)
    assert smtp.received[1] >= gap.end_at
