"""SIP in a tunnel on a mirrored port (issue 64): Kustosz does not read inside GRE, IP-in-IP or
IPv6-in-IPv4, and used to skip such frames without a word, so an office whose trunk arrives
tunnelled never learned that its calls were not recorded. Now the capture process's kernel
filter passes a tunnelled frame's headers, and serve tells the line — naming the
encapsulation, the tunnel's ends and whether SIP is inside, Polish first — once per tunnel and
hour, however many frames it carries.

The frames are built here byte by byte around a real SIP message from the corpus (MicroSIP's
INVITE, tests/corpus/pcap/pcapplusplus/) and sent over a veth into the real capture process."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder
from tests.siprec.siprec_helpers import calls_of
from tests.support.capture import capture_process, netns_available, veth_pair, wait_reading
from tests.support.capture_replay import hex_frames, replay_read

from kustosz.db.models import Alert
from kustosz.ingest.phone.capture.frames import Datagram, packet
from kustosz.ingest.phone.capture.tunnels import (
    MAX_TUNNELS,
    SAY_EVERY_S,
    TUNNEL_SNAP,
    Tunnel,
    Tunnels,
    tunnel,
)
from kustosz.states import AlertRow

MACS = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
OUTER = ("192.0.2.1", "192.0.2.2")  # the tunnel's ends (TEST-NET-1)


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header + payload


def _ipv6(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def _udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    return _ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
                 + payload)


def _ethernet(ip: bytes, ethertype: int = 0x0800, vlan: int | None = None) -> bytes:
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return MACS + tag + struct.pack("!H", ethertype) + ip


def _gre(inner: bytes, ptype: int = 0x0800, key: int | None = None,
         seq: int | None = None) -> bytes:
    flags = (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    extra = b"".join(struct.pack("!I", v) for v in (key, seq) if v is not None)
    return struct.pack("!HH", flags, ptype) + extra + inner


def _invite() -> Datagram:
    """MicroSIP's INVITE, as PcapPlusPlus keeps it (UDP 53309 → 52380: not a SIP port)."""
    d = packet(hex_frames("pcapplusplus/sip_non_default_port1.dat")[0])
    assert isinstance(d, Datagram) and d.payload.startswith(b"INVITE sip:")
    return d


def _inner_sip() -> bytes:
    d = _invite()
    return _udp(d.src, d.sport, d.dst, d.dport, d.payload)


# -- reading the headers ------------------------------------------------------------------
def test_each_encapsulation_is_named_with_its_ends_and_the_sip_inside() -> None:
    sip, other = _inner_sip(), _ipv4("10.0.0.1", "10.0.0.2", 1, b"\x08\x00" + b"\x00" * 30)
    inner_frame = _ethernet(sip)
    cases = {
        "GRE": _ethernet(_ipv4(*OUTER, 47, _gre(sip))),
        "GRE, key and sequence": _ethernet(_ipv4(*OUTER, 47, _gre(sip, key=7, seq=1))),
        "IP-in-IP": _ethernet(_ipv4(*OUTER, 4, sip)),
        "GRE tagged": _ethernet(_ipv4(*OUTER, 47, _gre(sip)), vlan=42),
        "GRE bridging Ethernet": _ethernet(_ipv4(*OUTER, 47, _gre(inner_frame, 0x6558))),
        "ERSPAN": _ethernet(_ipv4(*OUTER, 47, _gre(b"\x10" + b"\x00" * 7 + inner_frame,
                                                   0x88BE, seq=3))),
        "GRE over IPv6": _ethernet(_ipv6("2001:db8::1", "2001:db8::2", 47, _gre(sip)),
                                   0x86DD),
    }
    named = {case: tunnel(frame) for case, frame in cases.items()}
    assert named["GRE"] == Tunnel("GRE", *OUTER, True)
    assert named["GRE, key and sequence"] == Tunnel("GRE", *OUTER, True)
    assert named["IP-in-IP"] == Tunnel("IP-in-IP", *OUTER, True)
    assert named["GRE tagged"] == Tunnel("GRE", *OUTER, True)
    assert named["GRE bridging Ethernet"] == Tunnel("GRE", *OUTER, True)
    assert named["ERSPAN"] == Tunnel("ERSPAN (GRE)", *OUTER, True)
    assert named["GRE over IPv6"] == Tunnel("GRE", "2001:db8::1", "2001:db8::2", True)
    assert tunnel(_ethernet(_ipv4(*OUTER, 47, _gre(other)))) == Tunnel("GRE", *OUTER, False)
    # cut where the kernel cuts it: the headers and the SIP start line are within
    assert tunnel(cases["GRE"][:TUNNEL_SNAP]) == Tunnel("GRE", *OUTER, True)
    d = _invite()  # the same message not tunnelled, and other traffic: no tunnel
    assert tunnel(_ethernet(_udp(d.src, d.sport, d.dst, d.dport, d.payload))) is None
    assert tunnel(_ethernet(_ipv4(*OUTER, 50, b"\x00" * 40))) is None  # ESP: not a tunnel
    assert tunnel(b"\x02" * 12 + b"\x08\x06" + b"\x00" * 28) is None  # ARP


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([4, 41, 47]))
def test_any_bytes_in_or_after_a_tunnels_header_are_named_or_passed_never_an_error(
        tail: bytes, proto: int) -> None:
    for frame in (tail, _ethernet(_ipv4(*OUTER, proto, tail)),
                  _ethernet(_ipv4(*OUTER, proto, tail))[:14 + len(tail) // 3]):
        found = tunnel(frame)
        assert found is None or isinstance(found, Tunnel)


def test_a_tunnel_is_told_at_its_first_frame_its_first_sip_then_once_an_hour() -> None:
    tunnels = Tunnels()
    plain, sip = Tunnel("GRE", *OUTER, False), Tunnel("GRE", *OUTER, True)
    assert tunnels.seen("eth1", plain, 0.0) == (1, False)
    assert [tunnels.seen("eth1", plain, float(n)) for n in range(1, 100)] == [None] * 99
    assert tunnels.seen("eth1", sip, 100.0) == (100, True)  # SIP in it: told at once
    assert tunnels.seen("eth1", sip, 101.0) is None
    # an hour on: the frames since, SIP among them
    assert tunnels.seen("eth1", plain, 100.0 + SAY_EVERY_S) == (2, True)
    assert tunnels.seen("eth1", plain, 101.0 + 2 * SAY_EVERY_S) == (1, False)
    # a flood of forged ends is one tunnel past the limit
    told = [tunnels.seen("eth1", Tunnel("GRE", f"10.9.{n // 250}.{n % 250}", OUTER[1],
                                        False), 5.0) for n in range(MAX_TUNNELS * 4)]
    assert sum(1 for t in told if t is not None) == MAX_TUNNELS


# -- the kernel filter ----------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(socket, "AF_PACKET") or os.geteuid() != 0,
                    reason="needs root: a packet socket")
def test_the_capture_process_filter_passes_a_tunnels_headers_and_no_more() -> None:
    """The capture process's own kernel filter, on loopback: a GRE and an IP-in-IP packet
    pass, cut to TUNNEL_SNAP bytes (never a call's words past its first line); ESP does
    not."""
    from kustosz.ingest.phone.capture.helper import _attach_filter
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sniff.bind(("lo", 0x0003))
    _attach_filter(sniff)
    sniff.settimeout(0.2)
    body = _inner_sip() + b"x" * 600
    with sniff:
        with contextlib.suppress(TimeoutError):
            while True:  # what was queued before the filter was attached
                sniff.recv(65535)
        for proto, payload in ((47, _gre(body)), (4, body), (50, b"probe esp" + body)):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
            with raw:
                raw.sendto(payload, ("127.0.0.1", 0))
        seen: list[bytes] = []
        with contextlib.suppress(TimeoutError):
            while True:
                seen.append(sniff.recv(65535))
    seen = [f for f in seen if f[12:14] == b"\x08\x00" and f[23] not in (6, 17)]  # not
    # the UDP and SIP TCP that other tests on this machine send over lo meanwhile
    assert sorted({frame[23] for frame in seen}) == [4, 47]  # lo shows each twice
    assert all(len(frame) == TUNNEL_SNAP for frame in seen)
    assert all(tunnel(frame) == Tunnel({4: "IP-in-IP", 47: "GRE"}[frame[23]], "127.0.0.1",
                                       "127.0.0.1", True) for frame in seen)


# -- over the veth, into the real capture process -------------------------------------------
def _refused(vault: object) -> list[Alert]:
    with vault.reading() as s:  # type: ignore[attr-defined]
        rows = list(s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)
                              .order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows


@pytest.mark.skipif(not netns_available(), reason="needs root and iproute2")
def test_sip_tunnelled_on_the_mirrored_port_is_told_to_its_line_naming_the_tunnel(
        tmp_path: Path) -> None:
    sip = _inner_sip()
    gre = _ethernet(_ipv4(*OUTER, 47, _gre(sip)))
    ipip = _ethernet(_ipv4("198.51.100.1", "198.51.100.2", 4, sip))
    plain = _ethernet(_ipv4("203.0.113.1", "203.0.113.2", 47, _gre(_ipv4(
        "10.0.0.1", "10.0.0.2", 1, b"\x08\x00" + b"\x00" * 30))))
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside, name="centrala-zolc")
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            # a trunk's call tunnelled: many frames of it, one alert per tunnel
            replay_read(veth, recorder, [(0.0, gre)] * 50 + [(0.0, ipip)] * 20 +
                        [(0.0, plain)] * 5)
            wait_for(lambda: len(_refused(vault)) == 3, 30, "the three tunnels told")
    rows = _refused(vault)
    by_device = {r.message.split("”")[0].split("„")[1]: r for r in rows}
    assert set(by_device) == {"tunel GRE 192.0.2.1 → 192.0.2.2",
                              "tunel IP-in-IP 198.51.100.1 → 198.51.100.2",
                              "tunel GRE 203.0.113.1 → 203.0.113.2"}
    message = by_device["tunel GRE 192.0.2.1 → 192.0.2.2"].message
    assert message.startswith(
        "Odrzucono dane od urządzenia „tunel GRE 192.0.2.1 → 192.0.2.2”: na porcie "
        "lustrzanym linii „centrala-zolc” jest sygnalizacja SIP w tunelu GRE — Kustosz nie "
        "czyta ruchu w tunelach, więc rozmowy, które nim płyną, nie są nagrywane")
    detail = by_device["tunel GRE 192.0.2.1 → 192.0.2.2"].detail or ""  # apart (issue 65)
    assert f"interface {veth.outside}: 1 frame(s) in GRE" in detail and "SIP inside" in detail
    assert "jest sygnalizacja SIP w tunelu IP-in-IP" in \
        by_device["tunel IP-in-IP 198.51.100.1 → 198.51.100.2"].message
    assert "jest ruch w tunelu GRE" in by_device["tunel GRE 203.0.113.1 → 203.0.113.2"].message
    assert "Powtórzyło się" not in message  # one frame told, the rest folded in memory
    with vault.reading() as s:
        line_id = s.execute(select(Alert.source_id).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalar()
    assert line_id is not None
    assert calls_of(vault) == [] and recorder.counters.calls == 0
    vault.close()
