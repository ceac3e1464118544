"""A live stream Kustosz cannot read is an alert naming the camera, not only a log line
(issue 52 item 1 with issue 47 item 5): the relay's reader tells it once, its viewers are
ended, and ffmpeg's pipe is still drained to its end so that ffmpeg never blocks on it (the
relay then ends its ffmpeg: the HLS window is made from the same fragments, issue 65, so the
page plays the recorded stream until the relay starts again)."""

from __future__ import annotations

import io
import struct
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.db.models import Alert
from kustosz.index.sources import add_source
from kustosz.ingest.camera import live_relay
from kustosz.ingest.camera.live_stream import LiveStream
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.web.media_live_sub import unreadable_alert


class Counting(io.BytesIO):
    """A pipe that says how much of it was read."""


def _junk_after_a_box() -> bytes:
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom\x00\x00\x02\x00"
    return ftyp + struct.pack(">I4s", 3, b"moof") + b"\xff" * 200_000  # a size below 8


def test_an_unreadable_stream_is_told_once_and_the_pipe_drained() -> None:
    told: list[str] = []
    stream = LiveStream(told.append)
    pipe = Counting(_junk_after_a_box())
    stream.read(pipe)
    assert len(told) == 1 and "3 bytes" in told[0]
    assert pipe.tell() == len(pipe.getvalue())  # drained: ffmpeg never blocks on it
    assert stream.ended and stream.join() is None


def test_the_tellers_trouble_does_not_stop_the_drain() -> None:
    def broken(_detail: str) -> None:
        raise RuntimeError("the database is away")

    pipe = Counting(_junk_after_a_box())
    LiveStream(broken).read(pipe)
    assert pipe.tell() == len(pipe.getvalue())


def test_a_readable_end_is_no_alert() -> None:
    told: list[str] = []
    LiveStream(told.append).read(io.BytesIO(b""))
    assert told == []


def test_the_web_apps_teller_raises_the_cameras_input_refused_alert(vault: Vault) -> None:
    with vault.transaction() as s:
        camera_id = add_source(s, vault.policy, "hol-parter", "camera", "test").id
    tell = unreadable_alert(vault)
    tell(camera_id, "an MP4 box of 3 bytes: not ffmpeg's fragmented MP4")
    tell(camera_id, "an MP4 box of 3 bytes: not ffmpeg's fragmented MP4")  # folded
    with vault.reading() as s:
        rows = list(s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED))
                    .scalars())
    assert len(rows) == 1
    [row] = rows
    assert row.source_id == camera_id
    assert "„kamera hol-parter”" in row.message and "podgląd na żywo" in row.message
    assert "Powtórzyło się 2 razy" in row.message


def test_a_relay_whose_stream_cannot_be_read_ends_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its HLS window is made from the same fragments, so it would stop moving: the relay
    ends its ffmpeg (viewers get the recorded stream until it starts again) after telling
    the camera's alert once."""
    junk = tmp_path / "junk"
    junk.write_bytes(_junk_after_a_box())
    writer = (f"import sys, time; sys.stdout.buffer.write(open({str(junk)!r}, 'rb').read()); "
              "sys.stdout.flush(); time.sleep(60)")
    monkeypatch.setattr(live_relay, "relay_command",
                        lambda _ffmpeg, _url: ([sys.executable, "-c", writer], b""))
    monkeypatch.setattr(live_relay, "hls_command", lambda *_a: ["cat"])
    told: list[tuple[int, str]] = []
    relay = live_relay.Relay(7, "rtsp://kamera.invalid/sub", tmp_path / "7",
                             lambda source, detail: told.append((source, detail)))
    relay.start()
    try:
        deadline = time.monotonic() + 30
        while relay.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not relay.running(), "the relay's ffmpeg went on under an unreadable stream"
        assert len(told) == 1 and told[0][0] == 7 and "3 bytes" in told[0][1]
    finally:
        relay.stop()
