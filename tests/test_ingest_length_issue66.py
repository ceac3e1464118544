"""Issue 66 item 5: a recording taken in by `kustosz ingest file` without `--end` had no length
(it ended when it began). It now lasts as long as the file does, probed as playback probes a
segment; a video or a call whose length cannot be read is refused, Polish first, nothing
stored."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import pytest

from tests.conftest import Cli

START = "2026-11-20T10:00:00+01:00"


def clip(path: Path, seconds: float) -> Path:
    """A real video clip of ``seconds`` (H.264 in the suffix's container)."""
    fmt = {".ts": "mpegts", ".mp4": "mp4", ".mkv": "matroska"}[path.suffix]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-y", "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:d={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", fmt,
                    str(path)], check=True, capture_output=True, timeout=120)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_a_file_without_end_lasts_as_long_as_it_does(suffix: str, tmp_path: Path,
                                                     cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hol", "--kind", "camera")
    film = clip(tmp_path / f"nagranie_żółw{suffix}", 7)
    cli("ingest", "file", "hol", str(film), "--start", START)
    [rec] = json.loads(cli("recordings", "list", "--json").output)
    length = datetime.fromisoformat(rec["end"]) - datetime.fromisoformat(rec["start"])
    assert timedelta(seconds=6.8) <= length <= timedelta(seconds=7.3)
    assert datetime.fromisoformat(rec["start"]) == datetime.fromisoformat(START)


def test_end_given_is_kept(tmp_path: Path, cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hol", "--kind", "camera")
    film = clip(tmp_path / "nagranie.mp4", 2)
    cli("ingest", "file", "hol", str(film), "--start", START, "--end",
        "2026-11-20T10:00:05+01:00")
    [rec] = json.loads(cli("recordings", "list", "--json").output)
    assert rec["end"] == "2026-11-20T09:00:05+00:00"


def test_a_recording_of_no_readable_length_is_refused(tmp_path: Path, cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hol", "--kind", "camera")
    junk = tmp_path / "nie_film.ts"
    junk.write_bytes(b"\x47" * 188 * 10)
    done = cli("ingest", "file", "hol", str(junk), "--start", START, ok=False)
    out = " ".join(done.output.split())
    assert done.exit_code != 0
    pl = "Nie można odczytać długości nagrania nie_film.ts z pliku; podaj jego koniec opcją --end"
    en = "the length of nie_film.ts cannot be read from the file; give its end with --end"
    assert pl in out and en in out  # both, as the command line tells every refusal
    assert json.loads(cli("recordings", "list", "--json").output) == []  # nothing stored
    assert not any((cli.data / "media").rglob("*.ts"))
