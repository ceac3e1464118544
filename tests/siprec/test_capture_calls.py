"""Calls recorded off a mirrored switch port (issue 35 item 2): two SIPp call each other across
a veth pair into a network namespace the test makes; the capture process (`kustosz capture`,
a process of its own as its unit runs it) reads the veth end and hands the frames to serve's
capture recorder, which keeps the call like every call: its numbers and direction in the
index, the caller's words on the left channel and the office's on the right — matched by
cross-correlation with what each SIPp sent, real espeak-ng speech. Needs root (a namespace,
a packet socket), iproute2, sipp, espeak-ng and sox; without them it skips."""

from __future__ import annotations

import io
import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder, settle
from tests.siprec.siprec_helpers import OFFICE, calls_of, files_under, wait_for_calls
from tests.support.capture import (
    call_across,
    capture_process,
    netns_available,
    veth_pair,
    wait_reading,
)
from tests.support.siprec import alaw_to_pcm, best_match, rtp_pcap, sipp_available, speech

from kustosz.db.calls import PhoneIntakeState
from kustosz.db.models import Alert, Recording
from kustosz.index.calls import search_calls
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not (netns_available() and sipp_available()),
                                reason="needs root, iproute2, sipp, espeak-ng and sox")
CALLER = "+48581112233"


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, Path, Path]:
    folder = tmp_path_factory.mktemp("voices")
    a = speech("Dzień dobry, mówi Jan Kowalski z Gdańska, dzwonię w sprawie podatku.",
               folder, "caller").read_bytes()
    b = speech("Urząd Miasta, wydział finansowy, słucham, w czym mogę pomóc?", folder,
               "office").read_bytes()
    rtp_pcap([(a, 6000)], folder / "caller.pcap")
    rtp_pcap([(b, 6000)], folder / "office.pcap")
    return a, b, folder / "caller.pcap", folder / "office.pcap"


def channels(vault: Vault, rec: Recording) -> tuple[int, np.ndarray]:
    with vault.storage.open(rec.storage_key) as f:
        data = f.read()
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()),
                                               dtype="<i2").reshape(-1, 2)


def test_a_call_on_a_mirrored_port_is_recorded_with_each_side_in_its_channel(
        tmp_path: Path, voices: tuple[bytes, bytes, Path, Path]) -> None:
    caller_audio, office_audio, caller_pcap, office_pcap = voices
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            call_across(veth, tmp_path / "sipp", caller=CALLER, callee=OFFICE,
                        caller_pcap=caller_pcap, callee_pcap=office_pcap,
                        talk_ms=max(len(caller_audio), len(office_audio)) // 8 + 1000)
            ((call, rec),) = wait_for_calls(vault, 1)
            assert recorder.counters.calls == 1
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["intake"] == "capture" and rec.meta["ended"] == "bye"
    assert rec.meta["caller_name"] == "Jan Kowalski" and rec.meta["lost"] == 0
    assert 3 <= (rec.end_at - rec.start_at).total_seconds() <= 30
    rate, frames = channels(vault, rec)
    assert rate == 8000
    left, right = frames[:, 0], frames[:, 1]
    sent_caller, sent_office = alaw_to_pcm(caller_audio), alaw_to_pcm(office_audio)
    assert best_match(left, sent_caller) > 0.99  # the caller's own words, whole
    assert best_match(right, sent_office) > 0.99
    assert best_match(left, sent_office) < 0.3  # and not the other side's
    assert best_match(right, sent_caller) < 0.3
    with vault.reading() as s:  # found like every call, by any writing of the number
        found = search_calls(s, "58 111 22 33", None, rec.start_at - timedelta(minutes=5),
                             rec.start_at + timedelta(minutes=5))
    assert [c.recording_id for c in found] == [rec.id]
    assert files_under(vault.root / "capture") == []  # the call's folder is gone


def test_an_internal_call_on_the_port_is_never_written_where_only_external_calls_are_kept(
        tmp_path: Path, voices: tuple[bytes, bytes, Path, Path]) -> None:
    """R1.4, seed 004 §3.4: under `external_incoming` a call between two of the office's
    numbers is read off the wire like any other, and dropped as read: no folder, no file, no
    recording — the data folder walked before and after."""
    caller_audio, _, caller_pcap, office_pcap = voices
    vault = make_vault(tmp_path / "v", "walbrzych")
    assert str(vault.policy.call_scope) == "external_incoming"
    with veth_pair() as veth:
        add_capture(vault, veth.outside, numbers=(OFFICE, "+48221234000"))
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            before = set(files_under(vault.root))
            call_across(veth, tmp_path / "sipp", caller="+48221234000", callee=OFFICE,
                        caller_pcap=caller_pcap, callee_pcap=office_pcap,
                        talk_ms=len(caller_audio) // 8)
            wait_for(lambda: recorder.counters.out_of_scope == 1, 30, "the call seen")
            settle(recorder)
            assert recorder.counters.calls == 0
            after = set(files_under(vault.root))
    new = [p for p in after - before if p.name not in ("kustosz.db-wal", "kustosz.db-shm")
           and "logs" not in p.parts and p.name != "capture-process.log"]
    assert new == []
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
        assert s.execute(select(PhoneIntakeState.out_of_scope)).scalar_one() == 1
    assert calls_of(vault) == []


def test_a_call_whose_sound_never_appears_is_kept_without_sound_and_alerted(
        tmp_path: Path) -> None:
    """Its RTP takes another path (or is encrypted): the call is alerted once its answer is
    `no_sound_s` old, and kept at its end — its numbers, its time, no sound."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault, no_sound_s=2.0) as recorder, \
                capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            call_across(veth, tmp_path / "sipp", caller=CALLER, callee=OFFICE,
                        caller_pcap=None, callee_pcap=None, talk_ms=5000)
            ((call, rec),) = wait_for_calls(vault, 1)
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["received"] == 0 and rec.meta["no_sound"] is True
    with vault.reading() as s:
        alerts = s.execute(select(Alert).where(Alert.kind == AlertRow.PHONE_NO_SOUND)) \
            .scalars().all()
    assert len(alerts) == 1  # said once: at no_sound_s, not again at the end
    assert "bez dźwięku" in alerts[0].message and veth.outside in alerts[0].message
