"""Issue 64 item 9 on the two ways Kustosz records itself, where the office keeps external
incoming calls only [seed 004 §3.4]: a caller's number with no canonical form (the finding's
"09243820431") calling the office is told apart by its digits — outside, so incoming, kept,
stored as written and found by it; seven digits ("8906060", which may be an extension the
line was not told of) cannot be told, so the call is not kept — and the office is told by an
alert on the line naming the sender and the reason, never the number."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder
from tests.siprec.siprec_helpers import (
    OFFICE,
    add_line,
    calls_of,
    recording_server,
    wait_for_calls,
)
from tests.support.capture import (
    call_across,
    capture_process,
    netns_available,
    veth_pair,
    wait_reading,
)
from tests.support.numbers_kept import assert_numbers_kept
from tests.support.siprec import rtp_pcap, run_sipp, scenario, sipp_available, speech

from kustosz.db.models import Alert
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not sipp_available(), reason="sipp, espeak-ng or sox missing")
KEPT, UNTOLD = "09243820431", "8906060"


def _untold(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return [m for m in s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars() if "kierunku" in m]


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("voice")
    audio = speech("Dzień dobry, dzwonię z zagranicy.", folder, "caller").read_bytes()
    rtp_pcap([(audio, 6000), (audio, 6002)], folder / "siprec.pcap")
    return audio, folder


def test_siprec_keeps_what_the_digits_tell_and_tells_what_they_cannot(
        tmp_path: Path, voice: tuple[bytes, Path]) -> None:
    audio, folder = voice
    vault = make_vault(tmp_path / "vault", "walbrzych")
    try:
        assert str(vault.policy.call_scope) == "external_incoming"
        add_line(vault)
        with recording_server(vault) as srs:
            run_sipp(scenario(None, 1500), tmp_path / "untold", f"127.0.0.1:{srs.port}",
                     keys={"caller": UNTOLD, "callee": OFFICE, "caller_name": "Gosc"})
            wait_for(lambda: _untold(vault), 30, "the untold call alerted")
            run_sipp(scenario(folder / "siprec.pcap", len(audio) // 8 + 1000),
                     tmp_path / "kept", f"127.0.0.1:{srs.port}",
                     keys={"caller": KEPT, "callee": OFFICE, "caller_name": "Jan Kowalski"})
            ((call, rec),) = wait_for_calls(vault, 1)
            assert srs.counters.out_of_scope == 1
        assert (call.caller, call.callee, call.direction) == (KEPT, OFFICE, "incoming")
        assert_numbers_kept(vault, call, rec)
        (alert,) = _untold(vault)
        assert alert.startswith("Odrzucono dane z adresu 127.0.0.1 (SBC linii sbc): nie "
                                "zapisano rozmowy")
        assert UNTOLD not in alert
    finally:
        vault.close()


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2")
def test_a_mirrored_port_keeps_what_the_digits_tell_and_tells_what_they_cannot(
        tmp_path: Path, voice: tuple[bytes, Path]) -> None:
    audio, folder = voice
    rtp_pcap([(audio, 6000)], folder / "caller.pcap")
    vault = make_vault(tmp_path / "v", "walbrzych")
    try:
        with veth_pair() as veth:
            add_capture(vault, veth.outside)
            with capture_recorder(vault) as recorder, capture_process(vault.root):
                wait_reading(recorder, veth.outside)
                call_across(veth, tmp_path / "untold", caller=UNTOLD, callee=OFFICE,
                            caller_pcap=None, callee_pcap=None, talk_ms=500)
                wait_for(lambda: _untold(vault), 30, "the untold call alerted")
                call_across(veth, tmp_path / "kept", caller=KEPT, callee=OFFICE,
                            caller_pcap=folder / "caller.pcap", callee_pcap=None,
                            talk_ms=len(audio) // 8)
                ((call, rec),) = wait_for_calls(vault, 1)
                assert recorder.counters.out_of_scope == 1
        assert (call.caller, call.callee, call.direction) == (KEPT, OFFICE, "incoming")
        assert_numbers_kept(vault, call, rec)
        (alert,) = _untold(vault)
        assert alert.startswith(f"Odrzucono dane od urządzenia „port lustrzany {veth.outside}”"
                                ": nie zapisano rozmowy")
        assert UNTOLD not in alert and len(calls_of(vault)) == 1
    finally:
        vault.close()
