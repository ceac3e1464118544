"""A camera that switches its stream to H.265 (issue 64): it was told only in the log, and the
office learned of it when the browser's playback failed. The test's real RTSP camera
(tests/support/rtsp_server.py, GStreamer's x264enc, then x265enc) is recorded by the real
recorder in H.264, then restarts on its port sending H.265, as a camera reconfigured by its
installer does:

- the change is an alert of its own (`camera_codec_changed`, Polish, naming the camera and both
  codecs), told to the alert recipients, once per change, and again when it goes back;
- the cameras' page, the playback of that period and the live view say why the browser
  shows nothing, in Polish and in English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from camera_helpers import register_camera, stored, wait_for
from sqlalchemy import select
from tests.alerts_helpers import WebhookSink, write_alerts
from tests.custody.custody_helpers import people
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from tests.web.web_helpers import authorise, client, csrf_of, session_for, user

from kustosz.alerts.notifier import Notifier
from kustosz.config import read_config
from kustosz.db.models import Alert
from kustosz.ingest.camera import health
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.states import AlertRow
from kustosz.vault import Vault

FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, down_alert_after_s=1.5,
                       measure_clock=False)
NOTE_PL = ("Kamera przesyła obraz w kodeku H.265 (HEVC), którego przeglądarki nie odtwarzają: "
           "nagrania są zapisywane, ale nie da się ich odtworzyć ani oglądać na żywo na tej "
           "stronie.")
NOTE_EN = ("The camera sends its picture in H.265 (HEVC), which browsers do not play: it is "
           "recorded, but it cannot be played back or watched live on this page.")


def _codec_alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        rows = list(s.execute(select(Alert).where(
            Alert.kind == AlertRow.CAMERA_CODEC_CHANGED).order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows


def _codecs(vault: Vault) -> list[str]:
    return [r.meta["codec"] for r in stored(vault)]


@pytest.mark.slow
@pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
def test_a_camera_switching_to_h265_is_an_alert_and_its_pages_say_why_it_does_not_play(
        site_vault: Vault) -> None:
    vault = site_vault
    with RtspServer(audio=False) as srv:
        cam = register_camera(vault, "hol", srv.url())
        pool = RecorderPool(vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: _codecs(vault).count("h264") >= 2, 60, "H.264 segments")
            assert _codec_alerts(vault) == []  # the first codec is no change
            srv.stop()
            srv.h265 = True
            srv.restart()
            wait_for(lambda: _codecs(vault).count("hevc") >= 2, 90, "H.265 segments",
                     shown=lambda: _codecs(vault))
            wait_for(lambda: _codec_alerts(vault), 30, "the codec change alerted")
        finally:
            pool.stop_all()
    (alert,) = _codec_alerts(vault)
    assert alert.source_id == cam.source_id
    assert alert.message.startswith(
        "Kamera „hol” przesyła obraz w kodeku H.265 (HEVC) (wcześniej H.264); nagrywanie "
        "trwa, ale przeglądarki nie odtwarzają tego kodeku: nagrań z niej nie da się "
        "odtworzyć ani oglądać na żywo na stronie.")
    assert alert.message.endswith("(stream codec h264 -> hevc)")

    # the recipients are told, as it happens
    with WebhookSink() as hook:
        write_alerts(vault.root, f'[alerts]\ndigest_at = ""\n[alerts.webhook]\n'
                                 f'url = "{hook.url}"\n')
        Notifier(vault, read_config(vault.root).alerts, retry_s=30).tick()
        (post,) = [p["json"] for p in hook.posts]
    assert post["kind"] == "camera_codec" and post["event"] == "once"
    assert post["subject"].startswith("Kamera „hol” zmieniła kodek obrazu (")
    assert post["detail"] == alert.message

    # the cameras' page, the player of that period and the live view say why
    people(vault)  # the mayor who authorises
    user(vault, "ola", ["viewer"], password=None)
    authorise(vault, "ola", ["playback", "live"], sources=["hol"])
    c = client(vault)
    session_for(vault, c, "ola")
    assert NOTE_PL in c.get("/cameras").text
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = c.get("/cameras").text
    c.cookies.set("kustosz_lang", "pl", domain="testserver.local")
    assert NOTE_EN in english and NOTE_PL not in english
    hevc = [r for r in stored(vault) if r.meta["codec"] == "hevc"]
    tz = vault.policy.timezone
    for action, period in (("playback", (hevc[0].start_at, hevc[-1].end_at)),
                           ("live", None)):
        form = {"csrf": csrf_of(vault, c), "action": action, "source": "hol",
                "purpose": "sprawdzenie zdarzenia", "case_ref": "OR.1",
                "witness": "user:zastepca"}
        if period is not None:
            form |= {"from": (period[0] - timedelta(seconds=1)).astimezone(tz).strftime(
                "%Y-%m-%dT%H:%M:%S"), "to": (period[1] + timedelta(seconds=1)).astimezone(
                tz).strftime("%Y-%m-%dT%H:%M:%S")}
        r = c.post("/media/start", data=form)
        assert r.status_code == 303, (action, re.findall(r'class="error"[^>]*>(.*?)<', r.text))
        page = c.get(r.headers["location"]).text
        assert NOTE_PL in page, action


def test_the_codec_noted_again_unchanged_raises_nothing_and_back_is_told(
        site_vault: Vault) -> None:
    """The status's own rule, its writes given: the same codec at every session start (and
    after a restart of serve) is no change; back to H.264 is one, said so."""
    cam = register_camera(site_vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
    for codec in ("h264", "h264", None, "h264"):
        health.set_status(site_vault, cam, "recording", "recording", codec=codec)
    assert _codec_alerts(site_vault) == []
    health.set_status(site_vault, cam, "recording", "recording", codec="hevc")
    health.set_status(site_vault, cam, "down", "gone")
    health.set_status(site_vault, cam, "recording", "recording", codec="hevc")
    health.set_status(site_vault, cam, "recording", "recording", codec="h264")
    first, back = _codec_alerts(site_vault)
    assert "w kodeku H.265 (HEVC) (wcześniej H.264)" in first.message
    assert back.message.startswith("Kamera „hol” przesyła obraz w kodeku H.264 (wcześniej "
                                   "H.265 (HEVC)); nagrywanie trwa, a przeglądarka znów "
                                   "odtwarza jej obraz.")
    assert all(a.raised_at <= datetime.now(UTC) for a in (first, back))
