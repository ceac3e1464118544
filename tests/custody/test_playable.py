"""The playable copy for authorities (issue 17 item 4), with real ffmpeg and real segments.

No OCR here: the burned-in text is checked by rendering the text we expect with the same
filters (the band padded above the source frame, drawtext's font, size, place) and comparing
the text band of the playable file's frame with it — the right second matches, a second off
does not — while below the band the playable frame is the whole source frame, its top rows
(where cameras print their own clock) included.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest
from custody_helpers import people, record, reviewed, setup_camera
from PIL import Image
from skimage.metrics import structural_similarity
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz import playable
from kustosz.custody.bundles import verify_bundle
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import InputError, KustoszError, NotFound
from kustosz.playable import Picture, Segment, make_playable
from kustosz.vault import Vault

TZ = ZoneInfo("Europe/Warsaw")
FFMPEG = playable.ffmpeg_exe()
SEG_S = 2.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2 s H.264 MPEG-TS camera segment, 640x360 at 10 fps (testsrc2)."""
    out = tmp_path_factory.mktemp("clip") / "seg.ts"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=10:d={SEG_S}", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "10", "-f", "mpegts", str(out)], check=True)
    return out


# Where a Hikvision or Dahua camera prints its own clock: a white box with black text at the
# top-left of its picture, first rows included.
OSD_BOX = (slice(0, 40), slice(0, 260))


@pytest.fixture(scope="module")
def osd_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like ``clip``, with the camera's own clock/OSD burned in at its top-left."""
    out = tmp_path_factory.mktemp("osd") / "seg.ts"
    osd = (f"drawbox=x=4:y=2:w=240:h=32:color=white:t=fill,drawtext=fontfile={playable.FONT}"
           ":fontsize=22:fontcolor=black:x=10:y=7:text='23-11-2026 14\\:05\\:07'")
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=10:d={SEG_S},{osd}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "10", "-f", "mpegts", str(out)], check=True)
    return out


def frame_at(path: Path, t: float) -> np.ndarray:
    """The RGB frame shown ``t`` seconds after the first (the one whose time is nearest)."""
    with av.open(str(path)) as c:
        best, dist, first = None, None, None
        for f in c.decode(video=0):
            first = float(f.time) if first is None else first
            d = abs(float(f.time) - first - t)
            if dist is None or d < dist:
                best, dist = f.to_ndarray(format="rgb24"), d
        assert best is not None
        return best.astype(np.int16)


def rendered(src: np.ndarray, pic: Picture, first: str, number: str, tmp: Path) -> np.ndarray:
    """``src`` (a camera picture or slate card, ``pic``'s size) with the band added above it
    as the playable file adds it, the first line saying ``first`` literally."""
    Image.fromarray(src.astype(np.uint8)).save(tmp / "src.png")
    (tmp / "first.txt").write_text(first)
    (tmp / "number.txt").write_text(f"Kopia nr {number}")
    graph = ",".join([*playable.band_filters(pic, tmp / "number.txt"),
                      playable.first_line(pic, f"@{tmp / 'first.txt'}")])
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(tmp / "src.png"), "-vf", graph, str(tmp / "exp.png")], check=True)
    return np.asarray(Image.open(tmp / "exp.png").convert("RGB")).astype(np.int16)


def wrong_pixels(a: np.ndarray, b: np.ndarray, rows: slice) -> int:
    """Pixels of the region that differ by more than compression noise (a glyph or not)."""
    return int((np.abs(a[rows] - b[rows]).max(axis=2) > 96).sum())


def check_text(out: Path, t: float, source: np.ndarray, first: str, wrong: str, number: str,
               tmp: Path) -> None:
    pic = Picture(640, 360, 10)
    got = frame_seek(out, t, tmp / "got.png")  # seeks: a file may be hours long
    line1 = slice(0, pic.band // 2)
    line2 = slice(pic.band // 2, pic.band)
    good = rendered(source, pic, first, number, tmp)
    bad = rendered(source, pic, wrong, number, tmp)
    off = rendered(source, pic, first, "9/2099", tmp)
    assert wrong_pixels(got, good, line1) < 15, first
    assert wrong_pixels(got, bad, line1) > 40, (first, wrong)
    assert wrong_pixels(got, good, line2) < 15
    assert wrong_pixels(got, off, line2) > 40  # the copy's number, not any number
    # The band is added above the picture, black around the letters; below it, the whole
    # picture from its first row, untouched but for the encoding.
    assert got.shape == (pic.height + pic.band, pic.width, 3) == good.shape
    assert np.median(got[: pic.band]) < 8
    assert np.abs(got[pic.band:] - source).mean() < 4


def duration(path: Path) -> float:
    """The container's duration, as ffprobe's format duration reports it (same libavformat;
    the wheel ships no ffprobe)."""
    with av.open(str(path)) as c:
        return c.duration / av.time_base


def frame_seek(path: Path, t: float, png: Path) -> np.ndarray:
    """The frame at ``t`` s of a long file, by ffmpeg's (exact) input seek, kept as ``png``."""
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{t:.3f}", "-i",
                    str(path), "-frames:v", "1", "-update", "1", str(png)], check=True)
    return np.asarray(Image.open(png).convert("RGB")).astype(np.int16)


def is_slate(frame: np.ndarray) -> bool:
    """The dark still card below the band (camera picture is bright colour bars)."""
    return bool(np.median(frame[Picture(640, 360, 10).band:]) == pytest.approx(0x20, abs=3))


def test_time_follows_each_segment_across_dst_and_a_gap_is_a_slate(clip: Path,
                                                                     tmp_path: Path) -> None:
    # The last Sunday of October 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC. Three
    # segments run across it; after a 64 s gap two more follow.
    t0 = datetime(2026, 10, 25, 0, 59, 57, tzinfo=UTC)
    segs = [Segment(clip, t0 + timedelta(seconds=SEG_S * i),
                    t0 + timedelta(seconds=SEG_S * (i + 1))) for i in range(3)]
    t1 = t0 + timedelta(seconds=70)
    segs += [Segment(clip, t1 + timedelta(seconds=SEG_S * i),
                     t1 + timedelta(seconds=SEG_S * (i + 1))) for i in range(2)]
    out = tmp_path / "out.mp4"
    info = make_playable(segs, out, "7/2026", TZ)

    # Plays for the whole period: 5 segments of material and the gap's own 64 s of slate.
    assert duration(out) == pytest.approx(5 * SEG_S + 64, abs=0.1)  # one frame at 10 fps
    assert info["gaps"] == [{"from": "2026-10-25T02:00:03+01:00",
                             "to": "2026-10-25T02:01:07+01:00"}]
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert c.streams.video[0].codec_context.name == "h264"
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart

    src = frame_at(clip, 0.5)
    work = tmp_path / "render"
    work.mkdir()
    # Segment 0 starts 02:59:57 CEST; half a second in is still that second.
    check_text(out, 0.5, src, "2026-10-25 02:59:57 CEST", "2026-10-25 02:59:58 CEST",
               "7/2026", work)
    # Segment 1 starts 02:59:59 CEST: one second later the clock is set back to 02:00 CET.
    check_text(out, SEG_S + 1.5, frame_at(clip, 1.5), "2026-10-25 02:00:00 CET",
               "2026-10-25 03:00:00 CEST", "7/2026", work)
    # After the slate the clock follows the next segment's own start, 02:01:07 CET.
    check_text(out, 3 * SEG_S + 64 + 0.5, src, "2026-10-25 02:01:07 CET",
               "2026-10-25 02:00:09 CET", "7/2026", work)

    # The slate: a still dark card, not camera picture, saying there is no recording.
    slate = frame_at(out, 3 * SEG_S + 1.0)
    pic = Picture(640, 360, 10)
    lower = slate[pic.band:]
    assert np.median(lower) == pytest.approx(0x20, abs=3)
    assert wrong_pixels(slate, rendered(lower, pic, "Brak nagrania (no recording)", "7/2026",
                                        work), slice(0, pic.band)) < 15
    for later in (2.5, 50.0, 63.5):  # still, also in the repeated chunks and the remainder
        assert np.abs(frame_at(out, 3 * SEG_S + later) - slate).mean() < 1, later
    assert playable.slate_lines(playable.Gap(segs[2].end_at, segs[3].start_at), TZ)[:4] == [
        "Brak nagrania", "od 2026-10-25 02:00:03 CET", "do 2026-10-25 02:01:07 CET",
        "Długość przerwy: 1 min 4 s"]


def test_the_copy_period_before_the_first_segment_is_a_slate(clip: Path, tmp_path: Path
                                                             ) -> None:
    t0 = datetime(2026, 11, 23, 13, 5, 7, tzinfo=UTC)
    segs = [Segment(clip, t0, t0 + timedelta(seconds=SEG_S))]
    parts = playable.plan(segs, (t0 - timedelta(minutes=1), t0 + timedelta(seconds=SEG_S)))
    assert isinstance(parts[0], playable.Gap) and parts[0].end_at == t0
    assert len(parts) == 2
    out = tmp_path / "edge.mp4"
    make_playable(segs, out, "3/2026", TZ, window=(t0 - timedelta(minutes=1),
                                                   t0 + timedelta(seconds=SEG_S)))
    assert duration(out) == pytest.approx(60 + SEG_S, abs=0.1)
    work = tmp_path / "render"
    work.mkdir()
    check_text(out, 60 + 0.5, frame_at(clip, 0.5),
               "2026-11-23 14:05:07 CET", "2026-11-23 14:05:08 CET", "3/2026", work)


def test_an_unreadable_segment_in_the_middle_is_shown_as_a_gap(clip: Path, tmp_path: Path
                                                                ) -> None:
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(range(256)) * 64)  # not a media file at all
    t0 = datetime(2026, 11, 23, 13, 5, 7, tzinfo=UTC)
    paths = [clip, damaged, clip]
    segs = [Segment(p, t0 + timedelta(seconds=SEG_S * i), t0 + timedelta(seconds=SEG_S * (i + 1)))
            for i, p in enumerate(paths)]
    out = tmp_path / "out.mp4"
    info = make_playable(segs, out, "7/2026", TZ)
    assert duration(out) == pytest.approx(3 * SEG_S, abs=0.1)  # the slate lasts its 2 s
    assert info["gaps"] == [{"from": "2026-11-23T14:05:09+01:00",
                             "to": "2026-11-23T14:05:11+01:00", "unreadable": True}]
    assert info["unreadable_segments"] == [{"from": "2026-11-23T14:05:09+01:00",
                                            "to": "2026-11-23T14:05:11+01:00"}]
    assert playable.slate_lines(playable.Gap(segs[1].start_at, segs[1].end_at, True), TZ)[0] \
        == "Nagranie nieczytelne"
    work = tmp_path / "render"
    work.mkdir()
    # The band over the unreadable part says so too, not "no recording".
    slate = frame_at(out, SEG_S + 1.0)
    pic = Picture(640, 360, 10)
    assert wrong_pixels(slate, rendered(slate[pic.band:], pic,
                                        "Nagranie nieczytelne (unreadable recording)",
                                        "7/2026", work), slice(0, pic.band)) < 15
    check_text(out, 2 * SEG_S + 0.5, frame_at(clip, 0.5),
               "2026-11-23 14:05:11 CET", "2026-11-23 14:05:09 CET", "7/2026", work)
    # Nothing readable at all: a clear error, nothing written.
    with pytest.raises(KustoszError, match="no segment of the period can be read"):
        make_playable([segs[1]], tmp_path / "none.mp4", "7/2026", TZ)
    assert not (tmp_path / "none.mp4").exists()
    assert not list(tmp_path.glob(".playable-*"))


def test_the_file_lasts_the_period_and_its_seconds_are_the_periods(clip: Path,
                                                                    tmp_path: Path) -> None:
    """Issue 17: "ffprobe duration equals the period". Margins before and after and a gap in
    the middle, none of them a whole number of frames: the file lasts the period to within one
    frame (0.1 s at the clip's 10 fps; the slates are cut to whole frames, and each ends where
    its gap ends on the period's timeline, so the rounding does not add up), and second N of
    the file shows the period's start plus N."""
    t0 = datetime(2026, 11, 23, 13, 5, 7, tzinfo=UTC)
    t1 = t0 + timedelta(seconds=2 * SEG_S + 23.46)  # a 23.46 s gap after two segments
    segs = [Segment(clip, t + timedelta(seconds=SEG_S * i), t + timedelta(seconds=SEG_S * (i + 1)))
            for t in (t0, t1) for i in range(2)]
    window = (t0 - timedelta(seconds=7.33), t1 + timedelta(seconds=2 * SEG_S + 5.26))
    period = (window[1] - window[0]).total_seconds()
    out = tmp_path / "out.mp4"
    info = make_playable(segs, out, "5/2026", TZ, window=window)

    assert duration(out) == pytest.approx(period, abs=0.1)
    with av.open(str(out)) as c:  # every frame there, at the clip's rate, none doubled
        assert c.streams.video[0].frames == pytest.approx(period * 10, abs=1)
    assert info["starts_at"] == "2026-11-23T14:04:59.670000+01:00"
    assert info["duration_seconds"] == pytest.approx(period, abs=0.1)
    assert [g["from"][11:] for g in info["gaps"]] == [
        "14:04:59.670000+01:00", "14:05:11+01:00", "14:05:38.460000+01:00"]

    # Where the second run begins on the period's timeline, the picture turns from the slate
    # to the camera, to the frame.
    begins = (t1 - window[0]).total_seconds()
    work = tmp_path / "render"
    work.mkdir()
    assert is_slate(frame_seek(out, begins - 0.15, work / "before.png"))
    after = frame_seek(out, begins + 0.05, work / "after.png")
    assert not is_slate(after)
    # The time burned in at a chosen second after the gap is the period's start plus that
    # second: 14:04:59.67 + 37.29 s = 14:05:36.96, half a second into the second run's
    # segment 1 (from 14:05:36.46).
    at = begins + SEG_S + 0.5
    shown = (window[0] + timedelta(seconds=at)).astimezone(TZ)
    assert f"{shown:%H:%M:%S}" == "14:05:36"
    check_text(out, at, frame_at(clip, 0.5), f"{shown:%Y-%m-%d %H:%M:%S} CET",
               f"{shown + timedelta(seconds=1):%Y-%m-%d %H:%M:%S} CET", "5/2026", work)
    # The margins are slates too, to the period's very ends.
    assert is_slate(frame_seek(out, 0.0, work / "first.png"))
    assert is_slate(frame_seek(out, period - 0.3, work / "last.png"))


def test_a_long_gap_is_a_few_encoded_frames_repeated(clip: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A gap of 2 hours (from the index's timestamps, not 2 hours of media) becomes 2 hours of
    slate in the file, but what is encoded is one chunk of SLATE_CHUNK_S and one of the
    remainder: the encodes are counted (real ffmpeg, each output's frames read back)."""
    encoded: list[tuple[str, int]] = []
    real = playable._ff

    def counting(args: list[str], what_en: str, what_pl: str) -> None:
        real(args, what_en, what_pl)
        if what_en.startswith("encode"):
            with av.open(args[-1]) as c:
                encoded.append((what_en, sum(1 for pk in c.demux(video=0) if pk.size)))

    monkeypatch.setattr(playable, "_ff", counting)
    gap = 2 * 3600 + 3.7
    t0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    t1 = t0 + timedelta(seconds=2 * SEG_S + gap)
    segs = [Segment(clip, t + timedelta(seconds=SEG_S * i), t + timedelta(seconds=SEG_S * (i + 1)))
            for t in (t0, t1) for i in range(2)]
    out = tmp_path / "night.mp4"
    info = make_playable(segs, out, "8/2026", TZ)

    period = 4 * SEG_S + gap
    assert duration(out) == pytest.approx(period, abs=0.1)
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == pytest.approx(period * 10, abs=1)  # 72 117
    slates = [n for what, n in encoded if "slate" in what]
    runs = [n for what, n in encoded if "slate" not in what]
    # Two runs of 40 frames; the slate: one 100-frame chunk (shown 720 times) and 37 frames.
    assert runs == [40, 40]
    assert sorted(slates) == [37, playable.SLATE_CHUNK_S * 10]
    assert sum(n for _, n in encoded) < 4 * SEG_S * 10 + 2 * playable.SLATE_CHUNK_S * 10
    assert info["gaps"] == [{"from": "2026-11-23T19:00:04+01:00",
                             "to": "2026-11-23T21:00:07.700000+01:00"}]

    work = tmp_path / "render"
    work.mkdir()
    middle = frame_seek(out, 4 + 3600.3, work / "slate.png")  # an hour into the night
    assert is_slate(middle)
    lines = playable.slate_lines(playable.Gap(segs[1].end_at, segs[2].start_at), TZ)
    assert lines == ["Brak nagrania", "od 2026-11-23 19:00:04 CET",
                     "do 2026-11-23 21:00:07 CET", "Długość przerwy: 2 h 4 s",
                     "No recording: a gap of 2 h 4 s"]
    # After the night the clock is the recording's, at the file's second 4 + gap + 1.5.
    at = 2 * SEG_S + gap + 1.5
    assert not is_slate(frame_seek(out, at, work / "after.png"))
    check_text(out, at, frame_at(clip, 1.5), "2026-11-23 21:00:09 CET",
               "2026-11-23 21:00:07 CET", "8/2026", work)


@pytest.mark.parametrize("frames", [1, 37, 100])
def test_a_slate_drawn_once_is_the_file_drawing_every_frame_gave(tmp_path: Path,
                                                                 frames: int) -> None:
    """The slate's card is drawn once and repeated (issue 52 item 7): the encoded piece is
    byte for byte the one ffmpeg gives when it draws every frame (the graph without the
    repeat), at the same frame count."""
    pic = Picture(640, 360, 10)
    t0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    gap = playable.Gap(t0, t0 + timedelta(seconds=frames / 10 + 30))
    number = tmp_path / "number.txt"
    number.write_text("Kopia nr 9/2026")
    pieces = playable.encode_slate(gap, frames, pic, TZ, number, tmp_path / "slate.ts", tmp_path)
    assert [n for _, n in pieces] == [frames / 10]
    graph = (tmp_path / "slate.graph").read_text()
    repeat = ",trim=end_frame=1,loop=loop=-1:size=1,setpts=N/(10*TB)[v]\n"
    assert graph.endswith(repeat)
    (tmp_path / "each.graph").write_text(graph.removesuffix(repeat) + "[v]\n")
    each = tmp_path / "each.ts"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-/filter_complex", str(tmp_path / "each.graph"), "-map", "[v]",
                    *playable.ENCODER, "-g", "20", "-frames:v", str(frames), "-f", "mpegts",
                    str(each)], check=True)
    assert pieces[0][0].read_bytes() == each.read_bytes()


def test_the_band_is_added_above_the_picture_and_the_cameras_own_clock_stays_visible(
        osd_clip: Path, tmp_path: Path) -> None:
    """The camera prints its own clock at the top-left of its picture; the authority compares
    it with ours. The band is padded above the picture, so the file is the band taller, and
    the picture's top rows — the camera's clock — come out whole below the band. The slates
    (a margin of the period, an unreadable segment) are the same size, or the -c copy join
    would not play as one file."""
    pic = Picture(640, 360, 10)
    assert pic.band % 2 == 0 and Picture(320, 240, 10).band % 2 == 0  # yuv420p: even rows
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(range(256)) * 64)
    t0 = datetime(2026, 11, 23, 13, 5, 7, tzinfo=UTC)
    segs = [Segment(p, t0 + timedelta(seconds=SEG_S * i), t0 + timedelta(seconds=SEG_S * (i + 1)))
            for i, p in enumerate([osd_clip, damaged, osd_clip])]
    out = tmp_path / "osd.mp4"
    make_playable(segs, out, "7/2026", TZ, window=(t0 - timedelta(seconds=3), segs[-1].end_at))
    assert duration(out) == pytest.approx(3 + 3 * SEG_S, abs=0.1)
    with av.open(str(out)) as c:
        sizes = {(f.width, f.height) for f in c.decode(video=0)}
    assert sizes == {(640, 360 + pic.band)}, sizes  # runs and both kinds of slate alike

    work = tmp_path / "render"
    work.mkdir()
    src = frame_at(osd_clip, 0.5)
    got = frame_seek(out, 3 + 0.5, work / "camera.png")
    assert got.shape == (360 + pic.band, 640, 3)
    osd = got[pic.band:][OSD_BOX]
    assert np.abs(osd - src[OSD_BOX]).mean() < 4
    grey = [np.asarray(Image.fromarray(a.astype(np.uint8)).convert("L"))
            for a in (osd, src[OSD_BOX])]
    assert structural_similarity(grey[0], grey[1], data_range=255) > 0.9
    assert (grey[0][4:32, 6:242] > 200).mean() > 0.7  # the white box is white, not darkened
    # The whole top of the picture, band-high, is there too, and the band holds our text.
    assert np.abs(got[pic.band:2 * pic.band] - src[: pic.band]).mean() < 4
    check_text(out, 3 + 0.5, src, "2026-11-23 14:05:07 CET", "2026-11-23 14:05:08 CET",
               "7/2026", work)
    # The slates below the band are the card, band-high rows included.
    for t, name in ((1.0, "margin"), (3 + SEG_S + 1.0, "unreadable")):
        slate = frame_seek(out, t, work / f"{name}.png")
        assert slate.shape == got.shape and is_slate(slate), name
        assert np.median(slate[pic.band:2 * pic.band]) == pytest.approx(0x20, abs=3)


@pytest.mark.parametrize("number", ["", "   ", None])
def test_no_copy_number_is_refused_and_nothing_written(clip: Path, tmp_path: Path,
                                                       number: str | None) -> None:
    t0 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    with pytest.raises(InputError, match="number") as caught:
        make_playable([Segment(clip, t0, t0 + timedelta(seconds=2))], tmp_path / "o.mp4",
                      number, TZ)  # type: ignore[arg-type]
    assert "numeru kopii" in (caught.value.pl or "")
    assert list(tmp_path.iterdir()) == []


def test_a_period_without_material_is_refused_and_nothing_written(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no recorded material") as caught:
        make_playable([], tmp_path / "o.mp4", "7/2026", TZ)
    assert "nie ma nagrań" in (caught.value.pl or "")
    assert list(tmp_path.iterdir()) == []


# -- in a copy ------------------------------------------------------------------------------
def _approved(vault: Vault, kind: str, start: datetime, seconds: float) -> int:
    spec = RequestSpec(
        kind=kind, material="video", requester="Komenda Powiatowa Policji w Pleszewie",
        received_on=office_today(), event_date=start.astimezone(TZ).date(),
        purpose="postępowanie przygotowawcze", description="zdarzenie przy wejściu",
        cameras=["cam-hol"], start=start, end=start + timedelta(seconds=seconds),
        margin_minutes=0, case_ref="RSD-1/26" if kind == "authority" else None)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "test").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(), actor="t",
               keyed_by="burmistrz")
    return rid


def _material(vault: Vault, tmp: Path) -> datetime:
    setup_camera(vault)
    people(vault)
    day = office_today() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 12, 0, tzinfo=TZ).astimezone(UTC)
    record(vault, "cam-hol", start, 2, tmp / "segs")
    record(vault, "cam-hol", start + timedelta(seconds=30), 2, tmp / "segs")  # a 26 s gap
    return start


def test_an_authoritys_copy_carries_the_playable_file_in_its_signed_manifest(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    start = _material(vault, tmp_path)
    rid = _approved(vault, "authority", start, 34)
    copy = make_copy(vault, rid, "informatyk", "test")
    bundle = vault.root / copy.bundle
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    [entry] = manifest["playable"]["files"]
    assert manifest["playable"]["note_pl"].startswith("Dowodem są nagrania w folderze media/")
    assert "convenience" in manifest["playable"]["note_en"]
    assert entry["path"].startswith("playable/cam-hol_") and files[entry["path"]] == \
        entry["sha256"]
    assert entry["number"] == copy.number and len(entry["gaps"]) == 1
    # The evidence MP4 is still the bit-exact remux, listed as before.
    assert [m["path"] for m in manifest["media"]] == [p for p in files if p.startswith("media/")]
    assert verify_bundle(bundle).ok

    out = bundle / entry["path"]
    # The request's 34 s: 4 segments of 2 s (the helper's 320x240 clip), 26 s of slate.
    assert duration(out) == pytest.approx(34, abs=0.1)
    assert entry["duration_seconds"] == pytest.approx(34, abs=0.1)
    assert "as long as the gap" in entry["slates"] and "slate_seconds" not in entry
    frame = tmp_path / "frame.png"  # looked at by hand: legible, Polish letters drawn
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-ss", "5.5", "-i",
                    str(out), "-frames:v", "1", "-update", "1", str(frame)], check=True)
    assert frame.stat().st_size > 1000

    # A changed playable file is found by the verifier, like any other file of the bundle.
    with out.open("ab") as f:
        f.write(b"\0")
    verdict = verify_bundle(bundle)
    assert not verdict.ok
    assert verdict.problems == [f"{entry['path']}: changed (SHA-256 differs from the manifest)"]


def test_the_playable_file_is_an_option_and_never_for_a_data_subject(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    start = _material(vault, tmp_path)
    plain = make_copy(vault, _approved(vault, "interested", start, 34), "informatyk", "test")
    assert not (vault.root / plain.bundle / "playable").exists()
    asked = make_copy(vault, _approved(vault, "internal", start, 34), "informatyk", "test",
                      playable=True)
    assert len(list((vault.root / asked.bundle / "playable").glob("*.mp4"))) == 1

    rid = _approved(vault, "data_subject", start, 34)
    before = snapshot(vault)
    with pytest.raises(InputError, match="data subject") as caught:
        make_copy(vault, rid, "informatyk", "test", playable=True)
    assert "osoby, której dane dotyczą" in (caught.value.pl or "")
    assert snapshot(vault) == before
    assert not [p for p in (vault.root / "copies").iterdir() if p.name.startswith(".build-")]


def test_a_bundle_whose_playable_list_disagrees_with_its_files_is_reported(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    """The manifest is signed, so this needs a forger with the key: the check is that the two
    lists of one manifest agree, whatever produced it."""
    from kustosz.custody import bundles

    folder = tmp_path / "b"
    (folder / "playable").mkdir(parents=True)
    (folder / "playable" / "x.mp4").write_bytes(b"abc")
    key = bundles.office_key(sqlite_vault.root)
    bundles.seal(folder, {"number": "1/2026", "playable": {"files": [
        {"path": "playable/x.mp4", "sha256": "0" * 64}]}}, key)
    assert verify_bundle(folder).problems == [
        "playable/x.mp4: the playable file's SHA-256 differs between the manifest's lists"]


def test_a_data_subjects_copy_never_names_the_cameras_location(sqlite_vault: Vault,
                                                               tmp_path: Path) -> None:
    """Issue 17 item 2: the label and the documents of a data subject's copy (the label PDF,
    the manifest that goes with it, the handover protocol and receipt) show no site or zone;
    an authority's copy still names them (R4.3)."""
    from pypdf import PdfReader

    from kustosz.custody.handover import hand_over
    from kustosz.custody.papers import handover_doc, label_doc, receipt_doc
    from kustosz.documents import render

    def pdf(data: bytes) -> str:
        (tmp_path / "x.pdf").write_bytes(data)
        return " ".join(p.extract_text() for p in PdfReader(tmp_path / "x.pdf").pages)

    vault = sqlite_vault
    start = _material(vault, tmp_path)
    mine = make_copy(vault, _approved(vault, "data_subject", start, 34), "informatyk", "test")
    theirs = make_copy(vault, _approved(vault, "authority", start, 34), "informatyk", "test",
                       playable=False)
    reviewed(vault, mine.number)  # issue 17 item 2: approved after a second person watched it
    hand_over(vault, mine.number, receiver="Jan Żółkiewski", by="informatyk", actor="t")
    key = "x"
    with vault.reading() as s:
        texts = [pdf(render(*label_doc(s, vault.policy, mine.number, key))),
                 pdf(render(*handover_doc(s, vault.policy, mine.number))),
                 pdf(render(*receipt_doc(s, vault.policy, mine.number))),
                 pdf((vault.root / mine.bundle / "label.pdf").read_bytes()),
                 (vault.root / mine.bundle / "manifest.json").read_text("utf-8")]
        authority = pdf(render(*label_doc(s, vault.policy, theirs.number, key)))
    assert "cam-hol" in texts[0] and "cam-hol" in texts[1]
    for text in texts:
        assert "Ratusz" not in text and "hol parter" not in text, text[:400]
    assert "Ratusz" in authority and "hol parter" in authority


def test_copies_make_playable_options_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        start = _material(vault, tmp_path)
        police = _approved(vault, "authority", start, 34)
        subject = _approved(vault, "data_subject", start, 34)
    finally:
        vault.close()
    cli("copies", "make", str(police), "--by", "informatyk", "--no-playable")
    [row] = json.loads(cli("copies", "list", "--json").output)
    assert not (Path(row["bundle"]) / "playable").exists()
    refused = cli("copies", "make", str(subject), "--by", "informatyk", "--playable", ok=False)
    assert refused.exit_code == 2
    out = " ".join(refused.output.split())
    assert "error: " in out and "a data subject's copy gets no playable file" in out
    assert "błąd: " in out and "Kopia dla osoby, której dane dotyczą, nie zawiera pliku" in out
    assert len(json.loads(cli("copies", "list", "--json").output)) == 1


def test_a_number_taken_meanwhile_is_burned_in_again(sqlite_vault: Vault, tmp_path: Path
                                                     ) -> None:
    """The number is burned in before it is taken under the write lock: another copy made in
    between (here from the first one's progress report, just before it signs) takes it, and
    the first copy is built again with the next number — never a file showing another copy's
    number."""
    vault = sqlite_vault
    start = _material(vault, tmp_path)
    police = _approved(vault, "authority", start, 34)
    other = _approved(vault, "internal", start, 34)
    cut_in: list[str] = []

    def progress(fraction: float, note: str) -> None:
        if fraction == 0.9 and not cut_in:
            cut_in.append(make_copy(vault, other, "informatyk", "test").number)

    copy = make_copy(vault, police, "informatyk", "test", progress=progress)
    year = cut_in[0].split("/")[1]
    assert cut_in == [f"1/{year}"] and copy.number == f"2/{year}"
    manifest = json.loads((vault.root / copy.bundle / "manifest.json").read_text("utf-8"))
    assert [f["number"] for f in manifest["playable"]["files"]] == [copy.number]
    assert verify_bundle(vault.root / copy.bundle).ok
    assert not [p for p in (vault.root / "copies").iterdir() if p.name.startswith(".build-")]
