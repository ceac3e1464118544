"""Tunnelled traffic on a mirrored port (issue 64): an office whose trunk reaches the exchange
through a tunnel — GRE, IP-in-IP, IPv6 in IPv4, or a remote mirror sent over GRE (ERSPAN) —
shows the mirror SIP and RTP inside another IP packet. Kustosz does not read inside tunnels,
so those calls are not recorded; it used to skip the frames without a word, and the office
never learned why its calls were missing.

The capture process's kernel filter passes tunnelled frames cut to TUNNEL_SNAP bytes (the
outer headers and the first of the inner packet: no call's words); here the tunnel is named
— its encapsulation, its two ends, and whether the packet inside is SIP (a SIP port, or a SIP
start line) — and the line is told once per tunnel and hour (refusals.py, `input.refused`,
folded per line and sender as every refusal of the port): the frames of a tunnel come fifty a
second per call, the alert does not."""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
IPIP, IPV6_IN_IPV4, GRE = 4, 41, 47
TUNNEL_PROTOCOLS = (IPIP, IPV6_IN_IPV4, GRE)  # the kernel filter's list (helper.py)
TUNNEL_SNAP = 256  # bytes of a tunnelled frame the kernel hands over
SIP_PORTS = frozenset({5060, 5061})
SAY_EVERY_S = 3600.0  # a tunnel is told again after this long
MAX_TUNNELS = 64
_GRE_INNER = {0x0800: "ipv4", 0x86DD: "ipv6", 0x6558: "ethernet"}
_ERSPAN = {0x88BE: 8, 0x22EB: 12}  # ERSPAN type II, III: its header before the frame
_SIP_START = re.compile(rb"^(?:SIP/2\.0 \d{3}|[A-Z]{3,10} sips?:)")


@dataclass(frozen=True)
class Tunnel:
    encapsulation: str  # "GRE", "IP-in-IP", "IPv6-in-IPv4", "ERSPAN (GRE)"
    src: str  # the tunnel's ends (the outer packet's addresses)
    dst: str
    sip: bool  # the packet inside is SIP


def tunnel(frame: bytes) -> Tunnel | None:
    """The tunnel an Ethernet frame travels in, or None (not tunnelled, or too short)."""
    try:
        kind, ip = _ethertype(frame, 0)
        proto, src, dst, at = _ip(frame, kind, ip)
    except (ValueError, struct.error, OSError):
        return None
    if proto not in TUNNEL_PROTOCOLS:
        return None
    name = {IPIP: "IP-in-IP", IPV6_IN_IPV4: "IPv6-in-IPv4", GRE: "GRE"}[proto]
    inner: str | None = {IPIP: "ipv4", IPV6_IN_IPV4: "ipv6"}.get(proto)
    if kind == ETH_IPV4 and struct.unpack("!H", frame[ip + 6:ip + 8])[0] & 0x1FFF:
        return Tunnel(name, src, dst, False)  # a later fragment: no inner header in it
    try:
        if proto == GRE:
            flags, ptype = struct.unpack("!HH", frame[at:at + 4])
            at += 4 + 4 * sum(1 for bit in (0x8000, 0x2000, 0x1000) if flags & bit)
            if ptype in _ERSPAN:
                name, inner, at = "ERSPAN (GRE)", "ethernet", at + _ERSPAN[ptype]
            else:
                inner = _GRE_INNER.get(ptype)
        sip = inner is not None and _is_sip(frame, inner, at)
    except (ValueError, struct.error, OSError):
        sip = False
    return Tunnel(name, src, dst, sip)


def _ethertype(frame: bytes, at: int) -> tuple[int, int]:
    kind, at = struct.unpack("!H", frame[at + 12:at + 14])[0], at + 14
    for _ in range(2):
        if kind not in (ETH_VLAN, ETH_QINQ):
            break
        kind, at = struct.unpack("!H", frame[at + 2:at + 4])[0], at + 4
    return kind, at


def _ip(frame: bytes, kind: int, at: int) -> tuple[int, str, str, int]:
    """(protocol, source, destination, where its payload starts) of an IP packet."""
    if kind == ETH_IPV4:
        if len(frame) < at + 20:
            raise ValueError("short IPv4 header")
        return (frame[at + 9], socket.inet_ntop(socket.AF_INET, frame[at + 12:at + 16]),
                socket.inet_ntop(socket.AF_INET, frame[at + 16:at + 20]),
                at + (frame[at] & 0x0F) * 4)
    if kind == ETH_IPV6:
        if len(frame) < at + 40:
            raise ValueError("short IPv6 header")
        return (frame[at + 6], socket.inet_ntop(socket.AF_INET6, frame[at + 8:at + 24]),
                socket.inet_ntop(socket.AF_INET6, frame[at + 24:at + 40]), at + 40)
    raise ValueError(f"ethertype {kind:#06x}")


def _is_sip(frame: bytes, inner: str, at: int) -> bool:
    """Whether the packet inside the tunnel (at ``at``, of kind ``inner``) is SIP: UDP or
    TCP to or from a SIP port, or a payload that starts as a SIP message does."""
    if inner == "ethernet":
        kind, at = _ethertype(frame, at)
    else:
        kind = ETH_IPV4 if inner == "ipv4" else ETH_IPV6
    proto, _src, _dst, at = _ip(frame, kind, at)
    if proto not in (6, 17):
        return False
    sport, dport = struct.unpack("!HH", frame[at:at + 4])
    start = at + (8 if proto == 17 else (frame[at + 12] >> 4) * 4)
    return bool({sport, dport} & SIP_PORTS) or bool(_SIP_START.match(frame[start:start + 40]))


@dataclass
class _Seen:
    told_at: float = float("-inf")
    frames: int = 0  # since it was last told
    sip: bool = False  # SIP among them
    sip_told: bool = False  # the last telling said SIP


class Tunnels:
    """The tunnels seen on each interface: when each was last told, and what came through it
    since. At most MAX_TUNNELS are told apart; the rest (a flood of forged ends) are one."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str, str], _Seen] = {}

    def seen(self, interface: str, t: Tunnel, when: float) -> tuple[int, bool] | None:
        """What to tell now — (frames, whether SIP was among them) — at a tunnel's first
        frame, its first SIP, and then once every SAY_EVERY_S; else None (counted)."""
        key = (interface, t.encapsulation, t.src, t.dst)
        if key not in self._seen and len(self._seen) >= MAX_TUNNELS:
            key = (interface, t.encapsulation, "*", "*")
        one = self._seen.setdefault(key, _Seen())
        one.frames += 1
        one.sip = one.sip or t.sip
        if when - one.told_at < SAY_EVERY_S and not (t.sip and not one.sip_told):
            return None
        told = (one.frames, one.sip)
        one.told_at, one.sip_told, one.frames, one.sip = when, one.sip, 0, False
        return told
