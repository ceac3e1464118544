"""One recorded stream's RTP (RFC 3550) received and written to its file as it comes.

Each packet's payload is written at its place in time — the file's offset is the stream's RTP
time since the session began, one byte per tick for the codecs of fixed size (G.711, G.722) —
and a hole (a lost packet, the other side on hold) is filled with the codec's silence, so the
two sides of a call stay aligned and a crash keeps every byte received until it. A codec whose
packets vary in size (Opus) is kept as a log instead: each packet appended with its RTP time
(``!IH``: tick, length), which a crash may cut only in its last record. Where the RTP
time leaps (a new SSRC after a transfer, a resumed hold with a new clock) the stream is placed
again by its arrival time. Packets from any address but the one the offer named are not the
call's: ignored and counted; so are packets that are not RTP or not of the answered codec."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pylibsrtp

from kustosz.ingest.phone.siprec.sdp import Stream

PACKET = struct.Struct("!IH")  # a packet log's record: its tick, its payload's length
PROFILES = {"AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32}
MAX_LEAP_S = 2.0  # RTP time this far from the arrival time is placed again by arrival
MAX_SESSION_S = 24 * 3600  # no call's stream is written further than this into its file
# A packet log grows by what arrives, not by time (issue 48 item 6: 20 000 oversized Opus
# packets wrote 19.6 MB in 0.8 s, and disk pressure then deleted older evidence). Opus tops out
# at 510 kbit/s (RFC 6716 §2.1.1) in packets of at most 120 ms of 1275-byte frames; a stream's
# log may hold what that rate fills in the time since the session began, plus a burst, and no
# packet over an Ethernet frame's size: the rest is not the call's, counted and dropped.
MAX_PACKET_BYTES = 1500
MAX_LOG_BYTES_S = 510_000 // 8 + 50 * PACKET.size
LOG_BURST_S = 5.0


@dataclass
class _Source:
    """One SSRC's packets: RFC 3550 A.3's expected and received counts."""

    base: int
    highest: int
    received: int = 0
    anchor_ts: int = 0  # RTP time of the anchor
    anchor_at: int = 0  # its file offset (ticks since the session began)


@dataclass
class Counts:
    received: int = 0
    lost: int = 0
    unexpected: int = 0  # from another address, not RTP, another payload type
    last_at: float | None = None  # monotonic time of the last packet taken


@dataclass
class StreamWriter:
    """The stream's file: payload bytes at their tick, holes filled with silence."""

    stream: Stream
    path: Path
    started: float  # monotonic time the session began (tick 0)
    port: int = 0  # the local port it is received on
    counts: Counts = field(default_factory=Counts)
    _fd: int = -1
    _end: int = 0  # bytes in the file
    _sources: dict[int, _Source] = field(default_factory=dict)

    def open(self) -> None:
        append = os.O_APPEND if self.stream.codec.packets else 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | append, 0o600)
        self._end = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def lost(self) -> int:
        return sum(max(0, (s.highest - s.base + 1) - s.received) for s in self._sources.values())

    def take(self, packet: bytes, now: float) -> bool:
        """Write one packet's payload; False when it is not this stream's RTP."""
        if len(packet) < 12 or packet[0] >> 6 != 2:
            return False
        flags, marker_pt, seq, ts, ssrc = struct.unpack("!BBHII", packet[:12])
        if marker_pt & 0x7F != self.stream.payload:
            known = self._sources.get(ssrc)
            if known is not None:  # the same source's comfort noise or DTMF: not a loss
                known.highest = max(known.highest, _extend(seq, known.highest))
                known.received += 1
            return False
        start = 12 + 4 * (flags & 0x0F)
        if flags & 0x10:  # header extension
            if len(packet) < start + 4:
                return False
            start += 4 + 4 * struct.unpack("!H", packet[start + 2:start + 4])[0]
        end = len(packet)
        if flags & 0x20:  # padding
            end -= packet[-1]
        if start > end:
            return False
        rate = self.stream.codec.clock
        arrived = int((now - self.started) * rate)
        src = self._sources.get(ssrc)
        if src is None:
            src = self._sources[ssrc] = _Source(seq, seq - 1, anchor_ts=ts, anchor_at=arrived)
        ext = _extend(seq, src.highest)
        src.highest = max(src.highest, ext)
        src.received += 1
        at = src.anchor_at + ((ts - src.anchor_ts) & 0xFFFFFFFF)
        if (ts - src.anchor_ts) & 0x80000000 or abs(at - arrived) > MAX_LEAP_S * rate:
            src.anchor_ts, src.anchor_at, at = ts, arrived, arrived
        if at < 0 or at > MAX_SESSION_S * rate:
            return False
        if self.stream.codec.packets:
            size = PACKET.size + end - start
            allowed = (max(arrived / rate, 0.0) + LOG_BURST_S) * MAX_LOG_BYTES_S
            if end - start > MAX_PACKET_BYTES or self._end + size > allowed:
                return False
            os.write(self._fd, PACKET.pack(at, end - start) + packet[start:end])
            self._end += size
        else:
            self._write(at, packet[start:end])
        self.counts.received += 1
        self.counts.last_at = now
        return True

    def _write(self, at: int, payload: bytes) -> None:
        if at > self._end:  # a hole before it: silence, so the file is the stream's time
            os.pwrite(self._fd, bytes([self.stream.codec.silence]) * (at - self._end),
                      self._end)
        os.pwrite(self._fd, payload, at)  # a late (reordered) packet: into its place
        self._end = max(self._end, at + len(payload))


def bind_rtp(host: str, port: int) -> socket.socket:
    """A stream's UDP socket, with room for a burst (1 MiB) while the loop is busy."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _extend(seq: int, highest: int) -> int:
    """A 16-bit sequence number as the extended one nearest the highest seen."""
    cycle = highest & ~0xFFFF
    candidate = cycle | seq
    if candidate - highest > 0x8000:
        candidate -= 0x10000
    elif highest - candidate > 0x8000:
        candidate += 0x10000
    return candidate


class RtpProtocol(asyncio.DatagramProtocol):
    """The socket of one stream: packets from the offered address are written — decrypted
    first when it is SRTP (RFC 3711, the SDES key of the offer: a packet that fails its
    authentication is not the SRC's and is counted, never written)."""

    def __init__(self, writer: StreamWriter, expected: str) -> None:
        self.writer, self.expected = writer, expected
        self.transport: asyncio.DatagramTransport | None = None
        crypto = writer.stream.crypto
        self.srtp: pylibsrtp.Session | None = None
        if crypto is not None:
            self.srtp = pylibsrtp.Session(policy=pylibsrtp.Policy(
                key=crypto.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                srtp_profile=PROFILES[crypto.suite]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's own UDP transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.expected and addr[0] != self.expected:
            self.writer.counts.unexpected += 1
            return
        if self.srtp is not None:
            try:
                data = self.srtp.unprotect(data)
            except pylibsrtp.Error:  # not authentic, replayed, or not SRTP at all
                self.writer.counts.unexpected += 1
                return
        try:
            taken = self.writer.take(data, time.monotonic())
        except OSError:  # the disk refused: counted as lost, the call goes on
            taken = False
        if not taken:
            self.writer.counts.unexpected += 1
