"""A camera's unbroken run of MPEG-TS segments reaches ffmpeg as one stream on its stdin
(issue 68, the export row): read once, each segment hashed and checked against the index as it
is handed on, so the bytes remuxed are the bytes checked and ffmpeg does not probe each file.
The MP4 is the very one the concat demuxer made from the files; anything but an unbroken run
of .ts segments still goes the concat way; a forged segment still refuses the copy, and its
refusal still wins over ffmpeg's error."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import imageio_ffmpeg
import pytest

from kustosz.custody import copy_remux
from kustosz.errors import KustoszError
from kustosz.storage.base import Tampered

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _session(tmp: Path, count: int = 4) -> list[Path]:
    """``count`` segments of 2 s cut by ffmpeg's segment muxer from one encoding, one time
    line across them (`-reset_timestamps 0`), as the recorder writes a session."""
    folder = tmp / "sesja"
    folder.mkdir()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=10:d={2 * count}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", "segment",
                    "-segment_time", "2", "-segment_format", "mpegts", "-reset_timestamps",
                    "0", str(folder / "seg%03d.ts")], check=True, capture_output=True)
    paths = sorted(folder.glob("seg*.ts"))
    assert len(paths) == count
    return paths


def _index(paths: list[Path], gap_after: int | None = None) -> list[SimpleNamespace]:
    """The index's rows: each segment's hash and its 2 s, chained (a gap of 2 s after the
    ``gap_after``-th if given)."""
    rows, at = [], T0
    for i, p in enumerate(paths):
        rows.append(SimpleNamespace(storage_key=f"cam-hol/{p.name}", start_at=at,
                                    end_at=at + timedelta(seconds=2),
                                    sha256=hashlib.sha256(p.read_bytes()).hexdigest()))
        at += timedelta(seconds=4 if i == gap_after else 2)
    return rows


def test_an_unbroken_run_is_one_stream_and_anything_else_is_not(tmp_path: Path) -> None:
    paths = _session(tmp_path)
    assert copy_remux.one_stream(paths, _index(paths))  # type: ignore[arg-type]
    assert not copy_remux.one_stream(paths, _index(paths, gap_after=1))  # type: ignore[arg-type]
    mixed = [*paths[:2], paths[2].with_suffix(".mp4")]
    assert not copy_remux.one_stream(mixed, _index(paths[:3]))  # type: ignore[arg-type]
    timeless = [SimpleNamespace(storage_key=r.storage_key, sha256=r.sha256)
                for r in _index(paths)]
    assert not copy_remux.one_stream(paths, timeless)  # type: ignore[arg-type]
    assert not copy_remux.one_stream([], [])


def test_the_piped_mp4_is_the_concat_demuxers_byte_for_byte_and_hashed_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _session(tmp_path)
    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], *a: Any, **kw: Any) -> Any:
        argvs.append(list(argv))
        return real_popen(argv, *a, **kw)

    monkeypatch.setattr(copy_remux.subprocess, "Popen", popen)
    piped = tmp_path / "kopia.mp4"
    digest = copy_remux._remux_checked(paths, _index(paths), piped)  # type: ignore[arg-type]
    monkeypatch.undo()
    [argv] = argvs
    assert "pipe:0" in argv and not [a for a in argv if "sesja" in a], argv
    assert digest == hashlib.sha256(piped.read_bytes()).hexdigest()
    joined = tmp_path / "concat.mp4"
    copy_remux.remux(paths, joined)
    assert piped.read_bytes() == joined.read_bytes()


def test_a_gap_in_the_index_goes_the_concat_way(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _session(tmp_path)
    piped: list[int] = []
    real = copy_remux._remux_piped
    monkeypatch.setattr(copy_remux, "_remux_piped",
                        lambda *a: piped.append(1) or real(*a))  # type: ignore[func-returns-value]
    out = tmp_path / "kopia.mp4"
    digest = copy_remux._remux_checked(paths, _index(paths, gap_after=1), out)  # type: ignore[arg-type]
    assert not piped and digest == hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("spoil", ["one bit", "garbage"])
def test_a_forged_segment_refuses_the_piped_copy_and_leaves_no_mp4(tmp_path: Path,
                                                                    spoil: str) -> None:
    paths = _session(tmp_path)
    index = _index(paths)
    data = bytearray(paths[1].read_bytes())
    if spoil == "one bit":
        data[len(data) // 2] ^= 0x01  # ffmpeg remuxes it without a word
    else:
        data = bytearray(b"nie jest to strumie\xc5\x84 transportowy \xf0\x9f\x99\x82 " * 2000)
    paths[1].write_bytes(bytes(data))
    out = tmp_path / "kopia.mp4"
    with pytest.raises(Tampered) as exc:
        copy_remux._remux_checked(paths, index, out)  # type: ignore[arg-type]
    assert exc.value.key == "cam-hol/seg001.ts"
    assert not out.exists()


def test_ffmpeg_failing_on_checked_bytes_is_its_error_and_leaves_no_mp4(tmp_path: Path) -> None:
    paths = [tmp_path / f"seg{i:03d}.ts" for i in range(2)]
    for p in paths:
        p.write_bytes(b"\x00" * 10000)  # what the index hashed, and no transport stream
    out = tmp_path / "kopia.mp4"
    with pytest.raises(KustoszError) as exc:
        copy_remux._remux_checked(paths, _index(paths), out)  # type: ignore[arg-type]
    assert "ffmpeg" in str(exc.value) and exc.value.pl.startswith("Nie udało się połączyć")
    assert not out.exists()


def test_the_feed_keeps_the_callers_priority_and_the_mp4s_hashing_is_lowered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg waits on the feed: it runs at the caller's priority; the MP4's hashing fills the
    time ffmpeg leaves free, below it (copy_remux.HASH_NICE)."""
    monkeypatch.setattr(copy_remux, "HASH_NICE", 5)
    paths = _session(tmp_path)
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}
    real_feed, real_grow = copy_remux._feed, copy_remux._hash_growing

    def feed(*a: Any) -> None:
        seen["feed"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        real_feed(*a)

    def grow(*a: Any) -> str:
        seen["mp4"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return real_grow(*a)

    monkeypatch.setattr(copy_remux, "_feed", feed)
    monkeypatch.setattr(copy_remux, "_hash_growing", grow)
    copy_remux._remux_checked(paths, _index(paths), tmp_path / "kopia.mp4")  # type: ignore[arg-type]
    assert seen == {"feed": caller, "mp4": min(caller + 5, 19)}
