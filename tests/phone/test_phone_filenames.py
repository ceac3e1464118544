"""FreePBX recording names and spool path safety."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kustosz.ingest.phone.filenames import (
    RecordingNameError,
    UnsafePathError,
    parse_recording_name,
    safe_relpath,
)


def test_incoming_recording() -> None:
    name = parse_recording_name(
        "2024/01/15/in-221234567-600100200-20240115-100000-1705309200.42.wav"
    )
    assert name.type == "in"
    assert name.dest == "221234567"
    assert name.src == "600100200"
    assert name.started_local == datetime(2024, 1, 15, 10, 0, 0)
    assert name.started == datetime(2024, 1, 15, 9, 0, 0, tzinfo=UTC)
    assert name.uniqueid == "1705309200.42"
    assert name.ext == "wav"
    assert name.direction == "incoming"


@pytest.mark.parametrize(
    ("filename", "kind", "direction"),
    [
        ("out-600100200-201-20240701-120000-1719828000.7.WAV", "out", "outgoing"),
        ("internal-202-201-20240701-120000-1719828000.7.gsm", "internal", "internal"),
        ("external-201-600100200-20240701-120000-1719828000.7.mp3", "external", "unknown"),
        ("rg-600-600100200-20240701-120000-1719828000.7.ogg", "rg", "unknown"),
        ("q-400-600100200-20240701-120000-1719828000.7.opus", "q", "unknown"),
        ("exten-201-202-20240701-120000-1719828000.7.wav", "exten", "unknown"),
        ("force-201-202-20240701-120000-1719828000.7.wav", "force", "unknown"),
        ("ondemand-201-202-20240701-120000-1719828000.7.wav", "ondemand", "unknown"),
        ("conf-8000-8000-20240701-120000-1719828000.7.wav", "conf", "unknown"),
    ],
)
def test_types(filename: str, kind: str, direction: str) -> None:
    name = parse_recording_name(Path("/var/spool/asterisk/monitor/2024/07/01") / filename)
    assert (name.type, name.direction) == (kind, direction)
    assert name.started == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)  # CEST
    assert name.ext == name.ext.lower()


@pytest.mark.parametrize("caller", ["unknown", "anonymous", "Anonymous", ""])
def test_withheld_callers_are_empty(caller: str) -> None:
    name = parse_recording_name(f"in-221234567-{caller}-20240115-100000-1705309200.42.wav")
    assert name.src == ""


def test_caller_id_with_hyphens() -> None:
    name = parse_recording_name("in-221234567-+48-600-100-200-20240115-100000-1705309200.42.wav")
    assert name.src == "+48-600-100-200"
    assert name.uniqueid == "1705309200.42"


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("random.wav", "not a FreePBX or Asterisk recording name"),
        ("in-201-202-20240115-100000.wav", "not a FreePBX or Asterisk recording name"),
        ("in-201-202-20240115-1000-1705309200.42.wav", "not a FreePBX or Asterisk recording name"),
        ("in-201-202-20240115-100000-1705309200.wav", "not a FreePBX or Asterisk recording name"),
        ("OUT201-20240115-100000-1705309200.42.wav", "not a FreePBX or Asterisk recording name"),
        ("in-201-202-20240115-100000-1705309200.42", "not a FreePBX or Asterisk recording name"),
        ("zz-201-202-20240115-100000-1705309200.42.wav", "unknown recording type 'zz'"),
        ("in-201-202-20240115-100000-1705309200.42.txt", "not an audio file extension"),
        ("in-201-202-20241315-100000-1705309200.42.wav", "impossible date"),
        ("in-201-202-20240115-256000-1705309200.42.wav", "impossible date"),
    ],
)
def test_names_matching_no_pattern(filename: str, fragment: str) -> None:
    with pytest.raises(RecordingNameError, match=fragment):
        parse_recording_name(f"2024/01/15/{filename}")


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    root = tmp_path / "monitor"
    day = root / "2024" / "01" / "15"
    day.mkdir(parents=True)
    (day / "in-201-202-20240115-100000-1705309200.42.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.wav").write_bytes(b"secret")
    return root


REL = Path("2024/01/15/in-201-202-20240115-100000-1705309200.42.wav")


def test_relative_and_absolute_paths_inside_the_spool(spool: Path) -> None:
    assert safe_relpath(spool, REL) == REL
    assert safe_relpath(spool, spool / REL) == REL


def test_a_spool_reached_through_a_link_is_fine(spool: Path, tmp_path: Path) -> None:
    link = tmp_path / "spool-link"
    link.symlink_to(spool, target_is_directory=True)
    assert safe_relpath(link, REL) == REL
    assert safe_relpath(link, spool / REL) == REL


@pytest.mark.parametrize(
    "candidate",
    [
        "../secret.wav",
        "2024/../../secret.wav",
        "2024/01/15/../../../../secret.wav",
    ],
)
def test_dot_dot_is_refused(spool: Path, candidate: str) -> None:
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        safe_relpath(spool, Path(candidate))


def test_dot_dot_in_an_absolute_path_is_refused(spool: Path) -> None:
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        safe_relpath(spool, spool / "2024" / ".." / REL)


def test_absolute_path_elsewhere_is_refused(spool: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="outside the spool"):
        safe_relpath(spool, tmp_path / "secret.wav")
    with pytest.raises(UnsafePathError, match="outside the spool"):
        safe_relpath(spool, Path("/etc/passwd"))


def test_symlink_out_of_the_spool_is_refused(spool: Path, tmp_path: Path) -> None:
    (spool / "2024" / "escape.wav").symlink_to(tmp_path / "secret.wav")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        safe_relpath(spool, Path("2024/escape.wav"))


def test_symlink_inside_the_spool_is_refused_too(spool: Path) -> None:
    (spool / "2024" / "alias.wav").symlink_to(spool / REL)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        safe_relpath(spool, Path("2024/alias.wav"))


def test_symlinked_directory_is_refused(spool: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.wav").write_bytes(b"x")
    (spool / "2024" / "02").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        safe_relpath(spool, Path("2024/02/x.wav"))


def test_missing_file_and_directory_are_refused(spool: Path) -> None:
    with pytest.raises(UnsafePathError, match="does not exist"):
        safe_relpath(spool, Path("2024/01/15/nope.wav"))
    with pytest.raises(UnsafePathError, match="not a regular file"):
        safe_relpath(spool, Path("2024/01"))
    with pytest.raises(UnsafePathError):
        safe_relpath(spool, Path("."))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_not_a_regular_file(spool: Path) -> None:
    os.mkfifo(spool / "2024" / "pipe.wav")
    with pytest.raises(UnsafePathError, match="not a regular file"):
        safe_relpath(spool, Path("2024/pipe.wav"))


def test_missing_spool(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="does not exist"):
        safe_relpath(tmp_path / "nowhere", REL)


CORPUS = Path(__file__).parents[1] / "corpus" / "cdr"


def test_real_freepbx_names_and_the_same_with_a_systemname() -> None:
    """The FreePBX names of tests/corpus/cdr/freepbx, as written; the second also with the
    systemname its ${UNIQUEID} carries where asterisk.conf sets one (adapted: "pbx1-")."""
    first, second = (CORPUS / "freepbx" / "monitor-2024-11-17.txt").read_text().split()
    name = parse_recording_name(f"2024/11/17/{first}")
    assert (name.type, name.dest, name.src, name.uniqueid) == (
        "internal", "1100", "1101", "1731861697.2")
    assert name.started_local == datetime(2024, 11, 17, 16, 41, 37)
    named = parse_recording_name(second.replace("-1731862119.0.", "-pbx1-1731862119.0."))
    assert (named.type, named.dest, named.uniqueid) == ("internal", "1100", "pbx1-1731862119.0")


@pytest.mark.parametrize(
    ("filename", "uniqueid", "started"),
    [
        ("1231977075.0.wav", "1231977075.0", datetime(2009, 1, 14, 23, 51, 15, tzinfo=UTC)),
        ("asterisk-1240499812.774.WAV", "asterisk-1240499812.774",
         datetime(2009, 4, 23, 15, 16, 52, tzinfo=UTC)),
        ("pbx-office.example-1700000000.5.gsm", "pbx-office.example-1700000000.5",
         datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_names_that_are_asterisk_uniqueids(filename: str, uniqueid: str,
                                           started: datetime) -> None:
    """MixMonitor(${UNIQUEID}.wav): no numbers, a start at the uniqueid's epoch."""
    name = parse_recording_name(filename)
    assert (name.type, name.dest, name.src, name.direction) == ("uniqueid", "", "", "unknown")
    assert (name.uniqueid, name.started) == (uniqueid, started)


@pytest.mark.parametrize("filename", ["12345.6.wav", "1700000000.wav", "pbx-01-1700000000.5.wav",
                                      "-1700000000.5.wav", "1700000000.5.txt"])
def test_not_uniqueid_names(filename: str) -> None:
    with pytest.raises(RecordingNameError):
        parse_recording_name(filename)
