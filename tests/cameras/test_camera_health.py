"""Why a recorder stopped, read from ffmpeg's last lines: the cause shown to the office must
not depend on the memory addresses ffmpeg prints (a full-suite run once reported a refused
connection as "401 Unauthorized" because a pointer held the digits 401)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kustosz.ingest.camera.health import classify

URL = "rtsp://127.0.0.1:9/cam1"
pointers = st.integers(0x550000000000, 0x56FFFFFFFFFF).map(lambda n: f"0x{n:x}")


@given(pointer=pointers)
def test_a_refused_connection_is_unreachable_whatever_the_pointer(pointer: str) -> None:
    tail = [f"[in#0 @ {pointer}] Error opening input: Connection refused",
            "Error opening input file rtsp://***@127.0.0.1:9/cam1.",
            "Error opening input files: Connection refused"]
    assert classify(tail, 1, False, URL).cause == "unreachable"


@given(pointer=pointers)
def test_401_and_404_are_read_from_the_server_answer(pointer: str) -> None:
    auth = [f"[in#0 @ {pointer}] Error opening input: Server returned 401 Unauthorized "
            "(authorization failed)"]
    missing = [f"[in#0 @ {pointer}] Error opening input: Server returned 404 Not Found"]
    assert classify(auth, 1, False, URL).cause == "auth_failed"
    assert classify(missing, 1, False, URL).cause == "not_found"


def test_pointers_that_hold_the_digits_are_not_answers() -> None:
    for pointer in ("0x5594ac401100", "0x560e40437100", "0x404404404404"):
        tail = [f"[in#0 @ {pointer}] Error opening input: Connection refused"]
        assert classify(tail, 1, False, URL).cause == "unreachable", pointer
