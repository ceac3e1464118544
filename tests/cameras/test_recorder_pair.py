"""Which cameras the recorder joins (issue 65): the probe of a camera's first key frame, and how
often it is asked; how a kill ends the pair. Whole and cut streams through a real camera are in
test_recorded_whole_pictures.py; here the reader is a stand-in process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
from camera_helpers import wait_for

from kustosz.ingest.camera import recorder_pair
from kustosz.ingest.camera.command import (
    LIST_NAME,
    MP4_FLAGS,
    SEGMENT_GLOB,
    RecorderCommand,
    recorder_command,
)
from kustosz.ingest.camera.recorder_pair import PictureCheck, RecorderPair, probe

NEVER = threading.Event()


def _reader(stderr: str) -> list[str]:
    """A reader that reads the address, says ``stderr`` and ends without any MP4."""
    return [sys.executable, "-c",
            f"import sys; sys.stdin.read(); sys.stderr.write({stderr!r}); sys.exit(1)"]


def test_a_camera_that_does_not_answer_is_not_told_and_is_asked_again() -> None:
    cut, answered = probe(_reader("Connection refused\n"), b"script", lambda: None, NEVER)
    assert (cut, answered) == (None, False)


def test_a_camera_that_refuses_the_login_is_not_asked_again() -> None:
    """Some cameras lock an account after a few refusals: the probe must not double them."""
    said = "[rtsp @ 0x55d0] method DESCRIBE failed: 401 Unauthorized\n"
    assert probe(_reader(said), b"script", lambda: None, NEVER) == (None, True)


def test_a_silent_camera_is_given_up_after_the_probe_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_pair, "PROBE_S", 0.5)
    silent = [sys.executable, "-c", "import time; time.sleep(30)"]
    assert probe(silent, b"", lambda: None, NEVER) == (None, False)


@pytest.mark.parametrize(("answers", "asked", "joined"), [
    ([(True, True)], 1, True),  # cut: joined from the first session on
    ([(False, True)], 1, False),  # whole: one ffmpeg, never asked again
    ([(None, True)], 1, False),  # answered, not told (a long GOP): one ffmpeg, as before
    ([(None, False), (True, True)], 2, True),  # away at first: asked at the next session
])
def test_what_the_probe_says_decides_each_session(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        answers: list[tuple[bool | None, bool]], asked: int, joined: bool) -> None:
    calls: list[object] = []

    def fake(*args: object) -> tuple[bool | None, bool]:
        calls.append(args)
        return answers[min(len(calls), len(answers)) - 1]

    monkeypatch.setattr(recorder_pair, "probe", fake)
    check = PictureCheck("hol")
    commands = [check.command("ffmpeg", "rtsp://127.0.0.1:9/cam", 2.0, tmp_path, "pipe:5",
                              lambda: None, NEVER) for _ in range(3)]
    assert len(calls) == asked
    assert (commands[-1].reader is not None) == joined
    assert commands[-1].stdin is not None and b"rtsp://127.0.0.1:9/cam" in commands[-1].stdin


def test_a_kill_leaves_the_open_segment_unlisted_however_late_its_second_signal(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SIGKILL ends the pair as it ends one ffmpeg: the open segment stays unlisted, for the
    spool's recovery. The killing thread can lose the GIL between the pair's two signals (to
    the joining thread, busy with every picture); stretched here. With the reader killed
    first, the writer saw its input end meanwhile and closed and listed the segment (a CI run
    of test_gap_order_no_room: the session's settling, meant to find that segment, found
    nothing to settle)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    # The reader's place: a camera's picture as fragmented MP4, in real time
    reader = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
              "-i", "testsrc2=size=320x180:rate=10", "-c:v", "libx264", "-preset", "ultrafast",
              "-tune", "zerolatency", "-g", "10", "-pix_fmt", "yuv420p", "-f", "mp4",
              "-movflags", MP4_FLAGS, "pipe:1"]
    writer = recorder_command(ffmpeg, "rtsp://127.0.0.1:9/cam", 4.0, tmp_path).argv
    pair = RecorderPair(RecorderCommand(writer, None, reader), lambda: None, ())
    assert pair.stdin is not None and pair.stderr is not None
    pair.stdin.close()
    threading.Thread(target=pair.stderr.read, daemon=True).start()
    listing = tmp_path / LIST_NAME
    try:
        wait_for(lambda: listing.exists() and listing.read_text().strip(), 20,
                 "a segment listed, the next one open")
        signalled = RecorderPair._signal

        def late(proc: subprocess.Popen[bytes], sig: int) -> None:
            signalled(proc, sig)
            time.sleep(0.05)  # the next signal as late as a few switches of the GIL

        monkeypatch.setattr(RecorderPair, "_signal", staticmethod(late))
        pair.kill()
        assert pair.wait(10) == -signal.SIGKILL
    finally:
        pair.kill()
        pair.wait(10)
    last = sorted(tmp_path.glob(SEGMENT_GLOB))[-1]
    assert last.name not in listing.read_text(), "the killed writer listed its open segment"


@pytest.mark.parametrize("known", [True, False])
def test_an_answer_known_before_is_not_asked_again(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, known: bool) -> None:
    """Another node's probe (a hand-over) or an earlier run's: the camera is recorded as it
    found, without the probe's second RTSP set-up."""
    def fail(*args: object) -> tuple[bool | None, bool]:
        raise AssertionError("asked again")

    monkeypatch.setattr(recorder_pair, "probe", fail)
    learnt: list[bool] = []
    check = PictureCheck("hol", known, learnt.append)
    command = check.command("ffmpeg", "rtsp://127.0.0.1:9/cam", 2.0, tmp_path, "pipe:5",
                            lambda: None, NEVER)
    assert (command.reader is not None) == known
    assert learnt == []


@pytest.mark.parametrize(("answers", "learnt"), [
    ([(True, True)], [True]),
    ([(False, True)], [False]),
    ([(None, True)], []),  # answered, not told: nothing to keep, the next run asks
    ([(None, False), (True, True)], [True]),
])
def test_what_the_probe_found_is_kept_once(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        answers: list[tuple[bool | None, bool]], learnt: list[bool]) -> None:
    calls: list[object] = []

    def fake(*args: object) -> tuple[bool | None, bool]:
        calls.append(args)
        return answers[min(len(calls), len(answers)) - 1]

    monkeypatch.setattr(recorder_pair, "probe", fake)
    kept: list[bool] = []
    check = PictureCheck("hol", None, kept.append)
    for _ in range(3):
        check.command("ffmpeg", "rtsp://127.0.0.1:9/cam", 2.0, tmp_path, "pipe:5",
                      lambda: None, NEVER)
    assert kept == learnt
