"""Bad input to masking: a clear error in English and Polish, and no file left behind (neither
the output nor its temporary part). Also the stored-period path: a camera's segments from a
real vault, and a period with no material."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from kustosz.errors import InputError, KustoszError, NotFound
from kustosz.ingest.files import ingest_file
from kustosz.masking import Options, Segment, mask_period, mask_video
from kustosz.vault import Vault
from tests.custody.custody_helpers import setup_camera
from tests.masking.scene import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """1.2 s, two segments, no faces needed: bad input is refused before or at the first
    frame."""
    return make_clip(tmp_path_factory.mktemp("bad") / "src", seconds=1.2, segment_s=0.6)


def refused(out: Path, exc: KustoszError, en: str, pl: str) -> None:
    assert en in str(exc), str(exc)
    assert exc.pl and pl in exc.pl, exc.pl
    assert exc.pl != str(exc)
    assert list(out.parent.iterdir()) == [], "nothing is left behind"


def segs(clip: list[Path]) -> list[Segment]:
    return [Segment(p, i * 0.6) for i, p in enumerate(clip)]


def test_no_segments_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    with pytest.raises(InputError) as e:
        mask_video([], out)
    refused(out, e.value, "no recordings in the period", "nie ma nagrań")
    with pytest.raises(InputError) as e:
        mask_video([Segment(tmp_path / "x.ts", 0.0)], out, duration_s=0.0)
    refused(out, e.value, "period is empty", "Okres jest pusty")


def test_a_period_whose_frames_all_lie_outside_is_refused(tmp_path: Path,
                                                          clip: list[Path]) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    late = [Segment(p, 100.0 + i) for i, p in enumerate(clip)]
    with pytest.raises(InputError) as e:
        mask_video(late, out, duration_s=10.0)
    refused(out, e.value, "no picture could be read", "nie udało się odczytać")


@pytest.mark.parametrize(("mask", "en", "pl"), [
    ({"x": 600, "y": 10, "w": 100, "h": 50, "from_s": 0, "to_s": 1}, "outside the frame 640×360",
     "wychodzi poza kadr 640×360"),
    ({"x": 10, "y": 340, "w": 20, "h": 21, "from_s": 0, "to_s": 1}, "outside the frame",
     "poza kadr"),
    ({"x": -5, "y": 10, "w": 20, "h": 20, "from_s": 0, "to_s": 1}, "starts outside the frame",
     "zaczyna się poza kadrem"),
    ({"x": 5, "y": 10, "w": 0, "h": 20, "from_s": 0, "to_s": 1}, "has no area", "zerowy"),
    ({"x": 5, "y": 10, "w": 20, "h": 20, "from_s": 2, "to_s": 2}, "empty or negative",
     "pusty lub ujemny"),
    ({"x": 5, "y": 10, "w": 20, "h": 20, "from_s": 3, "to_s": 1}, "empty or negative",
     "pusty lub ujemny"),
    ({"x": 5, "y": 10, "w": 20, "h": 20, "from_s": -1, "to_s": 1}, "empty or negative",
     "pusty lub ujemny"),
    ({"x": 5, "y": 10, "w": 20, "h": 20, "from_s": 30, "to_s": 40}, "after the period's end",
     "po końcu okresu"),
    ({"x": 5, "y": 10, "w": 20, "h": 20, "from_s": 0}, "lacks to_s", "brak pól to_s"),
    ({"x": "5", "y": 10, "w": 20, "h": 20, "from_s": 0, "to_s": 1}, "not a finite number",
     "nie jest liczbą"),
    ({"x": 5, "y": 10, "w": 20, "h": float("nan"), "from_s": 0, "to_s": 1},
     "not a finite number", "nie jest liczbą"),
])
def test_bad_manual_mask_is_refused(tmp_path: Path, clip: list[Path], mask: dict[str, Any],
                                    en: str, pl: str) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    with pytest.raises(InputError) as e:
        mask_video(segs(clip), out, masks=[mask], duration_s=1.0)
    refused(out, e.value, en, pl)
    assert "manual mask 1" in str(e.value) and "Maska ręczna nr 1" in (e.value.pl or "")


def test_requester_box_outside_the_frame_is_refused(tmp_path: Path, clip: list[Path]) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    keep = [{"x": 0, "y": 0, "w": 10, "h": 10, "from_s": 0, "to_s": 1},
            {"x": 0, "y": 300, "w": 10, "h": 100, "from_s": 0, "to_s": 1}]
    with pytest.raises(InputError) as e:
        mask_video(segs(clip), out, keep=keep)
    refused(out, e.value, "requester's box 2", "Obszar osoby wnioskującej nr 2")


@pytest.mark.parametrize("threshold", [0, 0.0, 1, 1.0, 1.5, -0.1, "0.5", True, None])
def test_threshold_out_of_range_is_refused(tmp_path: Path, clip: list[Path],
                                           threshold: Any) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    with pytest.raises(InputError) as e:
        mask_video(segs(clip), out, options=Options(threshold=threshold))
    refused(out, e.value, "threshold must be a number between 0 and 1",
            "Próg wykrywania twarzy")


@pytest.mark.parametrize(("opts", "en"), [(Options(every=0), "every 1 to 25 frames"),
                                          (Options(every=26), "every 1 to 25 frames"),
                                          (Options(box_scale=0.5), "box scale"),
                                          (Options(hold=-1), "hold must be"),
                                          (Options(hold=4), "hold must be")])
def test_other_bad_options_are_refused(tmp_path: Path, clip: list[Path], opts: Options,
                                       en: str) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    with pytest.raises(InputError) as e:
        mask_video(segs(clip), out, options=opts)
    refused(out, e.value, en, "")


def test_existing_output_is_not_overwritten(tmp_path: Path, clip: list[Path]) -> None:
    out = tmp_path / "m.mp4"
    out.write_bytes(b"earlier")
    with pytest.raises(InputError) as e:
        mask_video(segs(clip), out)
    assert "exists already" in str(e.value) and "już istnieje" in (e.value.pl or "")
    assert out.read_bytes() == b"earlier"


def test_stored_period_is_masked_and_an_empty_one_refused(sqlite_vault: Vault,
                                                          tmp_path: Path) -> None:
    setup_camera(sqlite_vault, "cam-hol")
    src = make_clip(tmp_path / "src", seconds=2.0, segment_s=1.0)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    recs = [ingest_file(sqlite_vault, "cam-hol", p, start + timedelta(seconds=i),
                        start + timedelta(seconds=i + 1)) for i, p in enumerate(src)]
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    notes: list[tuple[float, str]] = []
    d = mask_period(sqlite_vault, "cam-hol", start, start + timedelta(seconds=2), out,
                    options=Options(every=5), progress=lambda f, n: notes.append((f, n)))
    assert d["source"] == "cam-hol" and d["recording_ids"] == [r.id for r in recs]
    assert d["video"]["frames"] == 50 and d["stats"]["faces_detected"] >= 8
    assert notes[-1] == (1.0, "Maskowanie zakończone")
    assert all(0 <= f <= 1 for f, _ in notes)
    with av.open(str(out)) as c:
        assert not c.streams.audio and c.streams.video[0].frames == 50

    empty = tmp_path / "empty" / "m.mp4"
    empty.parent.mkdir()
    with pytest.raises(NotFound) as e:
        mask_period(sqlite_vault, "cam-hol", start - timedelta(hours=2),
                    start - timedelta(hours=1), empty)
    refused(empty, e.value, "no stored recording", "nie ma przechowywanych nagrań")
    with pytest.raises(InputError) as e2:
        mask_period(sqlite_vault, "cam-hol", start, start, empty)
    refused(empty, e2.value, "empty or negative", "Okres jest pusty")
    with pytest.raises(InputError) as e3:
        mask_period(sqlite_vault, "cam-hol", start, start + timedelta(hours=2), empty,
                    max_s=3600)
    refused(empty, e3.value, "at most 60 min", "najwyżej 60 min")


def test_damaged_segment_in_the_middle_is_a_black_gap(tmp_path: Path) -> None:
    """Three 1 s segments, the middle one damaged (its bytes garbage): the other two are
    masked, the second shown black in its place so the output keeps the period's time, and
    the description names the damaged segment and the gap."""
    src = make_clip(tmp_path / "src", seconds=3.0, segment_s=1.0, audio=False)
    assert len(src) == 3
    src[1].write_bytes(bytes(range(256)) * 400)
    out = tmp_path / "m.mp4"
    d = mask_video([Segment(p, float(i), p.name) for i, p in enumerate(src)], out,
                   duration_s=3.0)
    assert [x["segment"] for x in d["damaged_segments"]] == ["seg001.ts"]
    assert d["gaps"] == [{"from_s": 1.0, "to_s": 2.0}]
    assert d["video"]["frames"] == 75 and d["time_zero"] == "period start"
    with av.open(str(out)) as c:
        means = [float(f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]
    assert len(means) == 75
    assert all(m < 20 for m in means[25:50]), means[25:50]
    assert all(m > 60 for m in means[:25] + means[50:])


def test_late_start_and_overlap_keep_the_period_time(tmp_path: Path) -> None:
    """The material starts 0.6 s into the period (under GAP_SLATE_S: its first frame held
    before it, never black — issue 29 item 2), the second segment overlaps the first by 0.2 s
    (its first frames left out), and the period goes on 0.1 s after the material (the last
    frame held): one frame per 1/25 s of the whole period, no more."""
    src = make_clip(tmp_path / "src", seconds=2.0, segment_s=1.0, audio=False)
    out = tmp_path / "m.mp4"
    d = mask_video([Segment(src[0], 0.6), Segment(src[1], 1.4)], out, duration_s=2.5)
    assert d["gaps"] == []  # nothing of 1 s or more: no slate
    assert d["stats"]["frames_dropped"] == 5
    # 0.6 s of the first frame held, 1 s, the rest of the second segment, 0.1 s held
    assert d["video"]["frames"] == 15 + 25 + 20 + 3  # 2.5 s at 25 fps, frame 62 at 2.48 s
