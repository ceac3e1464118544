"""The mask form's still frame at every moment of a segment (issue 29 item 3).

With the recorder's 4-s MPEG-TS segments (one time line across a session's segments, a key
frame every 2 s, as `recorder_command` makes them) the frame was asked of ffmpeg with ``-ss``
before ``-i``: MPEG-TS has no index, the seek landed on a packet that was not a key frame, and
the decoder showed nothing until the next key frame — a picture from later, or none at all
(so "Brak nagrania") for every moment past the segment's last key frame. The material here
carries its frame number in stripes (bit i of the number white or black in stripe i), so
each picture served says which frame it is: the one on screen at the moment asked (the last
one shown at or before it), at whole and fractional moments, at the segment's very end and
at the last frame of the last segment, with and without B-frames. "Brak nagrania" is said
only where the index holds no segment; a segment that cannot be read and a read that takes
too long are said as such, in Polish first.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from test_subject_frame import WITNESS_REF, ask, browser, clock
from tests.custody.custody_helpers import people, setup_camera
from web_helpers import authorise, request_of

from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault
from kustosz.web import subject_frame
from kustosz.web.subject_frame import still

FPS = 25
SEGMENT_S = 4
BITS = 10  # up to frame 1023: 40 s of material
STRIPE = 32  # px per bit
# A pixel of the stripe of bit i is white when bit i of the frame number (N) is set.
COUNTER = (f"geq=lum='if(bitand(floor(N/pow(2,floor(X/{STRIPE}))),1),235,16)'"
           ":cb=128:cr=128")
ENCODERS = {
    # the demo camera's encoder (command.py): no B-frames, a key frame every 2 s
    "camera": ["-preset", "ultrafast", "-tune", "zerolatency"],
    # a camera that sends B-frames: presentation order differs from decoding order
    "b-frames": ["-preset", "medium", "-bf", "3"],
}


@dataclass(frozen=True)
class Segment:
    path: Path
    start: float  # on the session's time line (the segment list), s
    end: float
    first: int  # the number of its first frame
    frames: int


def record_session(folder: Path, seconds: int, encoder: str = "camera") -> list[Segment]:
    """``seconds`` of numbered frames cut into 4-s MPEG-TS segments the way the recorder cuts
    a camera's stream (segment muxer, `-reset_timestamps 0`, key frame every 2 s)."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i",
         f"nullsrc=s={BITS * STRIPE}x96:r={FPS}:d={seconds},format=yuv420p,{COUNTER}",
         "-c:v", "libx264", *ENCODERS[encoder], "-pix_fmt", "yuv420p", "-g", str(2 * FPS),
         "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mpegts",
         "-segment_list", str(folder / "list.csv"), "-segment_list_type", "csv",
         "-reset_timestamps", "0", str(folder / "seg%03d.ts")],
        check=True, capture_output=True)
    with (folder / "list.csv").open() as f:
        rows = list(csv.reader(f))
    out = []
    first_at = None
    for name, start, end in rows:
        with av.open(str(folder / name)) as c:
            count = sum(1 for p in c.demux(c.streams.video[0]) if p.pts is not None)
            at = c.start_time / 1_000_000  # its first frame on the session's time line
        first_at = at if first_at is None else first_at
        out.append(Segment(folder / name, float(start), float(end),
                           round((at - first_at) * FPS), count))
    assert sum(s.frames for s in out) == seconds * FPS
    assert out[-1].first + out[-1].frames == seconds * FPS
    return out


def number(jpeg: bytes) -> int:
    """The frame number a served picture shows."""
    assert jpeg.startswith(b"\xff\xd8"), jpeg[:60]
    img = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=float)
    assert img.shape[1] == BITS * STRIPE
    bits = [img[:, i * STRIPE + 8:(i + 1) * STRIPE - 8].mean() for i in range(BITS)]
    assert all(b < 60 or b > 190 for b in bits), bits  # each stripe plainly black or white
    return sum(1 << i for i, b in enumerate(bits) if b > 128)


def shown_at(seg: Segment, offset: float) -> int:
    """The frame on screen ``offset`` s into the segment: the last one shown at or before it
    (the segment's last past its end)."""
    return seg.first + min(math.floor(offset * FPS + 1e-6), seg.frames - 1)


MOMENTS = [0, 0.02, 0.5, 1, 1.5, 1.96, 1.99, 2, 2.01, 2.5, 3, 3.5, 3.96, 3.999]


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_every_moment_of_a_segment_shows_its_own_frame(tmp_path: Path, encoder: str) -> None:
    """Whole and fractional moments across each 4-s segment of a session (before, at and after
    the key frame 2 s in; the last frame), each the frame shown at that moment."""
    segments = record_session(tmp_path / "rec", 12, encoder)
    assert len(segments) == 3
    for seg in segments:
        for offset in MOMENTS:
            want = shown_at(seg, offset)
            assert number(still(str(seg.path), offset)) == want, (seg.path.name, offset)
    # The last frame of the last segment: at its final moment and just past its end (an
    # index's end may lie a little after the file's last frame).
    last = segments[-1]
    for offset in (last.end - last.start - 0.001, last.end - last.start + 0.2):
        assert number(still(str(last.path), offset)) == 12 * FPS - 1


def test_a_read_past_its_time_is_stopped(tmp_path: Path) -> None:
    seg = record_session(tmp_path / "rec", 4)[0]
    with pytest.raises(subject_frame._Slow):
        still(str(seg.path), 2.5, timeout=0)


def test_a_file_with_no_picture_gives_none(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"\x47" + bytes(range(256)) * 40)
    assert still(str(junk), 1.0) == b""
    assert still(str(tmp_path / "nothing.ts"), 1.0) == b""  # gone from under it: no picture


@pytest.fixture
def counted(vault: Vault, tmp_path: Path) -> tuple[Vault, int, datetime, list[Segment]]:
    """Request 1 over 14 s from ``base`` for two cameras recording the same numbered session:
    cam-hol's three segments from ``base`` (whole seconds of the period fall on whole seconds
    of a segment: 2 s is its second key frame), cam-brama's first and third from ``base`` +
    0.5 s (whole seconds fall half a frame between frames), its second not recorded (a real
    gap, 4.5–8.5 s)."""
    people(vault)
    setup_camera(vault, "cam-hol")
    setup_camera(vault, "cam-brama")
    segments = record_session(tmp_path / "rec", 12)
    base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    for camera, lead, which in (("cam-hol", 0.0, (0, 1, 2)), ("cam-brama", 0.5, (0, 2))):
        for i in which:
            seg = segments[i]
            copy = tmp_path / f"{camera}-{i}.ts"
            copy.write_bytes(seg.path.read_bytes())
            ingest_file(vault, camera, copy, base + timedelta(seconds=lead + seg.start),
                        base + timedelta(seconds=lead + seg.end))
    authorise(vault, "informatyk", ["export"], sources=["cam-hol", "cam-brama"])
    return vault, request_of(vault, base, ["cam-hol", "cam-brama"], 14), base, segments


def test_the_mask_form_gets_the_right_frame_at_every_second(
        counted: tuple[Vault, int, datetime, list[Segment]]) -> None:
    vault, rid, base, segments = counted
    web = browser(vault, "informatyk")
    served = 0
    for camera, lead, recorded in (("cam-hol", 0.0, (0, 1, 2)), ("cam-brama", 0.5, (0, 2))):
        for k in range(14):
            at = clock(vault, base + timedelta(seconds=k))
            held = [segments[i] for i in recorded
                    if lead + segments[i].start <= k < lead + segments[i].end]
            r = ask(web, rid, camera, at)
            if not held:  # before the first segment, in the gap, after the last
                assert r.status_code == 404, (camera, k, r.status_code)
                assert r.json()["detail_pl"].startswith("Brak nagrania w tej chwili"), (
                    camera, k, r.json())
                continue
            assert r.status_code == 200, (camera, k, r.text)
            seg = held[0]
            assert number(r.content) == shown_at(seg, k - lead - seg.start), (camera, k)
            served += 1
    assert served == 12 + 8
    with vault.reading() as s:  # each frame served left its access entry
        sessions = s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).scalars().all()
        assert sum(v.served for v in sessions) == served
        assert len(s.execute(select(AccessEntry).where(AccessEntry.viewing_id.in_(
            [v.id for v in sessions]))).scalars().all()) == served


def test_an_unreadable_segment_is_not_called_a_gap(vault: Vault, tmp_path: Path) -> None:
    """The index holds a segment at the moment but no picture can be read from it: said as
    such (not "Brak nagrania"), nothing served, the frame's viewing session ended."""
    people(vault)
    setup_camera(vault, "cam-hol")
    base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"\x47" + bytes(range(256)) * 40)
    ingest_file(vault, "cam-hol", junk, base, base + timedelta(seconds=4))
    authorise(vault, "informatyk", ["export"], sources=["cam-hol"])
    rid = request_of(vault, base, ["cam-hol"], 4)
    r = ask(browser(vault, "informatyk"), rid, "cam-hol", clock(vault, base + timedelta(
        seconds=2)))
    assert r.status_code == 404
    body = r.json()
    assert next(iter(body)) == "detail_pl"
    assert body["detail_pl"].startswith("Nie udało się odczytać obrazu z nagrania"), body
    assert "Brak nagrania" not in body["detail_pl"]
    with vault.reading() as s:
        (vs,) = s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).scalars().all()
        assert vs.served == 0 and vs.ended_at is not None


def test_a_slow_read_is_stopped_and_said(counted: tuple[Vault, int, datetime, list[Segment]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    vault, rid, base, _ = counted
    monkeypatch.setattr(subject_frame, "FFMPEG_TIMEOUT_S", 0)
    r = ask(browser(vault, "informatyk"), rid, "cam-hol",
            clock(vault, base + timedelta(seconds=3)), WITNESS_REF)
    assert r.status_code == 503
    body = r.json()
    assert next(iter(body)) == "detail_pl"
    assert "trwał dłużej niż 0 s i został przerwany" in body["detail_pl"], body
    assert "Brak nagrania" not in body["detail_pl"]
    with vault.reading() as s:
        (vs,) = s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).scalars().all()
        assert vs.served == 0 and vs.ended_at is not None
