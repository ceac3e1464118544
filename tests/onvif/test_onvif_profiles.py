"""Which of a camera's media profiles is recorded and which watched live (issue 34 item 2), as a
rule over what cameras offer. The virtual camera (ipycam) offers only two H.264 profiles, so
the cameras that offer only MJPEG, only H.265 or a profile without a stream address are given
here as the data `read_camera` would make of their answers — the rule is tested, not a camera.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kustosz.cameras.onvif_register import (
    LIVE_ENCODINGS,
    RECORDABLE,
    ProfileChoice,
    pick_profiles,
    stream_address,
)
from kustosz.errors import InputError
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import CameraFacts, DeviceFacts, StreamProfile

DEVICE = DeviceFacts("Axis", "P3245-LV", "10.12.1", "ACCC8E000001", "")


def profile(token: str, encoding: str = "H264", width: int = 1920, height: int = 1080,
            uri: str | None = None) -> StreamProfile:
    return StreamProfile(token, token, encoding, width, height, 25.0, 4000,
                         f"rtsp://10.0.0.5/{token}" if uri is None else uri)


def facts(*profiles: StreamProfile) -> CameraFacts:
    return CameraFacts(parse_address("10.0.0.5"), DEVICE, profiles, None)


def test_the_largest_recordable_profile_is_recorded_and_a_lighter_h264_one_watched() -> None:
    record, live = pick_profiles(facts(profile("sub", width=640, height=360),
                                       profile("main"), profile("mid", width=1280, height=720)),
                                 ProfileChoice())
    assert (record.token, live and live.token) == ("main", "mid")


def test_a_camera_offering_only_mjpeg_is_told_what_is_supported() -> None:
    with pytest.raises(InputError) as refused:
        pick_profiles(facts(profile("a", "JPEG"), profile("b", "JPEG", 640, 360)),
                      ProfileChoice())
    assert "offers only JPEG; Kustosz records H.264 or H.265" in str(refused.value)
    assert "Kustosz nagrywa obraz H.264 lub H.265" in (refused.value.pl or "")


def test_a_camera_offering_only_h265_records_it_and_watches_it_without_a_sub_stream() -> None:
    record, live = pick_profiles(facts(profile("main", "H265"),
                                       profile("sub", "H265", 640, 360)), ProfileChoice())
    assert record.token == "main" and live is None  # a browser plays no H.265


def test_a_profile_without_a_stream_address_is_never_recorded() -> None:
    record, _ = pick_profiles(facts(profile("meta", uri=""), profile("main", width=1280,
                                                                     height=720)),
                              ProfileChoice())
    assert record.token == "main"
    with pytest.raises(InputError) as refused:
        pick_profiles(facts(profile("meta", uri="")), ProfileChoice(record="meta"))
    assert "gives no stream address for profile 'meta'" in str(refused.value)


@pytest.mark.parametrize("choice,said", [
    (ProfileChoice(record="mj"), "profile 'mj' is JPEG; Kustosz records H.264 or H.265"),
    (ProfileChoice(live="mj"), "live view plays H.264 only"),
    (ProfileChoice(record="nie-ma"), "no media profile 'nie-ma' for recording"),
])
def test_a_chosen_profile_that_cannot_serve_is_refused(choice: ProfileChoice, said: str) -> None:
    with pytest.raises(InputError) as refused:
        pick_profiles(facts(profile("main"), profile("mj", "JPEG", 640, 360)), choice)
    assert said in str(refused.value)
    assert refused.value.pl


@pytest.mark.parametrize("uri,said", [
    ("rtsp://[x/a", "cannot be read as an address"),  # a hostile camera's answer
    ("rtsp://10.0.0.5/" + "a" * 1000, "longer than 900 characters"),
])
def test_a_stream_address_no_register_could_keep_is_refused(uri: str, said: str) -> None:
    with pytest.raises(InputError) as refused:
        pick_profiles(facts(profile("main", uri=uri)), ProfileChoice(record="main"))
    assert said in str(refused.value) and refused.value.pl


def test_a_stream_address_that_is_not_rtsp_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        pick_profiles(facts(profile("main", uri="http://10.0.0.5/video.mjpg")),
                      ProfileChoice(record="main"))
    assert "profile 'main'" in str(refused.value) and "rtsp://" in str(refused.value)


def test_credentials_a_camera_puts_in_its_stream_address_are_not_kept() -> None:
    record, _ = pick_profiles(facts(profile("main", uri="rtsp://admin:x@10.0.0.5/s")),
                              ProfileChoice())
    assert stream_address(record) == "rtsp://10.0.0.5/s"


ENCODINGS = st.sampled_from(["H264", "H265", "JPEG", "MPEG4", ""])
PROFILES = st.lists(st.builds(
    profile, token=st.text("abcdef", min_size=1, max_size=3), encoding=ENCODINGS,
    width=st.integers(0, 4000), height=st.integers(0, 3000),
    uri=st.sampled_from(["", "rtsp://10.0.0.5/s", None])), max_size=6,
    unique_by=lambda p: p.token)


@given(PROFILES)
def test_whatever_a_camera_offers_the_pick_is_recordable_and_live_is_lighter_h264(
        offered: list[StreamProfile]) -> None:
    try:
        record, live = pick_profiles(facts(*offered), ProfileChoice())
    except InputError as exc:
        assert exc.pl  # refused plainly, in Polish too
        assert not any(p.encoding in RECORDABLE and p.uri for p in offered)
        return
    assert record.encoding in RECORDABLE and record.uri
    assert all(record.pixels >= p.pixels for p in offered
               if p.encoding in RECORDABLE and p.uri)
    if live is not None:
        assert live.encoding in LIVE_ENCODINGS and live.uri
        assert live.token != record.token and live.pixels < record.pixels
