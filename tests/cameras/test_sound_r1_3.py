"""R1.3: video monitoring keeps image only, never sound [002 zał.5 §3.3: "Rejestracji ... podlega
jedynie obraz (wizja)"; 003 §4.2: "tylko obraz ... bez rejestracji dźwięku"] — on every path in
(the recorder, `kustosz ingest file`) and every path out (copies). Each test feeds a real file
WITH a sound track (ffmpeg's testsrc + sine) and looks at what was stored or exported with PyAV.

The recorder's own path (an RTSP camera offering AAC) is tested in test_camera_recording.py
(test_thirty_seconds_continuous_video_only_with_clock_offset, marked slow) and its command here.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import imageio_ffmpeg
import pytest
from camera_helpers import make_ts, register_camera
from sqlalchemy import select
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz.access.users import add_user
from kustosz.custody.copies import make_copy
from kustosz.custody.copy_remux import remux
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import AuditEntry, Recording
from kustosz.errors import InputError
from kustosz.index.sources import add_source
from kustosz.ingest.camera.command import recorder_command
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault


def with_sound(path: Path, seconds: float = 2.0) -> Path:
    """A real clip with a picture and a 440 Hz tone, in the container the suffix names."""
    fmt = {".ts": ["-f", "mpegts"], ".mp4": ["-f", "mp4"], ".mkv": ["-f", "matroska"]}
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=10:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:d={seconds}",
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "10", "-c:a", "aac", *fmt[path.suffix], str(path)],
                   check=True, capture_output=True)
    assert streams(path) == ["video", "audio"]
    return path


def sound_only(path: Path) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:d=1",
                    str(path)], check=True, capture_output=True)
    return path


def streams(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


def stored_file(vault: Vault, rec_id: int) -> Path:
    with vault.reading() as s:
        return vault.storage.path(s.get(Recording, rec_id).storage_key)


@pytest.mark.parametrize("suffix", [".ts", ".mp4", ".mkv"])
def test_ingest_file_into_a_camera_stores_no_sound_002_zal5_s3_3(
        tmp_path: Path, cli: Cli, suffix: str) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hol", "--kind", "camera")
    clip = with_sound(tmp_path / f"nagranie{suffix}")
    out = cli("ingest", "file", "hol", str(clip), "--start", "2026-11-20T10:00:00+01:00").output
    assert "recording 1:" in out
    vault = Vault.open(cli.data)
    try:
        path = stored_file(vault, 1)
        assert streams(path) == ["video"]  # the picture kept, the tone gone
        assert path.suffix == suffix  # the same container, remuxed without re-encoding
        with av.open(str(path)) as c, av.open(str(clip)) as orig:
            assert c.streams.video[0].codec_context.name == "h264"
            assert c.streams.video[0].frames in (0, orig.streams.video[0].frames)
        with vault.reading() as s:
            rec = s.get(Recording, 1)
            entry = s.execute(select(AuditEntry).where(
                AuditEntry.action == "recording.ingest")).scalar_one()
        assert rec.meta.get("audio_removed") is True
        details = json.loads(entry.details) if isinstance(entry.details, str) else entry.details
        assert details["audio_removed"] is True and details["file"] == clip.name
        assert vault.storage.hash_of(rec.storage_key) == rec.sha256
        assert list(vault.storage.tmp.glob("*")) == []  # no scratch copy left behind
    finally:
        vault.close()
    assert streams(clip) == ["video", "audio"]  # the original is not touched


def test_a_file_without_sound_is_stored_byte_for_byte_r1_3(sqlite_vault: Vault,
                                                           tmp_path: Path) -> None:
    clip = tmp_path / "cisza.ts"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:d=1", "-c:v",
                    "libx264", "-preset", "ultrafast", "-f", "mpegts", str(clip)], check=True)
    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hol", "camera", "test")
    rec = ingest_file(sqlite_vault, "hol", clip, datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert stored_file(sqlite_vault, rec.id).read_bytes() == clip.read_bytes()
    assert "audio_removed" not in rec.meta


def test_sound_without_a_picture_is_refused_and_changes_nothing_003_s4_2(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hol", "camera", "test")
    before = snapshot(sqlite_vault)
    with pytest.raises(InputError, match="sound and no picture") as exc:
        ingest_file(sqlite_vault, "hol", sound_only(tmp_path / "ton.wav"),
                    datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert "wyłącznie obraz" in (exc.value.pl or "")
    assert snapshot(sqlite_vault) == before
    assert list(sqlite_vault.storage.tmp.glob("*")) == []


def test_a_call_keeps_its_sound(tmp_path: Path) -> None:
    """The rule is the camera's: a phone line's recording is sound and stays so."""
    from tests.conftest import make_vault

    vault = make_vault(tmp_path / "v", preset="walbrzych")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "centrala", "phone", "test")
        wav = sound_only(tmp_path / "rozmowa.wav")
        rec = ingest_file(vault, "centrala", wav, datetime(2026, 11, 20, 9, tzinfo=UTC))
        assert stored_file(vault, rec.id).read_bytes() == wav.read_bytes()
    finally:
        vault.close()


def test_the_recorder_maps_video_only_r1_3() -> None:
    argv = recorder_command("ffmpeg", "rtsp://10.0.0.7/s", 2.0, Path("/tmp/x")).argv
    i = argv.index("-map")
    assert argv[i:i + 3] == ["-map", "0:v:0", "-an"]
    assert argv.count("-map") == 1


def test_a_copy_never_carries_sound_even_from_a_stored_segment_with_sound_r1_3(
        tmp_path: Path) -> None:
    """The export path on its own: a segment with sound (as one taken in before the intake
    dropped it) is remuxed into the copy's MP4 as its picture only."""
    segment = with_sound(tmp_path / "stary.ts")
    out = tmp_path / "kopia.mp4"
    remux([segment.resolve()], out)
    assert streams(out) == ["video"]


def test_copy_of_a_camera_file_taken_in_with_sound_has_none_002_zal5_s3_3(
        site_vault: Vault, tmp_path: Path) -> None:
    """End to end: `ingest file` of a clip with sound → request → decision → copy (bundle)."""
    vault = site_vault
    register_camera(vault, "hol", "rtsp://10.0.0.7/s")
    with vault.transaction() as s:
        add_user(s, "burmistrz", "Jan Kowalski", ["approver"], "test",
                 title=vault.policy.approver_title)
        add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian"], "test", title="informatyk")
    tz = vault.policy.timezone
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ingest_file(vault, "hol", with_sound(tmp_path / "klip.mp4"), start,
                start + timedelta(seconds=2))
    with vault.transaction() as s:
        req = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=start.astimezone(tz).date(), event_date=start.astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["hol"],
            start=start - timedelta(seconds=1), end=start + timedelta(seconds=3),
            margin_minutes=0), "test")
        decide(s, vault.policy, req.id, by="burmistrz", agree=True, on=office_today(),
               actor="test", keyed_by="burmistrz")
        rid = req.id
    copy = make_copy(vault, rid, "informatyk", "test")
    media = [f["path"] for f in copy.files if f["path"].startswith("media/")]
    assert media and all(streams(vault.root / copy.bundle / m) == ["video"] for m in media)


def test_segments_a_crash_left_with_sound_are_discarded_not_kept_r1_3(
        site_vault: Vault, tmp_path: Path) -> None:
    """The recorder's leftovers (settled after a crash): a listed or an unfinished segment that
    holds sound is discarded; one without is taken in."""
    from kustosz.ingest.camera.spool import Session, spool_root

    cam = register_camera(site_vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
    folder = spool_root(site_vault) / str(cam) / "20261120T100000-cccc"
    folder.mkdir(parents=True)
    with_sound(tmp_path / "a.ts").rename(folder / "seg00000000.ts")
    make_ts(folder / "seg00000001.ts", 2)
    with_sound(tmp_path / "b.ts").rename(folder / "seg00000002.ts")  # unlisted: unfinished
    (folder / "segments.csv").write_text("seg00000000.ts,0.000000,2.000000\n"
                                         "seg00000001.ts,2.000000,4.000000\n")
    Session(site_vault, cam, folder.name, folder).settle()
    with site_vault.reading() as s:
        recs = list(s.execute(select(Recording)).scalars())
    assert [r.meta["segment"] for r in recs] == ["seg00000001.ts"]
    assert streams(site_vault.storage.path(recs[0].storage_key)) == ["video"]
    assert not folder.exists()
