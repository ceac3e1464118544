"""What a mirrored trunk port may carry besides plain IPv4 (issue 35 item 2): a call whose SIP
and RTP are IPv6, inside 802.1Q tags, its SDP writing the addresses out in full — recorded
like any call (the frames crafted here and handed over through capture.sock as the capture
process hands them)."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder
from tests.siprec.siprec_helpers import OFFICE, wait_for_calls
from tests.support.capture import FakeCaptureProcess, udp6_frame, udp_frame
from tests.support.siprec import rtp_packet

from kustosz.ingest.phone.capture.wire import socket_path

TRUNK, PHONE = "2001:db8:10::a", "2001:db8:20::14"
FULL_PHONE = "2001:0db8:0020:0000:0000:0000:0000:0014"  # the same address, written out
CALLER = "+48581112233"


def _message(first: str, cseq: str, sdp: str = "", to_tag: str = "") -> bytes:
    body = sdp.replace("\n", "\r\n")
    head = [first, f"Via: SIP/2.0/UDP [{TRUNK}]:5060;branch=z9hG4bKv6{cseq[:1]}",
            f"From: <sip:{CALLER}@[{TRUNK}]>;tag=a1",
            f"To: <sip:{OFFICE}@[{PHONE}]>{to_tag}", "Call-ID: v6-call", f"CSeq: {cseq}",
            *(["Content-Type: application/sdp"] if body else []),
            f"Content-Length: {len(body.encode())}"]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def _sdp(address: str, port: int) -> str:
    return (f"v=0\no=- 1 1 IN IP6 {address}\ns=-\nc=IN IP6 {address}\nt=0 0\n"
            f"m=audio {port} RTP/AVP 8\n")


def test_an_ipv6_call_in_vlan_tags_is_recorded_like_any_other(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, "lo")
    with capture_recorder(vault) as recorder:
        fake = FakeCaptureProcess(socket_path(vault.root), ["lo"])
        wait_for(lambda: recorder.interfaces.get("lo") == "", 30, "the interface said open")

        def send(src: str, dst: str, payload: bytes, sport: int = 5060,
                 dport: int = 5060) -> None:
            fake.send([(time.time(), udp6_frame(src, sport, dst, dport, payload, vlan=42))])

        send(TRUNK, PHONE, _message(f"INVITE sip:{OFFICE}@[{PHONE}] SIP/2.0", "1 INVITE",
                                    _sdp(TRUNK, 20000)))
        send(PHONE, TRUNK, _message("SIP/2.0 200 OK", "1 INVITE", _sdp(FULL_PHONE, 30000),
                                    ";tag=b2"))
        for i in range(50):
            send(TRUNK, PHONE, rtp_packet(i, i * 160, b"\x55" * 160), 20000, 30000)
        send(TRUNK, PHONE, _message(f"BYE sip:{OFFICE}@[{PHONE}] SIP/2.0", "2 BYE",
                                    to_tag=";tag=b2"))
        ((call, rec),) = wait_for_calls(vault, 1)
        fake.close()
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["received"] == 50 and rec.meta["ended"] == "bye"
    vault.close()


def test_opus_read_off_the_port_is_kept_by_the_name_its_sdp_gave_it(tmp_path: Path) -> None:
    """A dynamic payload type is the codec the SDP's a=rtpmap names (the receiver's): Opus
    read off the wire is kept as sent (libopus, cross-correlation); DTMF events beside it
    (telephone-event) are not sound and not written."""
    import numpy as np
    from tests.siprec.test_capture_bad_input import PHONE as PHONE4
    from tests.siprec.test_capture_bad_input import TRUNK as TRUNK4
    from tests.siprec.test_capture_bad_input import Wire, _sip
    from tests.support.siprec import best_match, opus_packets, speech_pcm

    words = speech_pcm("Proszę o połączenie z wydziałem podatków.", tmp_path, "opus")
    packets = opus_packets(words)
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, "lo")
    sdp = ("v=0\no=- 1 1 IN IP4 {a}\ns=-\nc=IN IP4 {a}\nt=0 0\n"
           "m=audio {p} RTP/AVP 111 101\na=rtpmap:111 opus/48000/2\n"
           "a=rtpmap:101 telephone-event/8000\n")
    with capture_recorder(vault) as recorder:
        wire = Wire(FakeCaptureProcess(socket_path(vault.root), ["lo"]))
        wait_for(lambda: recorder.interfaces.get("lo") == "", 30, "the interface said open")
        wire.sip(TRUNK4, PHONE4, _sip(f"INVITE sip:{OFFICE}@{PHONE4} SIP/2.0", "opus",
                                    "1 INVITE", sdp.format(a=TRUNK4, p=20000)))
        wire.sip(PHONE4, TRUNK4, b"SIP/2.0 200 OK" + _sip(
            "", "opus", "1 INVITE", sdp.format(a=PHONE4, p=30000),
            to=f"<sip:{OFFICE}@{PHONE4}>;tag=b2")[1:])
        start = time.time()
        frames = [(start, udp_frame(TRUNK4, 20000, PHONE4, 30000, rtp_packet(
            900, 0, b"\x01\x0a\x00\xa0", pt=101)))]  # a DTMF "1" first
        frames += [(start + n * 0.02, udp_frame(TRUNK4, 20000, PHONE4, 30000,
                                                rtp_packet(n, tick, payload, pt=111)))
                   for n, (tick, payload) in enumerate(packets)]
        for at in range(0, len(frames), 50):
            wire.fake.send(frames[at:at + 50])
        wire.bye("opus")
        ((_, rec),) = wait_for_calls(vault, 1)
        wire.fake.close()
    assert [s["codec"] for s in rec.meta["streams"]] == ["OPUS"]
    assert rec.meta["received"] == len(packets) and rec.meta["unexpected"] == 0
    with vault.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        assert w.getframerate() == 48000
        left = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)[:, 0]
    assert best_match(left, words) > 0.9
    vault.close()
