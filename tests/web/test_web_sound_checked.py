"""R1.3 without a probe at playback (issue 18 item 6): the intake marks a camera segment's row
with the SHA-256 of the content it checked and found without sound (`sound_checked`), and
playback serves such a segment without probing it again — still hashed against the index and
recorded on every request. A segment without the mark (stored before it, or whose row names
other content) is probed as before; the mark is never taken from a caller or a viewer."""

from __future__ import annotations

import errno
import hashlib
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest
from sqlalchemy import func, select
from web_helpers import Material, playback_of

from kustosz.db.access import AccessEntry
from kustosz.db.models import Recording
from kustosz.ingest import files
from kustosz.ingest.files import SOUND_CHECKED, ingest_file
from kustosz.web import media_streams as media

SRC = Path(__file__).resolve().parents[2] / "src" / "kustosz"


def _viewing(m: Material) -> tuple[Any, str]:
    c, token, _auth = playback_of(m, **{SOUND_CHECKED: "1"})  # a viewer's word on sound: nothing
    return c, token


def _probes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every serve-time sound probe, counted (and still made)."""
    real = media.video_only
    seen: list[Path] = []

    def probe(path: Path, *a: Any, **kw: Any) -> Path | None:
        seen.append(path)
        return real(path, *a, **kw)

    monkeypatch.setattr(media, "video_only", probe)
    return seen


def _served(m: Material) -> int:
    with m.vault.reading() as s:
        return int(s.execute(select(func.count()).select_from(AccessEntry)).scalar_one())


def _set_meta(m: Material, rec: Recording, **change: Any) -> None:
    with m.vault.transaction() as s:
        row = s.get(Recording, rec.id)
        assert row is not None
        meta = {k: v for k, v in row.meta.items() if k != SOUND_CHECKED}
        row.meta = {**meta, **change}


def with_sound(path: Path) -> None:
    """A 2 s MPEG-TS with a picture and a tone, written at ``path``."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:d=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=2",
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-f", "mpegts", str(path)], check=True, capture_output=True)


def _stored_with_sound(m: Material, rec: Recording) -> None:
    """``rec``'s file replaced by one with a picture and a tone, indexed as an older intake kept
    it (its hash and size), so it is no tampered file."""
    stored = m.vault.storage.path(rec.storage_key)
    stored.chmod(0o600)
    with_sound(stored)
    data = stored.read_bytes()
    with m.vault.transaction() as s:
        row = s.get(Recording, rec.id)
        assert row is not None
        row.sha256, row.size = hashlib.sha256(data).hexdigest(), len(data)


def _streams(data: bytes, tmp: Path) -> list[str]:
    path = tmp / "served.ts"
    path.write_bytes(data)
    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


def test_a_segment_the_intake_checked_is_served_without_a_probe(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = sqlite_material
    for rec in m.old:
        assert rec.meta[SOUND_CHECKED] == rec.sha256
    c, token = _viewing(m)
    probes = _probes(monkeypatch)
    before = _served(m)
    fetches = [m.old[0], m.old[1], m.old[0], m.old[2]]
    for rec in fetches:
        r = c.get(f"/media/{token}/segment/{rec.id}.ts")
        assert r.status_code == 200
        assert r.content == m.vault.storage.path(rec.storage_key).read_bytes()
    assert probes == []
    assert _served(m) == before + len(fetches)  # one access record per fetch, as always


def test_a_checked_segment_is_still_hashed_each_time(sqlite_material: Material) -> None:
    m = sqlite_material
    c, token = _viewing(m)
    rec = m.old[0]
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 200
    path = m.vault.storage.path(rec.storage_key)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    served = _served(m)
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 409
    assert _served(m) == served


def test_a_segment_stored_before_the_mark_is_still_probed(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    m = sqlite_material
    media._soundless.clear()
    _set_meta(m, m.old[1])  # no mark: as stored before the intake wrote it
    _stored_with_sound(m, m.old[0])  # with sound, its row still naming the checked content
    c, token = _viewing(m)
    probes = _probes(monkeypatch)
    plain = c.get(f"/media/{token}/segment/{m.old[1].id}.ts")
    assert plain.status_code == 200 and len(probes) == 1
    assert plain.content == m.vault.storage.path(m.old[1].storage_key).read_bytes()
    sound = c.get(f"/media/{token}/segment/{m.old[0].id}.ts")
    assert sound.status_code == 200 and len(probes) == 2
    assert _streams(sound.content, tmp_path) == ["video"]  # R1.3: its picture only


@pytest.mark.parametrize("forged", [True, "1", "yes", None, "0" * 64])
def test_a_mark_that_does_not_name_the_content_is_not_trusted(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        forged: Any) -> None:
    m = sqlite_material
    media._soundless.clear()
    rec = m.old[0]
    _stored_with_sound(m, rec)
    _set_meta(m, rec, **{SOUND_CHECKED: forged})
    c, token = _viewing(m)
    probes = _probes(monkeypatch)
    r = c.get(f"/media/{token}/segment/{rec.id}.ts")
    assert r.status_code == 200 and len(probes) == 1
    assert _streams(r.content, tmp_path) == ["video"]


def test_a_callers_mark_is_dropped_and_the_intake_writes_its_own(
        sqlite_material: Material, tmp_path: Path) -> None:
    m = sqlite_material
    with_sound = tmp_path / "with-sound.ts"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:d=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=2",
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-f", "mpegts", str(with_sound)], check=True,
                   capture_output=True)
    own = hashlib.sha256(with_sound.read_bytes()).hexdigest()
    start = m.window[1]
    # a camera file: checked, stored as its picture only, marked with what was stored
    rec = ingest_file(m.vault, "cam-hol", with_sound, start, meta={SOUND_CHECKED: own})
    assert rec.meta.get("audio_removed") is True
    assert rec.meta[SOUND_CHECKED] == rec.sha256 != own
    assert _streams(m.vault.storage.path(rec.storage_key).read_bytes(), tmp_path) == ["video"]
    # any other kind: never checked, never marked, whatever the caller said
    other = ingest_file(m.vault, "centrala-2", with_sound, start, meta={SOUND_CHECKED: own})
    assert SOUND_CHECKED not in other.meta


def test_only_the_intake_writes_the_mark() -> None:
    """The mark is written in the intake's modules only: no web route, API or CLI command
    sets it (the web never writes a recording's meta at all)."""
    writers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if "SOUND_CHECKED" in p.read_text() or "sound_checked\"" in p.read_text())
    assert writers == ["ingest/camera/spool.py", "ingest/files.py", "web/media.py"]
    media_src = (SRC / "web" / "media.py").read_text()
    assert "SOUND_CHECKED)" in media_src and "SOUND_CHECKED:" not in media_src  # read only
    for p in (SRC / "web").rglob("*.py"):
        assert ".meta =" not in p.read_text(), p
    assert files.SOUND_CHECKED == "sound_checked"


def _av_fails_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """av.open fails once as the system makes it fail (too many open files), then works.
    The one stand-in of this file: provoking EMFILE or EIO for real inside one probe would
    starve the whole test process of descriptors or need a failing disk."""
    real = av.open
    calls: list[str] = []

    def failing(path: Any, *a: Any, **kw: Any) -> Any:
        calls.append(str(path))
        if len(calls) == 1:
            raise OSError(errno.EMFILE, "Too many open files", str(path))
        return real(path, *a, **kw)

    monkeypatch.setattr(av, "open", failing)
    return calls


def test_a_probe_that_fails_is_never_read_as_no_sound(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """R1.3, attacked (review s24, S3): a probe that fails for a reason of the system, not of
    the file, used to read as "no sound": playback remembered the verdict for the content, and
    a segment with sound would then be served with it. Now the probe's error is raised (no
    bytes, no verdict kept) and the next look probes again and strips the sound."""
    m = sqlite_material
    media._soundless.clear()
    _set_meta(m, m.old[0])  # no mark: as stored before the intake wrote it
    _stored_with_sound(m, m.old[0])
    with m.vault.reading() as s:
        rec = s.get(Recording, m.old[0].id)
        assert rec is not None
    calls = _av_fails_once(monkeypatch)
    with pytest.raises(OSError):
        media.open_segment(m.vault.storage, rec.storage_key, rec.version_id, rec.sha256)
    assert calls and rec.sha256 not in media._soundless
    stream, size, _proven = media.open_segment(m.vault.storage, rec.storage_key,
                                               rec.version_id, rec.sha256)
    with stream:
        data = stream.read()
    assert len(data) == size and _streams(data, tmp_path) == ["video"]
    assert rec.sha256 not in media._soundless  # it has sound: never remembered as without


def test_an_intake_whose_probe_fails_stores_and_marks_nothing(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The intake's side of the same: a camera file with sound whose probe fails is neither
    stored as it is nor marked `sound_checked`; taken in again, its sound is removed."""
    m = sqlite_material
    path = tmp_path / "with-sound.ts"
    with_sound(path)
    with m.vault.reading() as s:
        rows = int(s.execute(select(func.count()).select_from(Recording)).scalar_one())
    start = m.window[0] - timedelta(hours=1)
    _av_fails_once(monkeypatch)
    with pytest.raises(OSError):
        ingest_file(m.vault, "cam-hol", path, start, start + timedelta(seconds=2))
    with m.vault.reading() as s:
        assert int(s.execute(select(func.count()).select_from(Recording)).scalar_one()) == rows
    rec = ingest_file(m.vault, "cam-hol", path, start, start + timedelta(seconds=2))
    stored = m.vault.storage.path(rec.storage_key).read_bytes()
    assert _streams(stored, tmp_path) == ["video"]
    assert rec.meta[SOUND_CHECKED] == rec.sha256 == hashlib.sha256(stored).hexdigest()
