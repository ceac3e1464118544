"""Issue 47, "tried again by someone with samples the developers have not seen": answers of
two devices that were not in the corpus when the readers were written, replayed through the
same real path as tests/onvif/test_onvif_corpus*.py (provenance in tests/corpus/onvif/README.md).

- HIKVISION DS-2CD2012-I, a fixed bullet (onvif-nvt's `hikvision-fixed`): Media1, a clock set by
  hand, the address of its SUB-stream only, and its own fault for a GetServices it could not
  read ("the parameter value is illegal", ter:InvalidArgVal — not a "not implemented").
- DVC DRN-3282R, a recorder (2BAD/onvif's live capture): every answer sent as `text/html`
  (the manifest's content type, status 200 for answers and 400 for its fault), its make
  written `--`, and a bare "method name or namespace not recognized" fault for an action it
  does not know. Its Media2 GetProfiles (130 kB, fourteen channels) and its clock were not
  taken, so the rest of the camera is the IPD-H4K8M05-BS's recording: the path is what is
  tested."""

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
    fault_envelope,
    hikvision_ds2cd2012i,
    ipd_h4k8m05,
    sample,
)
from tests.support.onvif_camera import cameras_on_loopback

from kustosz.cameras.onvif_register import ProfileChoice, pick_profiles
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import read_camera

PASSWORD = "haslo-kamery-9"
HIK = "hikvision-ds-2cd2012-i"
DRN = "dvc-drn-3282r"
# the test's own envelope around Hikvision's reported wording (README "Wordings")
HIKVISION_REFUSAL = Refusal(fault_envelope(
    "The action requested requires authorization and the sender is not authorized",
    "ter:NotAuthorized"), 401)


def here(cam: CorpusCamera) -> str:
    return f"127.0.0.1:{cam.port}"


def drn_on_ipd() -> Recording:
    """The DVC recorder's device information and fault, as it sent them (text/html, the
    manifest's statuses), on the IPD-H4K8M05-BS's recording for the rest."""
    recording = ipd_h4k8m05()
    recording.answers["device:GetDeviceInformation"] = Refusal(
        sample(f"{DRN}/device.GetDeviceInformation.xml"), 200, "text/html")
    recording.answers["device:GetServices"] = Refusal(
        sample(f"{DRN}/device.UnknownActionFault.xml"), 400, "text/html")
    return recording


def test_the_samples_are_what_their_publishers_stored() -> None:
    assert "<tds:Model>DS-2CD2012-I</tds:Model>" in sample(
        f"{HIK}/GetDeviceInformationResponse.xml")
    assert "ter:InvalidArgVal" in sample(f"{HIK}/GetServicesError.xml")
    assert "<tds:Manufacturer>--</tds:Manufacturer>" in sample(
        f"{DRN}/device.GetDeviceInformation.xml")
    fault = sample(f"{DRN}/device.UnknownActionFault.xml")
    assert "method name or namespace not recognized" in fault
    assert "implemented" not in fault and "Subcode" not in fault


def test_a_hikvision_bullet_records_the_one_stream_it_gave_an_address_for() -> None:
    """Its clock (set by hand to 2018) read without a password and allowed for; GetServices
    names Media1; two H.264 profiles. The library that recorded it asked the address of
    Profile_2 only: the main stream has none, so the sub-stream is recorded, on the camera's
    own host — never a profile without an address."""
    with CorpusCamera(hikvision_ds2cd2012i(), "admin", PASSWORD, HIKVISION_REFUSAL) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    d = facts.device
    assert (d.make, d.model, d.serial, d.firmware, d.hardware_id) == (
        "HIKVISION", "DS-2CD2012-I", "DS-2CD2012-I20150201CCWR501088621",
        "V5.2.0 build 140721", "88")
    assert ("media:GetProfiles", "/onvif/Media") in seen
    assert "device:GetCapabilities" not in [k for k, _ in seen]
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps)
            for p in facts.profiles] == [
        ("Profile_1", "mainStream", "H264", 1280, 720, 10, 2048),
        ("Profile_2", "subStream", "H264", 352, 240, 30, 512)]
    assert facts.profiles[0].uri == ""
    assert facts.clock is not None and not facts.clock.ntp
    expected = datetime(2018, 2, 27, 18, 34, 41, tzinfo=UTC).timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "Profile_2" and live is None
    assert record.uri == ("rtsp://127.0.0.1:554/Streaming/Channels/2?transportmode=unicast"
                          "&profile=Profile_2")


@pytest.mark.parametrize(("recording", "fault_key"), [
    (HIK, "GetServicesError.xml"), (DRN, "device.UnknownActionFault.xml")])
def test_a_get_services_the_camera_cannot_answer_falls_back_to_capabilities(
        recording: str, fault_key: str) -> None:
    """Neither fault says "not implemented": the Hikvision's is "the parameter value is
    illegal" (ter:InvalidArgVal, its answer to a GetServices it could not read), the DVC's a
    bare "method name or namespace not recognized" (Sender, no Subcode, HTTP 400 as
    text/html). Both are read as "GetServices is not to be had here": GetCapabilities next."""
    if recording == HIK:
        rec = hikvision_ds2cd2012i()
        rec.answers["device:GetServices"] = Refusal(sample(f"{HIK}/{fault_key}"), 400)
        tokens = ["Profile_1", "Profile_2"]
    else:
        rec, tokens = drn_on_ipd(), ["MainStream", "SubStream"]
    with CorpusCamera(rec, "admin", PASSWORD, HIKVISION_REFUSAL) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        keys = cam.keys()
    assert keys.index("device:GetServices") < keys.index("device:GetCapabilities")
    assert [p.token for p in facts.profiles] == tokens


def test_a_recorder_answering_as_text_html_is_read() -> None:
    """The DVC recorder labels every SOAP answer `text/html` (its manifest): the content is
    SOAP, so it is read; the make it writes, `--`, names nothing and is read as none (every
    use of the facts — the register, `kustosz cameras onvif`, the find page — says "?")."""
    with CorpusCamera(drn_on_ipd(), "admin", PASSWORD, HIKVISION_REFUSAL) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
    d = facts.device
    assert (d.make, d.model, d.firmware, d.serial, d.hardware_id) == (
        "", "DRN-3282R", "1.4.6.47791B211105", "REDACTED1", "REDACTED2")


def test_the_register_stores_a_placeholder_make_as_unknown(cli: Cli) -> None:
    """`--` names no make: the register says "?" as for a make left empty, never a string of
    dashes an office would read as the make."""
    secret = cli.data.parent / "haslo.txt"
    secret.write_text(PASSWORD + "\n")
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    cli("sites", "add", "Urząd Gminy")
    cli("zones", "add", "hol", "--site", "Urząd Gminy", "--kind", "corridor")
    with CorpusCamera(drn_on_ipd(), "admin", PASSWORD, HIKVISION_REFUSAL) as cam:
        said = cli("cameras", "add", "rejestrator", "--onvif", here(cam), "--user", "admin",
                   "--password-file", str(secret), "--site", "Urząd Gminy", "--zone", "hol",
                   "--purpose", "employee_safety", "--notice-date", "2026-01-01",
                   "--signage-date", "2026-01-10").output
    assert "camera rejestrator added: ? DRN-3282R, serial REDACTED1" in said, said
    (listed,) = json.loads(cli("cameras", "list", "--json").output)
    assert (listed["device"]["make"], listed["device"]["model"]) == ("?", "DRN-3282R")
