"""R1.3's check read off an MPEG-TS file's own tables (issue 68 item 4, `ingest/ts_tables.py`):
a camera segment that is plainly picture alone is answered without ffmpeg; anything that could
hide sound — a sound track listed, a stream the PMT does not name, a PMT that changes mid-file,
another layout — is left to ffmpeg. The promise attacked here: the tables never say "no sound"
where ffmpeg (`av.open`) finds some."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from camera_helpers import make_ts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sound_r1_3 import with_sound
from tests.support.mpegts_corpus import SHA256, corpus_ts

from kustosz.ingest import sound_strip
from kustosz.ingest.ts_tables import PACKET, video_alone

PMT_TYPES_AT = 17  # the first stream's type in ffmpeg's PMT packet: 4 + pointer + 12 bytes


def _ffmpeg_sees(path: Path) -> tuple[int, int] | None:
    try:
        with av.open(str(path)) as c:
            return len(c.streams.video), len(c.streams.audio)
    except av.error.FFmpegError:
        return None


def _pid(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def _packets(data: bytes) -> list[bytearray]:
    return [bytearray(data[i:i + PACKET]) for i in range(0, len(data), PACKET)]


def _pmt_pid(packets: list[bytearray]) -> int:
    pat = next(p for p in packets if _pid(p) == 0)  # ffmpeg's SDT comes first
    return ((pat[15] & 0x1F) << 8) | pat[16]  # one program, as ffmpeg writes it


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ts")
    return {"picture": make_ts(folder / "picture.ts", 3),
            "sound": with_sound(folder / "sound.ts", 2)}


def test_a_camera_segment_is_answered_by_its_tables_as_ffmpeg_would(
        clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert video_alone(clips["picture"]) == 1
    assert _ffmpeg_sees(clips["picture"]) == (1, 0)
    # and R1.3's check takes the answer without opening the file with ffmpeg
    monkeypatch.setitem(__import__("sys").modules, "av", None)
    assert sound_strip._streams(clips["picture"]) == (1, 0, "mpegts")


def test_a_segment_with_sound_is_left_to_ffmpeg(clips: dict[str, Path]) -> None:
    assert video_alone(clips["sound"]) is None
    assert sound_strip._streams(clips["sound"]) == (1, 1, "mpegts")


# Written by others (tests/corpus/mpegts/README.md): picture alone from two other muxers is
# answered by the tables; every file with sound — also Opus as private data (0x06), a sound
# track listed and never sent, sound without picture — is left to ffmpeg.
CORPUS_ANSWERS = {
    "shaka-hls-multivideo-blue_1.ts": 1,
    "shaka-video.ts": 1,  # its PMT on PID 0x20, not ffmpeg's 0x1000
    "muxjs-test-middle-pat-pmt.ts": None,
    "muxjs-test-no-audio-segment.ts": None,
    "shaka-hls-text-offset-video-0000000072.ts": None,
    "shaka-hls-ts-muxed-mp3-h264-seg-1-v1-a1.ts": None,
    "shaka-hls-ts-muxed-opus-h264-file3.ts": None,
    "shaka-id3-metadata.ts": None,
}


def test_the_corpus_is_answered_only_where_ffmpeg_finds_picture_alone(tmp_path: Path) -> None:
    assert set(CORPUS_ANSWERS) == set(SHA256)
    for name, expected in CORPUS_ANSWERS.items():
        path = corpus_ts(name, tmp_path)
        assert video_alone(path) == expected, name
        seen = _ffmpeg_sees(path)
        assert seen is not None, name
        if expected is not None:
            assert seen == (expected, 0), name
        else:
            assert seen[1] >= 1, name  # each left to ffmpeg has sound, as ffmpeg reads it
        assert sound_strip._streams(path) == (*seen, "mpegts"), name


def test_a_stream_the_pmt_does_not_name_is_left_to_ffmpeg(
        clips: dict[str, Path], tmp_path: Path) -> None:
    """The sound clip's audio PID kept, its PMT replaced by the picture-only one: the tables
    would say "picture alone", the packets say otherwise."""
    sound = _packets(clips["sound"].read_bytes())
    picture = _packets(clips["picture"].read_bytes())
    pmt = _pmt_pid(sound)
    only_video = next(p for p in picture if _pid(p) == _pmt_pid(picture))
    forged = [only_video if _pid(p) == pmt else p for p in sound]
    path = tmp_path / "forged.ts"
    path.write_bytes(b"".join(forged))
    assert video_alone(path) is None


def test_a_pmt_that_changes_mid_file_is_left_to_ffmpeg(
        clips: dict[str, Path], tmp_path: Path) -> None:
    packets = _packets(clips["picture"].read_bytes())
    pmt = _pmt_pid(packets)
    copies = [i for i, p in enumerate(packets) if _pid(p) == pmt]
    assert len(copies) >= 2, "ffmpeg repeats its tables"
    packets[copies[-1]][PMT_TYPES_AT] = 0x0F  # the last copy lists AAC instead
    path = tmp_path / "changed.ts"
    path.write_bytes(b"".join(packets))
    assert video_alone(path) is None


def _in_every_copy(packets: list[bytearray], pid: int, at: int, value: bytes) -> None:
    for packet in packets:
        if _pid(packet) == pid:
            packet[at:at + len(value)] = value


@pytest.mark.parametrize("cut", ["short", "sync", "two_programs", "private", "aac"])
def test_another_layout_is_left_to_ffmpeg(clips: dict[str, Path], tmp_path: Path,
                                          cut: str) -> None:
    packets = _packets(clips["picture"].read_bytes())
    pmt = _pmt_pid(packets)
    if cut == "sync":
        packets[5][0] = 0x00
    elif cut == "two_programs":  # in every copy of the PAT: length 13 -> 17, program 2 added
        _in_every_copy(packets, 0, 7, b"\x11")
        _in_every_copy(packets, 0, 17, bytes([0x00, 0x02, 0xE1, 0x00]) + bytes(4))
    elif cut in ("private", "aac"):  # the one stream's type, in every copy of the PMT
        _in_every_copy(packets, pmt, PMT_TYPES_AT, bytes([0x06 if cut == "private" else 0x0F]))
    data = b"".join(packets)
    path = tmp_path / f"{cut}.ts"
    path.write_bytes(data[:-7] if cut == "short" else data)
    assert video_alone(path) is None


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, 4 * PACKET - 1), st.integers(0, 255)),
                        min_size=1, max_size=6),
       sound=st.booleans())
def test_the_tables_never_say_no_sound_where_ffmpeg_finds_some(
        clips: dict[str, Path], tmp_path: Path, changes: list[tuple[int, int]],
        sound: bool) -> None:
    """Bytes of the first packets (the PAT, the PMT, the first PES) changed at random in both
    clips: whenever the tables answer, ffmpeg reads the same file as picture alone too."""
    data = bytearray(clips["sound" if sound else "picture"].read_bytes())
    for at, value in changes:
        data[at] = value
    path = tmp_path / "changed.ts"
    path.write_bytes(bytes(data))
    answer = video_alone(path)
    if answer is not None:
        seen = _ffmpeg_sees(path)
        assert seen is None or seen[1] == 0, (changes, answer, seen)
