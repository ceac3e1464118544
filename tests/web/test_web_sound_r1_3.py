"""R1.3 on the playback path [002 zał.5 §3.3, 003 §4.2]: a segment served to the browser (HLS)
never carries sound, even one stored with a sound track before the intake dropped it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
from web_helpers import Material, playback_of

from kustosz.db.models import Recording


def streams(data: bytes, tmp: Path) -> list[str]:
    path = tmp / "served.ts"
    path.write_bytes(data)
    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


def test_playback_serves_a_segment_stored_with_sound_as_its_picture_only_002_zal5_s3_3(
        sqlite_material: Material, tmp_path: Path) -> None:
    m = sqlite_material
    stored = m.vault.storage.path(m.old[0].storage_key)
    # A segment as an older intake kept it: picture and a tone.
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:d=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=2",
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-f", "mpegts", str(stored)], check=True, capture_output=True)
    assert streams(stored.read_bytes(), tmp_path) == ["video", "audio"]
    # ... and indexed as that intake stored it (its hash and size), so it is not a tampered file
    data = stored.read_bytes()
    with m.vault.transaction() as s:
        row = s.get(Recording, m.old[0].id)
        assert row is not None
        row.sha256, row.size = hashlib.sha256(data).hexdigest(), len(data)
    c, token, _auth = playback_of(m, case_ref="OR.123")
    seg = c.get(f"/media/{token}/segment/{m.old[0].id}.ts")
    assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t"
    assert streams(seg.content, tmp_path) == ["video"]
    # a segment without sound is served byte for byte, as stored
    other = c.get(f"/media/{token}/segment/{m.old[1].id}.ts")
    assert other.content == m.vault.storage.path(m.old[1].storage_key).read_bytes()
    assert list(m.vault.storage.tmp.glob("*.part")) == []
