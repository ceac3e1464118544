"""Two cameras captured by 2BAD/onvif's fixture tool (issue 47; tests/corpus/onvif/
dvc-dcn-bf5365 and ezviz-ds-2de2c400ig-w-w, provenance in the corpus README): a DVC DCN-BF5365
and an EZVIZ DS-2DE2C400IG-W-W, each with the answer it gave a request without credentials
and the fault it gave an action it does not know. The publisher scrubbed serial numbers,
hardware ids and addresses before publishing (`REDACTEDn`, 192.0.2.x): the facts below are
the published ones. Kept apart from test_onvif_corpus.py, which is past the size budget.

HTTP statuses and content types are the publisher's manifest's (`manifest.json` beside the
answers, not stored here): DVC's refusal 401 SOAP, its unknown-action fault 400; EZVIZ's
refusal 401 `text/html` (an HTML page, not SOAP), its unknown-action fault 500."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from tests.conftest import Cli
from tests.onvif.corpus_camera import (
    CorpusCamera,
    Recording,
    Refusal,
    dvc_dcn_bf5365,
    ezviz_ds2de2c400,
    ipd_h4k8m05,
    sample,
)
from tests.onvif.test_onvif_corpus import PASSWORD, here
from tests.support.onvif_camera import cameras_on_loopback

from kustosz.cameras.onvif_register import ProfileChoice, pick_profiles
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import CameraFacts, OnvifRefused, read_camera

DVC = "dvc-dcn-bf5365"
EZVIZ = "ezviz-ds-2de2c400ig-w-w"
# each camera's own answer to a request without credentials, with the manifest's status
REFUSALS = {
    DVC: Refusal(sample(f"{DVC}/device.GetSystemDateAndTimeUnauthorizedFault.xml"), 401),
    EZVIZ: Refusal(sample(f"{EZVIZ}/device.GetSystemDateAndTimeUnauthorizedFault.xml"), 401,
                   "text/html"),
}
UNKNOWN_ACTION = {DVC: 400, EZVIZ: 500}  # the manifest's status of device.UnknownActionFault
RECORDINGS = {DVC: dvc_dcn_bf5365, EZVIZ: ezviz_ds2de2c400}


def read(folder: str, password: str = PASSWORD) -> tuple[CameraFacts, CorpusCamera]:
    with CorpusCamera(RECORDINGS[folder](), "admin", PASSWORD, REFUSALS[folder]) as cam:
        return read_camera(parse_address(here(cam)), "admin", password, timeout_s=2), cam


def test_the_refusals_are_what_the_publisher_recorded() -> None:
    """The DVC's refusal is a SOAP Sender fault "HTTP Error: 401 Unauthorized"; the EZVIZ's
    is an HTML page (its firmware's web server answers before its ONVIF service does)."""
    assert "HTTP Error: 401 Unauthorized" in REFUSALS[DVC].body
    assert REFUSALS[EZVIZ].body.startswith("<!DOCTYPE html>")
    assert "This onvif request requires authentication information" in REFUSALS[EZVIZ].body


@pytest.mark.parametrize("folder", [DVC, EZVIZ])
def test_each_camera_is_read_over_media2_after_its_clock_is(folder: str) -> None:
    """Refused (in the camera's own words) while this machine's clock is months off the
    camera's, the clock read without a password, the token made on the camera's time; Media2
    preferred (both offer it), Media1 never asked; profiles from Media2's GetProfiles."""
    recording = RECORDINGS[folder]()
    facts, cam = read(folder)
    keys = cam.keys()
    asked = keys.index("device:GetSystemDateAndTime")
    assert set(keys[:asked]) == {"device:GetDeviceInformation"}
    assert not any(s.authorised for s in cam.seen[:asked + 1])
    assert cam.seen[asked + 1].key == "device:GetDeviceInformation"
    assert cam.seen[asked + 1].authorised
    assert {s.path for s in cam.seen if s.key.startswith("media2:")} == {"/onvif/Media2"}
    assert not [k for k in keys if k.startswith("media:")], keys
    clock = facts.clock
    assert clock is not None
    expected = recording.clock.timestamp() - time.time()
    assert abs(clock.offset_s - expected) < 5 + clock.round_trip_s
    assert clock.ntp is (folder == EZVIZ)


def test_the_dvc_tells_its_facts_and_three_profiles() -> None:
    facts, _cam = read(DVC)
    d = facts.device
    assert (d.make, d.model, d.firmware, d.serial, d.hardware_id) == (
        "DVC", "DCN-BF5365", "4.2", "REDACTED1", "REDACTED2")
    profiles = facts.profiles
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps, p.uri)
            for p in profiles] == [
        ("profile_token_1", "profile1", "H265", 2592, 1944, 20, 4096,
         "rtsp://127.0.0.1:554/profile1"),
        ("profile_token_2", "profile2", "H264", 1280, 720, 10, 1024, ""),
        ("profile_token_3", "profile3", "H265", 704, 576, 25, 512, "")]
    record, live = pick_profiles(facts, ProfileChoice())
    # the largest recorded (H.265); the H.264 sub-stream's address was not captured
    assert record.token == "profile_token_1" and live is None


def test_the_ezviz_tells_its_facts_and_its_two_h265_profiles() -> None:
    facts, _cam = read(EZVIZ)
    d = facts.device
    assert (d.make, d.model, d.firmware, d.serial, d.hardware_id) == (
        "EZVIZ", "DS-2DE2C400IG-W-W", "V5.3.8 build 260123", "REDACTED1", "88")
    profiles = facts.profiles
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps)
            for p in profiles] == [
        ("Profile_1", "mainStream", "H265", 2560, 1440, 25, 2048),
        ("Profile_2", "subStream", "H265", 768, 432, 10, 768)]
    # its own LAN address (scrubbed to 192.0.2.13) re-pointed at the address asked
    assert profiles[0].uri == ("rtsp://127.0.0.1/Streaming/Channels/101"
                               "?transportmode=unicast&profile=Profile_1")
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "Profile_1" and live is None  # no H.264 to watch live


@pytest.mark.parametrize("folder", [DVC, EZVIZ])
def test_a_wrong_password_is_said_so_in_each_cameras_own_refusal(folder: str) -> None:
    """The DVC's SOAP "HTTP Error: 401 Unauthorized" and the EZVIZ's HTML 401 page both read
    as a refused user name or password — after one clock retry, never a loop."""
    with CorpusCamera(RECORDINGS[folder](), "admin", PASSWORD, REFUSALS[folder]) as cam:
        started = time.monotonic()
        with pytest.raises(OnvifRefused) as refused:
            read_camera(parse_address(here(cam)), "admin", "zle-haslo-7", timeout_s=2)
        assert time.monotonic() - started < 10
        assert len(cam.seen) <= 8, cam.keys()
    said = refused.value.pl or ""
    assert said.startswith(f"Kamera {here(cam)} odrzuciła nazwę użytkownika lub hasło"), said
    assert "zle-haslo-7" not in said + str(refused.value)


@pytest.mark.parametrize("folder", [DVC, EZVIZ])
def test_each_cameras_unknown_action_fault_falls_back_to_capabilities(folder: str) -> None:
    """Each camera's recorded fault for an action it does not know (DVC: gSOAP's "Method …
    not implemented", Sender, 400; EZVIZ: ter:ActionNotSupported / ter:InvalidOperation
    "Optional Action Not Implemented", Receiver, 500) given as the answer to GetServices: read
    as "not implemented", so GetCapabilities is asked. The rest of the camera is the
    IPD-H4K8M05-BS's recording (neither publisher's camera lacks GetServices): the path is
    what is tested."""
    recording = ipd_h4k8m05()
    recording.answers["device:GetServices"] = Refusal(
        sample(f"{folder}/device.UnknownActionFault.xml"), UNKNOWN_ACTION[folder])
    with CorpusCamera(recording, "admin", PASSWORD, REFUSALS[folder]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        keys = cam.keys()
    assert keys.index("device:GetServices") < keys.index("device:GetCapabilities")
    assert [p.token for p in facts.profiles] == ["MainStream", "SubStream"]
    assert facts.profiles[0].uri == "rtsp://127.0.0.1:554/1/h264major"


@pytest.mark.parametrize(("folder", "line"), [
    (DVC, "DVC DCN-BF5365, serial REDACTED1, firmware 4.2"),
    (EZVIZ, "EZVIZ DS-2DE2C400IG-W-W, serial REDACTED1, firmware V5.3.8 build 260123")])
def test_the_commands_add_each_camera_and_say_its_live_view_is_h265(
        cli: Cli, folder: str, line: str) -> None:
    secret = cli.data.parent / "haslo.txt"
    secret.write_text(PASSWORD + "\n")
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    cli("sites", "add", "Urząd Gminy")
    cli("zones", "add", "hol", "--site", "Urząd Gminy", "--kind", "corridor")
    with CorpusCamera(RECORDINGS[folder](), "admin", PASSWORD, REFUSALS[folder]) as cam:
        said = cli("cameras", "add", "hol-kamera", "--onvif", here(cam), "--user", "admin",
                   "--password-file", str(secret), "--site", "Urząd Gminy", "--zone", "hol",
                   "--purpose", "employee_safety", "--notice-date", "2026-01-01",
                   "--signage-date", "2026-01-10").output
    assert f"camera hol-kamera added: {line}" in said, said
    assert "live view: the recorded stream, H265, which a browser may not play" in said
    assert "clock is" in said  # weeks off this machine's: said, not hidden
    assert PASSWORD not in said
    (listed,) = json.loads(cli("cameras", "list", "--json").output)
    d = listed["device"]
    assert (d["make"], d["serial"], d["live_profile"]) == (line.split()[0], "REDACTED1", None)


def test_the_recordings_clocks_are_the_published_answers() -> None:
    """The fakes' clocks are what each camera's recorded GetSystemDateAndTime says."""
    for folder, make in ((DVC, dvc_dcn_bf5365), (EZVIZ, ezviz_ds2de2c400)):
        recording: Recording = make()
        text = sample(f"{folder}/device.GetSystemDateAndTime.xml")
        at = recording.clock
        assert isinstance(at, datetime) and at.tzinfo is UTC
        utc = text.split("UTCDateTime>")[1]
        for part, value in (("Hour", at.hour), ("Minute", at.minute), ("Second", at.second),
                            ("Year", at.year), ("Month", at.month), ("Day", at.day)):
            assert f"<tt:{part}>{value}</tt:{part}>" in utc, (folder, part)
