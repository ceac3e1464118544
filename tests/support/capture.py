"""A mirrored port for the capture tests: a network namespace made by the test with a veth pair
into it — the callee's SIPp inside, the caller's outside — so that every SIP and RTP packet of
their call crosses the veth end Kustosz captures on, as it would cross a switch port mirrored
to Kustosz's interface. Needs root (namespaces, and the capture's CAP_NET_RAW) and iproute2.

Also the two SIPp scenarios of a plain call (no SIPREC: what the office's phones and its
trunk say to each other) — a caller that plays its pcap after the ACK and hangs up, and a
callee that answers and plays its own — and the capture process run as its unit runs it."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cameras.camera_helpers import wait_for
from tests.support.siprec import free_media_port


def netns_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@dataclass(frozen=True)
class Veth:
    namespace: str
    outside: str  # the end in this namespace: where the capture reads
    inside: str
    outside_ip: str
    inside_ip: str

    def run(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """A program inside the namespace (the callee's side)."""
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv],
                                **kwargs)  # type: ignore[call-overload]


def _ip(*argv: str, namespace: str | None = None, check: bool = True) -> None:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *argv], check=check, capture_output=True, timeout=30)


@contextmanager
def veth_pair() -> Iterator[Veth]:
    """A namespace of its own with a veth pair into it; both gone afterwards."""
    tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True,
                          timeout=30).stdout  # tests beside this one have their own subnets
    subnet = random.choice([n for n in range(1, 250) if f"10.78.{n}." not in used])
    v = Veth(f"kzcap{tag}", f"kzc{tag}o", f"kzc{tag}i", f"10.78.{subnet}.1",
             f"10.78.{subnet}.2")
    _ip("netns", "add", v.namespace)
    try:
        _ip("link", "add", v.outside, "type", "veth", "peer", "name", v.inside)
        _ip("link", "set", v.inside, "netns", v.namespace)
        _ip("addr", "add", f"{v.outside_ip}/30", "dev", v.outside)
        _ip("link", "set", v.outside, "up")
        _ip("addr", "add", f"{v.inside_ip}/30", "dev", v.inside, namespace=v.namespace)
        _ip("link", "set", v.inside, "up", namespace=v.namespace)
        _ip("link", "set", "lo", "up", namespace=v.namespace)
        yield v
    finally:
        _ip("link", "del", v.outside, check=False)
        _ip("netns", "del", v.namespace, check=False)


@contextmanager
def capture_process(data: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`kustosz capture` for the vault at ``data``, as kustosz-capture.service runs it (here
    as root: the capability comes with it)."""
    log = (data / "capture-process.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(data), "capture"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)
        log.close()


def wait_reading(recorder: object, interface: str, timeout: float = 60) -> None:
    """The capture process connected and reading ``interface``."""
    wait_for(lambda: getattr(recorder, "connected", False)
             and getattr(recorder, "interfaces", {}).get(interface) == "",
             timeout, f"the capture process reading {interface}")


_SDP = """v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio MEDIA_PORT RTP/AVP 8
a=rtpmap:8 PCMA/8000"""
ONE_PORT, PORT_PER_CALL = "[media_port]", "[auto_media_port]"


def caller_scenario(pcap: Path | None, talk_ms: int, media: str = ONE_PORT) -> str:
    """A phone (or the trunk) calling: INVITE with its offer, ACK, its pcap, BYE. The numbers
    are SIPp's keys: caller, callee (the Request-URI's user: -s). ``media``: PORT_PER_CALL
    for many calls at once (each its own media port, as phones have)."""
    play = f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>' if pcap else ""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Jan Kowalski" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[caller]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP.replace("MEDIA_PORT", media)}
]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Jan Kowalski" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{play}
<pause milliseconds="{talk_ms}"/>
<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Jan Kowalski" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
"""


def callee_scenario(pcap: Path | None, media: str = ONE_PORT) -> str:
    """The office's phone answering: 200 with its offer's answer, then its pcap, until the
    caller's BYE."""
    play = f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>' if pcap else ""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callee">
<recv request="INVITE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP.replace("MEDIA_PORT", media)}
]]></send>
<recv request="ACK"/>
{play}
<recv request="BYE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""


def call_across(veth: Veth, folder: Path, *, caller: str, callee: str,
                caller_pcap: Path | None, callee_pcap: Path | None, talk_ms: int,
                timeout: float = 120, transport: str = "u1", port: int = 5060) -> None:
    """One call from outside the namespace (the caller) to inside it (the callee), both
    SIPp, whole: the callee's SIPp is waited for too. ``transport``: SIPp's -t (u1 UDP,
    t1 one TCP connection); ``port``: the callee's SIP port."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "callee.xml").write_text(callee_scenario(callee_pcap))
    (folder / "caller.xml").write_text(caller_scenario(caller_pcap, talk_ms))
    uas = veth.run(["sipp", "-sf", str(folder / "callee.xml"), "-i", veth.inside_ip,
                    "-p", str(port), "-t", transport, "-mi", veth.inside_ip, "-mp", "16000",
                    "-m", "1",
                    "-nostdin", "-timeout", f"{int(timeout)}s", "-trace_err"],
                   cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _listening(veth, tcp=transport.startswith("t"), port=port), 30,
                 "the callee's SIPp listening")
        done = subprocess.run(
            ["sipp", "-sf", str(folder / "caller.xml"), "-i", veth.outside_ip, "-p", "0",
             "-t", transport,
             "-mi", veth.outside_ip, "-mp", str(free_media_port()), "-m", "1", "-nostdin",
             "-timeout", f"{int(timeout)}s", "-trace_err", "-key", "caller", caller,
             "-s", callee, f"{veth.inside_ip}:{port}"],
            cwd=folder, capture_output=True, text=True, timeout=timeout + 30)
        if done.returncode != 0:
            errors = "".join(p.read_text(errors="replace")[-2000:]
                             for p in folder.glob("*_errors.log"))
            raise AssertionError(f"the caller's SIPp failed ({done.returncode}): "
                                 f"{done.stdout[-1500:]}\n{errors}")
        assert uas.wait(60) == 0, "the callee's SIPp did not end well"
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait(10)


def set_mtu(veth: Veth, mtu: int) -> None:
    """Both ends' MTU, and no segmentation offload: a SIP message longer than the MTU crosses
    in several segments, each seen on its own as a switch's mirror shows them (with GSO, the
    packet socket would see the one large segment the stack handed the veth)."""
    for end, namespace in ((veth.outside, None), (veth.inside, veth.namespace)):
        _ip("link", "set", end, "mtu", str(mtu), "gso_max_segs", "1", namespace=namespace)


def _listening(veth: Veth, tcp: bool = False, port: int = 5060) -> bool:
    out = subprocess.run(["ip", "netns", "exec", veth.namespace, "ss", "-tln" if tcp else "-uln"],
                         capture_output=True, text=True, timeout=10).stdout
    return f"{veth.inside_ip}:{port}" in out


def udp_frame(src: str, sport: int, dst: str, dport: int, payload: bytes,
              flags_fragment: int = 0) -> bytes:
    """An Ethernet II frame of one IPv4 UDP datagram, as a mirrored port shows it."""
    import socket
    import struct
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, flags_fragment, 64, 17,
                         0, socket.inet_aton(src), socket.inet_aton(dst))
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + \
        header + udp


def tcp_frame(src: str, sport: int, dst: str, dport: int, seq: int, payload: bytes,
              flags: int = 0x18) -> bytes:
    """An Ethernet II frame of one IPv4 TCP segment (flags: PSH|ACK unless said)."""
    import socket
    import struct
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq % (1 << 32), 0, 5 << 4, flags, 65535,
                      0, 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + \
        header + tcp


class FakeCaptureProcess:
    """The capture process's side of capture.sock, played by the test to put crafted frames
    before serve's recorder (what no switch would send on demand); the socket, the protocol
    and the recorder are the product's own."""

    def __init__(self, path: Path, interfaces: list[str]) -> None:
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        from kustosz.ingest.phone.capture import wire
        self.wire = wire
        asked = wire.read_control(self.sock.recv(65536))
        assert asked["interfaces"] == interfaces, asked
        self.sock.sendall(wire.control({"opened": {name: "" for name in interfaces}}))

    def send(self, frames: list[tuple[float, bytes]], index: int = 0) -> None:
        out = bytearray(b"F")
        for when, frame in frames:
            out += self.wire.RECORD.pack(index, when, len(frame)) + frame
        self.sock.sendall(bytes(out))

    def send_raw(self, message: bytes) -> None:
        self.sock.sendall(message)

    def close(self) -> None:
        self.sock.close()


def udp6_frame(src: str, sport: int, dst: str, dport: int, payload: bytes,
               vlan: int | None = None) -> bytes:
    """An Ethernet II frame of one IPv6 UDP datagram, with an 802.1Q tag when ``vlan``
    (a trunk port mirrored with its tags)."""
    import socket
    import struct
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64,
                         socket.inet_pton(socket.AF_INET6, src),
                         socket.inet_pton(socket.AF_INET6, dst))
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + tag + b"\x86\xdd" + \
        header + udp
