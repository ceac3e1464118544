"""Third-party captures replayed onto a veth pair (issue 47): the frames of a pcap or pcapng file
written by another project are sent, in their order and with their spacing shortened, from
inside the test's network namespace through a packet socket on the veth's inner end, so that
they arrive on the outer end that the real capture process reads — as a mirrored switch port
hands a recorder what crossed the switch.

The binary captures are not in this repository: they lie in the corpus folder beside it,
`../shared/corpus/pcap/` from the repository's root (or where KUSTOSZ_PCAP_CORPUS says), each
under its source's folder, and each is checked against the SHA-256 its README names before it
is used. A test whose capture is not there skips, naming the file.

Also the converter of hex text dumps (one frame a file, as PcapPlusPlus keeps its examples) for
the captures kept as text in tests/corpus/pcap/."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.capture import Veth

REPO = Path(__file__).resolve().parents[2]
TEXT_CORPUS = REPO / "tests" / "corpus" / "pcap"
LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 1, 113, 276


def corpus_folder() -> Path:
    """Where the binary captures are: KUSTOSZ_PCAP_CORPUS, else ../shared/corpus/pcap."""
    return Path(os.environ.get("KUSTOSZ_PCAP_CORPUS") or REPO.parent / "shared" / "corpus"
                / "pcap")


@dataclass(frozen=True)
class Sample:
    """One third-party capture: its place under the corpus folder and its SHA-256."""

    path: str  # e.g. "ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"
    sha256: str

    def file(self) -> Path:
        """The capture, checked; the test skips when it is not in the corpus folder."""
        f = corpus_folder() / self.path
        if not f.is_file():
            pytest.skip(f"third-party capture {f} is not in the corpus folder (set "
                        "KUSTOSZ_PCAP_CORPUS; see tests/corpus/pcap/README.md)")
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        assert digest == self.sha256, f"{f}: SHA-256 {digest}, not the corpus's {self.sha256}"
        return f


class NotACapture(ValueError):
    pass


def _ethernet(linktype: int, frame: bytes) -> bytes | None:
    """The frame as Ethernet II (what a mirrored port gives): a Linux cooked capture's header
    becomes an Ethernet header with the same protocol; other link types None."""
    if linktype == LINKTYPE_ETHERNET:
        return frame
    macs = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
    if linktype == LINKTYPE_LINUX_SLL and len(frame) >= 16:
        return macs + frame[14:16] + frame[16:]
    if linktype == LINKTYPE_LINUX_SLL2 and len(frame) >= 20:
        return macs + frame[0:2] + frame[20:]
    return None


def _pcapng(data: bytes) -> list[tuple[float, bytes]]:
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    out: list[tuple[float, bytes]] = []
    links: list[tuple[int, float]] = []  # each interface's link type and time unit
    at = 0
    while at + 12 <= len(data):
        kind, length = struct.unpack(order + "II", data[at:at + 8])
        if length < 12 or at + length > len(data):
            raise NotACapture(f"a pcapng block cut short at {at}")
        body = data[at + 8:at + length - 4]
        if kind == 0x0A0D0D0A:
            order = "<" if body[:4] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        elif kind == 1:
            unit = 1e-6
            opt = 8
            while opt + 4 <= len(body):
                code, size = struct.unpack(order + "HH", body[opt:opt + 4])
                if code == 0:
                    break
                if code == 9:  # if_tsresol
                    v = body[opt + 4]
                    unit = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
                opt += 4 + (size + 3) // 4 * 4
            links.append((struct.unpack(order + "H", body[:2])[0], unit))
        elif kind == 6:
            iface, high, low, caplen = struct.unpack(order + "IIII", body[:16])
            linktype, unit = links[iface]
            frame = _ethernet(linktype, body[20:20 + caplen])
            if frame is not None:
                out.append((((high << 32) | low) * unit, frame))
        at += length
    return out


def read_capture(path: Path) -> list[tuple[float, bytes]]:
    """The frames of a pcap or pcapng file, as Ethernet II, with their capture times."""
    data = path.read_bytes()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return _pcapng(data)
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None or len(data) < 24:
        raise NotACapture(f"{path} is neither pcap nor pcapng")
    scale = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    linktype = struct.unpack(order + "I", data[20:24])[0] & 0xFFFF
    out: list[tuple[float, bytes]] = []
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[at:at + 16])
        frame = _ethernet(linktype, data[at + 16:at + 16 + caplen])
        if frame is not None:
            out.append((sec + frac * scale, frame))
        at += 16 + caplen
    return out


def hex_frames(*names: str) -> list[bytes]:
    """Frames kept as hex text under tests/corpus/pcap/ (one frame a file)."""
    return [bytes.fromhex("".join((TEXT_CORPUS / n).read_text().split())) for n in names]


def replay(veth: Veth, frames: list[tuple[float, bytes]], *, speedup: float = 20.0,
           max_gap: float = 0.02) -> None:
    """Send ``frames`` into the veth's outer end from inside its namespace, in order; each
    gap the capture had is divided by ``speedup`` and kept under ``max_gap`` seconds (the
    capture process reads at its own pace; the order is what a call's reading depends on)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".frames", delete=False) as f:
        last: float | None = None
        for when, frame in frames:
            gap = 0.0 if last is None else min(max(when - last, 0.0) / speedup, max_gap)
            last = when
            f.write(struct.pack("!dI", gap, len(frame)) + frame)
    try:
        subprocess.run(["ip", "netns", "exec", veth.namespace, sys.executable,
                        "-m", "tests.support.capture_replay", veth.inside,
                        f.name], check=True, cwd=REPO, timeout=600,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(
                           [str(REPO), *os.environ.get("PYTHONPATH", "").split(os.pathsep)])})
    finally:
        os.unlink(f.name)


class Replayer:
    """One sender kept inside the veth's namespace for many replays (a property test sends
    a call an example; a new process each, as `replay` starts, costs seconds on a busy
    machine). ``send`` returns once its frames are on the veth."""

    def __init__(self, veth: Veth) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", veth.namespace, sys.executable, "-m",
             "tests.support.capture_replay", veth.inside, "-"], cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(REPO), *os.environ.get("PYTHONPATH", "").split(os.pathsep)])})

    def send(self, frames: list[tuple[float, bytes]], gap: float = 0.02) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        data = b"".join(struct.pack("!dI", gap if i else 0.0, len(frame)) + frame
                        for i, (_, frame) in enumerate(frames))
        self.proc.stdin.write(struct.pack("!I", len(data)) + data)
        self.proc.stdin.flush()
        assert self.proc.stdout.read(1) == b".", "the sender in the namespace went away"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


def replay_read(veth: Veth, recorder: object, frames: list[tuple[float, bytes]],
                timeout: float = 60, **kw: float) -> None:
    """`replay`, then wait until the recorder has read every frame sent: a last frame (a UDP
    datagram to the discard port, nobody's call) goes after them, and the frames of one
    interface reach the recorder in the order they crossed it, so once the recorder has
    read a frame captured after that one was sent, it has read all before it. Without
    this a test may stop the capture process with the replayed frames still in its socket
    (issue 64: two frames replayed, the recorder closed before it had read them)."""
    from tests.cameras.camera_helpers import wait_for  # not in the sender's own process

    replay(veth, frames, **kw)
    sent = time.time()
    replay(veth, [(0.0, _end_frame(veth))])
    wait_for(lambda: getattr(recorder, "read_at", {}).get(veth.outside, 0.0) >= sent, timeout,
             f"the recorder to read every frame replayed on {veth.outside}")


def _end_frame(veth: Veth) -> bytes:
    from tests.support.capture import udp_frame
    return udp_frame(veth.inside_ip, 9, veth.outside_ip, 9, b"kustosz test: replay ends")


def _send(interface: str, path: str) -> None:
    import socket
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    if path == "-":  # Replayer's: batches on stdin, each answered "." once sent
        while head := sys.stdin.buffer.read(4):
            _send_frames(sock, sys.stdin.buffer.read(struct.unpack("!I", head)[0]))
            sys.stdout.buffer.write(b".")
            sys.stdout.buffer.flush()
    else:
        _send_frames(sock, Path(path).read_bytes())
    sock.close()


def _send_frames(sock: object, data: bytes) -> None:
    at = 0
    while at < len(data):
        gap, length = struct.unpack("!dI", data[at:at + 12])
        frame = data[at + 12:at + 12 + length]
        at += 12 + length
        if gap:
            time.sleep(gap)  # the capture's own spacing, shortened
        for _ in range(100):
            try:
                sock.send(frame)  # type: ignore[attr-defined]
                break
            except BlockingIOError:  # the veth's queue full: a moment, then again
                time.sleep(0.001)
            except OSError as exc:
                if exc.errno != 105:  # ENOBUFS: likewise; anything else is the test's fault
                    raise
                time.sleep(0.001)


if __name__ == "__main__":
    _send(sys.argv[1], sys.argv[2])
