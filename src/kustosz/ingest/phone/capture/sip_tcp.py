"""SIP over TCP read off a mirrored port (issue 35's left-over: such calls went unseen, with
nobody told): each connection's segments put back in order and its messages cut out of the
byte stream by their Content-Length (RFC 3261 §18.3: over a stream it is required), each then
followed as if it had come in a datagram of its own.

A mirror is not a party to the connection, so its stream is not the endpoints' stream:
- it may begin in the middle of a connection (a trunk's lives for days): a connection first
  seen without its SYN is read from the first SIP start line in it;
- it may lose a segment the endpoints never send again (an oversubscribed mirror): a gap not
  filled within GAP_S, or while MAX_PENDING later segments wait, is skipped — the message it
  cut is lost, and counted — and reading goes on at the next start line;
- it shows a resent segment again: what was read already is not read twice.
SIP over TLS (port 5061, or a TLS record where a message would begin) can be read only by its
two ends: its segments are counted and the time of the last kept, for the alert that says the
calls signalled over it are not recorded from the port.

The ports followed are the line's (`PhoneSettings.sip_tcp_ports`, 5060 and 5061 unless set):
an exchange signalling over TCP elsewhere (FreeSWITCH's external profile on 5080, a trunk on
6060 as one of the corpus's captures shows) is followed once its port is named.

Memory is bounded: MAX_FLOWS connections (the longest unheard forgotten first, and any unheard
for IDLE_S), MAX_HEAD bytes of a message's headers, MAX_BODY of its body, MAX_PENDING segments
or MAX_PENDING_BYTES waiting behind a gap, and MAX_HELD bytes held for all the connections
together (past it, the longest unheard are forgotten)."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from kustosz.ingest.phone.capture.frames import FIN, RST, SYN, Datagram, Segment
from kustosz.phones.settings import DEFAULT_SIP_TCP_PORTS

SIP_PORT, SIPS_PORT = DEFAULT_SIP_TCP_PORTS  # the kernel filter passes TCP to or from the
# ports every capture line names (helper.py)
MAX_FLOWS = 4096
MAX_HEAD = 64 * 1024
MAX_BODY = 256 * 1024
MAX_PENDING = 64
MAX_PENDING_BYTES = 1 << 20
MAX_HELD = 32 << 20
GAP_S = 2.0
IDLE_S = 900.0
_MOD = 1 << 32

# A request line or a status line, whole (RFC 3261 §7.1, §7.2): where a message begins. Looked
# for in the middle of a stream (a body need not end its last line), a request's method must
# be one SIP knows, so that the body's last word is not read as part of it.
_START = re.compile(rb"(?:[A-Z]+ [^ \r\n]+ SIP/2\.0|SIP/2\.0 \d{3} [^\r\n]*)\r\n")
_RESUME = re.compile(rb"(?:(?:INVITE|ACK|BYE|CANCEL|OPTIONS|REGISTER|PRACK|SUBSCRIBE|NOTIFY|"
                     rb"PUBLISH|INFO|REFER|MESSAGE|UPDATE) [^ \r\n]+ SIP/2\.0|"
                     rb"SIP/2\.0 \d{3} [^\r\n]*)\r\n")
_KEPT = 1024  # a start line cut in two: its beginning kept till the rest comes
_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*\r?$",
                     re.IGNORECASE | re.MULTILINE)

Flow = tuple[str, int, str, int]


@dataclass
class _Stream:
    expected: int | None = None  # the sequence number of the next byte to read
    synced: bool = False  # the buffer begins where a message begins
    buffer: bytearray = field(default_factory=bytearray)
    pending: dict[int, tuple[float, bytes]] = field(default_factory=dict)  # behind a gap
    gap_since: float | None = None
    tls: bool = False
    heard: float = 0.0
    size: int = 0  # the bytes it holds, as last counted (SipOverTcp.held)


def is_tls_record(data: bytes) -> bool:
    """Whether ``data`` begins as a TLS record does (a content type 20-23, version 3.x)."""
    return len(data) >= 3 and 20 <= data[0] <= 23 and data[1] == 3 and data[2] <= 4


class SipOverTcp:
    """The SIP connections over TCP seen on one interface."""

    def __init__(self, ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS) -> None:
        self.ports = frozenset(ports)
        self.flows: OrderedDict[Flow, _Stream] = OrderedDict()
        self.messages = 0  # SIP messages read whole
        self.segments = 0  # segments with data of SIP connections (not TLS)
        self.lost = 0  # gaps skipped, and stretches that were not SIP, dropped
        self.tls_segments = 0
        self.tls_at: float | None = None  # the capture time of the last TLS segment
        self.not_sip = 0  # segments on other ports (the kernel filter passes none)
        self.held = 0  # bytes held for all the connections: buffers and segments waiting

    def segment(self, when: float, seg: Segment) -> list[tuple[float, Datagram]]:
        """One segment; the SIP messages it completed, each with the capture time of the
        segment that completed it."""
        if seg.sport not in self.ports and seg.dport not in self.ports:
            self.not_sip += 1
            return []
        key: Flow = (seg.src, seg.sport, seg.dst, seg.dport)
        if seg.flags & RST:
            self._forget(key)
            return []
        stream = self.flows.get(key)
        if seg.flags & SYN or stream is None:
            if not seg.flags & SYN and not seg.payload:
                return []  # a bare ACK of a connection not followed: nothing to begin with
            self._forget(key)  # a new connection on the same ends
            stream = _Stream()
            if seg.flags & SYN:
                stream.expected, stream.synced = (seg.seq + 1) % _MOD, True
            self.flows[key] = stream
            while len(self.flows) > MAX_FLOWS:
                self._forget(next(iter(self.flows)))
        self.flows.move_to_end(key)
        stream.heard = when
        out: list[tuple[float, Datagram]] = []
        if seg.payload:
            if not stream.tls and self._begins_tls(stream, seg):
                stream.tls = True
                stream.buffer.clear()
                stream.pending.clear()
                stream.gap_since = None
            if stream.tls:
                self.tls_segments += 1
                self.tls_at = when
            else:
                self.segments += 1
                out = self._data(key, stream, when, seg)
        self._count(stream)
        if seg.flags & FIN:
            self._forget(key)
        while self.held > MAX_HELD and len(self.flows) > 1:
            self._forget(next(k for k in self.flows if k != key))
        return out

    def expire(self, now: float) -> list[tuple[float, Datagram]]:
        """Gaps waited for long enough skipped (the messages after them read), connections
        unheard for IDLE_S forgotten."""
        out: list[tuple[float, Datagram]] = []
        for key, stream in list(self.flows.items()):
            if now - stream.heard > IDLE_S:
                self._forget(key)
            elif stream.gap_since is not None and now - stream.gap_since > GAP_S:
                out += self._skip_gap(key, stream)
                self._count(stream)
        return out

    def _forget(self, key: Flow) -> None:
        stream = self.flows.pop(key, None)
        if stream is not None:
            self.held -= stream.size

    def _count(self, stream: _Stream) -> None:
        size = len(stream.buffer) + sum(len(p) for _, p in stream.pending.values())
        self.held += size - stream.size
        stream.size = size

    # -- the stream -----------------------------------------------------------------------------
    @staticmethod
    def _begins_tls(stream: _Stream, seg: Segment) -> bool:
        if stream.expected is None:  # joined here: the first data of it we see
            if is_tls_record(seg.payload):
                return True
            return SIPS_PORT in (seg.sport, seg.dport) and not _RESUME.search(seg.payload)
        at_boundary = stream.synced and not stream.buffer and seg.seq == stream.expected
        return at_boundary and is_tls_record(seg.payload)

    def _data(self, key: Flow, stream: _Stream, when: float,
              seg: Segment) -> list[tuple[float, Datagram]]:
        if stream.expected is None:
            stream.expected = seg.seq
        payload = seg.payload
        ahead = (seg.seq - stream.expected) % _MOD
        if ahead >= _MOD // 2:  # it begins before the next byte: seen already, in part
            behind = (stream.expected - seg.seq) % _MOD
            if behind >= len(payload):
                return []  # a segment resent
            payload, ahead = payload[behind:], 0
        if ahead:
            seq = seg.seq
            if len(payload) > len(stream.pending.get(seq, (0.0, b""))[1]):
                stream.pending[seq] = (when, payload)
            if stream.gap_since is None:
                stream.gap_since = when
            if when - stream.gap_since > GAP_S or len(stream.pending) >= MAX_PENDING or \
                    sum(len(p) for _, p in stream.pending.values()) > MAX_PENDING_BYTES:
                return self._skip_gap(key, stream)
            return []
        out = self._take(key, stream, when, payload)
        stream.gap_since = None  # a gap filled: one still left is timed by what waits behind it
        return out + self._drain(key, stream)

    def _take(self, key: Flow, stream: _Stream, when: float,
              payload: bytes) -> list[tuple[float, Datagram]]:
        assert stream.expected is not None
        stream.buffer += payload
        stream.expected = (stream.expected + len(payload)) % _MOD
        return self._cut(key, stream, when)

    def _drain(self, key: Flow, stream: _Stream) -> list[tuple[float, Datagram]]:
        """The segments that waited behind a gap now filled, in order."""
        out: list[tuple[float, Datagram]] = []
        while stream.pending and stream.expected is not None:
            for seq in list(stream.pending):
                ahead = (seq - stream.expected) % _MOD
                if ahead == 0 or ahead >= _MOD // 2:
                    when, payload = stream.pending.pop(seq)
                    behind = (stream.expected - seq) % _MOD if ahead else 0
                    if behind < len(payload):
                        out += self._take(key, stream, when, payload[behind:])
                    break
            else:  # a gap is left: waited for from its first segment's time
                if stream.gap_since is None:
                    stream.gap_since = min(w for w, _ in stream.pending.values())
                return out
        stream.gap_since = None
        return out

    def _skip_gap(self, key: Flow, stream: _Stream) -> list[tuple[float, Datagram]]:
        """Reading goes on at the first segment behind the gap; what the gap cut is lost."""
        assert stream.expected is not None
        expected = stream.expected
        stream.gap_since = None
        if not stream.pending:
            return []
        first = min(stream.pending, key=lambda seq: (seq - expected) % _MOD)
        stream.expected = first
        stream.buffer.clear()
        stream.synced = False
        self.lost += 1
        return self._drain(key, stream)

    def _lose_sync(self, stream: _Stream) -> None:
        del stream.buffer[:1]  # not a message here: looked for from the next line on
        stream.synced = False
        self.lost += 1

    def _cut(self, key: Flow, stream: _Stream, when: float) -> list[tuple[float, Datagram]]:
        """The whole messages at the buffer's beginning, cut out of it."""
        out: list[tuple[float, Datagram]] = []
        buf = stream.buffer
        while True:
            if not stream.synced:
                m = _RESUME.search(buf)
                if m is None:
                    del buf[:max(0, len(buf) - _KEPT)]
                    return out
                del buf[:m.start()]
                stream.synced = True
            blank = len(buf) - len(buf.lstrip(b"\r\n"))  # CRLF keep-alives (RFC 5626 §4.4.1)
            if blank:
                del buf[:blank]
            if not buf:
                return out
            if buf.find(b"\r\n") >= 0 and not _START.match(buf):
                self._lose_sync(stream)  # its first line whole, and not a start line
                continue
            end = buf.find(b"\r\n\r\n", 0, MAX_HEAD)
            if end < 0:
                if len(buf) >= MAX_HEAD:
                    self._lose_sync(stream)
                    continue
                return out
            length = _LENGTH.search(buf, 0, end + 2)
            size = int(length.group(1)) if length else 0
            if size > MAX_BODY:
                self._lose_sync(stream)
                continue
            total = end + 4 + size
            if len(buf) < total:
                return out
            out.append((when, Datagram(key[0], key[1], key[2], key[3], bytes(buf[:total]))))
            del buf[:total]
            self.messages += 1
