"""Issue 49 item 17: a data subject's masked copy carries the recording time burned into its
picture, as the police copy's playable file does — the same band above the picture, the same
font, size, place and format, Europe/Warsaw time from each segment's own indexed start plus
the frame's offset in it (never the clock at the moment of copying), "Brak nagrania" over a
gap's slate. The band is added after the masking, so nothing in it is masked, and the check
for faces looks at the picture below it only.

Real ffmpeg, real segments in a vault, the real masking engine and detector. No OCR: the text
expected is rendered with the playable file's own drawtext filters and compared with the
band of the masked file's frame — the right second matches, a second off does not — and the
first line of the police copy's band over the same period is the same picture.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest
from custody_helpers import people, record, setup_camera
from PIL import Image
from tests.office_day import office_today

from kustosz import playable
from kustosz.custody import subject_review as sr
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.vault import Vault

SEG = 10.0  # seconds a segment (the helper's 320x240 testsrc2 at 10 fps)
FPS = 10
PIC = playable.Picture(320, 240, FPS)
FFMPEG = playable.ffmpeg_exe()


@pytest.fixture
def office(sqlite_vault: Vault) -> Iterator[Vault]:
    setup_camera(sqlite_vault)
    people(sqlite_vault)
    yield sqlite_vault


def _request(vault: Vault, kind: str, start: datetime, end: datetime) -> int:
    tz = vault.policy.timezone
    spec = RequestSpec(
        kind=kind, material="video",
        requester="Komenda Powiatowa Policji w Pleszewie" if kind == "authority"
        else "Jan Nowak, ul. Polna 3", received_on=office_today(),
        event_date=start.astimezone(tz).date(), purpose="postępowanie przygotowawcze",
        description="zdarzenie w holu", cameras=["cam-hol"], start=start, end=end,
        margin_minutes=5, case_ref="RSD-49/26" if kind == "authority" else None)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "test").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    return rid


def _frames(path: Path, at: list[float]) -> list[np.ndarray]:
    """The frames shown at each of ``at`` seconds from the file's first frame (the last frame
    at or before each), RGB as int16."""
    want = sorted(at)
    got: dict[float, np.ndarray] = {}
    with av.open(str(path)) as c:
        first = None
        last: np.ndarray | None = None
        for f in c.decode(video=0):
            first = float(f.time) if first is None else first
            while want and float(f.time) - first > want[0] + 1e-6:
                assert last is not None
                got[want.pop(0)] = last
            last = f.to_ndarray(format="rgb24").astype(np.int16)
        for w in want:
            assert last is not None
            got[w] = last
    return [got[t] for t in at]


def _band(below: np.ndarray, first: str, tmp: Path) -> np.ndarray:
    """The band the playable file adds above ``below`` (pad, then drawtext in the padded
    frame), its first line saying ``first``, no copy number: the rows 0..band."""
    Image.fromarray(below.astype(np.uint8)).save(tmp / "below.png")
    (tmp / "first.txt").write_text(first)
    graph = ",".join([playable.band_filters(PIC, tmp / "none.txt")[0],
                      playable.first_line(PIC, f"@{tmp / 'first.txt'}")])
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(tmp / "below.png"), "-vf", graph, str(tmp / "exp.png")], check=True)
    return np.asarray(Image.open(tmp / "exp.png").convert("RGB")).astype(np.int16)[:PIC.band]


def _off(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels that differ by more than compression noise: a glyph here and not there."""
    return int((np.abs(a - b).max(axis=2) > 96).sum())


def test_a_data_subjects_masked_copy_shows_the_recording_time_like_the_police_copy(
        office: Vault, tmp_path: Path) -> None:
    """cam-hol from 3 s before t0 to t0 + 17 s, nothing for 6.45 s, then a segment that
    starts at t0 + 23.45 s (its own start, not on the period's whole seconds); the person
    asked for t0 to t0 + 30 s, and marked a manual mask over the picture's top-left quarter
    from 5 to 15 s — right under the band."""
    vault = office
    tz = vault.policy.timezone
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    t1 = t0 + timedelta(seconds=30)
    record(vault, "cam-hol", t0 - timedelta(seconds=3), 2, tmp_path / "a", seconds=SEG)
    record(vault, "cam-hol", t0 + timedelta(seconds=23.45), 1, tmp_path / "b", seconds=SEG)
    rid = _request(vault, "data_subject", t0, t1)
    held = t0 - timedelta(minutes=5)
    shift = (t0 - held).total_seconds()
    with vault.transaction() as s:
        sr.add_region(s, rid, kind="mask", source="cam-hol", x=0, y=0, w=50, h=50,
                      from_s=shift + 5, to_s=shift + 15, note="ekran", actor="t")
    copy = make_copy(vault, rid, "informatyk", "test")
    assert copy.review_state == "awaiting", copy.review_reason
    bundle = vault.root / copy.bundle
    [media] = json.loads((bundle / "manifest.json").read_text("utf-8"))["media"]
    masking = media["masking"]
    out = bundle / media["path"]
    # The frame: the band, then the whole camera picture; the check looked at every frame.
    assert masking["video"]["height"] == PIC.band + 240 and masking["video"]["width"] == 320
    assert masking["verification"]["passed"]
    assert masking["verification"]["frames_checked"] == masking["video"]["frames"]
    assert masking["time_burned_in"]["time_zone"] == "Europe/Warsaw"

    work = tmp_path / "render"
    work.mkdir()
    # (file second, the time it shows, a time it must not show); 12.5 s is under the mask,
    # 20 s on the gap's slate, 24.5 s one second into the last segment (t0 + 24.45 s).
    cases = [(0.5, local(t0, 0, tz), local(t0, 1, tz)),
             (12.5, local(t0, 12, tz), local(t0, 13, tz)),
             (20.0, "Brak nagrania (no recording)", local(t0, 20, tz)),
             (24.5, local(t0, 24, tz), local(t0, 23, tz)),
             (29.5, local(t0, 29, tz), local(datetime.now(UTC), 0, tz))]
    frames = _frames(out, [t for t, _, _ in cases])
    for (t, right, wrong), frame in zip(cases, frames, strict=True):
        assert frame.shape == (PIC.band + 240, 320, 3), frame.shape
        below = frame[PIC.band:]
        good, bad = _band(below, right, work), _band(below, wrong, work)
        # a digit's glyph at this size is some 20 pixels: the right text matches to a few
        assert _off(frame[:PIC.band], good) < 5, (t, right)
        assert _off(frame[:PIC.band], bad) > 15, (t, wrong)
    Image.fromarray(frames[1].astype(np.uint8)).save(tmp_path / "masked.png")  # by hand
    # The manual mask pixelated the picture's top-left quarter, not the band above it: the
    # band there is the text (above) and black around it, as elsewhere.
    assert np.median(frames[1][:PIC.band]) < 8
    quarter = frames[1][PIC.band:PIC.band + 120, :160]
    assert np.abs(np.diff(quarter, axis=1)).max(axis=2).mean() < \
        np.abs(np.diff(frames[0][PIC.band:PIC.band + 120, :160], axis=1)).max(axis=2).mean()

    # The police copy of the same period shows the same first line, pixel for pixel but for
    # the encoding: one definition of the band, its place and its format.
    police = make_copy(vault, _request(vault, "authority", t0, t1), "informatyk", "test")
    pm = json.loads((vault.root / police.bundle / "manifest.json").read_text("utf-8"))
    [entry] = pm["playable"]["files"]
    line = slice(0, PIC.band // 2)
    for t, ours, theirs in zip([0.5, 20.0, 24.5],
                               _frames(out, [0.5, 20.0, 24.5]),
                               _frames(vault.root / police.bundle / entry["path"],
                                       [0.5, 20.0, 24.5]), strict=True):
        assert ours.shape == theirs.shape
        assert _off(ours[line], theirs[line]) < 5, t


def local(at: datetime, plus: float, tz: ZoneInfo) -> str:
    return playable.local_text(at + timedelta(seconds=plus), tz)
