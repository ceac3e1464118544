"""The UDP datagrams and TCP segments in captured Ethernet frames (what AF_PACKET and a pcap
of a mirrored port give): Ethernet II with up to two VLAN tags (802.1Q, 802.1ad), IPv4 and IPv6
(no extension header but a fragment header). A fragment of a UDP datagram is not read here:
it is raised as a Fragment (a Skipped) for fragments.py to put together — SIP over UDP above
the MTU (an INVITE with a long offer, over IPv6 above all) arrives so. TCP is there for SIP
over TCP (sip_tcp.py puts its messages together again). Anything else is not a call's and is
skipped."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
UDP, TCP, IPV6_FRAGMENT = 17, 6, 44
FIN, SYN, RST = 0x01, 0x02, 0x04


@dataclass(frozen=True)
class Datagram:
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


@dataclass(frozen=True)
class Segment:
    """A TCP segment: its flow's ends, sequence number, flags and data."""

    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    flags: int
    payload: bytes


class Skipped(ValueError):
    """Not a whole UDP datagram or TCP segment (another protocol, a fragment, truncated);
    says which."""


class Fragment(Skipped):
    """A fragment of a UDP datagram: its datagram's key, where its bytes go in the datagram's
    UDP header and payload, and whether more follow."""

    def __init__(self, why: str, src: str, dst: str, ident: int, offset: int, more: bool,
                 data: bytes) -> None:
        super().__init__(why)
        self.src, self.dst, self.ident = src, dst, ident
        self.offset, self.more, self.data = offset, more, data


def datagram(frame: bytes) -> Datagram:
    """The UDP datagram in an Ethernet frame; Skipped when there is none."""
    d = packet(frame)
    if not isinstance(d, Datagram):
        raise Skipped("not UDP (TCP)")
    return d


def packet(frame: bytes) -> Datagram | Segment:
    """The UDP datagram or TCP segment in an Ethernet frame; Skipped when there is none."""
    if len(frame) < 14:
        raise Skipped("short frame")
    kind, at = struct.unpack("!H", frame[12:14])[0], 14
    for _ in range(2):
        if kind not in (ETH_VLAN, ETH_QINQ):
            break
        if len(frame) < at + 4:
            raise Skipped("short VLAN tag")
        kind, at = struct.unpack("!H", frame[at + 2:at + 4])[0], at + 4
    if kind == ETH_IPV4:
        if len(frame) < at + 20:
            raise Skipped("short IPv4 header")
        ihl = (frame[at] & 0x0F) * 4
        total = struct.unpack("!H", frame[at + 2:at + 4])[0]
        flags_fragment = struct.unpack("!H", frame[at + 6:at + 8])[0]
        proto = frame[at + 9]
        if proto not in (UDP, TCP):
            raise Skipped("not UDP or TCP")
        src = socket.inet_ntop(socket.AF_INET, frame[at + 12:at + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[at + 16:at + 20])
        end = min(len(frame), at + total)
        if flags_fragment & 0x3FFF:  # more fragments, or an offset: a fragment
            if proto != UDP or ihl < 20:
                raise Skipped("IPv4 fragment (not UDP)")
            raise Fragment("IPv4 fragment", src, dst,
                           struct.unpack("!H", frame[at + 4:at + 6])[0],
                           (flags_fragment & 0x1FFF) * 8, bool(flags_fragment & 0x2000),
                           frame[at + ihl:end])
        at += ihl
    elif kind == ETH_IPV6:
        if len(frame) < at + 40:
            raise Skipped("short IPv6 header")
        proto = frame[at + 6]
        if proto not in (UDP, TCP, IPV6_FRAGMENT):
            raise Skipped("not UDP or TCP (or IPv6 extension headers)")
        length = struct.unpack("!H", frame[at + 4:at + 6])[0]
        src = socket.inet_ntop(socket.AF_INET6, frame[at + 8:at + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[at + 24:at + 40])
        at += 40
        end = min(len(frame), at + length)
        if proto == IPV6_FRAGMENT:
            if end < at + 8 or frame[at] != UDP:
                raise Skipped("IPv6 fragment (short, or not UDP)")
            where, ident = struct.unpack("!HI", frame[at + 2:at + 8])
            raise Fragment("IPv6 fragment", src, dst, ident, where & 0xFFF8,
                           bool(where & 1), frame[at + 8:end])
    else:
        raise Skipped(f"ethertype {kind:#06x}")
    if proto == TCP:
        if end < at + 20:
            raise Skipped("short TCP header")
        sport, dport, seq = struct.unpack("!HHI", frame[at:at + 8])
        offset = (frame[at + 12] >> 4) * 4
        if offset < 20 or at + offset > end:
            raise Skipped("truncated TCP segment")
        return Segment(src, sport, dst, dport, seq, frame[at + 13], frame[at + offset:end])
    if end < at + 8:
        raise Skipped("short UDP header")
    sport, dport, length = struct.unpack("!HHH", frame[at:at + 6])
    if at + length > end or length < 8:
        raise Skipped("truncated UDP datagram")
    return Datagram(src, sport, dst, dport, frame[at + 8:at + length])


def pcap_frames(data: bytes) -> list[tuple[float, bytes]]:
    """The frames of a classic pcap file (Ethernet link type), with their times."""
    if len(data) < 24:
        raise Skipped("not a pcap file")
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None:
        raise Skipped("not a pcap file (pcapng is not read)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if struct.unpack(order + "I", data[20:24])[0] != 1:
        raise Skipped("not an Ethernet capture")
    out, at = [], 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[at:at + 16])
        at += 16
        out.append((sec + frac / (1e9 if nano else 1e6), data[at:at + caplen]))
        at += caplen
    return out
