"""Bad input on a mirrored port (issue 35 item 2), each before serve's own capture recorder:
the frames are crafted here and handed over through capture.sock as the capture process hands
them (tests.support.capture.FakeCaptureProcess plays its side: no switch sends a malformed
INVITE on demand). Each is counted or dropped, nothing of it is written, and the recorder goes
on recording the next good call. Also: the line's bad settings, refused before anything is
stored; the capture process's own answers for an interface it cannot read."""

from __future__ import annotations

import base64
import io
import os
import socket
import stat
import struct
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pylibsrtp
import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault, snapshot
from tests.siprec.capture_helpers import add_capture, capture_recorder, settle
from tests.siprec.siprec_helpers import OFFICE, calls_of, files_under, wait_for_calls
from tests.support.capture import FakeCaptureProcess, udp_frame
from tests.support.siprec import alaw_to_pcm, best_match, rtp_packet

from kustosz.db.models import Alert
from kustosz.errors import InputError
from kustosz.ingest.phone.capture.helper import Capture
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.ingest.phone.capture.wire import read_control, socket_path
from kustosz.ingest.phone.lines import add_capture_line
from kustosz.ingest.phone.siprec.status import current
from kustosz.states import AlertRow
from kustosz.vault import Vault

TRUNK, PHONE = "10.1.0.10", "10.1.0.20"
CALLER = "+48581112233"
IFACE = "lo"  # every machine has it: the line's interface must exist when it is added


def _sip(first: str, call_id: str, cseq: str, sdp: str = "", frm: str = "", to: str = "",
         extra: tuple[str, ...] = ()) -> bytes:
    body = sdp.replace("\n", "\r\n")
    head = [first, f"Via: SIP/2.0/UDP {TRUNK}:5060;branch=z9hG4bK{call_id}{cseq[:1]}",
            f"From: {frm or f'<sip:{CALLER}@{TRUNK}>;tag=a1'}",
            f"To: {to or f'<sip:{OFFICE}@{PHONE}>'}", f"Call-ID: {call_id}",
            f"CSeq: {cseq}", "Max-Forwards: 70", *extra]
    if body:
        head.append("Content-Type: application/sdp")
    head.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def _sdp(address: str, port: int, payload: int = 8, crypto: str = "") -> str:
    profile = "RTP/SAVP" if crypto else "RTP/AVP"
    return (f"v=0\no=- 1 1 IN IP4 {address}\ns=-\nc=IN IP4 {address}\nt=0 0\n"
            f"m=audio {port} {profile} {payload}\n" + (f"{crypto}\n" if crypto else ""))


def sound(i: int) -> bytes:
    """The i-th packet's 20 ms of A-law, the same each run."""
    return bytes((0x20 + 37 * (i * 160 + j)) % 256 for j in range(160))


class Wire:
    """One mirrored port's traffic, sent to the recorder as the capture process would."""

    def __init__(self, fake: FakeCaptureProcess) -> None:
        self.fake = fake

    def sip(self, src: str, dst: str, message: bytes) -> None:
        self.fake.send([(time.time(), udp_frame(src, 5060, dst, 5060, message))])

    def call(self, call_id: str, *, caller_port: int = 20000, phone_port: int = 30000,
             payload: int = 8, answer: bool = True, frm: str = "",
             extra: tuple[str, ...] = (), crypto: tuple[str, str] = ("", "")) -> None:
        """``crypto``: the offer's and the answer's a=crypto lines (SRTP)."""
        self.sip(TRUNK, PHONE, _sip(f"INVITE sip:{OFFICE}@{PHONE} SIP/2.0", call_id,
                                    "1 INVITE", _sdp(TRUNK, caller_port, payload, crypto[0]),
                                    frm=frm, extra=extra))
        if answer:
            self.sip(PHONE, TRUNK, b"SIP/2.0 200 OK" + _sip(
                "", call_id, "1 INVITE", _sdp(PHONE, phone_port, payload, crypto[1]),
                to=f"<sip:{OFFICE}@{PHONE}>;tag=b2")[1:])

    def rtp(self, to: tuple[str, int], count: int, payload: int = 8, start: int = 0,
            src: str = TRUNK, protect: Callable[[bytes], bytes] = lambda p: p) -> None:
        frames = [(time.time(), udp_frame(src, 20000, to[0], to[1], protect(rtp_packet(
            start + i, (start + i) * 160, sound(i), pt=payload)))) for i in range(count)]
        for at in range(0, len(frames), 100):
            self.fake.send(frames[at:at + 100])

    def bye(self, call_id: str) -> None:
        self.sip(TRUNK, PHONE, _sip(f"BYE sip:{OFFICE}@{PHONE} SIP/2.0", call_id, "2 BYE",
                                    to=f"<sip:{OFFICE}@{PHONE}>;tag=b2"))


@pytest.fixture
def port(tmp_path: Path) -> Iterator[tuple[Vault, Recorder, Wire]]:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, IFACE)
    with capture_recorder(vault, watch_s=0.2, silence_s=3.0, no_sound_s=1.0,
                          unanswered_s=2.0, max_calls=5) as recorder:
        fake = FakeCaptureProcess(socket_path(vault.root), [IFACE])
        wait_for(lambda: recorder.interfaces.get(IFACE) == "", 30, "the interface said open")
        yield vault, recorder, Wire(fake)
        fake.close()
    vault.close()


def _good_call(wire: Wire, vault: Vault, call_id: str, count: int) -> None:
    """The recorder still records: a whole call, after the bad input."""
    wire.call(call_id)
    wire.rtp((PHONE, 30000), 50)
    wire.bye(call_id)
    wait_for_calls(vault, count)


def test_malformed_sip_and_frames_that_are_not_udp_are_counted_and_nothing_is_written(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, recorder, wire = port
    for junk in (b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",  # no Call-ID, no CSeq
                 b"SIP/2.0 200 OK\r\n\r\n", b"INVITE \xff\xfe SIP/2.0\r\n\r\n"):
        wire.sip(TRUNK, PHONE, junk)
    arp = b"\x02" * 12 + b"\x08\x06" + b"\x00" * 28
    fragment = udp_frame(TRUNK, 5060, PHONE, 5060, b"INVITE", flags_fragment=0x2000)
    cut = udp_frame(TRUNK, 5060, PHONE, 5060, b"x" * 40)[:-20]
    wire.fake.send([(time.time(), arp), (time.time(), fragment), (time.time(), cut),
                    (time.time(), b"\x00" * 5)])
    wait_for(lambda: recorder.counters.skipped == 4, 30, "the four frames skipped")
    wait_for(lambda: recorder.dialogs[IFACE].malformed >= 2, 30, "malformed SIP counted")
    assert recorder.calls == {} and files_under(vault.root / "capture") == []
    _good_call(wire, vault, "good-1", 1)


def test_a_trunk_asserting_the_caller_as_a_tel_uri_is_followed_by_that_number(
        port: tuple[Vault, Recorder, Wire]) -> None:
    """Trunks assert the caller as `tel:` (RFC 3966), which sippy's own parser refuses; the
    identities are read from the message's text, the withheld From is not the caller."""
    vault, _, wire = port
    wire.call("asserted", frm='"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x9',
              extra=(f"P-Asserted-Identity: \"Jan Kowalski\" <tel:{CALLER}>",))
    wire.rtp((PHONE, 30000), 50)
    wire.bye("asserted")
    ((call, rec),) = wait_for_calls(vault, 1)
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["caller_name"] == "Jan Kowalski" and rec.meta["received"] == 50


def _srtp_sender(key: bytes) -> Callable[[bytes], bytes]:
    session = pylibsrtp.Session(policy=pylibsrtp.Policy(
        key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80))
    return lambda packet: bytes(session.protect(packet))


def _crypto(key: bytes, suite: str = "AES_CM_128_HMAC_SHA1_80") -> str:
    return f"a=crypto:1 {suite} inline:{base64.b64encode(key).decode()}"


def test_srtp_whose_keys_cross_the_port_is_decrypted_and_forgeries_are_not_written(
        port: tuple[Vault, Recorder, Wire]) -> None:
    """SIP over plain UDP carries each side's SDES key (RFC 4568) past the mirrored port as
    it carries it to the other side: each side's SRTP is decrypted with the key its sender
    offered (libsrtp, the sender here too) — its sound, not noise; a packet that fails its
    authentication is counted, never written."""
    vault, _, wire = port
    caller_key, phone_key = bytes(range(30)), bytes(range(100, 130))
    wire.call("srtp", crypto=(_crypto(caller_key), _crypto(phone_key)))
    wire.rtp((PHONE, 30000), 50, protect=_srtp_sender(caller_key))
    wire.rtp((TRUNK, 20000), 40, src=PHONE, protect=_srtp_sender(phone_key))
    forged = _srtp_sender(bytes(30))  # another key: not the sender's
    wire.rtp((PHONE, 30000), 10, start=50, protect=forged)
    wire.bye("srtp")
    ((_, rec),) = wait_for_calls(vault, 1)
    assert rec.meta["received"] == 90 and rec.meta["unexpected"] == 10
    with vault.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    said = alaw_to_pcm(b"".join(sound(i) for i in range(40)))
    assert best_match(frames[:, 0], said) > 0.99 and best_match(frames[:, 1], said) > 0.99


def test_srtp_is_decrypted_with_the_offered_key_the_answer_took(
        port: tuple[Vault, Recorder, Wire]) -> None:
    """An offer may list several keys (RFC 4568 §6.1); the caller sends with the one whose
    tag the answer kept — not simply the first."""
    vault, _, wire = port
    first, taken, phone_key = bytes(range(30)), bytes(range(50, 80)), bytes(range(100, 130))
    offer = "\n".join((_crypto(first, "AES_CM_128_HMAC_SHA1_32"),
                       _crypto(taken).replace("crypto:1", "crypto:2")))
    wire.call("two-keys", crypto=(offer, _crypto(phone_key).replace("crypto:1", "crypto:2")))
    wire.rtp((PHONE, 30000), 40, protect=_srtp_sender(taken))
    wire.bye("two-keys")
    ((_, rec),) = wait_for_calls(vault, 1)
    assert rec.meta["received"] == 40 and rec.meta["unexpected"] == 0


def test_srtp_without_a_usable_key_is_not_written_as_noise_and_is_alerted(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, _, wire = port
    key = bytes(range(30))
    wire.call("dtls", crypto=(_crypto(key, "AEAD_AES_256_GCM"), _crypto(key, "F8_128")))
    wire.rtp((PHONE, 30000), 30, protect=_srtp_sender(key))
    wire.bye("dtls")
    ((_, rec),) = wait_for_calls(vault, 1)
    assert rec.meta["received"] == 0 and rec.meta["no_sound"] is True
    with vault.reading() as s:
        (message,) = s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.PHONE_NO_SOUND)).scalars().all()
    assert "encrypted (SRTP, 30 packets seen)" in message


def test_rtp_of_no_call_is_counted_and_rtp_of_an_unrecorded_codec_is_not_written(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, recorder, wire = port
    wire.rtp(("10.9.9.9", 40000), 10)  # a call Kustosz never saw offered
    wait_for(lambda: recorder.counters.unmatched >= 10, 30, "unmatched RTP counted")
    wire.call("g729", payload=18)  # G.729: not decodable, so not written
    wire.rtp((PHONE, 30000), 30, payload=18)
    wire.bye("g729")
    ((_, rec),) = wait_for_calls(vault, 1)
    assert rec.meta["received"] == 0 and rec.meta["no_sound"] is True
    with vault.reading() as s:
        assert s.execute(select(Alert.kind).where(
            Alert.kind == AlertRow.PHONE_NO_SOUND)).scalars().all() == ["phone.no_sound"]
    _good_call(wire, vault, "good-2", 2)


def test_a_call_whose_bye_is_never_seen_is_closed_after_the_silence_and_marked_so(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, _, wire = port
    wire.call("no-bye")
    wire.rtp((PHONE, 30000), 50)
    ((_, rec),) = wait_for_calls(vault, 1, timeout=60)
    assert rec.meta["ended"] == "silence" and rec.meta["received"] == 50


def test_calls_never_answered_failed_or_cancelled_are_never_written(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, recorder, wire = port
    wire.call("ringing", answer=False)  # never answered, never ended: forgotten
    wire.call("busy", answer=False)
    wire.sip(PHONE, TRUNK, b"SIP/2.0 486 Busy Here" + _sip(
        "", "busy", "1 INVITE", to=f"<sip:{OFFICE}@{PHONE}>;tag=b2")[1:])
    wire.call("cancelled", answer=False)
    wire.sip(TRUNK, PHONE, _sip(f"CANCEL sip:{OFFICE}@{PHONE} SIP/2.0", "cancelled",
                                "1 CANCEL"))
    wire.rtp((PHONE, 30000), 20)  # early media of no answered call: not a recording
    wait_for(lambda: recorder.counters.unmatched >= 20, 30, "the early media read, unmatched")
    # the failed ones ended at once (the ringing one may already be forgotten on a slow run)
    assert set(recorder.dialogs[IFACE].calls) <= {"ringing"}
    wait_for(lambda: recorder.dialogs[IFACE].calls == {}, 30, "the unanswered one forgotten")
    settle(recorder)
    assert recorder.counters.calls == 0 and files_under(vault.root / "capture") == []
    assert calls_of(vault) == []


def test_a_flood_of_invites_is_followed_up_to_the_limit_and_counted(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, recorder, wire = port
    for i in range(20):
        wire.call(f"flood-{i}", answer=False)
    wait_for(lambda: recorder.counters.not_followed == 15, 30, "15 dialogs past the limit")
    assert len(recorder.dialogs[IFACE].calls) <= 5  # never more followed than the limit
    wait_for(lambda: recorder.dialogs[IFACE].calls == {}, 30, "the five forgotten unanswered")
    _good_call(wire, vault, "after-flood", 1)


def test_junk_invites_never_keep_out_a_real_call_and_are_told(
        port: tuple[Vault, Recorder, Wire]) -> None:
    """Issue 48 item 5: unanswered INVITEs filled the table (max_calls) and every real call
    after them went unrecorded, counted only in a number nothing read, while the junk kept
    the "no call in working hours" alert quiet. Now the oldest unanswered offer makes room,
    an answered call is never pushed out, junk is no call seen, and what was dropped is
    published and alerted."""
    vault, recorder, wire = port
    seen: list[str] = []
    recorder.seen = seen.append
    wire.call("early-real")  # answered before the flood: must survive it
    for i in range(40):
        wire.call(f"junk-{i}", answer=False)
    wait_for(lambda: recorder.counters.not_followed >= 36, 30, "the junk past the limit")
    assert len(seen) == 1  # the answered call only: junk is no call seen
    wire.call("during-flood")  # a real call while junk still fills the table
    wire.rtp((PHONE, 30000), 50)
    for call_id in ("early-real", "during-flood"):
        wire.bye(call_id)
    stored = wait_for_calls(vault, 2)
    assert [rec.meta["ended"] for _, rec in stored] == ["bye", "bye"]
    assert len(seen) == 2
    assert current("capture").refused == recorder.counters.not_followed
    wait_for(lambda: _refusals(vault), 30, "the dropped offers' alert")
    assert "nieodebranych zaproszeń" in _refusals(vault)[0]


def _refusals(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars())


def test_what_the_capture_process_never_sends_closes_its_connection_and_a_new_one_works(
        port: tuple[Vault, Recorder, Wire]) -> None:
    vault, recorder, wire = port
    for bad in (b"Xnonsense", b"J{not json", b"F" + struct.pack("!BdI", 0, 0.0, 500) + b"ab"):
        wire.fake.send_raw(bad)
        wait_for(lambda: not recorder.connected, 30, "the connection closed")
        wire.fake.close()
        wire.fake = FakeCaptureProcess(socket_path(vault.root), [IFACE])
        wait_for(lambda: recorder.connected, 30, "a new connection")
    _good_call(wire, vault, "after-garbage", 1)


def test_the_socket_is_the_services_alone(port: tuple[Vault, Recorder, Wire]) -> None:
    vault, _, _ = port
    mode = os.stat(socket_path(vault.root)).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_the_capture_process_says_why_it_cannot_read_an_interface() -> None:
    serve_side, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    capture = Capture(ours)
    try:
        capture.asked(["kzno0", "lo"])
        opened = read_control(serve_side.recv(65536))["opened"]
    finally:
        capture.close()
        serve_side.close()
        ours.close()
    assert opened["kzno0"] == "interface kzno0: no such interface on this machine"
    if os.geteuid() == 0:
        assert opened["lo"] == ""
    else:
        assert "CAP_NET_RAW" in opened["lo"]


@pytest.mark.parametrize(("interface", "numbers", "why"), [
    ("", [OFFICE], "name the network interface"),
    ("   ", [OFFICE], "name the network interface"),
    ("a" * 16, [OFFICE], "not a network interface name"),
    ("eth/1", [OFFICE], "not a network interface name"),
    ("eth 1", [OFFICE], "not a network interface name"),
    ("..", [OFFICE], "not a network interface name"),
    ("kzno0", [OFFICE], "no network interface 'kzno0'"),
    (IFACE, [], "give the office's own numbers"),
    (IFACE, ["not a number"], "office number"),
])
def test_a_capture_line_with_bad_settings_is_refused_and_nothing_changes(
        tmp_path: Path, interface: str, numbers: list[str], why: str) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    before = snapshot(vault)
    with pytest.raises(InputError, match=why), vault.transaction() as s:
        add_capture_line(s, vault.policy, "port", "test", interface=interface,
                         numbers=numbers)
    assert snapshot(vault) == before
    vault.close()


def test_one_interface_belongs_to_one_line(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, IFACE)
    before = snapshot(vault)
    with pytest.raises(InputError, match="already the mirrored port of line 'port'"), \
            vault.transaction() as s:
        add_capture_line(s, vault.policy, "second", "test", interface=IFACE,
                         numbers=[OFFICE])
    assert snapshot(vault) == before
    vault.close()


def test_a_capture_process_gone_mid_call_ends_the_call_at_its_last_packet_and_is_told(
        tmp_path: Path) -> None:
    """Issue 48 item 7: the capture process died mid-call and the call was stored ending at
    serve's stop (18-s calls indexed as 250-557 s, the unheard rest as no loss), the process's
    absence cleared before its alert's grace. Now the call ends at the last packet heard and
    the loss is told on its line at once."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, IFACE)
    with capture_recorder(vault, watch_s=0.2, silence_s=600.0) as recorder:
        wire = Wire(FakeCaptureProcess(socket_path(vault.root), [IFACE]))
        wait_for(lambda: recorder.interfaces.get(IFACE) == "", 30, "the interface said open")
        wire.call("cut-by-capture")
        wire.rtp((PHONE, 30000), 50)
        wait_for(lambda: bool(recorder.calls) and
                 next(iter(recorder.calls.values())).received() == 50, 30, "the call's sound")
        heard = recorder.frame_clock.wall_of(next(iter(recorder.calls.values())).last_heard)
        wire.fake.close()  # the capture process is gone
        wait_for(lambda: not recorder.connected, 30, "the capture process gone")
        wait_for(lambda: bool(_loss(vault)), 30, "the loss told on the line")
        assert "the capture process went away" in _loss(vault)[0]
        time.sleep(2.0)  # serve runs on without it: that time is no part of the call
    ((_call, rec),) = wait_for_calls(vault, 1)
    vault.close()
    assert abs(rec.end_at.timestamp() - heard) < 1.0, (rec.end_at, heard)


def _loss(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.PHONE_LOSS)).scalars())
