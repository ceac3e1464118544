"""Real cameras' answers (issue 47; tests/corpus/onvif/, provenance in its README) replayed by
a fake camera that checks the WS-Security digest as they do (tests/onvif/corpus_camera.py),
through the real code path: `read_camera` (onveef wrapped by Kustosz) and the register's add
(`kustosz cameras add --onvif`, `kustosz cameras onvif`).

The recorded device (IPD-H4K8M05-BS) had its clock set by hand to 2025-04-06: a client that
trusts its own clock is refused until it reads the camera's and retries — the clock-offset
retry. The refusals of a token use the wordings real firmware is reported to use (Hikvision,
Vivotek, Dahua, Hanwha; HTTP 400 or 401 with the SOAP body). The camera's "not implemented"
answer to GetServices (the faults recorded from a SUNBA and from this device) falls back to
GetCapabilities. Bad input: a fault for every call, an answer that is not XML, an XML bomb —
each a clear refusal in bounded calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.conftest import Cli
from tests.onvif.corpus_camera import (
    NO_ANSWER,
    CorpusCamera,
    Recording,
    Refusal,
    axis_q6045e,
    dahua,
    dlink_dcs6511,
    enp1a14,
    fault_envelope,
    hikvision_ds2df7276,
    ipd_h4k8m05,
    pelco_d6230l,
    sample,
    trendnet_tvip320pi,
    xm530,
)
from tests.support.onvif_camera import cameras_on_loopback

from kustosz.cameras.onvif_register import ProfileChoice, pick_profiles
from kustosz.errors import InputError
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import (
    OnvifRefused,
    OnvifUnreachable,
    OnvifUnsupported,
    read_camera,
    read_device,
)

PASSWORD = "haslo-kamery-9"

# Wordings real firmware is reported to use for a token it refuses (README "Wordings"): the
# envelope around each is the test's own.
WORDINGS = {
    "hikvision": Refusal(fault_envelope("The action requested requires authorization and the "
                                        "sender is not authorized", "ter:NotAuthorized"), 401),
    "vivotek": Refusal(fault_envelope("An error was discovered processing the "
                                      "&lt;wsse:Security&gt; header.", "ter:NotAuthorized")),
    "dahua": Refusal(fault_envelope("Wsse authorized time check failed.")),
    "hanwha": Refusal(fault_envelope("The security token could not be authenticated or "
                                     "authorized", "wsse:FailedAuthentication")),
}


def here(cam: CorpusCamera) -> str:
    return f"127.0.0.1:{cam.port}"


@pytest.fixture(params=sorted(WORDINGS))
def wording(request: pytest.FixtureRequest) -> Refusal:
    return WORDINGS[request.param]


def test_the_recorded_camera_is_read_after_its_clock_is(wording: Refusal) -> None:
    with CorpusCamera(ipd_h4k8m05(), "admin", PASSWORD, wording) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        keys, seen = cam.keys(), cam.seen
    d = facts.device
    assert (d.make, d.model, d.serial, d.firmware, d.hardware_id) == (
        "", "IPD-H4K8M05-BS", "071D3E36963F", "V1.04.10-190309", "1.0")
    assert [(p.token, p.encoding, p.width, p.height, p.bitrate_kbps) for p in facts.profiles] \
        == [("MainStream", "H264", 2592, 1944, 5120), ("SubStream", "H264", 640, 480, 1024)]
    # the address the camera gave, its host re-pointed at the one asked (it named its own LAN)
    assert facts.profiles[0].uri == "rtsp://127.0.0.1:554/1/h264major"
    assert facts.profiles[1].uri == ""  # the corpus holds no address for the sub-stream
    assert facts.clock is not None
    expected = datetime(2025, 4, 6, 17, 38, 53, tzinfo=UTC).timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s
    assert not facts.clock.ntp
    # refused with this machine's time, read the camera's clock unauthenticated, retried
    asked = keys.index("device:GetSystemDateAndTime")
    assert set(keys[:asked]) == {"device:GetDeviceInformation"}
    assert not any(s.authorised for s in seen[:asked]) and not seen[asked].authorised
    assert seen[asked + 1].key == "device:GetDeviceInformation" and seen[asked + 1].authorised


def test_a_wrong_password_is_said_so_whatever_the_wording(wording: Refusal) -> None:
    with CorpusCamera(ipd_h4k8m05(), "admin", PASSWORD, wording) as cam:
        started = time.monotonic()
        with pytest.raises(OnvifRefused) as refused:
            read_camera(parse_address(here(cam)), "admin", "zle-haslo-7", timeout_s=2)
        assert time.monotonic() - started < 10
        assert len(cam.seen) <= 8, cam.keys()  # one clock retry, no loop
    said = refused.value.pl or ""
    assert said.startswith(f"Kamera {here(cam)} odrzuciła nazwę użytkownika lub hasło")
    assert "zle-haslo-7" not in said + str(refused.value)


def test_media2_is_preferred_where_the_camera_offers_it(wording: Refusal) -> None:
    with CorpusCamera(xm530(), "admin", PASSWORD, wording) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        keys = cam.keys()
    assert "media2:GetProfiles" in keys and "media2:GetStreamUri" in keys
    assert not [k for k in keys if k.startswith("media:")], keys  # Media1 never asked
    d = facts.device
    assert (d.make, d.model, d.serial) == ("H264", "XM530_50X50-WG_8M", "f0d2d8a9c5380a0f")
    assert [(p.token, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps)
            for p in facts.profiles] == [("000", "H264", 2592, 1944, 12, 2205),
                                          ("001", "H264", 704, 480, 12, 551)]
    main = facts.profiles[0]
    assert main.uri == ("rtsp://127.0.0.1:554/user=admin_password=_channel=1_stream=0"
                        "&protocol=unicast&onvif=ture.sdp?real_stream")
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "000" and live is None  # no address recorded for "001"
    assert facts.clock is not None
    expected = datetime(2025, 4, 27, 1, 27, 42, tzinfo=UTC).timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s


@pytest.mark.parametrize("fault", ["sunba/Fault.xml", "ipd-h4k8m05-bs/Fault.xml"])
def test_services_not_implemented_falls_back_to_capabilities(fault: str) -> None:
    recording = ipd_h4k8m05()
    body = sample(fault)
    recording.answers["device:GetServices"] = Refusal(body, 500 if "Receiver" in body else 400)
    with CorpusCamera(recording, "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        keys = cam.keys()
    assert "device:GetServices" in keys and "device:GetCapabilities" in keys
    assert [p.token for p in facts.profiles] == ["MainStream", "SubStream"]
    assert facts.profiles[0].uri == "rtsp://127.0.0.1:554/1/h264major"


def test_a_dahua_without_get_services_is_read_through_its_capabilities() -> None:
    from kustosz.onvif.client import Client

    with CorpusCamera(dahua(), "admin", PASSWORD, WORDINGS["dahua"]) as cam, \
            Client("127.0.0.1", cam.port, "admin", PASSWORD, retries=0, timeout_s=2,
                   http_auth="digest") as client:
        services = client.discover_services()
        uri = client.get_stream_uri(profile_token="MediaProfile00000")
        keys = cam.keys()
    assert services["media"] == f"http://127.0.0.1:{cam.port}/onvif/media_service"
    assert uri == "rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=1&unicast=true" \
                  "&proto=Onvif"
    assert keys[:2] == ["device:GetServices", "device:GetCapabilities"]


@pytest.mark.parametrize("folder,expected", [
    ("ipd-h4k8m05-bs", ("", "IPD-H4K8M05-BS", "071D3E36963F", "V1.04.10-190309")),
    ("xm530-sunba", ("H264", "XM530_50X50-WG_8M", "f0d2d8a9c5380a0f",
                     "V5.00.R02.L5330747.10010.349917..ONVIF 16.12")),
    ("enp1a14-ir-25x", ("ONVIF", "ENP1A14-IR/25X", "ENP1A14-IR/25X20190430AAWRD14878498W",
                        "V5.5.3 build 180822")),
    ("gx728mf-ir28", ("NONE", "GX728MF-IR28", "210235T8HQ3197000191",
                      "IPC_G6106-B0005P11D1812C03")),
    ("axis-q6045-e", ("AXIS", "AXIS Q6045-E", "00408CFAB754", "5.55.1.2")),
    ("hikvision-ds-2df7276-ael", ("HIKVISION", "DS-2DF7276-AEL",
                                  "DS-2DF7276-AEL20140613CCWR468714298B",
                                  "V5.1.6 build 140401")),
    ("pelco-d6230l", ("Pelco", "D6230L", "J250117", "2.9.0.4.9340-A0.0")),
    ("trendnet-tv-ip320pi", ("TRENDnet", "TV-IP320PI", "TV-IP320PI20161206AAWR863642784",
                             "V5.3.4 build 160830")),
])
def test_a_found_camera_tells_its_device_facts(folder: str,
                                               expected: tuple[str, ...]) -> None:
    """What `kustosz cameras discover --user` shows of each found camera (read_device)."""
    recording = Recording(folder, {"device:GetDeviceInformation":
                                   "GetDeviceInformationResponse.xml"}, clock=datetime.now(UTC))
    with CorpusCamera(recording, "admin", PASSWORD, WORDINGS["vivotek"]) as cam:
        d = read_device(parse_address(here(cam)), "admin", PASSWORD)
    assert (d.make, d.model, d.serial, d.firmware) == expected


def test_a_dlink_whose_services_all_live_at_the_device_address() -> None:
    """D-Link's GetCapabilities names /onvif/device_service for Media too: its profiles are
    read there; with no stream address for any profile, the add says exactly that."""
    from kustosz.onvif.client import Client
    from kustosz.onvif.device import CameraFacts, DeviceFacts, _profile, _profiles, _uri

    with CorpusCamera(dlink_dcs6511(), "admin", PASSWORD, WORDINGS["hikvision"]) as cam, \
            Client("127.0.0.1", cam.port, "admin", PASSWORD, retries=0, timeout_s=2,
                   http_auth="digest") as client:
        profiles = tuple(_profile(p, _uri(client, str(p["token"]), parse_address(here(cam))))
                         for p in _profiles(client))
        seen = cam.seen
    assert [(p.token, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps) for p in profiles] \
        == [("Profile1", "H264", 1280, 1024, 7, 4096), ("Profile2", "H264", 640, 480, 30, 2048)]
    assert {s.path for s in seen if s.key.startswith("media:")} == {"/onvif/device_service"}
    facts = CameraFacts(parse_address(here(cam)), DeviceFacts("", "", "", "", ""), profiles,
                        None)
    with pytest.raises(InputError) as refused:
        pick_profiles(facts, ProfileChoice())
    assert "nie podaje adresu strumienia" in (refused.value.pl or "")
    assert "Profile1, Profile2" in (refused.value.pl or "")


def test_a_hikvision_is_read_over_its_services_after_its_clock_is(wording: Refusal) -> None:
    """HIKVISION DS-2DF7276-AEL (onvif-nvt's recording): its clock set by hand to 2018 is
    read without a password and allowed for; GetServices names Media1 at /onvif/Media; three
    H.264 profiles; the main stream's address (RTSP on port 80) is kept on the camera's own
    host. No address is recorded for the sub-streams: live view is the recorded stream."""
    with CorpusCamera(hikvision_ds2df7276(), "admin", PASSWORD, wording) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    d = facts.device
    assert (d.make, d.model, d.serial, d.firmware, d.hardware_id) == (
        "HIKVISION", "DS-2DF7276-AEL", "DS-2DF7276-AEL20140613CCWR468714298B",
        "V5.1.6 build 140401", "88")
    assert ("media:GetProfiles", "/onvif/Media") in seen
    assert "device:GetCapabilities" not in [k for k, _ in seen]  # GetServices answered
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps)
            for p in facts.profiles] == [
        ("Profile_1", "mainStream", "H264", 1280, 720, 10, 4096),
        ("Profile_2", "subStream", "H264", 704, 480, 30, 1024),
        ("Profile_3", "thirdStream", "H264", 704, 480, 30, 1024)]
    assert facts.clock is not None and not facts.clock.ntp
    expected = datetime(2018, 2, 25, 16, 59, 2, tzinfo=UTC).timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "Profile_1" and live is None
    assert record.uri == ("rtsp://127.0.0.1:80/Streaming/Channels/1?transportmode=unicast"
                          "&profile=Profile_1")


def test_an_axis_whose_media_service_is_at_onvif_services() -> None:
    """AXIS Q6045-E (onvif-nvt's recording): GetServices not answered (not in the stored
    text: the fake's own "not supported"), so GetCapabilities, which names /onvif/services for
    Media; an H.264 and a JPEG profile, BitrateLimit 0 (no limit) read as no bitrate; the
    only recorded stream address is the JPEG profile's — listed on the camera's host, never
    proposed for recording, and the add says the H.264 profile has no address."""
    with CorpusCamera(axis_q6045e(), "admin", PASSWORD, WORDINGS["vivotek"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    d = facts.device
    assert (d.make, d.model, d.serial, d.hardware_id) == (
        "AXIS", "AXIS Q6045-E", "00408CFAB754", "1C9.2")
    keys = [k for k, _ in seen]
    assert keys.index("device:GetServices") < keys.index("device:GetCapabilities")
    assert {p for k, p in seen if k.startswith("media:")} == {"/onvif/services"}
    assert [(p.token, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps, p.uri)
            for p in facts.profiles] == [
        ("profile_1_h264", "H264", 1280, 720, 30, None, ""),
        ("profile_1_jpeg", "JPEG", 1280, 720, 30, None,
         "rtsp://127.0.0.1/onvif-media/media.amp?profile=profile_1_jpeg&sessiontimeout=60"
         "&streamtype=unicast")]
    assert facts.clock is not None and facts.clock.ntp
    with pytest.raises(InputError) as refused:
        pick_profiles(facts, ProfileChoice())
    said = refused.value.pl or ""
    assert "nie podaje adresu strumienia" in said and "profile_1_h264" in said, said
    assert "profile_1_jpeg" not in said


def test_a_pelco_whose_clock_was_never_set_and_gives_an_http_address() -> None:
    """Pelco D6230L (onvif-nvt's recording): a clock at 1970-01-02 (never set) is read and
    allowed for; Media from GetCapabilities; the address recorded for profile "0" is the
    answer to an RTP-over-HTTP request (http://…:86/stream1_v): not an RTSP address, so it is
    never recorded, and the add says no H.264 profile has a stream address."""
    with CorpusCamera(pelco_d6230l(), "admin", PASSWORD, WORDINGS["dahua"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    d = facts.device
    assert (d.make, d.model, d.serial, d.firmware, d.hardware_id) == (
        "Pelco", "D6230L", "J250117", "2.9.0.4.9340-A0.0", "00:04:7d:0e:b8:5c")
    assert ("media:GetStreamUri", "/onvif/media_service") in seen
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps, p.uri)
            for p in facts.profiles] == [
        ("0", "Primary", "H264", 1920, 1080, 30, 6000, ""),
        ("1", "Secondary", "JPEG", 1920, 1080, 5, 5000, "")]
    assert facts.clock is not None and not facts.clock.ntp
    expected = datetime(1970, 1, 2, 0, 31, 54, tzinfo=UTC).timestamp() - time.time()
    assert abs(facts.clock.offset_s - expected) < 5 + facts.clock.round_trip_s
    with pytest.raises(InputError) as refused:
        pick_profiles(facts, ProfileChoice())
    said = refused.value.pl or ""
    assert "nie podaje adresu strumienia" in said and "(0)" in said, said
    assert "10.10.1.66" not in said + str(refused.value)


def test_a_trendnet_with_a_jpeg_sub_stream_is_watched_live_on_its_recorded_stream() -> None:
    """TRENDnet TV-IP320PI (onvif-nvt's recording; Hikvision's numbering): GetServices,
    an H.264 main stream with its address (RTSP on port 80) and a JPEG sub-stream (no
    address published for it, and not H.264): live view is the recorded stream."""
    with CorpusCamera(trendnet_tvip320pi(), "admin", PASSWORD, WORDINGS["hanwha"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    d = facts.device
    assert (d.make, d.model, d.serial, d.hardware_id) == (
        "TRENDnet", "TV-IP320PI", "TV-IP320PI20161206AAWR863642784", "88")
    assert ("media:GetProfiles", "/onvif/Media") in seen
    assert [(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps)
            for p in facts.profiles] == [
        ("Profile_1", "mainStream", "H264", 1280, 720, 30, 2048),
        ("Profile_2", "subStream", "JPEG", 352, 240, 30, 512)]
    assert facts.clock is not None and facts.clock.ntp
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "Profile_1" and live is None
    assert record.uri == ("rtsp://127.0.0.1:80/Streaming/Channels/101?transportmode=unicast"
                          "&profile=Profile_1")


def test_media2_profiles_without_their_configurations_are_completed_from_media1() -> None:
    """The ENP1A14-IR/25X answers Media2's GetProfiles with names and tokens only (empty
    Configurations): Kustosz asks Media1 for the encoder settings of those tokens; where Media1
    gives none either (not recorded: the fake's "not supported"), the profiles are listed as
    given, and the add says what the camera did not tell (encoding, stream address) instead
    of asking to "set H.264" or recording a guess."""
    with CorpusCamera(enp1a14(), "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    assert seen[:4] == [("device:GetDeviceInformation", "/onvif/device_service"),
                        ("device:GetServices", "/onvif/device_service"),
                        ("media2:GetProfiles", "/onvif/Media2"),
                        ("media:GetProfiles", "/onvif/Media")]
    assert ("media2:GetStreamUri", "/onvif/Media2") in seen  # asked for each, answered none
    d = facts.device
    assert (d.make, d.model, d.serial, d.hardware_id) == (
        "ONVIF", "ENP1A14-IR/25X", "ENP1A14-IR/25X20190430AAWRD14878498W", "88")
    assert [(p.token, p.name, p.encoding, p.width, p.uri) for p in facts.profiles] == [
        ("Profile_1", "mainStream", "", None, ""), ("Profile_2", "subStream", "", None, ""),
        ("Profile_3", "thirdStream", "", None, "")]
    with pytest.raises(InputError) as refused:
        pick_profiles(facts, ProfileChoice())
    said = refused.value.pl or ""
    # what the camera did not say, not "set H.264" (it may well be sending H.264)
    assert said.startswith("Kamera nie podaje kodowania swoich profili obrazu "
                           "(Profile_1, Profile_2, Profile_3) ani adresu strumienia"), said
    assert "ustaw strumień H.264" not in said and "offers only" not in str(refused.value)


def test_media2_listed_but_not_implemented_falls_back_to_media1() -> None:
    """A camera that lists Media2 in GetServices and answers its GetProfiles "Optional Action
    Not Implemented" (reported of Hikvision firmware, rvi/ONVIFCamera#4) is read over Media1.
    The recordings are of two devices, said here: the XM530's GetServices (Media1 and Media2
    listed), SUNBA's recorded fault as Media2's answer, and the IPD-H4K8M05-BS's Media1
    profiles and stream address — the path is what is tested, not one device."""
    recording = xm530()
    recording.answers = {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media2:GetProfiles": "../sunba/Fault.xml",
        "media:GetProfiles": "../ipd-h4k8m05-bs/GetProfilesResponse.xml",
        "media:GetStreamUri": "../ipd-h4k8m05-bs/GetStreamUriResponse.xml"}
    recording.streams_for = ("MainStream",)
    with CorpusCamera(recording, "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
        seen = [(s.key, s.path) for s in cam.seen]
    media = [k for k in seen if k[0].startswith(("media:", "media2:"))]
    assert media[:2] == [("media2:GetProfiles", "/onvif/Media2"),
                         ("media:GetProfiles", "/onvif/Media")]
    assert ("media:GetStreamUri", "/onvif/Media") in seen
    assert not [k for k, _ in seen if k == "media2:GetStreamUri"]  # Media2 never asked again
    assert [(p.token, p.encoding, p.width) for p in facts.profiles] == [
        ("MainStream", "H264", 2592), ("SubStream", "H264", 640)]
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.uri == "rtsp://127.0.0.1:554/1/h264major" and live is None


def test_the_live_view_is_the_recorded_stream_when_no_lighter_h264_has_an_address() -> None:
    with CorpusCamera(ipd_h4k8m05(), "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
    record, live = pick_profiles(facts, ProfileChoice())
    assert record.token == "MainStream" and live is None


def test_a_camera_giving_no_stream_address_is_told_so() -> None:
    recording = ipd_h4k8m05()
    recording.streams_for = ("none-recorded",)  # GetStreamUri answered for no profile
    with CorpusCamera(recording, "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
    with pytest.raises(InputError) as refused:
        pick_profiles(facts, ProfileChoice())
    said = refused.value.pl or ""
    assert "adresu strumienia" in said and "H.264 w ustawieniach" not in said, said
    assert "offers only" not in str(refused.value)


# -- the command an administrator runs -----------------------------------------------------
@pytest.fixture
def office(cli: Cli) -> Iterator[tuple[Cli, CorpusCamera]]:
    (cli.data.parent / "haslo.txt").write_text(PASSWORD + "\n")
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    cli("sites", "add", "Urząd Gminy")
    cli("zones", "add", "hol", "--site", "Urząd Gminy", "--kind", "corridor")
    with CorpusCamera(ipd_h4k8m05(), "admin", PASSWORD, WORDINGS["dahua"]) as cam:
        yield cli, cam


def test_the_commands_show_and_add_the_recorded_camera(office: tuple[Cli, CorpusCamera]) \
        -> None:
    cli, cam = office
    secret = str(cli.data.parent / "haslo.txt")
    shown = json.loads(cli("cameras", "onvif", here(cam), "--user", "admin",
                           "--password-file", secret, "--json").output)
    assert shown["device"]["serial"] == "071D3E36963F"
    assert (shown["record"], shown["live"]) == ("MainStream", None)
    said = cli("cameras", "add", "hol-ptz", "--onvif", here(cam), "--user", "admin",
               "--password-file", secret, "--site", "Urząd Gminy", "--zone", "hol",
               "--purpose", "employee_safety", "--notice-date", "2026-01-01",
               "--signage-date", "2026-01-10").output
    assert "IPD-H4K8M05-BS, serial 071D3E36963F, firmware V1.04.10-190309" in said
    assert "records profile MainStream (H264 2592x1944 25 kl./s)" in said
    assert "live view: the recorded stream" in said
    assert "clock is" in said  # off by about 600 days: said, not hidden
    (listed,) = json.loads(cli("cameras", "list", "--json").output)
    assert listed["url"] == "rtsp://127.0.0.1:554/1/h264major"
    d = listed["device"]
    assert (d["make"], d["model"], d["serial"], d["record_profile"], d["live_profile"]) == (
        "?", "IPD-H4K8M05-BS", "071D3E36963F", "MainStream", None)
    assert PASSWORD not in said


def test_an_answer_kustosz_cannot_use_during_the_clock_check_is_an_alert_naming_it(
        office: tuple[Cli, CorpusCamera]) -> None:
    from sqlalchemy import select

    from kustosz.cameras.onvif_clock import check_camera, target_of
    from kustosz.db.models import Alert
    from kustosz.ingest.refusals import refused
    from kustosz.states import AlertRow
    from kustosz.vault import Vault

    cli, cam = office
    cli("cameras", "add", "hol-ptz", "--onvif", here(cam), "--user", "admin",
        "--password-file", str(cli.data.parent / "haslo.txt"), "--site", "Urząd Gminy",
        "--zone", "hol", "--purpose", "employee_safety", "--notice-date", "2026-01-01",
        "--signage-date", "2026-01-10")
    vault = Vault.open(cli.data)
    with vault.reading() as s:
        target = target_of(s, "hol-ptz")
    cam.answer_all = Refusal("<html><body>Zaloguj się</body></html>", 200)  # a proxy's page
    check = check_camera(vault, target, vault.config.cameras, refuse=refused)
    assert check.error is not None and check.offset_s is None
    with vault.reading() as s:
        rows = {a.kind: a.message for a in s.execute(select(Alert)).scalars()}
    assert "kamera hol-ptz" in rows[AlertRow.INPUT_REFUSED]
    assert "nie jest czytelnym dokumentem XML" in rows[AlertRow.INPUT_REFUSED]
    assert rows[AlertRow.CAMERA_ONVIF_UNREACHABLE].startswith("Kamera hol-ptz")


# -- hostile neighbours ----------------------------------------------------------------------
BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<tds:GetDeviceInformationResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        "<tds:Manufacturer>&lol3;</tds:Manufacturer></tds:GetDeviceInformationResponse>"
        "</s:Body></s:Envelope>")


@pytest.mark.parametrize("answer,expected", [
    (Refusal("<html><body>Router</body></html>", 200), OnvifUnreachable),
    (Refusal("to nie jest XML \x00\x01", 200), OnvifUnreachable),
    (Refusal(BOMB, 200), OnvifUnreachable),
    (Refusal(sample("sunba/Fault.xml"), 500), OnvifUnsupported),  # a fault for every call
    (WORDINGS["hikvision"], OnvifRefused),  # "not authorized" for every call, clock too
    (NO_ANSWER, OnvifUnsupported),
], ids=["html", "not-xml", "xml-bomb", "fault-loop", "refusal-loop", "no-answer"])
def test_hostile_answers_are_refused_plainly_in_bounded_calls(
        answer: Refusal, expected: type[Exception]) -> None:
    recording = Recording("ipd-h4k8m05-bs", {}, clock=datetime.now(UTC))
    with CorpusCamera(recording, "admin", PASSWORD, answer, answer_all=answer) as cam:
        started = time.monotonic()
        with pytest.raises(expected) as refused:
            read_camera(parse_address(here(cam)), "admin", PASSWORD, timeout_s=2)
        assert time.monotonic() - started < 10
        assert len(cam.seen) <= 8, cam.keys()
    said = getattr(refused.value, "pl", None) or ""
    assert said.startswith(("Kamera", "Urządzenie")) and "lol" not in said


def test_discovery_names_are_decoded() -> None:
    from onveef import wsdiscovery

    from kustosz.onvif.discovery import found_of

    # the sample is stored as the Rust test holds it: indented, so stripped here
    answers = wsdiscovery.parse_probe_matches(sample("onvif-apg/ProbeMatches.xml").strip())
    (found,) = found_of(answers)
    assert (found.name, found.hardware, found.location) == ("VENDOR MODEL", "MODEL", "ANY")
    assert str(found.address) == "http://169.254.76.145/onvif/services"


def test_an_h265_sub_stream_is_never_proposed_for_live_view() -> None:
    """A browser plays H.264: a camera whose sub-stream is H.265 is watched live on its
    recorded stream, and `kustosz cameras onvif` proposes the same as the register."""
    from kustosz.onvif.device import CameraFacts, DeviceFacts, StreamProfile

    main = StreamProfile("main", "main", "H264", 1920, 1080, 25, 4096, "rtsp://10.0.0.5/main")
    sub = StreamProfile("sub", "sub", "H265", 640, 360, 25, 512, "rtsp://10.0.0.5/sub")
    facts = CameraFacts(parse_address("10.0.0.5"), DeviceFacts("", "", "", "", ""),
                        (main, sub), None)
    assert facts.live_profile() is None
    assert pick_profiles(facts, ProfileChoice()) == (main, None)


def test_a_stream_address_naming_another_host_is_held_to_the_camera_without_the_library(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 48 item 12: the recorded camera names its own LAN address (192.168.…) in
    GetStreamUri; the recorder must ask only the host that was checked against
    `[cameras] networks`, and Kustosz holds that itself — here with onveef's `rewrite_host`
    turned off, as a change of its default would."""
    from onveef import transport

    monkeypatch.setattr(transport.SyncTransport, "_fix_url", lambda self, url: url)
    with CorpusCamera(ipd_h4k8m05(), "admin", PASSWORD, WORDINGS["hikvision"]) as cam:
        facts = read_camera(parse_address(here(cam)), "admin", PASSWORD)
    record, _live = pick_profiles(facts, ProfileChoice())
    assert record.uri == "rtsp://127.0.0.1:554/1/h264major"


@pytest.mark.parametrize(("said", "kept"), [
    ("rtsp://192.168.1.64:554/Streaming/Channels/101",
     "rtsp://10.0.5.7:554/Streaming/Channels/101"),
    ("rtsp://127.0.0.1:5432/", "rtsp://10.0.5.7:5432/"),
    ("RTSP://169.254.169.254/latest", "rtsp://10.0.5.7/latest"),
    ("rtsp://admin:x@[fe80::1]:8554/a?b=1", "rtsp://admin:x@10.0.5.7:8554/a?b=1"),
    ("rtsps://cam.example.pl/s", "rtsps://10.0.5.7/s"),
    ("http://10.0.5.7/mjpeg", ""), ("file:///etc/shadow", ""), ("/relative/path", ""),
    ("rtsp://", ""), ("rtsp://host:99999999/", ""), ("", ""),
])
def test_every_stream_address_is_on_the_cameras_own_host(said: str, kept: str) -> None:
    from kustosz.onvif.device import at_camera

    assert at_camera(said, parse_address("10.0.5.7")) == kept
