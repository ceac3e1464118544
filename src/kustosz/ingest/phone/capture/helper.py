"""The capture process (`kustosz capture`, its own unit kustosz-capture.service): the only part
of Kustosz with CAP_NET_RAW, and with nothing else — no database, no key, no recording. It
connects to serve's `capture.sock`, opens the interfaces serve names (AF_PACKET, promiscuous:
a mirrored port's frames are addressed to other machines) with a kernel filter that lets only
UDP and SIP's TCP through (and VLAN-tagged frames, which the filter cannot look into), and
hands every such frame over as it was read. Serve parses them; this process never does, so
what arrives from the network meets no code that holds the capability.

Serve away (stopped, restarting): the interfaces are closed (no promiscuous mode with nobody to
record) and the connection tried again every second; the calls of that time are serve's to
miss, as with SIPREC. The kernel's drops (a reader too slow) are counted and reported."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import select
import socket
import struct
import threading
import time
from pathlib import Path

from kustosz.ingest.phone.capture.tunnels import TUNNEL_PROTOCOLS, TUNNEL_SNAP
from kustosz.ingest.phone.capture.wire import (
    MAX_MESSAGE,
    PROTOCOL,
    RECORD,
    BadMessage,
    control,
    read_control,
)
from kustosz.phones.settings import DEFAULT_SIP_TCP_PORTS, MAX_SIP_TCP_PORTS

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
RCVBUF = 8 << 20
STATS_S = 5.0
RECONNECT_S = 1.0
SNAP = 65535
MAX_BATCH = 512  # frames read from one interface before the batch is sent

# Classic BPF (the kernel's socket filter): IPv4 or IPv6 UDP (IPv6 fragments too), TCP to or
# from a SIP port (SIP over TCP or TLS: sip_tcp.py; the ports serve's capture lines name),
# 802.1Q/802.1ad tagged frames whole (the tag may hide either), and the first TUNNEL_SNAP bytes
# of a tunnelled packet (IP in IP, IPv6 in IPv4, GRE: serve names the tunnel and tells the line
# that calls in it are not recorded, tunnels.py); everything else — the office's other TCP — is
# dropped in the kernel.
# (code, jt, jf, k); a jump goes to the next instruction + jt (or jf), or to a label.
_LD_H, _LD_B, _LDX_MSH, _LD_H_IND, _JEQ, _RET = 0x28, 0x30, 0xB1, 0x48, 0x15, 0x06


Target = int | str  # a relative jump, or a label's name
Instruction = tuple[int, Target, Target, int]


def _assemble(program: list[Instruction | str]) -> tuple[tuple[int, int, int, int], ...]:
    """The kernel's instructions of ``program``, whose strings are labels: the place a jump
    naming one goes to."""
    labels: dict[str, int] = {}
    at = 0
    for ins in program:
        if isinstance(ins, str):
            labels[ins] = at
        else:
            at += 1
    out: list[tuple[int, int, int, int]] = []
    for ins in program:
        if isinstance(ins, str):
            continue
        code, jt, jf, k = ins
        following = len(out) + 1
        jt, jf = (labels[t] - following if isinstance(t, str) else t for t in (jt, jf))
        out.append((code, jt, jf, k))
    return tuple(out)


def _ports(load: int, src_at: int, dst_at: int, ports: tuple[int, ...]
           ) -> list[Instruction | str]:
    """Accept when the TCP source or destination port is a SIP port, else drop."""
    steps: list[Instruction | str] = []
    for at in (src_at, dst_at):
        steps.append((load, 0, 0, at))
        steps += [(_JEQ, "accept", 0, port) for port in ports]
    return [*steps, (_RET, 0, 0, 0)]


def sip_ports(raw: object) -> tuple[int, ...]:
    """The SIP TCP ports serve asked for, checked: port numbers, at most MAX_SIP_TCP_PORTS
    (a jump of the filter spans at most 255 instructions); anything else is what serve never
    sends."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SIP_TCP_PORTS or any(
            isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535 for p in raw):
        raise BadMessage(f"not a list of SIP TCP ports: {raw!r}"[:200])
    return tuple(sorted(set(raw)))


def build_filter(ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS
                 ) -> tuple[tuple[int, int, int, int], ...]:
    return _assemble([
        (_LD_H, 0, 0, 12),  # the ethertype
        (_JEQ, "ipv4", 0, 0x0800),
        (_JEQ, "ipv6", 0, 0x86DD),
        (_JEQ, "accept", 0, 0x8100),
        (_JEQ, "accept", "drop", 0x88A8),
        "ipv4",
        (_LD_B, 0, 0, 23),  # IPv4's protocol
        (_JEQ, "accept", 0, 17),  # UDP
        (_JEQ, 0, "tunnel", 6),  # TCP: its ports, after the IPv4 header (its length in X)
        (_LDX_MSH, 0, 0, 14),
        *_ports(_LD_H_IND, 14, 16, ports),
        "ipv6",
        (_LD_B, 0, 0, 20),  # IPv6's next header
        (_JEQ, "accept", 0, 17),
        (_JEQ, "accept", 0, 44),  # a fragment header: a UDP datagram in pieces (fragments.py)
        (_JEQ, 0, "tunnel", 6),
        *_ports(_LD_H, 54, 56, ports),
        "tunnel",  # IP in IP, IPv6 in IPv4, GRE: its headers only, to be named (tunnels.py)
        *[(_JEQ, "tunnelled", 0, proto) for proto in TUNNEL_PROTOCOLS],
        (_RET, 0, 0, 0),
        "tunnelled",
        (_RET, 0, 0, TUNNEL_SNAP),
        "accept",
        (_RET, 0, 0, SNAP),  # up to SNAP bytes
        "drop",
        (_RET, 0, 0, 0),
    ])


def _attach_filter(sock: socket.socket,
                   ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS) -> None:
    """Attach (or replace: the kernel swaps it whole) the filter passing ``ports``' TCP."""
    program = build_filter(ports)
    code = b"".join(struct.pack("HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


SIOCGIFFLAGS = 0x8913
IFF_UP, IFF_RUNNING = 0x1, 0x40


class NotReadable(OSError):
    """The interface is there but carries nothing to read (down, or no link)."""


def link_state(name: str) -> str:
    """Why ``name`` carries nothing now ("" when it is up with a link): asked of the kernel
    before a socket is opened on it, so that an interface that is down is said so, steadily —
    not opened, read, failed and opened again at every ask (an alert raised and cleared every
    few seconds)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        raw = fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS,
                          struct.pack("16sH14s", name.encode()[:15], 0, b""))
    flags = struct.unpack("16sH14s", raw)[1]
    if not flags & IFF_UP:
        return f"interface {name}: down (ip link set {name} up)"
    if not flags & IFF_RUNNING:
        return f"interface {name}: no link (the cable, or the switch's mirrored port)"
    return ""


class Interface:
    """One interface read: its packet socket and the kernel's counts."""

    def __init__(self, name: str, ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS) -> None:
        self.name = name
        self.loopback = name == "lo"
        index = socket.if_nametoindex(name)  # OSError: no such interface
        why = link_state(name)
        if why:
            raise NotReadable(errno.ENETDOWN, why)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            _attach_filter(sock, ports)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind((name, ETH_P_ALL))
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                            struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b""))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.packets = 0
        self.drops = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self, index: int, out: bytearray) -> None:
        """Frames waiting on the socket, appended to ``out`` as wire records."""
        for _ in range(MAX_BATCH):
            try:
                frame, addr = self.sock.recvfrom(SNAP)
            except BlockingIOError:
                return
            if addr[0] != self.name:
                continue  # read between the socket's opening and its bind
            if self.loopback and addr[2] == PACKET_OUTGOING:
                continue  # loopback shows each packet twice, leaving and arriving
            out += RECORD.pack(index, time.time(), len(frame))
            out += frame
            if len(out) >= MAX_MESSAGE:
                return

    def counts(self) -> tuple[int, int]:
        """The kernel's counts since the last call (reading them resets them)."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        packets, drops = struct.unpack("II", raw)
        self.packets += packets
        self.drops += drops
        return packets, drops

    def close(self) -> None:
        self.sock.close()


class Capture:
    """One connection to serve: the interfaces it asks for, read until it goes away."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.names: list[str] = []
        self.ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS
        self.open: dict[str, Interface] = {}
        self.said: dict[str, str] = {}

    def close(self) -> None:
        for iface in self.open.values():
            iface.close()
        self.open.clear()

    def send(self, message: bytes) -> None:
        self.conn.sendall(message)

    def asked(self, names: list[str], ports: tuple[int, ...] | None = None) -> None:
        """Serve's list: open what is new (or failed before), close what is no longer
        asked for, the filter of those open changed with the SIP ports; every interface's
        state said back."""
        self.names = [str(n) for n in names][:255]
        if ports is not None and ports != self.ports:
            self.ports = ports
            for iface in self.open.values():
                _attach_filter(iface.sock, ports)
        for name in list(self.open):
            if name not in self.names:
                self.open.pop(name).close()
        state: dict[str, str] = {}
        for name in self.names:
            if name in self.open:
                state[name] = ""
                continue
            try:
                self.open[name] = Interface(name, self.ports)
                state[name] = ""
            except OSError as exc:
                state[name] = _why(name, exc)
            if state[name] != self.said.get(name):
                if state[name]:
                    log.error("capture: %s", state[name])
                else:
                    log.info("capture: reading %s", name)
        self.said = state
        self.send(control({"opened": state}))

    def links(self) -> None:
        """An interface open but gone down (or its link lost) is closed and said so: a down
        interface may simply deliver nothing, never an error."""
        for name in list(self.open):
            try:
                why = link_state(name)
            except OSError as exc:
                why = _why(name, exc)
            if why:
                log.error("capture: %s", why)
                self.open.pop(name).close()
                self.said[name] = why
        if any(self.said.get(n) for n in self.names):
            self.send(control({"opened": self.said}))

    def stats(self) -> None:
        out = {}
        for name, iface in self.open.items():
            packets, drops = iface.counts()
            out[name] = {"packets": packets, "drops": drops}
            if drops:
                log.warning("capture: the kernel dropped %d of %d frames on %s (serve reads "
                            "too slowly)", drops, packets, name)
        self.send(control({"stats": out}))

    def run(self, stop: threading.Event) -> None:
        self.send(control({"hello": "kustosz-capture", "pid": os.getpid(),
                           "protocol": PROTOCOL}))
        stats_at = time.monotonic()
        while not stop.is_set():
            readers: list[socket.socket | Interface] = [self.conn, *self.open.values()]
            ready, _, _ = select.select(readers, [], [], 0.5)
            if self.conn in ready:
                message = self.conn.recv(MAX_MESSAGE)
                if not message:
                    return  # serve went away
                if message[:1] == b"J":
                    try:
                        said = read_control(message)
                        asked, ports = said.get("interfaces"), said.get("sip_tcp_ports")
                        ports = None if ports is None else sip_ports(ports)
                    except BadMessage as exc:
                        log.error("capture: serve sent what it never sends: %s", exc)
                        return
                    if isinstance(asked, list):
                        self.asked(asked, ports)
            batch = bytearray(b"F")
            for iface in ready:
                if isinstance(iface, Interface):
                    try:
                        iface.read(self.names.index(iface.name), batch)
                    except OSError as exc:  # the interface went down or away
                        log.error("capture: %s", _why(iface.name, exc))
                        self.open.pop(iface.name, None)
                        iface.close()
                        self.said[iface.name] = _why(iface.name, exc)
                        self.send(control({"opened": self.said}))
                if len(batch) >= MAX_MESSAGE:
                    self.send(bytes(batch))
                    batch = bytearray(b"F")
            if len(batch) > 1:
                self.send(bytes(batch))
            if time.monotonic() - stats_at >= STATS_S:
                stats_at = time.monotonic()
                self.links()
                self.stats()


def _why(name: str, exc: OSError) -> str:
    if isinstance(exc, NotReadable):
        return str(exc.strerror)
    if exc.errno == errno.EPERM or isinstance(exc, PermissionError):
        return (f"interface {name}: not permitted to capture (the capture process needs "
                "CAP_NET_RAW: run it by kustosz-capture.service)")
    if exc.errno in (errno.ENODEV, errno.ENXIO) or "no interface" in str(exc).lower():
        return f"interface {name}: no such interface on this machine"
    if exc.errno == errno.ENETDOWN:
        return f"interface {name}: down"
    return f"interface {name}: {exc.strerror or exc}"


def run(path: Path, stop: threading.Event | None = None) -> None:
    """Connect to serve at ``path`` and capture for it, until ``stop``; serve away is waited
    for (said once)."""
    stop = stop or threading.Event()
    waiting = False
    while not stop.is_set():
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect(str(path))
        except OSError as exc:
            conn.close()
            if not waiting:
                log.warning("capture: serve does not listen at %s (%s); trying every %.0f s",
                            path, exc.strerror or exc, RECONNECT_S)
                waiting = True
            stop.wait(RECONNECT_S)
            continue
        waiting = False
        log.info("capture: connected to serve at %s", path)
        capture = Capture(conn)
        try:
            capture.run(stop)
        except OSError as exc:
            log.warning("capture: the connection to serve ended (%s)", exc)
        finally:
            capture.close()
            conn.close()
        if not stop.is_set():
            log.info("capture: serve went away; interfaces closed, waiting for it")
            stop.wait(RECONNECT_S)
