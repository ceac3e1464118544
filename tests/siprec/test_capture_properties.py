"""Rules of reading a mirrored port, over many cases (hypothesis): whatever a frame holds it
is either a whole UDP datagram, read back exactly, or skipped with a reason — never an error
that would end the recorder; whatever a SIP-looking datagram holds, following it never raises;
whatever arrives on capture.sock is frames or a BadMessage."""

from __future__ import annotations

import contextlib
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.capture import udp_frame

from kustosz.ingest.phone.capture import wire
from kustosz.ingest.phone.capture.dialogs import Dialogs
from kustosz.ingest.phone.capture.frames import Datagram, Skipped, datagram

ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
port = st.integers(0, 65535)


@given(ipv4, port, ipv4, port, st.binary(max_size=1400))
def test_a_udp_datagram_is_read_back_exactly(src: str, sport: int, dst: str, dport: int,
                                            payload: bytes) -> None:
    assert datagram(udp_frame(src, sport, dst, dport, payload)) == \
        Datagram(src, sport, dst, dport, payload)


@given(st.binary(max_size=200))
def test_any_frame_is_a_datagram_or_skipped_with_a_reason(frame: bytes) -> None:
    try:
        d = datagram(frame)
    except Skipped as exc:
        assert str(exc)
    else:
        assert isinstance(d, Datagram) and len(d.payload) <= len(frame)


@given(st.binary(max_size=120), st.integers(0, 60))
def test_any_cut_of_a_real_frame_is_read_or_skipped(tail: bytes, cut: int) -> None:
    frame = udp_frame("10.0.0.1", 5060, "10.0.0.2", 5060, b"INVITE sip:1@x SIP/2.0\r\n" + tail)
    try:
        datagram(frame[:len(frame) - cut])
    except Skipped:
        assert cut > 0


sip_start = st.sampled_from([b"INVITE sip:1@x SIP/2.0\r\n", b"SIP/2.0 200 OK\r\n",
                             b"BYE sip:1@x SIP/2.0\r\n", b"ACK sip:1@x SIP/2.0\r\n",
                             b"CANCEL sip:1@x SIP/2.0\r\n"])
header = st.sampled_from([b"Call-ID: a", b"Call-ID: b", b"CSeq: 1 INVITE", b"CSeq: x",
                          b"From: <sip:1@x>;tag=1", b"To: <sip:2@y>", b"Via: SIP/2.0/UDP x",
                          b"Content-Type: application/sdp", b"Content-Length: 5",
                          b"Content-Length: 99999", b"P-Asserted-Identity: <tel:+48>"])


@settings(max_examples=300)
@given(st.lists(st.tuples(sip_start, st.lists(header, max_size=9),
                          st.binary(max_size=80)), min_size=1, max_size=6))
def test_following_any_sip_looking_datagrams_never_raises(
        messages: list[tuple[bytes, list[bytes], bytes]]) -> None:
    dialogs = Dialogs()
    for n, (start, headers, body) in enumerate(messages):
        payload = start + b"\r\n".join(headers) + b"\r\n\r\n" + body
        assert Dialogs.is_sip(payload)
        dialogs.sip(float(n), Datagram("10.0.0.1", 5060, "10.0.0.2", 5060, payload))
    for dialog in dialogs.calls.values():
        dialogs.rtp(Datagram("10.0.0.1", 1, "10.0.0.2", 2, b"\x80" * 20))
        assert dialog.call_id


@given(st.binary(max_size=300))
def test_any_message_on_the_socket_is_frames_or_a_bad_message(message: bytes) -> None:
    try:
        for index, when, frame in wire.frames(b"F" + message):
            assert 0 <= index <= 255 and isinstance(when, float) and isinstance(frame, bytes)
    except wire.BadMessage:
        pass
    with contextlib.suppress(wire.BadMessage):
        assert isinstance(wire.read_control(b"J" + message), dict)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 48000 * 5), st.binary(max_size=200)), max_size=20),
       st.integers(0, 12))
def test_any_opus_packet_log_decodes_to_sound_or_silence_never_an_error(
        records: list[tuple[int, bytes]], cut: int) -> None:
    """Whatever an Opus stream's packet log holds — damaged packets (what a mirrored port or
    an SRC may carry), a last record cut by a crash — the call's sound is made from it: a
    packet libopus refuses is silence in its place."""
    import tempfile
    from pathlib import Path

    from kustosz.ingest.phone.siprec.rtp import PACKET
    from kustosz.ingest.phone.siprec.session import _decode_packets

    data = b"".join(PACKET.pack(tick, len(p)) + p for tick, p in records)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "stream-1.raw"
        log.write_bytes(data[:max(0, len(data) - cut)])
        sound = _decode_packets(log, 48000)
    assert sound.dtype.name == "int16"
    assert len(sound) <= 48000 * 5 + 48000  # nothing placed beyond the last tick's packet
