"""Whatever text a phone or a trunk writes, a call seen on a mirrored port is recorded with it
intact or refused with an alert (issue 64 item 1). A hypothesis example is one call — INVITE,
200 OK, its sound, BYE — sent into a veth that the real capture process (`kustosz capture`)
reads, with every peer-written field of its INVITE (tests/siprec/text_fields.py) holding any
UTF-8 — Polish letters, emoji, U+2028 — and one call in three a fault. A well-formed call is
stored with its caller's display name exactly as the From header wrote it (a quoted-string:
its escapes undone); an INVITE that is no SIP (bytes that are no UTF-8 in its header or its
SDP, a bare CR or a NUL in a header, a body cut short) is counted, alerted as refused input
naming its sender and the line, and leaves no call. Needs root and iproute2."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder
from tests.siprec.siprec_helpers import OFFICE, calls_of
from tests.siprec.text_fields import MESSAGE_FAULTS, Fields, display, fields, message, sdp
from tests.support.capture import (
    capture_process,
    netns_available,
    udp_frame,
    veth_pair,
    wait_reading,
)
from tests.support.capture_replay import Replayer
from tests.support.siprec import rtp_packet

from kustosz.db.models import Alert, Recording
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not netns_available(), reason="needs root and iproute2")

EXAMPLES = 12
TRUNK, PHONE = "10.1.0.10", "10.1.0.20"
CALLER = "+48581112233"


def frame(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    return udp_frame(src, sport, dst, dport, payload)


def call(f: Fields, call_id: str, n: int) -> list[tuple[float, bytes]]:
    """One call's frames as a mirrored port shows them: the fields' INVITE from the trunk,
    the phone's 200 OK, 20 packets of the caller's sound, the trunk's BYE."""
    caller_port, phone_port = 20000 + 2 * n, 30000 + 2 * n
    via = f"Via: SIP/2.0/UDP {TRUNK}:5060;branch=z9hG4bK-{call_id}".encode()
    frm = b"From: " + display(f, "from") + f" <sip:{CALLER}@{TRUNK}>;tag=a-{n}".encode()
    to = f"To: <sip:{OFFICE}@{PHONE}>".encode()
    ids = [f"Call-ID: {call_id}".encode(), b"Max-Forwards: 70"]
    invite = message(f"INVITE sip:{OFFICE}@{PHONE} SIP/2.0", f,
                     [via, frm, to, *ids, b"CSeq: 1 INVITE"],
                     sdp(f, TRUNK, (caller_port,), labels=False), "application/sdp")
    plain = Fields(**{**f.__dict__, "fault": None})  # the phone's messages have no fault
    ok = message("SIP/2.0 200 OK", plain, [via, frm, to + f";tag=b-{n}".encode(), *ids,
                                            b"CSeq: 1 INVITE"],
                  sdp(plain, PHONE, (phone_port,), labels=False), "application/sdp")
    bye = message(f"BYE sip:{OFFICE}@{PHONE} SIP/2.0", plain,
                  [via.replace(b"z9hG4bK-", b"z9hG4bK-bye-"), frm,
                   to + f";tag=b-{n}".encode(), *ids, b"CSeq: 2 BYE"])
    sound = [frame(TRUNK, PHONE, caller_port, phone_port,
                   rtp_packet(i, i * 160, bytes([0x55 + i]) * 160)) for i in range(20)]
    frames = [frame(TRUNK, PHONE, 5060, 5060, invite), frame(PHONE, TRUNK, 5060, 5060, ok),
              *sound, frame(TRUNK, PHONE, 5060, 5060, bye)]
    return [(i * 0.02, fr) for i, fr in enumerate(frames)]


def stored(vault: Vault, call_id: str) -> Recording | None:
    return next((rec for _, rec in calls_of(vault) if rec.meta["src_session"] == call_id),
                None)


def unreadable(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return [m for m in s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars()
            if "SIP z portu lustrzanego jest nieczytelna" in m]


def one_call(vault: Vault, recorder: Recorder, sender: Replayer, veth_name: str, f: Fields,
             call_id: str, n: int) -> None:
    dialogs = recorder.dialogs.get(veth_name)
    malformed = dialogs.malformed if dialogs is not None else 0
    sender.send(call(f, call_id, n))
    if f.fault is None:
        rec = wait_for(lambda: stored(vault, call_id), 60, f"call {call_id} stored")
        assert isinstance(rec, Recording)
        assert rec.meta["caller_name"] == f.from_name
        assert rec.meta["received"] == 20
        return
    wait_for(lambda: recorder.dialogs[veth_name].malformed > malformed, 30,
             f"the faulty INVITE of {call_id} counted")
    wait_for(lambda: unreadable(vault), 30, "the unreadable INVITE alerted")
    assert call_id not in recorder.dialogs[veth_name].calls


def test_any_text_a_phone_writes_is_recorded_intact_or_refused_with_an_alert(
        tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    numbers = itertools.count()
    good: list[str] = []
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            sender = Replayer(veth)

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(fields([*MESSAGE_FAULTS, "sdp bytes"]))
            def example(f: Fields) -> None:
                n = next(numbers)
                call_id = f"capture-text-{n}"
                one_call(vault, recorder, sender, veth.outside, f, call_id, n)
                if f.fault is None:
                    good.append(call_id)

            try:
                example()
            finally:
                sender.close()
            deadline = time.monotonic() + 30
            while recorder.calls and time.monotonic() < deadline:
                time.sleep(0.1)
    assert sorted(rec.meta["src_session"] for _, rec in calls_of(vault)) == sorted(good)
    vault.close()
