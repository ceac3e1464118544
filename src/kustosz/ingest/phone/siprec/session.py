"""A recording session on disk while its call runs: a folder of the data folder's `siprec/`
(the service's alone) with `session.json` — the call's facts, written whole before any byte of
sound — and one file per stream (rtp.StreamWriter). When the call ends, `finish` makes the
recording: a WAV with the caller's side on the left channel and the other side on the right.

Only calls within the office's scope ever get a folder: the scope is decided from the
recording session's metadata before anything is written (R1.4). A folder left by a crash is
finished by the next start with what was received until the crash."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
import wave
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from kustosz.errors import KustoszError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.fsutil import replace, write_atomic
from kustosz.ingest.phone.siprec.rtp import PACKET
from kustosz.ingest.phone.siprec.sdp import CODECS, OPUS

FACTS = "session.json"
RECORDING = "call.wav"


@dataclass
class StreamFacts:
    label: str
    codec: str  # sdp.CODECS key
    side: int  # 0: the caller's (left channel), 1: the other side (right)
    participant: str = ""


@dataclass
class CallFacts:
    line: str  # the phone line (source name)
    src_session: str  # the recording session's Call-ID at the SRC
    call_ids: list[str]  # the recorded call's own session ids (metadata)
    start: str  # ISO, UTC
    caller: str
    callee: str
    caller_name: str
    callee_name: str
    direction: str
    src: str  # the SRC's address
    streams: list[StreamFacts] = field(default_factory=list)
    end: str | None = None
    ended: str = ""  # bye, silence (closed after the silence time-out), crash, stopped
    lost: int = 0
    unexpected: int = 0
    received: int = 0  # RTP packets written, all streams
    intake: str = "siprec"  # how it was recorded: siprec, capture (phones.settings.INTAKES)
    clock_step: float = 0.0  # s the wall clock stepped during the call (call_clock.py)
    # stretches of the call nobody heard: the capture process away (capture/away.py)
    unheard: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode()

    @classmethod
    def read(cls, path: Path) -> CallFacts:
        raw: dict[str, Any] = json.loads(path.read_text())
        streams = [StreamFacts(**s) for s in raw.pop("streams", [])]
        return cls(**raw, streams=streams)

    @property
    def start_at(self) -> datetime:
        return datetime.fromisoformat(self.start)


class SessionFolder:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, root: Path, facts: CallFacts) -> SessionFolder:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        root.chmod(0o700)
        path = root / uuid.uuid4().hex
        path.mkdir(mode=0o700)
        folder = cls(path)
        folder.save(facts)
        return folder

    def save(self, facts: CallFacts) -> None:
        write_atomic(self.path / FACTS, facts.as_json())

    def facts(self) -> CallFacts:
        return CallFacts.read(self.path / FACTS)

    def stream_path(self, label: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)[:40]
        return self.path / f"stream-{safe}.raw"


def leftovers(root: Path) -> list[SessionFolder]:
    """The sessions a previous run did not finish (killed mid-call)."""
    if not root.is_dir():
        return []
    return [SessionFolder(p) for p in sorted(root.iterdir())
            if p.is_dir() and (p / FACTS).is_file()]


def packets_in(folder: SessionFolder) -> int:
    """How many RTP packets the streams' files hold, counted from the files themselves: a
    crash leaves the in-memory count unwritten (issue 48 item 8: calls cut by a kill were
    stored "received: 0" while holding speech). A packet log's records are counted; a stream
    placed by its RTP time is counted as the 20-ms packets (RFC 3551's default packet time)
    its length spans — a hole filled with silence counts too: what a file cannot tell."""
    total = 0
    for s in folder.facts().streams:
        path = folder.stream_path(s.label)
        if not path.is_file():
            continue
        codec = CODECS[s.codec]
        if not codec.packets:
            total += -(-path.stat().st_size // (codec.clock // 50))
            continue
        data, at = path.read_bytes(), 0
        while at + PACKET.size <= len(data):
            at += PACKET.size + PACKET.unpack_from(data, at)[1]
            total += at <= len(data)
    return total


def heard_for(folder: SessionFolder) -> float | None:
    """Seconds from the session's start to the end of the last sound its streams' files
    hold, or None when they hold none. A file is the stream's time line (rtp.StreamWriter
    places each packet at its steady time since the start), so this is the length of a call
    a crash cut, whatever the wall clock did meanwhile (issue 64 item 7)."""
    ends: list[float] = []
    for s in folder.facts().streams:
        path = folder.stream_path(s.label)
        if not path.is_file() or not path.stat().st_size:
            continue
        codec = CODECS[s.codec]
        if not codec.packets:
            ends.append(path.stat().st_size / codec.clock)
            continue
        data, at, last = path.read_bytes(), 0, None
        while at + PACKET.size <= len(data):
            tick, length = PACKET.unpack_from(data, at)
            at += PACKET.size + length
            last = tick if last is None else max(last, tick)
        if last is not None:
            ends.append(last / codec.clock + 0.02)  # RFC 3551's default packet time
    return max(ends, default=None)


def _decode_packets(path: Path, rate: int) -> np.ndarray:
    """A packet log's sound (Opus, by libopus through PyAV), each packet at its tick; a lost
    packet is silence, a record cut by a crash is left out."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    data = path.read_bytes()
    records: list[tuple[int, bytes]] = []
    at = 0
    while at + PACKET.size <= len(data):
        tick, length = PACKET.unpack_from(data, at)
        at += PACKET.size
        if at + length > len(data):
            break  # the last record, cut by a crash
        records.append((tick, data[at:at + length]))
        at += length
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = OPUS.rate
    decoder.layout = "mono"
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    placed: list[tuple[int, np.ndarray]] = []
    for tick, payload in sorted(records, key=lambda r: r[0]):
        try:
            frames = decoder.decode(av.Packet(payload))
        except av.error.FFmpegError:  # one damaged packet: silence in its place
            continue
        where = tick * rate // OPUS.clock
        for frame in frames:
            for out in resampler.resample(frame):
                pcm = out.to_ndarray().reshape(-1).astype(np.int16)
                placed.append((where, pcm))
                where += len(pcm)
    size = max((w + len(p) for w, p in placed), default=0)
    sound = np.zeros(size, dtype=np.int16)
    for where, pcm in placed:
        sound[where:where + len(pcm)] = pcm
    return sound


def _decode(path: Path, codec: str, rate: int) -> np.ndarray:
    if not path.is_file() or path.stat().st_size == 0:
        return np.zeros(0, dtype=np.int16)
    c = CODECS[codec]
    if c.packets:
        return _decode_packets(path, rate)
    # G.722's raw demuxer knows its own rate (16 kHz) and takes no -ar/-ac
    given = [] if codec == "G722" else ["-ar", str(c.clock), "-ac", "1"]
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
                          "-f", c.ffmpeg, *given, "-i", str(path), "-f", "s16le", "-ac", "1",
                          "-ar", str(rate), "-"], capture_output=True, timeout=600)
    if out.returncode != 0:
        raise KustoszError(f"stream {path.name} cannot be decoded: "
                           f"{out.stderr.decode(errors='replace')[-300:]}",
                           pl=f"Nie można zdekodować strumienia {path.name}: "
                              f"{out.stderr.decode(errors='replace')[-300:]}")
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.int16)


def finish(folder: SessionFolder) -> Path:
    """The call's WAV (stereo: the caller's side left, the other right), from the streams'
    files as they are; returns its path (in the folder)."""
    facts = folder.facts()
    rate = max((CODECS[s.codec].rate for s in facts.streams), default=8000)
    sides: list[np.ndarray] = [np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)]
    for s in facts.streams:
        pcm = _decode(folder.stream_path(s.label), s.codec, rate).astype(np.int32)
        side = sides[1 if s.side else 0]
        if len(pcm) > len(side):
            side = np.concatenate([side, np.zeros(len(pcm) - len(side), dtype=np.int32)])
        side[:len(pcm)] += pcm
        sides[1 if s.side else 0] = side
    n = max(len(sides[0]), len(sides[1]))
    frames = np.zeros((n, 2), dtype=np.int16)
    for i, side in enumerate(sides):
        frames[:len(side), i] = np.clip(side, -32768, 32767)
    out = folder.path / RECORDING
    tmp = out.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.astype("<i2").tobytes())
    replace(tmp, out)  # flushed, renamed, the folder flushed (fsutil)
    return out
