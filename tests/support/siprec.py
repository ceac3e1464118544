"""The SRC side of the SIPREC tests: real speech (espeak-ng, sox) as G.711 RTP in a pcap that
SIPp replays, and SIPp's scenario for a recording session (RFC 7866: a multipart INVITE with
two labelled streams and RFC 7865 metadata, ACK, the streams, BYE).

SIPp replays a pcap's packets to the media port of the answer plus the packet's offset from
the pcap's lowest port, so the two streams (ports 6000 and 6002 in the pcap) reach the two
ports of Kustosz's answer (base, base + 2)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms of G.711


def sipp_available() -> bool:
    return all(shutil.which(t) for t in ("sipp", "espeak-ng", "sox"))


def speech(text: str, folder: Path, name: str, voice: str = "pl") -> Path:
    """``text`` spoken, as 8 kHz A-law (raw)."""
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True,
                   capture_output=True, timeout=60)
    raw = folder / f"{name}.alaw"
    subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-t", "al", str(raw)],
                   check=True, capture_output=True, timeout=60)
    return raw


def alaw_to_pcm(data: bytes) -> np.ndarray:
    """G.711 A-law decoded (ITU-T G.711), for comparing what was sent with what was kept."""
    a = np.frombuffer(data, dtype=np.uint8) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = (a & 0x0F).astype(np.int32)
    value = np.where(exponent == 0, (mantissa << 4) + 8,
                     ((mantissa << 4) + 0x108) << np.maximum(exponent.astype(np.int32) - 1, 0))
    return np.where(sign != 0, value, -value).astype(np.int16)


def _udp_ipv4(src_port: int, dst_port: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    checksum = 0
    for i in range(0, 20, 2):
        checksum += (header[i] << 8) + header[i + 1]
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    header = header[:10] + struct.pack("!H", ~checksum & 0xFFFF) + header[12:]
    ether = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00"
    return ether + header + udp


def rtp_pcap(streams: list[tuple[bytes, int]], path: Path, payload_type: int = 8) -> None:
    """A pcap of G.711 streams sent side by side: each (A-law bytes, destination port),
    20 ms a packet."""
    frames: list[tuple[float, bytes]] = []
    for n, (audio, port) in enumerate(streams):
        ssrc = 0x4B55_0000 + n
        for i in range(0, len(audio) - FRAME + 1, FRAME):
            seq = i // FRAME
            rtp = struct.pack("!BBHII", 0x80, payload_type | (0x80 if seq == 0 else 0),
                              seq & 0xFFFF, i, ssrc) + audio[i:i + FRAME]
            frames.append((seq * 0.02 + n * 0.001, _udp_ipv4(port + 1000, port, rtp)))
    frames.sort(key=lambda f: f[0])
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at, frame in frames:
            sec = int(at)
            out.write(struct.pack("<IIII", 1_700_000_000 + sec, int((at - sec) * 1e6),
                                  len(frame), len(frame)))
            out.write(frame)


METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
 <datamode>complete</datamode>
 <session session_id="c2Vzc2lvbjE="><sipSessionID>[call_id]</sipSessionID></session>
 <participant participant_id="cDE="><nameID aor="sip:[caller]@sbc.example">
  <name>[caller_name]</name></nameID></participant>
 <participant participant_id="cDI="><nameID aor="sip:[callee]@urzad.example"/></participant>
 <stream stream_id="czE=" session_id="c2Vzc2lvbjE="><label>1</label></stream>
 <stream stream_id="czI=" session_id="c2Vzc2lvbjE="><label>2</label></stream>
 <participantstreamassoc participant_id="cDE="><send>czE=</send></participantstreamassoc>
 <participantstreamassoc participant_id="cDI="><send>czI=</send></participantstreamassoc>
</recording>"""

SDP = """v=0
o=SRC 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=label:1
a=sendonly
m=audio [media_port+2] RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=label:2
a=sendonly"""


def scenario(pcap: Path | None, talk_ms: int, *, metadata: bool = True,
             codec_line: str | None = None) -> str:
    """SIPp's SRC: INVITE (multipart: SDP and metadata), ACK, the pcap, BYE."""
    sdp = SDP if codec_line is None else SDP.replace("RTP/AVP 8", codec_line).replace(
        "a=rtpmap:8 PCMA/8000", "a=rtpmap:18 G729/8000")
    parts = ["--kustoszb", "Content-Type: application/sdp", "", sdp, ""]
    if metadata:
        parts += ["--kustoszb", "Content-Type: application/rs-metadata+xml",
                  "Content-Disposition: recording-session", "", METADATA, ""]
    parts.append("--kustoszb--")
    body = "\n".join(parts)
    play = (f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>' if pcap else "")
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="SIPREC SRC">
<send retrans="500"><![CDATA[
INVITE sip:srs@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:src@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:srs@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:src@[local_ip]:[local_port];transport=[transport]>;+sip.src
Require: siprec
Max-Forwards: 70
Content-Type: multipart/mixed;boundary=kustoszb
Content-Length: [len]

{body}
]]></send>
<recv response="100" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:srs@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:src@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{play}
<pause milliseconds="{talk_ms}"/>
<send retrans="500"><![CDATA[
BYE sip:srs@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:src@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
"""


def free_port_block(count: int = 400) -> tuple[int, int]:
    """A range of UDP ports nobody here binds (an xdist worker's own, by its number)."""
    import os
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or "0"
    low = 42000 + int(worker) * 2000 + (os.getpid() % 4) * 400
    return low, low + count - 1


def free_media_port() -> int:
    """An even UDP port with the next three free, for SIPp's own media sockets (-mp): tests
    in parallel workers run their SIPp side by side."""
    import socket
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1]) & ~1
        try:
            held = []
            for p in range(port, port + 4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
        return port
    raise RuntimeError("no free media port for SIPp")


def run_sipp(scenario_text: str, folder: Path, target: str, *, keys: dict[str, str],
             calls: int = 1, rate: int | None = None, limit: int | None = None,
             transport: str = "u1", local_port: int = 0, media_port: int | None = None,
             timeout: float = 120.0, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    """SIPp as the SRC (Debian's sip-tester), ``calls`` sessions against ``target``."""
    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / "src.xml"
    xml.write_text(scenario_text)
    argv = ["sipp", "-sf", str(xml), "-m", str(calls), "-i", "127.0.0.1", "-mi", "127.0.0.1",
            "-mp", str(media_port or free_media_port()), "-t", transport,
            "-timeout", f"{int(timeout)}s",
            "-nostdin", "-trace_err", "-trace_stat", "-fd", "1"]
    if local_port:
        argv += ["-p", str(local_port)]
    if rate is not None:
        argv += ["-r", str(rate)]
    if limit is not None:
        argv += ["-l", str(limit)]
    for k, v in keys.items():
        argv += ["-key", k, v]
    argv.append(target)
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True,
                          timeout=timeout + 30)
    if expect_ok and done.returncode != 0:
        errors = "".join(p.read_text(errors="replace")[-2000:]
                         for p in folder.glob("*_errors.log"))
        raise AssertionError(f"SIPp failed ({done.returncode}): {done.stdout[-1500:]}\n"
                             f"{done.stderr[-500:]}\n{errors}")
    return done


def best_match(recorded: np.ndarray, sent: np.ndarray) -> float:
    """The normalised cross-correlation of ``sent`` at its best place in ``recorded``: 1.0
    for the same sound, whatever its delay; near 0 for another."""
    rec = recorded.astype(np.float64)
    ref = sent.astype(np.float64)
    pad = np.concatenate([np.zeros(len(ref)), rec, np.zeros(len(ref))])
    n = len(pad) + len(ref)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(pad, size) * np.conj(np.fft.rfft(ref, size)), size)
    best = int(np.argmax(corr[:len(pad) - len(ref) + 1]))
    window = pad[best:best + len(ref)]
    denom = np.linalg.norm(window) * np.linalg.norm(ref)
    return float(corr[best] / denom) if denom else 0.0


class SipClient:
    """A bare SRC over UDP for the bad-input tests: each request crafted here, its final
    answer read back (SIPp cannot send a malformed message or an unknown codec's offer)."""

    def __init__(self, port: int, host: str = "127.0.0.1", source: str = "127.0.0.1") -> None:
        import socket
        self.port, self.host = port, host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(10)
        self.local = self.sock.getsockname()
        self.n = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, (self.host, self.port))

    def request(self, method: str, call_id: str, body: str = "", content_type: str = "",
                to_tag: str | None = None, cseq: int = 1, wait: bool = True) -> str:
        self.n += 1
        host, port = self.local
        lines = [f"{method} sip:srs@{self.host}:{self.port} SIP/2.0",
                 f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-t{self.n}-{call_id}",
                 f"From: <sip:src@{host}:{port}>;tag=src-{call_id}",
                 f"To: <sip:srs@{self.host}:{self.port}>" + (f";tag={to_tag}" if to_tag else ""),
                 f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
                 f"Contact: <sip:src@{host}:{port}>;+sip.src", "Max-Forwards: 70"]
        raw = body.replace("\n", "\r\n").encode()
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(raw)}")
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode() + raw)
        if not wait:
            return ""
        while True:
            answer = self.sock.recvfrom(65535)[0].decode()
            if not answer.startswith("SIP/2.0 1"):
                return answer

    def ack(self, call_id: str, to_tag: str, cseq: int = 1) -> None:
        self.request("ACK", call_id, to_tag=to_tag, cseq=cseq, wait=False)


def status_of(answer: str) -> int:
    return int(answer.split(" ", 2)[1])


def to_tag_of(answer: str) -> str:
    for line in answer.split("\r\n"):
        if line.lower().startswith("to:"):
            return line.split("tag=", 1)[1].split(";")[0].strip()
    raise AssertionError(f"no To tag in {answer!r}")


def answered_ports(answer: str) -> list[int]:
    return [int(line.split()[1]) for line in answer.split("\r\n") if line.startswith("m=audio")]


def offer(codec: str = "8", rtpmap: str = "a=rtpmap:8 PCMA/8000",
          transport: str = "RTP/AVP", labels: tuple[str, ...] = ("1", "2"),
          extra: str = "") -> str:
    media = "".join(f"m=audio {6000 + 2 * i} {transport} {codec}\n{rtpmap}\n"
                    f"a=label:{label}\na=sendonly\n{extra}" for i, label in enumerate(labels))
    return ("v=0\no=SRC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n" + media)


def metadata(caller: str = "+48581112233", callee: str = "+48221234567",
             labels: tuple[str, ...] = ("1", "2")) -> str:
    return (METADATA.replace("[call_id]", "rs").replace("[caller]", caller)
            .replace("[callee]", callee).replace("[caller_name]", "Jan")
            .replace("<label>1</label>", f"<label>{labels[0]}</label>")
            .replace("<label>2</label>", f"<label>{labels[1]}</label>"))


def multipart(*parts: tuple[str, str]) -> tuple[str, str]:
    """A body of (content type, text) parts and its Content-Type."""
    out = []
    for kind, text in parts:
        out += ["--b0undary", f"Content-Type: {kind}", "", text.strip(), ""]
    out.append("--b0undary--")
    return "\n".join(out) + "\n", "multipart/mixed;boundary=b0undary"


def rtp_packet(seq: int, ts: int, payload: bytes, pt: int = 8, ssrc: int = 0x1234) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def speech_pcm(text: str, folder: Path, name: str, rate: int = 48000) -> np.ndarray:
    """``text`` spoken, as 16-bit mono PCM at ``rate``."""
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "pl", "-w", str(wav), text], check=True,
                   capture_output=True, timeout=60)
    raw = folder / f"{name}.s16"
    subprocess.run(["sox", str(wav), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed",
                    "-t", "raw", str(raw)], check=True, capture_output=True, timeout=60)
    return np.frombuffer(raw.read_bytes(), dtype="<i2")


def opus_packets(pcm: np.ndarray, bit_rate: int = 32000) -> list[tuple[int, bytes]]:
    """48 kHz mono PCM encoded by libopus (PyAV), 20 ms a packet: (RTP tick, payload) —
    packets of varying size, as an SBC's Opus is."""
    import av
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "mono", "s16"
    encoder.bit_rate = bit_rate
    encoder.open()
    out: list[tuple[int, bytes]] = []
    for i in range(0, len(pcm) - 959, 960):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[i:i + 960]).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i
        out += [(len(out) * 960, bytes(p)) for p in encoder.encode(frame)]
    out += [(len(out) * 960, bytes(p)) for p in encoder.encode(None)]
    return out
