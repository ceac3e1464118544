"""A recorder restarting in a loop (issue 14 item 3) with the real parts: `run_serve`
records the test's RTSP server (GStreamer) with the real ffmpeg; the server is stopped and
started again four times, so the recorder loses its stream and comes back four times (four
gaps); serve's alert checks raise recorder_restarting and its notifier mails it once to
aiosmtpd, then the all-clear once the camera has recorded steadily for the window. The
window is shortened (and the checks run every half second) so the test needs no 15 minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kustosz.alerts import checks as checks_mod
from kustosz.alerts import notifier as notifier_mod
from kustosz.db.cameras import Gap
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, camera_under_serve, write_alerts
from tests.cameras.camera_helpers import stored, wait_for
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

pytestmark = [pytest.mark.skipif(not gst_available(), reason=gst_skip_reason()),
              pytest.mark.slow]
# camera_down would come after a minute: these drops are shorter, only the loop is told
FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=1.0, down_alert_after_s=60)
WINDOW_S = 25


def gaps(v: Vault, source_id: int) -> list[Gap]:
    with v.reading() as s:
        return list(s.execute(select(Gap).where(Gap.source_id == source_id)).scalars())


def test_restart_loop_mail_and_all_clear(sqlite_vault: Vault,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifier_mod, "POLL_S", 0.2)
    monkeypatch.setattr(checks_mod, "EVERY_S", 0.5)
    monkeypatch.setattr(checks_mod, "RESTART_WINDOW", timedelta(seconds=WINDOW_S))
    root = sqlite_vault.root
    with SmtpSink() as smtp, RtspServer(audio=False) as srv:
        write_alerts(root, f'[alerts]\ndigest_at = ""\n'
                           f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                           'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n')
        sqlite_vault.close()
        with camera_under_serve(root, srv.url(), FAST) as (v, cam):
            wait_for(lambda: len(stored(v, cam.source_id)) >= 1, 30, "a first segment")
            for n in range(1, checks_mod.RESTARTS + 1):
                srv.stop()
                wait_for(lambda n=n: len(gaps(v, cam.source_id)) >= n, 20, f"gap {n}")
                before = len(stored(v, cam.source_id))
                srv.restart()
                wait_for(lambda b=before: len(stored(v, cam.source_id)) > b, 30,
                         f"recording to resume ({n})")
            wait_for(lambda: smtp.mails, 10, "the restart-loop mail")
            wait_for(lambda: len(smtp.mails) >= 2, WINDOW_S + 20, "the all-clear mail")
    v.close()
    subjects = smtp.subjects()
    assert len(subjects) == 2, subjects
    assert subjects[0].startswith("[Kustosz] Rejestrator kamery „wejscie” uruchamia się "
                                  "ponownie w pętli")
    assert "4 przerwy w nagraniu" in smtp.mails[0].get_content()
    assert subjects[1] == "[Kustosz] Rejestrator kamery „wejscie” znów pracuje stabilnie"
