"""A Bosch FLEXIDOME indoor 5100i IR (firmware 8.71.0066) replayed from the capture onvif-go's
diagnostics tool made of it on 2025-11-10 (issue 47; tests/corpus/onvif/bosch-flexidome-5100i-ir,
provenance in the corpus README): each `capture_NNN.json` holds the camera's own answer
(`response_body`) beside the request that drew it. Kept apart from test_onvif_corpus.py, which
is past the size budget; the same fake camera and the same wordings of a refused token.

What the capture shows: GetCapabilities names Media at /onvif/media_service (GetServices was
not asked: the fake's own "not supported", so the GetCapabilities path); four H.264 Media1
profiles with numeric tokens, each with its own `rtsp_tunnel` address on the camera's default
RTSP port; a clock set by hand to 2023-05-24, 2.5 years behind the capture — which the camera,
as recorded, did not hold against the client's tokens."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest
from tests.conftest import Cli
from tests.onvif.corpus_camera import CorpusCamera, Refusal, bosch_flexidome_5100i, sample
from tests.onvif.test_onvif_corpus import PASSWORD, WORDINGS, here
from tests.support.onvif_camera import cameras_on_loopback

from kustosz.cameras.onvif_register import ProfileChoice, pick_profiles
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import read_camera, read_device

USER = "service"  # the account the capture was made with (its password is not ours to keep)
CLOCK = datetime(2023, 5, 24, 21, 25, 5, tzinfo=UTC)  # capture_002: Manual, TZ "UTC5:0"
PROFILES = [  # capture_005 and, for each token, its GetStreamUri (006-009)
    ("0", "Profile_L1S1", "H264", 1920, 1080, 30, 5200,
     "rtsp://127.0.0.1/rtsp_tunnel?p=0&line=1&inst=1&vcd=2"),
    ("1", "Profile_L1S2", "H264", 1536, 864, 30, 3400,
     "rtsp://127.0.0.1/rtsp_tunnel?p=1&line=1&inst=2&vcd=2"),
    ("2", "Profile_L1S3", "H264", 1280, 720, 30, 2400,
     "rtsp://127.0.0.1/rtsp_tunnel?p=2&line=1&inst=3&vcd=2"),
    ("3", "Profile_L1S4", "H264", 512, 288, 30, 400,
     "rtsp://127.0.0.1/rtsp_tunnel?p=3&line=1&inst=4&vcd=2")]


def test_each_capture_answers_the_request_it_was_recorded_for() -> None:
    """The replay's map is the capture's own: each file's request is the action (and, for
    GetStreamUri, the profile token) it answers for here, and its answer came with HTTP 200."""
    for key, name in bosch_flexidome_5100i().answers.items():
        assert isinstance(name, str)
        said = json.loads(sample(f"bosch-flexidome-5100i-ir/{name}"))
        action, _, token = key.partition(":")[2].partition("[")
        assert re.search(rf"<\w+:{action}\b", said["request_body"]), (key, name)
        if token:
            asked = re.search(r"<trt:ProfileToken>(.*?)</trt:ProfileToken>",
                              said["request_body"])
            assert asked is not None and asked.group(1) == token.rstrip("]"), (key, name)
        assert said["status_code"] == 200 and f"{action}Response>" in said["response_body"]


@pytest.mark.parametrize("maker", ["dahua", "hanwha"])
def test_a_bosch_is_read_through_its_capabilities_after_its_clock_is(maker: str) -> None:
    """The fake refuses a token not within 60 s of the camera's clock (as most cameras do):
    refused, the clock read without a password, the token made on the camera's time; Media
    from GetCapabilities; four profiles, each with its own address on the asked host."""
    with CorpusCamera(bosch_flexidome_5100i(), USER, PASSWORD, WORDINGS[maker]) as cam:
        facts = read_camera(parse_address(here(cam)), USER, PASSWORD)
        seen = cam.seen
    d = facts.device
    assert (d.make, d.model, d.firmware, d.serial, d.hardware_id) == (
        "Bosch", "FLEXIDOME indoor 5100i IR", "8.71.0066", "404754734001050102", "F000B543")
    keys = [s.key for s in seen]
    asked = keys.index("device:GetSystemDateAndTime")
    assert set(keys[:asked]) == {"device:GetDeviceInformation"}
    assert not any(s.authorised for s in seen[:asked + 1])
    assert seen[asked + 1].key == "device:GetDeviceInformation" and seen[asked + 1].authorised
    assert keys.index("device:GetServices") < keys.index("device:GetCapabilities")
    assert {s.path for s in seen if s.key.startswith("media:")} == {"/onvif/media_service"}
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps, p.uri)
            for p in facts.profiles] == PROFILES
    assert facts.clock is not None and not facts.clock.ntp
    expected = CLOCK.timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s
    record, live = pick_profiles(facts, ProfileChoice())
    # the largest recorded; live view the largest lighter H.264 (the rule, tested elsewhere)
    assert (record.token, live and live.token) == ("0", "1")
    assert record.uri == "rtsp://127.0.0.1/rtsp_tunnel?p=0&line=1&inst=1&vcd=2"


def test_a_bosch_that_accepts_a_token_off_its_clock_still_has_its_clock_read() -> None:
    """As recorded, the camera answered tokens made 2.5 years after its own time: no refusal,
    so no retry — the offset is still read (GetSystemDateAndTime) and kept."""
    recording = bosch_flexidome_5100i()
    recording.checks_time = False
    with CorpusCamera(recording, USER, PASSWORD, WORDINGS["vivotek"]) as cam:
        facts = read_camera(parse_address(here(cam)), USER, PASSWORD)
        device = read_device(parse_address(here(cam)), USER, PASSWORD)
        seen = cam.seen
    assert all(s.authorised for s in seen), [(s.key, s.authorised) for s in seen]
    assert [s.key for s in seen].count("device:GetSystemDateAndTime") == 1
    assert device == facts.device and device.make == "Bosch"
    assert [p.uri for p in facts.profiles] == [p[-1] for p in PROFILES]
    assert facts.clock is not None
    assert facts.clock.offset_s < -2.4 * 365 * 86400  # the camera behind by about 2.5 years


def test_the_commands_add_the_bosch_with_its_clock_said(cli: Cli) -> None:
    secret = cli.data.parent / "haslo.txt"
    secret.write_text(PASSWORD + "\n")
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    cli("sites", "add", "Urząd Gminy")
    cli("zones", "add", "hol", "--site", "Urząd Gminy", "--kind", "corridor")
    with CorpusCamera(bosch_flexidome_5100i(), USER, PASSWORD,
                      Refusal(WORDINGS["hikvision"].body, 401)) as cam:
        said = cli("cameras", "add", "hol-bosch", "--onvif", here(cam), "--user", USER,
                   "--password-file", str(secret), "--site", "Urząd Gminy", "--zone", "hol",
                   "--purpose", "employee_safety", "--notice-date", "2026-01-01",
                   "--signage-date", "2026-01-10").output
    assert "Bosch FLEXIDOME indoor 5100i IR, serial 404754734001050102, firmware 8.71.0066" \
        in said, said
    assert "records profile 0 (H264 1920x1080" in said, said
    assert "clock is" in said  # about 2.5 years off: said, not hidden
    (listed,) = json.loads(cli("cameras", "list", "--json").output)
    assert listed["url"] == "rtsp://127.0.0.1/rtsp_tunnel?p=0&line=1&inst=1&vcd=2"
    d = listed["device"]
    assert (d["make"], d["model"], d["serial"], d["record_profile"], d["live_profile"]) == (
        "Bosch", "FLEXIDOME indoor 5100i IR", "404754734001050102", "0", "1")
    assert PASSWORD not in said
