"""The camera's own clock over ONVIF (issue 34 item 3; R1.8), against the third-party virtual
camera (ipycam) with its clock set off this machine's by the tests' launcher, which also adds
the SetNTP and SetSystemDateAndTime operations ipycam lacks (tests/support/onvif_camera.py):

- a camera 90 s off raises `camera_clock_off` within one check, and the alert reaches the
  office's SMTP sink; each reading is kept;
- Kustosz sets no camera's clock without the administrator's consent for that camera: refused
  and the camera untouched; with consent (SetNTP to the office's server, or the time itself)
  the next check sets it, audited with the offset it corrected, and the alert clears;
- a camera whose ONVIF service stops answering raises `camera_onvif_unreachable`, which clears
  when it answers again; serve's loop reads every ONVIF camera on start.
Bad input: consent to NTP without an IPv4 server, an unknown way, a camera added by URL, a
camera that refuses to be set."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import Cli
from tests.support.onvif_camera import OnvifCamera, ipycam_available

from kustosz.cameras import onvif_clock, onvif_events
from kustosz.cameras.onvif_register import ProfileChoice, add_onvif_camera
from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.db.cameras import CameraClockReading
from kustosz.db.models import Alert, AuditEntry
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import read_camera
from kustosz.onvif.events import CameraEvent
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed")
PASSWORD = "kamera-haslo-8"
RTSP_PORT = 8554  # never connected to here: the clock is the device service's


@pytest.fixture
def office(cli: Cli) -> Iterator[Cli]:
    cli("init", "--preset", "miedziana-gora")
    vault = Vault.open(cli.data)
    with vault.transaction() as s:
        add_site(s, "Urząd", "test")
        add_zone(s, "Urząd", "hol", "corridor", "test")
    vault.close()
    yield cli


def register(cli: Cli, cam: OnvifCamera, name: str = "hol-1") -> None:
    vault = Vault.open(cli.data)
    facts = read_camera(parse_address(f"127.0.0.1:{cam.port}"), "admin", PASSWORD)
    with vault.transaction() as s:
        add_onvif_camera(s, vault.policy, CameraSpec(
            name, "Urząd", "hol", "", "employee_safety", date(2026, 1, 1), date(2026, 1, 2)),
            facts, "admin", PASSWORD, ProfileChoice(), "test")
    vault.close()


def alerts(vault: Vault, kind: str, open_only: bool = True) -> list[Alert]:
    with vault.reading() as s:
        q = select(Alert).where(Alert.kind == kind)
        if open_only:
            q = q.where(Alert.cleared_at.is_(None))
        return list(s.execute(q).scalars())


def audit_of(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(e.details) for e in s.execute(
            select(AuditEntry).where(AuditEntry.action == action)).scalars()]


def test_a_camera_90_s_off_raises_the_alert_within_one_check(office: Cli) -> None:
    with OnvifCamera(RTSP_PORT, password=PASSWORD, clock_offset_s=90.0) as cam:
        register(office, cam)
        vault = Vault.open(office.data)
        (check,) = onvif_clock.check_all(vault, vault.config.cameras)
        assert check.offset_s is not None and 88 <= check.offset_s <= 92, check
        (alert,) = alerts(vault, AlertRow.CAMERA_CLOCK_OFF)
        # GetSystemDateAndTime gives whole seconds: 89 to 91 s
        assert re.search(r"Zegar kamery hol-1 różni się od czasu serwera o \+(89|9[01]) s",
                         alert.message), alert.message
        assert "dopuszczalne 2 s" in alert.message
        with vault.reading() as s:
            (reading,) = s.execute(select(CameraClockReading)).scalars()
        assert 88 <= reading.offset_s <= 92 and reading.ntp
        # the command line reads it the same, and says it is beyond the limit
        said = office("cameras", "clock", "hol-1").output
        assert re.search(r"clock \+(8[89]|9[01])\.\d s", said), said
        assert "beyond the limit of 2 s" in said
        vault.close()


def test_no_clock_is_set_without_consent_and_each_setting_is_audited(office: Cli) -> None:
    with OnvifCamera(RTSP_PORT, password=PASSWORD, clock_offset_s=90.0) as cam:
        register(office, cam)
        refused = office("cameras", "clock", "hol-1", "--set-now", ok=False)
        assert refused.exit_code != 0 and "has not let Kustosz set the clock" in refused.output
        vault = Vault.open(office.data)
        (check,) = onvif_clock.check_all(vault, vault.config.cameras)
        assert check.set_by is None and check.offset_s is not None and check.offset_s > 80
        assert audit_of(vault, "camera.clock_set") == []

        office("cameras", "clock", "hol-1", "--allow", "ntp", "--ntp-server", "10.0.7.1")
        (consent,) = audit_of(vault, "camera.clock_consent")
        assert consent == {"how": "ntp", "ntp_server": "10.0.7.1"}
        # that command's own check already set it (consent given, clock off): audited
        (done,) = audit_of(vault, "camera.clock_set")
        assert done["how"] == "ntp" and done["ntp_server"] == "10.0.7.1"
        assert 80 <= float(done["offset_before_s"]) <= 100  # type: ignore[arg-type]
        assert abs(float(done["offset_after_s"])) <= 2  # type: ignore[arg-type]
        assert "SET NTP 10.0.7.1" in cam.log()
        assert alerts(vault, AlertRow.CAMERA_CLOCK_OFF) == []  # cleared by the check

        office("cameras", "clock", "hol-1", "--allow", "time")
        said = office("cameras", "clock", "hol-1", "--set-now").output
        assert "clock set by time" in said and "SET TIME" in cam.log()
        assert len(audit_of(vault, "camera.clock_set")) == 2
        office("cameras", "clock", "hol-1", "--forbid")
        assert audit_of(vault, "camera.clock_consent_withdrawn") == [{}]
        again = office("cameras", "clock", "hol-1", "--set-now", ok=False)
        assert again.exit_code != 0
        vault.close()


def test_a_camera_that_refuses_to_be_set_keeps_its_alert(office: Cli) -> None:
    with OnvifCamera(RTSP_PORT, password=PASSWORD, clock_offset_s=-75.0,
                     settable_clock=False) as cam:
        register(office, cam)
        office("cameras", "clock", "hol-1", "--allow", "time", ok=False)
        vault = Vault.open(office.data)
        assert audit_of(vault, "camera.clock_consent")  # the consent stands
        (check,) = onvif_clock.check_all(vault, vault.config.cameras)
        assert check.set_by is None and check.error is not None
        assert audit_of(vault, "camera.clock_set") == []
        # the attempt is on record: a camera may have taken part of it
        tried = audit_of(vault, "camera.clock_set_failed")
        assert tried and tried[-1]["how"] == "time"
        vault.close()


def test_onvif_away_is_told_and_cleared_when_it_answers(office: Cli) -> None:
    cam = OnvifCamera(RTSP_PORT, password=PASSWORD).start()
    port = cam.port
    try:
        register(office, cam)
    finally:
        cam.stop()
    vault = Vault.open(office.data)
    (check,) = onvif_clock.check_all(vault, vault.config.cameras)
    assert check.error is not None and "does not answer" in check.error
    (alert,) = alerts(vault, AlertRow.CAMERA_ONVIF_UNREACHABLE)
    assert "Kamera hol-1 nie odpowiada przez ONVIF" in alert.message
    back = OnvifCamera(RTSP_PORT, password=PASSWORD)
    back.port = port  # the same camera at the same address
    with back:
        (check,) = onvif_clock.check_all(vault, vault.config.cameras)
        assert check.error is None
    assert alerts(vault, AlertRow.CAMERA_ONVIF_UNREACHABLE) == []
    vault.close()


def test_serve_reads_every_onvif_camera_on_start(office: Cli) -> None:
    with OnvifCamera(RTSP_PORT, password=PASSWORD, clock_offset_s=30.0) as cam:
        register(office, cam)
        vault = Vault.open(office.data)
        stop = threading.Event()
        loop = threading.Thread(target=onvif_clock.run_camera_clocks, args=(vault, stop))
        loop.start()
        try:
            def read() -> bool:
                with vault.reading() as s:
                    return s.execute(select(CameraClockReading)).first() is not None
            wait_for(read, 20, "the first reading")
        finally:
            stop.set()
            loop.join(30)
        assert not loop.is_alive()
        assert alerts(vault, AlertRow.CAMERA_CLOCK_OFF)
        vault.close()


@pytest.mark.parametrize("args,said", [
    (["--allow", "ntp"], "IPv4 address"),
    (["--allow", "ntp", "--ntp-server", "czas.urzad.local"], "IPv4 address"),
    (["--allow", "sometimes"], "ntp or time"),
    (["--allow", "time", "--ntp-server", "10.0.0.1"], "--ntp-server goes with --allow ntp"),
    (["--allow", "time", "--forbid"], "exclude each other"),
])
def test_bad_consent_is_refused_and_changes_nothing(office: Cli, args: list[str],
                                                    said: str) -> None:
    from tests.conftest import snapshot
    with OnvifCamera(RTSP_PORT, password=PASSWORD) as cam:
        register(office, cam)
        vault = Vault.open(office.data)
        before = snapshot(vault)
        refused = office("cameras", "clock", "hol-1", *args, ok=False)
        assert refused.exit_code != 0 and said in refused.output, refused.output
        assert snapshot(vault) == before
        vault.close()


def test_a_camera_added_by_url_has_no_clock_to_set(office: Cli, tmp_path: Path) -> None:
    vault = Vault.open(office.data)
    with vault.transaction() as s:
        add_camera(s, vault.policy, CameraSpec("stara", "Urząd", "hol", "rtsp://10.0.0.9/s",
                                               "employee_safety", date(2026, 1, 1),
                                               date(2026, 1, 2)), "test")
    vault.close()
    refused = office("cameras", "clock", "stara", "--allow", "time", ok=False)
    assert refused.exit_code != 0 and "was not added over ONVIF" in refused.output


def group_source(vault: Vault) -> int:
    from kustosz.db.models import Source
    with vault.reading() as s:
        return int(s.execute(select(Source.id).where(Source.name == "hol-1")).scalar_one())


def test_a_copys_manifest_names_the_camera_clock_of_its_period(office: Cli,
                                                               tmp_path: Path) -> None:
    """The offset measured at the time of the recording goes with the copy: a copy's
    manifest names the camera's clock readings of its period, and the motion the camera
    reported in it (issue 34 items 3 and 4)."""
    from datetime import UTC, datetime, timedelta

    from tests.custody.custody_helpers import people, record, registered

    from kustosz.custody.copies import make_copy
    from kustosz.custody.requests import RequestSpec

    with OnvifCamera(RTSP_PORT, password=PASSWORD, clock_offset_s=12.0) as cam:
        register(office, cam)
        vault = Vault.open(office.data)
        onvif_clock.check_all(vault, vault.config.cameras)  # a reading now: in the period
    people(vault)
    now = datetime.now(UTC).replace(microsecond=0)
    record(vault, "hol-1", now - timedelta(seconds=4), 4, tmp_path / "seg")
    target = onvif_clock.Target(group_source(vault), "hol-1", parse_address("10.0.0.5"), "a")
    onvif_events.take(vault, target, [  # motion the camera reported within the period
        CameraEvent("motion", True, now - timedelta(seconds=2), "tns1:VideoSource/Motion"),
        CameraEvent("motion", False, now + timedelta(seconds=1), "tns1:VideoSource/Motion")])
    tz = vault.policy.timezone
    start, end = now - timedelta(seconds=4), now + timedelta(seconds=4)
    rid = registered(vault, RequestSpec(
        kind="authority", material="video", requester="KPP Pleszew",
        received_on=now.astimezone(tz).date(), event_date=now.astimezone(tz).date(),
        purpose="postępowanie", description="kradzież", cameras=["hol-1"],
        start=start, end=end), now).id
    copy = make_copy(vault, rid, "informatyk", "test", now=now + timedelta(minutes=10))
    manifest = json.loads((vault.root / copy.bundle / "manifest.json").read_text("utf-8"))
    (source,) = manifest["sources"]
    (reading,) = source["camera_clock_readings"]
    assert 11 <= reading["offset_s"] <= 13 and reading["ntp"] is True
    (mark,) = source["camera_marks"]
    assert mark["kind"] == "motion"
    assert mark["start_at"] == (now - timedelta(seconds=2)).isoformat()
    vault.close()
