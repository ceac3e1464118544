"""Replaying real SBCs' recording sessions (tests/corpus/siprec) to the recording server: the
sample's body byte for byte, only what must change to reach a server on the loopback
rewritten — the request line, Via and Contact (this machine's address and port), the
``c=`` address of each stream (RTP is sent from 127.0.0.1, and the server takes a stream's
packets only from its offered address) and so Content-Length. A sample that is a body alone
gets the SIP header lines written here, its Content-Type naming the boundary its own first
delimiter line uses."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tests.support.siprec import alaw_to_pcm, rtp_packet

CORPUS = Path(__file__).parents[1] / "corpus" / "siprec"
RATE = 8000


def ulaw_to_pcm(data: bytes) -> np.ndarray:
    """G.711 mu-law decoded (ITU-T G.711)."""
    u = ~np.frombuffer(data, dtype=np.uint8)
    exponent = ((u >> 4) & 0x07).astype(np.int32)
    magnitude = ((((u & 0x0F).astype(np.int32)) << 3) + 0x84) << exponent
    return np.where(u & 0x80, -(magnitude - 0x84), magnitude - 0x84).astype(np.int16)


def tone(freq: float, payload_type: int, seconds: float = 1.0) -> bytes:
    """A sine in G.711 (PCMU for payload type 0, PCMA for 8), encoded by its nearest code."""
    pcm = (8000 * np.sin(2 * np.pi * freq * np.arange(int(RATE * seconds)) / RATE))
    table = (ulaw_to_pcm if payload_type == 0 else alaw_to_pcm)(bytes(range(256)))
    codes = np.argmin(np.abs(table[None, :].astype(np.int32) - pcm[:, None]), axis=1)
    return bytes(codes.astype(np.uint8))


def loudest(samples: np.ndarray) -> float:
    """The frequency (Hz) carrying the most energy."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum[1:]) + 1) * RATE / len(samples)


@dataclass
class Src:
    """An SBC on the loopback: one socket, UDP or TCP, its final answers read back."""

    port: int
    transport: str  # "UDP" | "TCP"
    host: str = "127.0.0.1"  # another loopback address: a host that is no SBC of a line
    sock: socket.socket = field(init=False)
    buffer: bytes = b""

    def __post_init__(self) -> None:
        kind = socket.SOCK_DGRAM if self.transport == "UDP" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(15)
        if self.transport == "TCP":
            self.sock.connect(("127.0.0.1", self.port))

    @property
    def local_port(self) -> int:
        return int(self.sock.getsockname()[1])

    def send(self, data: bytes) -> None:
        if self.transport == "UDP":
            self.sock.sendto(data, ("127.0.0.1", self.port))
        else:
            self.sock.sendall(data)

    def _next(self) -> str:
        if self.transport == "UDP":
            return self.sock.recvfrom(65535)[0].decode()
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", self.buffer[:head_end])
                end = head_end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buffer) >= end:
                    msg, self.buffer = self.buffer[:end], self.buffer[end:]
                    return msg.decode()
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk

    def final(self) -> str:
        while True:
            answer = self._next()
            if not answer.startswith("SIP/2.0 1"):
                return answer

    def close(self) -> None:
        self.sock.close()


@dataclass
class Invite:
    data: bytes
    call_id: str
    from_header: str


def _boundary(body: bytes) -> str:
    m = re.search(rb"(?m)^--(\S+?)[ \t]*\r?$", body)
    assert m is not None, "the sample has no delimiter line"
    return m.group(1).decode()


def _local_media(body: bytes) -> bytes:
    return re.sub(rb"(?m)^c=IN IP4 [^\r\n]+", b"c=IN IP4 127.0.0.1", body)


def invite(sample: str | Path, src: Src, server_port: int, quoted: bool = False,
           content_type: str = "") -> Invite:
    """The sample (a name in the corpus, or a file) as an INVITE to the server at
    ``server_port`` from ``src``; ``content_type`` instead of the one its boundary makes."""
    path = sample if isinstance(sample, Path) else CORPUS / sample
    raw = path.read_bytes()
    t, lport = src.transport, src.local_port
    if raw.startswith(b"INVITE "):
        # a whole message, saved with LF line ends: its Content-Length counts CRLF ones (the
        # wire form), so it is sent with CRLF
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        head, body = raw.split(b"\r\n\r\n", 1)
        body = _local_media(body)
        lines = head.decode().split("\r\n")
        lines[0] = f"INVITE sip:127.0.0.1:{server_port} SIP/2.0"
        out = []
        for line in lines:
            name = line.split(":", 1)[0].strip().lower()
            if name == "via":
                branch = line.split("branch=", 1)[1]
                line = f"Via: SIP/2.0/{t} 127.0.0.1:{lport};branch={branch}"
            elif name == "contact":
                user = re.search(r"<sip:([^@>]+)@", line)
                line = (f"Contact: <sip:{user.group(1) if user else 'src'}@127.0.0.1:{lport};"
                        f"transport={t}>;+sip.src")
            elif name == "content-length":
                line = f"Content-Length: {len(body)}"
            out.append(line)
        call_id = next(x.split(":", 1)[1].strip() for x in out
                       if x.lower().startswith("call-id:"))
        from_header = next(x.split(":", 1)[1].strip() for x in out
                           if x.lower().startswith("from:"))
        return Invite("\r\n".join(out).encode() + b"\r\n\r\n" + body, call_id, from_header)
    body = _local_media(raw)
    kind = content_type or (f'multipart/mixed; boundary="{_boundary(raw)}"' if quoted
                            else f"multipart/mixed;boundary={_boundary(raw)}")
    call_id = f"corpus-{path.parent.name}-{path.stem}-{t}"
    from_header = f"<sip:src@127.0.0.1:{lport}>;tag=src-{t}"
    lines = [f"INVITE sip:srs@127.0.0.1:{server_port} SIP/2.0",
            f"Via: SIP/2.0/{t} 127.0.0.1:{lport};branch=z9hG4bK-{call_id}",
            f"From: {from_header}", f"To: <sip:srs@127.0.0.1:{server_port}>",
            f"Call-ID: {call_id}", "CSeq: 1 INVITE",
            f"Contact: <sip:src@127.0.0.1:{lport};transport={t}>;+sip.src",
            "Require: siprec", "Max-Forwards: 70", f"Content-Type: {kind}",
            f"Content-Length: {len(body)}"]
    return Invite("\r\n".join(lines).encode() + b"\r\n\r\n" + body, call_id, from_header)


def in_dialog(method: str, inv: Invite, src: Src, server_port: int, to_tag: str,
              cseq: int) -> bytes:
    t, lport = src.transport, src.local_port
    return ("\r\n".join([
        f"{method} sip:srs@127.0.0.1:{server_port} SIP/2.0",
        f"Via: SIP/2.0/{t} 127.0.0.1:{lport};branch=z9hG4bK-{method}-{cseq}-{inv.call_id}",
        f"From: {inv.from_header}", f"To: <sip:srs@127.0.0.1:{server_port}>;tag={to_tag}",
        f"Call-ID: {inv.call_id}", f"CSeq: {cseq} {method}", "Max-Forwards: 70",
        "Content-Length: 0"]) + "\r\n\r\n").encode()


def answered(answer: str) -> dict[str, tuple[int, int]]:
    """Each answered stream's label: (port, payload type)."""
    out: dict[str, tuple[int, int]] = {}
    port = payload = 0
    for line in answer.split("\r\n"):
        if line.startswith("m=audio"):
            _, p, _, pt = line.split()[:4]
            port, payload = int(p), int(pt)
        elif line.startswith("a=label:") and port:
            out[line[8:]] = (port, payload)
    return out


def send_tones(streams: dict[str, tuple[int, int]], freqs: dict[str, float]) -> int:
    """One second of each label's tone to its port, paced as an SBC sends (20 ms packets);
    the packets sent."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    payloads = {label: tone(freqs[label], streams[label][1]) for label in freqs}
    sent = 0
    for i in range(RATE // 160):
        for label, data in payloads.items():
            port, pt = streams[label]
            sender.sendto(rtp_packet(i, i * 160, data[i * 160:(i + 1) * 160], pt=pt,
                                     ssrc=0x1000 + port), ("127.0.0.1", port))
            sent += 1
        time.sleep(0.02)
    sender.close()
    return sent
