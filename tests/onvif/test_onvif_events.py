"""What a camera reports itself over ONVIF events (issue 34 item 4). ipycam has no Events
service; the tests' launcher adds one, ours (tests/support/onvif_camera.py: PullPoint as the
ONVIF Event Service and WS-BaseNotification define it, events raised by the test). serve's
subscriber (cameras/onvif_events.py) holds a subscription to the virtual camera:

- a tamper event raises `camera_tamper` at once and the alert reaches the office's SMTP sink;
  its end clears it (and that is told too); video loss likewise;
- the subscription is renewed before it terminates, and made again when the camera forgot it
  (restarted at the same address), without a person;
- topics Kustosz does not act on, and notifications without a state, are left out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.alerts_helpers import SmtpSink, write_alerts
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.onvif.onvif_helpers import add_virtual, with_zone
from tests.support.onvif_camera import OnvifCamera, ipycam_available

from kustosz.alerts.notifier import Notifier
from kustosz.cameras import onvif_events
from kustosz.config import read_config
from kustosz.db.models import Alert
from kustosz.onvif import events
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed")
PASSWORD = "kamera-haslo-10"
TAMPER = "tns1:VideoSource/GlobalSceneChange/ImagingService"
LOSS = "tns1:VideoSource/SignalLoss"


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Vault, OnvifCamera, SmtpSink]]:
    vault = with_zone(make_vault(tmp_path / "vault"))
    with SmtpSink() as smtp, OnvifCamera(8554, password=PASSWORD) as cam:
        add_virtual(vault, cam)
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                 'from = "kustosz@um.example.pl"\n'
                                 'to = ["informatyk@um.example.pl"]\n')
        stop = threading.Event()
        loop = threading.Thread(target=onvif_events.run_camera_events, args=(vault, stop))
        loop.start()
        try:
            yield vault, cam, smtp
        finally:
            stop.set()
            loop.join(30)
            vault.close()
    assert not loop.is_alive()


def open_alerts(vault: Vault, kind: str) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == kind,
                                                  Alert.cleared_at.is_(None))).scalars())


def subscribed(cam: OnvifCamera, times: int = 1) -> None:
    wait_for(lambda: cam.log().count("SUBSCRIBED") >= times, 20, "the subscription")


def test_tampering_reaches_the_smtp_sink_at_once_and_its_end_clears_it(
        watched: tuple[Vault, OnvifCamera, SmtpSink]) -> None:
    vault, cam, smtp = watched
    notifier = Notifier(vault, read_config(vault.root).alerts, retry_s=30)
    subscribed(cam)
    cam.event(TAMPER, True)
    wait_for(lambda: open_alerts(vault, AlertRow.CAMERA_TAMPER), 15, "the tamper alert")
    (alert,) = open_alerts(vault, AlertRow.CAMERA_TAMPER)
    assert "Kamera hol-onvif zgłasza sabotaż" in alert.message
    notifier.tick()
    wait_for(lambda: smtp.mails, 10, "the message at the SMTP sink")
    told = smtp.mails[0]
    assert "sabotaż" in str(told["Subject"]) + told.get_body().get_content()
    cam.event(TAMPER, False)
    wait_for(lambda: not open_alerts(vault, AlertRow.CAMERA_TAMPER), 15, "the alert cleared")
    notifier.tick()
    wait_for(lambda: len(smtp.mails) >= 2, 10, "the message that it ended")


def test_video_loss_is_an_alert_too(watched: tuple[Vault, OnvifCamera, SmtpSink]) -> None:
    vault, cam, _smtp = watched
    subscribed(cam)
    cam.event(LOSS, True)
    wait_for(lambda: open_alerts(vault, AlertRow.CAMERA_VIDEO_LOSS), 15, "the alert")
    assert "zgłasza utratę obrazu" in open_alerts(vault, AlertRow.CAMERA_VIDEO_LOSS)[0].message
    cam.event("tns1:VideoSource/MotionAlarm", True)  # motion: received, not an alert
    cam.event(LOSS, False)
    wait_for(lambda: not open_alerts(vault, AlertRow.CAMERA_VIDEO_LOSS), 15, "the end")
    with vault.reading() as s:
        kinds = set(s.execute(select(Alert.kind)).scalars())
    assert kinds == {AlertRow.CAMERA_VIDEO_LOSS}


def test_the_subscription_is_renewed_and_made_again_when_the_camera_forgot_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "TERMINATION_S", 4)  # renewed every 2 s
    monkeypatch.setattr(onvif_events, "RETRY_S", (0.5, 1.0))
    vault = with_zone(make_vault(tmp_path / "vault"))
    cam = OnvifCamera(8554, password=PASSWORD).start()
    port = cam.port
    add_virtual(vault, cam)
    stop = threading.Event()
    loop = threading.Thread(target=onvif_events.run_camera_events, args=(vault, stop))
    loop.start()
    again = OnvifCamera(8554, password=PASSWORD)
    try:
        subscribed(cam)
        wait_for(lambda: "RENEWED" in cam.log(), 20, "a renewal")
        cam.stop()  # restarted: it forgets every subscription
        again.port = port
        again.start()
        subscribed(again)
        again.event(TAMPER, True)
        wait_for(lambda: open_alerts(vault, AlertRow.CAMERA_TAMPER), 15, "the alert")
    finally:
        stop.set()
        loop.join(30)
        again.stop()
        cam.stop()
        vault.close()
    assert not loop.is_alive()


@pytest.mark.parametrize("message,expected", [
    ({"topic": TAMPER, "data": {"State": "true"}}, ("tamper", True)),
    ({"topic": "tns1:RuleEngine/TamperDetector/Tamper", "data": {"IsTamper": "false"}},
     ("tamper", False)),
    ({"topic": LOSS, "data": {"State": "1"}}, ("video_loss", True)),
    ({"topic": "tns1:RuleEngine/CellMotionDetector/Motion", "data": {"IsMotion": "true"}},
     ("motion", True)),
    ({"topic": "tns1:Device/Trigger/DigitalInput", "data": {"LogicalState": "false"}},
     ("input", False)),
    ({"topic": "tns1:Monitoring/ProcessorUsage", "data": {"Value": "12"}}, None),
    ({"topic": TAMPER, "data": {}}, None),  # no state: nothing to act on
    ({"topic": "", "data": {"State": "true"}}, None),
])
def test_what_is_acted_on_and_what_is_left_out(message: dict[str, object],
                                               expected: tuple[str, bool] | None) -> None:
    received = datetime(2026, 11, 25, 8, 0, 30, tzinfo=UTC)
    found = events.events_of([{**message, "utc_time": "2026-11-25T08:00:00Z"}], received)
    assert [(e.kind, e.active) for e in found] == ([expected] if expected else [])
    assert all(e.at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC) for e in found)


@pytest.mark.parametrize("said", ["0001-01-01T00:00:00+05:00", "2099-01-01T00:00:00Z",
                                  "wczoraj", ""])
def test_a_time_far_from_the_receipt_or_unreadable_is_the_receipts(said: str) -> None:
    """A camera's clock off by days, a time out of range, or none: the event is kept at the
    moment it was received — nothing raised, no mark where no one looks or past its period."""
    received = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    (found,) = events.events_of([{"topic": TAMPER, "data": {"State": "true"},
                                  "utc_time": said}], received)
    assert found.at == received
