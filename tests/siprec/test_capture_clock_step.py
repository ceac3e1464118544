"""Calls read off a mirrored port over a real veth, the capture process reading it (issue 64):

- item 7: a call in progress when the wall clock steps by ±1 h keeps its true length. The
  capture process stamps each frame with the wall clock, so here it runs in a thread of the
  test's process (its own code, `helper.run`, on the veth as its unit runs it) and the step
  reaches its stamps too (tests/siprec/wall_step.py);
- S9: 1 001 junk INVITEs while a real call rings do not push that call out of the table of
  offers followed — from one sender (bounded per sender) or from 1 001 (a ringing call is
  kept before any offer nobody answered). Before, the oldest unanswered offer went first:
  the ringing call, alerted and never recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder, settle
from tests.siprec.siprec_helpers import OFFICE, wait_for_calls
from tests.siprec.test_capture_bad_input import CALLER, PHONE, TRUNK, _sdp, _sip, sound
from tests.siprec.wall_step import WallStep
from tests.support.capture import (
    capture_process,
    netns_available,
    udp_frame,
    veth_pair,
    wait_reading,
)
from tests.support.capture_replay import replay
from tests.support.siprec import rtp_packet

from kustosz.db.models import Alert
from kustosz.ingest.phone.capture import helper
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.ingest.phone.capture.wire import socket_path
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not netns_available(), reason="needs root and iproute2")
PACKETS = 150  # 3 s of 20-ms A-law packets each way
Frames = list[tuple[float, bytes]]


def _sip_frame(at: float, src: str, dst: str, message: bytes) -> tuple[float, bytes]:
    return at, udp_frame(src, 5060, dst, 5060, message)


def _invite(call_id: str, at: float, src: str = TRUNK) -> tuple[float, bytes]:
    return _sip_frame(at, src, PHONE, _sip(f"INVITE sip:{OFFICE}@{PHONE} SIP/2.0", call_id,
                                           "1 INVITE", _sdp(src, 20000)))


def _answer(call_id: str, at: float, code: str = "200 OK", sdp: bool = True
            ) -> tuple[float, bytes]:
    return _sip_frame(at, PHONE, TRUNK, f"SIP/2.0 {code}".encode() + _sip(
        "", call_id, "1 INVITE", _sdp(PHONE, 30000) if sdp else "",
        to=f"<sip:{OFFICE}@{PHONE}>;tag=b2")[1:])


def _bye(call_id: str, at: float) -> tuple[float, bytes]:
    return _sip_frame(at, TRUNK, PHONE, _sip(f"BYE sip:{OFFICE}@{PHONE} SIP/2.0", call_id,
                                             "2 BYE", to=f"<sip:{OFFICE}@{PHONE}>;tag=b2"))


def _sound(first: int, count: int, at: float) -> Frames:
    """Both sides' RTP, packet ``first`` on, every 20 ms from ``at``."""
    out: Frames = []
    for i in range(first, first + count):
        when = at + (i - first) * 0.02
        out.append((when, udp_frame(TRUNK, 20000, PHONE, 30000,
                                    rtp_packet(i, i * 160, sound(i)))))
        out.append((when, udp_frame(PHONE, 30000, TRUNK, 20000,
                                    rtp_packet(i, i * 160, sound(i + 7), ssrc=0x4321))))
    return out


@contextmanager
def _capture_in_thread(vault: Vault) -> Iterator[None]:
    """The capture process's own loop (`kustosz capture`), in a thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(target=helper.run, args=(socket_path(vault.root), stop),
                              name="capture-process", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


@pytest.mark.parametrize("step_s", [-3600.0, 3600.0])
def test_a_wall_clock_step_during_a_captured_call_leaves_its_true_length(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step_s: float) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    wall = WallStep(monkeypatch)
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, _capture_in_thread(vault):
            wait_reading(recorder, veth.outside)
            began, began_wall = time.monotonic(), wall.true()
            replay(veth, [_invite("krok", 0.0), _answer("krok", 0.01),
                          *_sound(0, PACKETS // 2, 0.02)], speedup=1.0, max_gap=0.5)
            wait_for(lambda: _received(recorder) >= PACKETS, 30, "half the call's sound")
            heard_wall = wall.true()  # the call was answered before this, on any machine
            wall.step(step_s)
            replay(veth, [*_sound(PACKETS // 2, PACKETS // 2, 0.0),
                          _bye("krok", PACKETS // 2 * 0.02)], speedup=1.0, max_gap=0.5)
            wait_for(lambda: not recorder.calls, 30, "the call ended by its BYE")
            elapsed = time.monotonic() - began
            settle(recorder)
    ((_, rec),) = wait_for_calls(vault, 1)
    vault.close()
    length = (rec.end_at - rec.start_at).total_seconds()
    assert PACKETS * 0.02 - 0.1 <= length <= elapsed + 0.1, (length, elapsed)
    # between the first frame sent and its sound heard: a window, not a time bound, so that a
    # busy machine's slow replay cannot fail it
    assert began_wall - 0.5 <= rec.start_at.timestamp() <= heard_wall + 0.5, rec.start_at
    assert rec.meta["received"] == 2 * PACKETS and rec.meta["ended"] == "bye"
    assert abs(rec.meta["wall_clock_step_s"] - step_s) < 1.0, rec.meta


def _received(recorder: Recorder) -> int:
    return sum(call.received() for call in list(recorder.calls.values()))


@pytest.mark.parametrize("senders", [1, 1001])
def test_junk_invites_while_a_real_call_rings_never_push_it_out(
        tmp_path: Path, senders: int) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    ringing: Frames = [_invite("prawdziwa", 0.0), _answer("prawdziwa", 0.001, "100 Trying",
                                                          sdp=False),
                       _answer("prawdziwa", 0.002, "180 Ringing", sdp=False)]
    junk = [_invite(f"smiec-{i}", 0.003 + i * 0.001, src=f"10.66.{i // 250}.{i % 250 + 1}"
                    if senders > 1 else "10.66.0.1") for i in range(1001)]
    answered = [_answer("prawdziwa", 0.0), *_sound(0, 50, 0.001), _bye("prawdziwa", 1.1)]
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            replay(veth, ringing + junk, speedup=1.0, max_gap=0.5)
            wait_for(lambda: len(_dialogs(recorder)) + recorder.counters.not_followed
                     >= 1002, 60, "every INVITE read")
            assert "prawdziwa" in _dialogs(recorder), "the ringing call was pushed out"
            replay(veth, answered, speedup=1.0, max_gap=0.5)
            ((_, rec),) = wait_for_calls(vault, 1)
            settle(recorder)
    assert rec.meta["src_session"] == "prawdziwa" and rec.meta["ended"] == "bye"
    assert rec.meta["received"] == 100 and rec.meta["caller_raw"] == CALLER
    assert recorder.counters.not_followed >= 1  # junk went, and was told
    wait_for(lambda: bool(_refused(vault)), 30, "the junk offers told")
    assert all("prawdziwa" not in m for m in _refused(vault)), _refused(vault)
    vault.close()


def _dialogs(recorder: Recorder) -> dict[str, object]:
    return {k: v for d in list(recorder.dialogs.values()) for k, v in list(d.calls.items())}


def _refused(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars())
