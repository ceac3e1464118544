"""SIP over UDP in IP fragments (issue 47): a datagram longer than the path's MTU — an INVITE
with a long offer, over IPv6 above all — crosses a mirrored port in pieces, which the capture
path puts together again (capture/fragments.py), bounded and refusing overlaps."""

from __future__ import annotations

import itertools
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.ingest.phone.capture import fragments
from kustosz.ingest.phone.capture.fragments import Fragments
from kustosz.ingest.phone.capture.frames import Datagram, Fragment, Skipped, packet

MACS = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
INVITE = (b"INVITE sip:48581112233@10.0.0.2 SIP/2.0\r\n" + b"X-Padding: " + b"a" * 3000 +
          b"\r\n\r\n")


def _udp(payload: bytes, sport: int = 5060, dport: int = 5060) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def v4_fragments(data: bytes, cuts: list[int], ident: int = 7) -> list[bytes]:
    """``data`` (a UDP header and payload) as IPv4 fragments cut at ``cuts`` (multiples of
    8), as a router or the sender cuts them."""
    points = [0, *cuts, len(data)]
    out = []
    for a, b in itertools.pairwise(points):
        flags = (a // 8) | (0x2000 if b < len(data) else 0)
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + b - a, ident, flags, 64, 17, 0,
                             socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"))
        out.append(MACS + b"\x08\x00" + header + data[a:b])
    return out


def v6_fragments(data: bytes, cuts: list[int], ident: int = 9) -> list[bytes]:
    points = [0, *cuts, len(data)]
    out = []
    for a, b in itertools.pairwise(points):
        frag = struct.pack("!BBHI", 17, 0, a | (1 if b < len(data) else 0), ident)
        header = struct.pack("!IHBB16s16s", 6 << 28, 8 + b - a, 44, 64,
                             socket.inet_pton(socket.AF_INET6, "2001:db8::1"),
                             socket.inet_pton(socket.AF_INET6, "2001:db8::2"))
        out.append(MACS + b"\x86\xdd" + header + frag + data[a:b])
    return out


def put_together(frames: list[bytes], reader: Fragments | None = None,
                 when: float = 1.0) -> list[Datagram]:
    reader = reader or Fragments()
    out = []
    for frame in frames:
        try:
            d = packet(frame)
        except Skipped as skipped:
            whole = reader.add(skipped, when)
            if whole is not None:
                out.append(whole)
        else:
            assert isinstance(d, Datagram)
            out.append(d)
    return out


@settings(max_examples=200)
@given(st.lists(st.integers(1, 380), min_size=1, max_size=8, unique=True), st.randoms(),
       st.booleans())
def test_any_cut_in_any_order_is_put_together_exactly_once(cuts: list[int], rnd: object,
                                                            v6: bool) -> None:
    data = _udp(INVITE)
    points = sorted(c * 8 for c in cuts)
    frames = (v6_fragments if v6 else v4_fragments)(data, points)
    rnd.shuffle(frames)  # type: ignore[attr-defined]
    (d,) = put_together(frames)
    assert (d.sport, d.dport, d.payload) == (5060, 5060, INVITE)
    assert d.src == ("2001:db8::1" if v6 else "10.0.0.1")


def test_overlapping_fragments_give_their_datagram_up_whole() -> None:
    data = _udp(INVITE)
    a, b = v4_fragments(data, [1480])
    evil = v4_fragments(data, [1472])[1]  # starts 8 bytes before the first one ends
    reader = Fragments()
    assert put_together([a, evil, b], reader) == []
    assert reader.given_up == 1


def test_what_waits_is_bounded_in_number_and_time() -> None:
    reader = Fragments()
    for ident in range(fragments.MAX_PENDING + 10):
        put_together(v4_fragments(_udp(INVITE), [1480], ident)[:1], reader)
    assert len(reader._waiting) == fragments.MAX_PENDING and reader.given_up == 10
    first, last = v4_fragments(_udp(INVITE), [1480], 999)
    put_together([first], reader, when=1.0)
    assert put_together([last], reader, when=1.0 + fragments.WAIT_S + 1) == []
    assert len(reader._waiting) == 1  # only the late last piece, waiting for its first


def test_a_datagram_longer_than_ip_allows_is_given_up() -> None:
    frag = Fragment("IPv4 fragment", "10.0.0.1", "10.0.0.2", 1, 65528, False, b"x" * 16)
    reader = Fragments()
    assert reader.add(frag, 1.0) is None and reader.given_up == 1


@pytest.mark.parametrize("v6", [False, True])
def test_a_fragment_of_another_protocol_is_skipped_with_a_reason(v6: bool) -> None:
    frame = (v6_fragments if v6 else v4_fragments)(_udp(INVITE), [1480])[0]
    at = 54 if v6 else 23  # the fragment header's next header; IPv4's protocol
    frame = frame[:at] + b"\x06" + frame[at + 1:]  # TCP
    with pytest.raises(Skipped, match="not UDP") as caught:
        packet(frame)
    assert not isinstance(caught.value, Fragment)


def test_an_answer_in_a_reliable_183_gives_the_callees_media_before_the_200() -> None:
    """sngrep's tests/ipv6frag.pcap (third-party, outside the repository): with 100rel the
    answer's SDP is in the 183, not in the 200 — the callee's media is known from it (two
    hops of the call are in the capture, each its own 183)."""
    from tests.siprec.test_capture_corpus import IPV6_FRAGMENTS
    from tests.support.capture_replay import read_capture

    from kustosz.ingest.phone.capture.dialogs import Dialogs

    reader, dialogs = Fragments(), Dialogs()
    answers = set()
    for when, frame in read_capture(IPV6_FRAGMENTS.file()):
        for d in put_together([frame], reader, when):
            if not Dialogs.is_sip(d.payload):
                continue
            dialog = dialogs.sip(when, d)
            if dialog is not None and d.payload.startswith(b"SIP/2.0 183"):
                assert dialog.answered is None
                answers |= {(m.address, m.port) for m in dialog.answer}
    assert answers == {("fd17:625c:f037:2:a00:27ff:feb9:4222", 25062),
                       ("fd17:625c:f037:2:a00:27ff:feb9:4334", 30004)}
    assert dialogs.malformed == 0 and reader.given_up == 0
    (dialog,) = dialogs.calls.values()
    assert dialog.answered is not None and dialog.ended is not None
