"""SIP over TCP read off a mirrored port (sip_tcp.py; issue 35's left-over: such calls went
unseen, and nobody was told). Rules over many cases (hypothesis): however TCP cut a stream of
SIP messages into segments, and however the mirror reordered them or showed them twice, the
messages are read back exactly, once each, in order, across a sequence number's wrap; a
connection joined in its middle is read from its next whole message; a segment lost for good
costs the message it cut and no other. Bad input — a Content-Length past any message, headers
that never end, bytes that are not SIP, TLS, a flood of connections — is bounded, counted and
never an error. The kernel filter of the capture process passes SIP's TCP and no other."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.capture import tcp_frame

from kustosz.ingest.phone.capture import sip_tcp
from kustosz.ingest.phone.capture.frames import FIN, RST, SYN, Datagram, Segment, packet
from kustosz.ingest.phone.capture.sip_tcp import SipOverTcp

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 5060)


def message(n: int, body: bytes = b"", compact: bool = False, request: bool = True) -> bytes:
    first = f"INVITE sip:{n}@x SIP/2.0" if request else "SIP/2.0 200 OK"
    length = f"l: {len(body)}" if compact else f"Content-Length: {len(body)}"
    return (f"{first}\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{n}\r\n"
            f"Call-ID: call-{n}\r\nCSeq: 1 INVITE\r\n{length}\r\n\r\n").encode() + body


def seg(seq: int, payload: bytes = b"", flags: int = 0x18, ends: tuple = (A, B)) -> Segment:
    (src, sport), (dst, dport) = ends
    return Segment(src, sport, dst, dport, seq % (1 << 32), flags, payload)


def feed(reader: SipOverTcp, segments: list[Segment], when: float = 1.0) -> list[bytes]:
    out: list[bytes] = []
    for s in segments:
        out += [d.payload for _, d in reader.segment(when, s)]
    return out


def cut(stream: bytes, points: list[int], isn: int) -> list[Segment]:
    """The stream in segments at ``points`` (offsets), numbered from ``isn`` + 1."""
    edges = sorted({0, len(stream), *(p for p in points if 0 < p < len(stream))})
    return [seg(isn + 1 + a, stream[a:b]) for a, b in itertools.pairwise(edges)]


messages_st = st.lists(
    st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()),
    min_size=1, max_size=8).map(
    lambda ms: [message(i, body, compact, request)
                for i, (body, compact, request) in enumerate(ms)])


@settings(max_examples=300, deadline=None)
@given(messages_st, st.lists(st.integers(0, 4000), max_size=25),
       st.integers(0, 2**32 - 1), st.randoms(use_true_random=False),
       st.integers(0, 5), st.booleans())
def test_any_cut_reordered_and_repeated_stream_is_read_back_exactly_once_in_order(
        msgs: list[bytes], points: list[int], isn: int, rnd: random.Random, window: int,
        keep_alives: bool) -> None:
    gap = b"\r\n\r\n" if keep_alives else b""  # RFC 5626 keep-alives between messages
    stream = gap.join(msgs)
    segments = cut(stream, points, isn)
    shown: list[Segment] = []
    for i in range(0, len(segments), window + 1):  # reordered within a window
        chunk = segments[i:i + window + 1]
        rnd.shuffle(chunk)
        shown += chunk
    for s in rnd.sample(shown, k=min(3, len(shown))):  # and some shown again, later
        shown.insert(rnd.randrange(len(shown) + 1), s)
    reader = SipOverTcp()
    read = feed(reader, [seg(isn, flags=SYN), *shown])
    assert read == msgs
    assert reader.lost == 0
    assert reader.held == held(reader)


def held(reader: SipOverTcp) -> int:
    """The bytes the reader holds, counted afresh."""
    return sum(len(st.buffer) + sum(len(p) for _, p in st.pending.values())
               for st in reader.flows.values())


@settings(max_examples=200, deadline=None)
@given(messages_st, st.lists(st.integers(0, 4000), max_size=10), st.integers(1, 7))
def test_a_connection_joined_in_its_middle_is_read_from_its_next_whole_message(
        msgs: list[bytes], points: list[int], skip: int) -> None:
    """A trunk's connection lives for days: the mirror's view begins anywhere in it."""
    before = message(99, b"v=0\r\n" * 5)
    stream = before + b"".join(msgs)
    join = skip * 7  # somewhere inside the first message, never at its start
    assert 0 < join < len(before)
    reader = SipOverTcp()
    read = feed(reader, cut(stream[join:], points, 1000))
    assert read == msgs


def test_a_segment_the_mirror_lost_for_good_costs_only_the_message_it_cut() -> None:
    msgs = [message(i, b"x" * 200) for i in range(6)]
    stream = b"".join(msgs)
    size = len(msgs[0])
    segments = cut(stream, list(range(100, len(stream), 100)), 0)
    lost_at = size * 2 + 150  # inside the third message
    kept = [s for s in segments if not (s.seq - 1 <= lost_at < s.seq - 1 + len(s.payload))]
    assert len(kept) == len(segments) - 1
    reader = SipOverTcp()
    read = feed(reader, [seg(0, flags=SYN), *kept], when=10.0)
    assert read == msgs[:2]  # behind the gap, the rest waits for the segment resent
    assert reader.expire(10.0 + sip_tcp.GAP_S / 2) == []
    later = [d.payload for _, d in reader.expire(10.0 + sip_tcp.GAP_S + 0.1)]
    assert later == msgs[3:]  # never resent: skipped, read on from the next message
    assert reader.lost == 1


def test_a_gap_filled_by_the_resent_segment_loses_nothing() -> None:
    msgs = [message(i, b"y" * 90) for i in range(4)]
    segments = cut(b"".join(msgs), [120, 260, 400], 5)
    reader = SipOverTcp()
    read = feed(reader, [seg(5, flags=SYN), segments[0], *segments[2:]], when=3.0)
    read += feed(reader, [segments[1]], when=3.5)
    assert read == msgs and reader.lost == 0


def test_too_many_segments_behind_a_gap_have_it_skipped_at_once() -> None:
    msgs = [message(i) for i in range(sip_tcp.MAX_PENDING + 3)]
    segments = cut(b"".join(msgs), [sum(map(len, msgs[:i])) for i in range(len(msgs))], 0)
    reader = SipOverTcp()
    read = feed(reader, [seg(0, flags=SYN), *segments[1:]])
    assert read == msgs[1:]  # the gap skipped when the 64th waited: nothing else lost
    assert reader.lost == 1


def test_times_are_those_of_the_segment_that_completed_each_message() -> None:
    one, two = message(1, b"a" * 40), message(2)
    reader = SipOverTcp()
    reader.segment(1.0, seg(0, flags=SYN))
    assert reader.segment(2.0, seg(1, one[:30])) == []
    done = reader.segment(3.0, seg(31, one[30:] + two))
    assert [(t, d.payload) for t, d in done] == [(3.0, one), (3.0, two)]
    assert done[0][1] == Datagram(A[0], A[1], B[0], B[1], one)


# -- bad input -------------------------------------------------------------------------------
def test_a_content_length_past_any_message_loses_that_message_and_reads_the_next() -> None:
    bad = message(1).replace(b"Content-Length: 0", b"Content-Length: 99999999")
    good = message(2)
    reader = SipOverTcp()
    assert feed(reader, [seg(0, flags=SYN), seg(1, bad + good)]) == [good]
    assert reader.lost >= 1


def test_headers_that_never_end_are_bounded_and_dropped() -> None:
    reader = SipOverTcp()
    head = b"INVITE sip:1@x SIP/2.0\r\n" + b"X-Pad: " + b"p" * 1000
    feed(reader, [seg(0, flags=SYN), seg(1, head)])
    at = 1 + len(head)
    for _ in range(sip_tcp.MAX_HEAD // 1000 + 5):
        feed(reader, [seg(at, b"p" * 1000)])
        at += 1000
    (stream,) = reader.flows.values()
    assert len(stream.buffer) <= sip_tcp.MAX_HEAD
    good = b"\r\n\r\n" + message(7)
    assert feed(reader, [seg(at, good)]) == [message(7)]
    assert reader.lost >= 1


def test_bytes_that_are_not_sip_on_the_sip_port_are_dropped_without_end() -> None:
    reader = SipOverTcp()
    rnd = random.Random(4)
    at = 1
    feed(reader, [seg(0, flags=SYN)])
    for _ in range(200):
        junk = rnd.randbytes(900)
        feed(reader, [seg(at, junk)])
        at += len(junk)
    (stream,) = reader.flows.values()
    assert len(stream.buffer) <= sip_tcp.MAX_HEAD
    assert feed(reader, [seg(at, b"\r\n" + message(3))]) == [message(3)]


def test_sip_over_tls_is_counted_and_its_time_kept_never_read() -> None:
    hello = bytes([22, 3, 1, 0, 200]) + bytes(200)  # a TLS ClientHello's record
    tls = (("10.0.0.1", 41000), ("10.0.0.2", 5061))
    reader = SipOverTcp()
    assert feed(reader, [seg(0, flags=SYN, ends=tls), seg(1, hello, ends=tls)],
                when=50.0) == []
    assert reader.tls_segments == 1 and reader.tls_at == 50.0
    # joined mid-connection on 5061: application data records, not SIP
    late = (("10.0.0.3", 42000), ("10.0.0.2", 5061))
    assert feed(reader, [seg(77, bytes([23, 3, 3, 0, 40]) + bytes(40), ends=late)],
                when=60.0) == []
    assert reader.tls_segments == 2 and reader.tls_at == 60.0
    assert reader.messages == 0


def test_tls_found_behind_a_waiting_gap_leaves_nothing_to_skip() -> None:
    """Segments waiting behind a gap, then a TLS record where the gap began: the connection is
    TLS, what waited is dropped, and the watch's later look finds nothing to skip (before,
    it would have failed at every look)."""
    reader = SipOverTcp()
    feed(reader, [seg(0, flags=SYN), seg(300, message(1))], when=5.0)
    feed(reader, [seg(1, bytes([22, 3, 3, 0, 100]) + bytes(100))], when=5.1)
    assert reader.tls_segments == 1
    assert reader.expire(5.1 + sip_tcp.GAP_S + 1) == []
    assert reader.held == held(reader) == 0


def test_a_flood_of_connections_is_bounded_and_the_newest_still_read() -> None:
    reader = SipOverTcp()
    for n in range(sip_tcp.MAX_FLOWS + 500):
        reader.segment(1.0, seg(0, b"INVITE sip:1@x SIP/2.0\r\nVia: x\r\n",
                                ends=((f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 40000),
                                      B)))
    assert len(reader.flows) == sip_tcp.MAX_FLOWS
    assert feed(reader, [seg(0, message(5), ends=(("10.9.9.9", 1), B))]) == [message(5)]


def test_what_all_connections_hold_together_is_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Many connections each holding segments behind a gap that is never filled (what a
    sender of crafted segments to port 5060 can make): the longest unheard are forgotten
    once they hold more than MAX_HELD together, and the count stays true."""
    monkeypatch.setattr(sip_tcp, "MAX_HELD", 1 << 20)
    reader = SipOverTcp()
    chunk = b"INVITE sip:1@x SIP/2.0\r\n" + b"p" * 20_000
    for n in range(60):
        ends = ((f"10.1.{n >> 8}.{n & 255}", 40000), B)
        reader.segment(1.0, seg(0, flags=SYN, ends=ends))
        for i in range(8):  # all behind byte 1, which never comes
            reader.segment(1.0, seg(2 + i * len(chunk), chunk, ends=ends))
        assert reader.held == held(reader)
        assert reader.held <= (1 << 20) + 8 * len(chunk)
    assert len(reader.flows) < 60
    newest = ((f"10.1.0.{59}", 40000), B)
    assert newest[0] in {(k[0], k[1]) for k in reader.flows}


def test_reset_and_fin_forget_the_connection_and_idle_ones_are_forgotten() -> None:
    reader = SipOverTcp()
    feed(reader, [seg(0, flags=SYN), seg(1, message(1)[:20])])
    feed(reader, [seg(21, flags=RST)])
    assert reader.flows == {}
    feed(reader, [seg(0, flags=SYN), seg(1, message(1), flags=0x18 | FIN)])
    assert reader.flows == {}
    feed(reader, [seg(0, message(1)[:20])], when=1.0)
    assert reader.expire(1.0 + sip_tcp.IDLE_S + 1) == [] and reader.flows == {}


def test_tcp_on_other_ports_is_not_followed() -> None:
    reader = SipOverTcp()
    web = (("10.0.0.1", 40000), ("10.0.0.2", 443))
    assert feed(reader, [seg(1, message(1), ends=web)]) == []
    assert reader.not_sip == 1 and reader.flows == {}


def test_a_line_s_own_ports_are_followed_and_the_defaults_then_are_not() -> None:
    """Issue 47: an exchange signalling SIP over TCP on another port (FreeSWITCH's external
    profile on 5080) is followed once the line names it; 5060 is then just other TCP."""
    reader = SipOverTcp((5080,))
    freeswitch = (("10.0.0.1", 40000), ("10.0.0.2", 5080))
    assert feed(reader, [seg(1, message(1), ends=freeswitch)]) == [message(1)]
    assert feed(reader, [seg(1, message(2))]) == []  # to 5060
    assert reader.not_sip == 1 and reader.messages == 1


@pytest.mark.parametrize("cut_at", [13, 14 + 10, 14 + 20 + 12, 14 + 20 + 19])
def test_a_cut_tcp_frame_is_skipped_with_a_reason(cut_at: int) -> None:
    from kustosz.ingest.phone.capture.frames import Skipped
    frame = tcp_frame("10.0.0.1", 40000, "10.0.0.2", 5060, 7, message(1))
    assert packet(frame) == Segment("10.0.0.1", 40000, "10.0.0.2", 5060, 7, 0x18, message(1))
    with pytest.raises(Skipped):
        packet(frame[:cut_at])


# -- the kernel filter ----------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(socket, "AF_PACKET") or os.geteuid() != 0,
                    reason="needs root: a packet socket")
def test_the_capture_process_filter_passes_sip_tcp_and_udp_and_no_other_tcp() -> None:
    """The capture process's own kernel filter, on loopback: TCP to 5060 and 5061 and any
    UDP pass; the office's other TCP (a web page, a file share) stays in the kernel."""
    from kustosz.ingest.phone.capture.helper import _attach_filter
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sniff.bind(("lo", 0x0003))
    _attach_filter(sniff)
    sniff.settimeout(0.2)
    with sniff:
        while True:  # what was queued before the filter was attached
            try:
                sniff.recv(65535)
            except TimeoutError:
                break
        sent = {}
        for dport in (5060, 5061, 443, 445, 8080):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            with raw:
                header = struct.pack("!HHIIBBHHH", 47000 + dport % 1000, dport, 1, 0,
                                     5 << 4, 0x18, 1024, 0, 0)
                raw.sendto(header + f"probe {dport}".encode(), ("127.0.0.1", 0))
                sent[dport] = f"probe {dport}".encode()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with udp:
            udp.sendto(b"probe udp", ("127.0.0.1", 9))
        seen: list[bytes] = []
        with contextlib.suppress(TimeoutError):
            while True:
                seen.append(sniff.recv(65535))
    payloads = b"\n".join(seen)
    assert sent[5060] in payloads and sent[5061] in payloads and b"probe udp" in payloads
    for port in (443, 445, 8080):
        assert sent[port] not in payloads, f"TCP to {port} passed the filter"


@pytest.mark.skipif(not hasattr(socket, "AF_PACKET") or os.geteuid() != 0,
                    reason="needs root: a packet socket")
@pytest.mark.parametrize("ports", [(5080,), tuple(range(6000, 6016))],
                         ids=["one", "sixteen"])
def test_the_filter_passes_the_ports_the_lines_name_and_no_other_tcp(
        ports: tuple[int, ...]) -> None:
    """The filter built for a line's own ports (issue 47), up to the most a line may name
    (every jump of the program still in reach): those ports and UDP pass, 5060 does not."""
    from kustosz.ingest.phone.capture.helper import _attach_filter
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sniff.bind(("lo", 0x0003))
    _attach_filter(sniff, ports)
    sniff.settimeout(0.2)
    with sniff:
        with contextlib.suppress(TimeoutError):
            while True:  # what was queued before the filter was attached
                sniff.recv(65535)
        for dport in (*ports, 5060, 443):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            with raw:
                header = struct.pack("!HHIIBBHHH", 47000, dport, 1, 0, 5 << 4, 0x18, 1024,
                                     0, 0)
                raw.sendto(header + f"probe {dport}".encode(), ("127.0.0.1", 0))
        seen: list[bytes] = []
        with contextlib.suppress(TimeoutError):
            while True:
                seen.append(sniff.recv(65535))
    payloads = b"\n".join(seen)
    for port in ports:
        assert f"probe {port}".encode() in payloads, f"TCP to {port} was held back"
    for port in (5060, 443):
        assert f"probe {port}".encode() not in payloads, f"TCP to {port} passed"


@pytest.mark.parametrize("said", [[], [0], [65536], ["5060"], [True], list(range(1, 18)),
                                  "5060", None, [5060.5]])
def test_ports_serve_never_sends_are_refused_by_the_capture_process(said: object) -> None:
    from kustosz.ingest.phone.capture.helper import sip_ports
    from kustosz.ingest.phone.capture.wire import BadMessage
    with pytest.raises(BadMessage):
        sip_ports(said)


def test_the_ports_serve_sends_are_read_as_a_sorted_set() -> None:
    from kustosz.ingest.phone.capture.helper import sip_ports
    assert sip_ports([5080, 5060, 5080]) == (5060, 5080)
