"""The recorder's segments are marked as checked for sound (`sound_checked`, issue 18 item 6):
ffmpeg writes them with -an, and what a crash left is checked before it is kept. The mark names
the SHA-256 stored; a mark in the session's own notes is not taken over."""

from __future__ import annotations

import hashlib
import json
import subprocess

import imageio_ffmpeg
from camera_helpers import make_ts, stored

from kustosz.ingest.camera.spool import Session, settle_leftovers, spool_root
from kustosz.ingest.files import SOUND_CHECKED
from kustosz.vault import Vault


def test_taken_and_unfinished_segments_carry_the_mark_of_what_was_stored(
        site_vault: Vault, cam: int) -> None:
    folder = spool_root(site_vault) / str(cam) / "20261120T100000-cccc"
    folder.mkdir(parents=True)
    make_ts(folder / "seg00000000.ts", 2)
    whole = make_ts(folder.parent / "whole.ts", 2)
    data = whole.read_bytes()
    (folder / "seg00000001.ts").write_bytes(data[: len(data) // 2])  # killed mid-write
    whole.unlink()
    (folder / "segments.csv").write_text("seg00000000.ts,0.000000,2.000000\n")
    # the session's notes are the spool's, never a source of the verdict
    (folder / "session.json").write_text(json.dumps({"codec": "h264", SOUND_CHECKED: "0" * 64}))
    assert settle_leftovers(site_vault, spool_root(site_vault), cam) == 2
    recs = stored(site_vault)
    assert [r.meta.get("partial", False) for r in recs] == [False, True]
    for rec in recs:
        assert rec.meta[SOUND_CHECKED] == rec.sha256
        content = site_vault.storage.path(rec.storage_key).read_bytes()
        assert hashlib.sha256(content).hexdigest() == rec.sha256


def test_a_leftover_with_sound_is_never_kept_nor_marked(site_vault: Vault, cam: int) -> None:
    folder = spool_root(site_vault) / str(cam) / "20261120T100000-dddd"
    folder.mkdir(parents=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=10:d=2", "-f", "lavfi", "-i",
                    "sine=frequency=440:d=2", "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
                    "-c:a", "aac", "-f", "mpegts", str(folder / "seg00000000.ts")], check=True)
    (folder / "segments.csv").write_text("seg00000000.ts,0.000000,2.000000\n")
    Session(site_vault, cam, folder.name, folder).settle()
    assert stored(site_vault) == []
