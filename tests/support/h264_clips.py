"""H.264 streams of 1 to 8 slices a picture, and what their pictures are (issue 65 item 2).

Each clip is a short test picture encoded once (cached like rtsp.py's benchmark clip) into
MPEG-TS parts that the tests' RTSP server serves in a loop (``RtspServer(clip=...)``):
x264 through ffmpeg (``slices=N``, B-frames or none, the Baseline, Main or High profile),
GStreamer's ``x264enc`` as the tests' own camera encodes (sliced threads), or a third-party
conformance stream from tests/corpus/h264. The reference is ffmpeg's decode of the clip
itself: the pictures as the encoder made them. A frame shown is compared with every
reference picture; its best PSNR says whether it is one of them (a whole picture: 30 dB and
more, as colour conversion leaves it; half of it green: under 15 dB).

``mid_picture_parameter_sets`` writes a clip's stream as the tests' camera sent it in the
finding (GStreamer's RTP payloader with its live x264enc): the SPS and PPS again before every
slice of a key frame but the first. ``sent`` is the clip so written, for the RTSP server: the
payloader alone does not do it every time (it did for the live encoder, and for a served
clip in one run but not in the next)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
from tests.support.rtsp import SYSTEM_PYTHON, clip_cache_dir

WIDTH, HEIGHT, FPS, GOP_S, SECONDS = 320, 180, 15, 2, 4
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "h264"
WHOLE_DB = 30.0  # a frame shown this close to one of the encoder's pictures is that picture


@dataclass(frozen=True)
class Encoding:
    slices: int
    bframes: int
    profile: str  # baseline, main, high
    # x264 (ffmpeg's libx264), gst (GStreamer's x264enc), or a file of tests/corpus/h264
    encoder: str = "x264"

    @property
    def name(self) -> str:
        if self.encoder not in ("x264", "gst"):
            return Path(self.encoder).name.split(".")[0]
        b = f"{self.bframes}b" if self.bframes else "nob"
        return f"{self.encoder}-{self.slices}sl-{b}-{self.profile}"


def _ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _x264(e: Encoding, out: Path) -> None:
    gop = FPS * GOP_S
    subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error",
         "-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}",
         "-t", str(SECONDS), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast",
         "-profile:v", e.profile, "-bf", str(e.bframes), "-g", str(gop),
         "-keyint_min", str(gop), "-sc_threshold", "0", "-b:v", "600k",
         "-x264-params", f"slices={e.slices}:repeat-headers=1",
         "-f", "segment", "-segment_time", str(GOP_S), "-segment_format", "mpegts",
         str(out / "part%05d.ts")],
        check=True, capture_output=True, timeout=120)  # fmt: skip


GST_ENCODE = """
import sys
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
frames, fps, width, height, gop, profile, out = sys.argv[1:]
pipe = Gst.parse_launch(
    f"videotestsrc num-buffers={frames} pattern=ball "
    f"! video/x-raw,width={width},height={height},framerate={fps}/1 ! timeoverlay "
    "! videoconvert ! video/x-raw,format=I420 "
    f"! x264enc tune=zerolatency speed-preset=ultrafast sliced-threads=true threads=2 "
    f"key-int-max={gop} ! video/x-h264,profile={profile} ! h264parse "
    f"! mpegtsmux ! filesink location={out}")
pipe.set_state(Gst.State.PLAYING)
msg = pipe.get_bus().timed_pop_filtered(60 * Gst.SECOND,
                                        Gst.MessageType.EOS | Gst.MessageType.ERROR)
pipe.set_state(Gst.State.NULL)
sys.exit(0 if msg is not None and msg.type == Gst.MessageType.EOS else 1)
"""


def _gst(e: Encoding, out: Path) -> None:
    # the tests' camera's own encoder (rtsp_server.py): x264enc, zero latency, sliced threads
    profile = "constrained-baseline" if e.profile == "baseline" else e.profile
    subprocess.run([SYSTEM_PYTHON, "-c", GST_ENCODE, str(FPS * SECONDS), str(FPS),
                    str(WIDTH), str(HEIGHT), str(FPS * GOP_S), profile,
                    str(out / "part00000.ts")], check=True, capture_output=True, timeout=120)


SVA_CL1_E = Encoding(3, 0, "baseline", "jvt-conformance/SVA_CL1_E.264")


def corpus_stream(path: str) -> bytes:
    """A corpus stream's bytes, from its hex text, checked against the SHA-256 its README
    gives."""
    text = (CORPUS / f"{path}.hex").read_text("ascii")
    data = bytes.fromhex("".join(text.split()))
    readme = (CORPUS / "README.md").read_text("utf-8")
    assert hashlib.sha256(data).hexdigest() in readme, f"{path}: not the README's bytes"
    return data


def _corpus(e: Encoding, out: Path) -> None:
    # the raw stream into MPEG-TS as it is, at FPS (it says no rate of its own)
    subprocess.run([_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-f", "h264", "-r", str(FPS), "-i", "pipe:0", "-c", "copy",
                    "-f", "mpegts", str(out / "part00000.ts")],
                   input=corpus_stream(e.encoder), check=True, capture_output=True,
                   timeout=60)


def clip(e: Encoding) -> Path:
    """The clip's folder of parts (part00000.ts, ...), made once."""
    folder = clip_cache_dir() / f"slices-{e.name}"
    if (folder / "part00000.ts").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        {"x264": _x264, "gst": _gst}.get(e.encoder, _corpus)(e, work)
        try:
            work.rename(folder)
        except OSError:  # made meanwhile by another run
            if not (folder / "part00000.ts").is_file():
                raise
    finally:
        if work.exists():
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    return folder


def sent(e: Encoding) -> Path:
    """The clip's parts as the tests' camera sends its pictures: each key frame's SPS and PPS
    written again before its every slice but the first (``mid_picture_parameter_sets``), each
    picture still one MPEG-TS packet with its own time — what the RTSP server then serves,
    whatever its payloader would add."""
    folder = clip(e)
    out = folder / "sent"
    if (out / "part00000.ts").is_file():
        return out
    work = Path(tempfile.mkdtemp(prefix="sent.", dir=folder))
    try:
        for part in sorted(folder.glob("part*.ts")):
            with av.open(str(part)) as src, \
                    av.open(str(work / part.name), "w", format="mpegts") as dst:
                video = src.streams.video[0]
                copy = dst.add_stream_from_template(video)
                for packet in src.demux(video):
                    if packet.size == 0:
                        continue
                    again = av.Packet(mid_picture_parameter_sets(bytes(packet)))
                    again.pts, again.dts, again.time_base = packet.pts, packet.dts, \
                        packet.time_base
                    again.is_keyframe, again.stream = packet.is_keyframe, copy
                    dst.mux(again)
        try:
            work.rename(out)
        except OSError:  # made meanwhile by another run
            if not (out / "part00000.ts").is_file():
                raise
    finally:
        if work.exists():
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    return out


def annexb(folder: Path) -> bytes:
    """The clip's H.264 as one Annex B byte stream (the parts in order)."""
    return subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error",
         "-i", f"concat:{'|'.join(str(p) for p in sorted(folder.glob('part*.ts')))}",
         "-map", "0:v:0", "-c", "copy", "-f", "h264", "pipe:1"],
        check=True, capture_output=True, timeout=60).stdout  # fmt: skip


def nal_units(stream: bytes) -> Iterator[bytes]:
    """An Annex B stream's NAL units, without their start codes."""
    starts, i = [], stream.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = stream.find(b"\x00\x00\x01", i + 3)
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(stream)
        yield stream[start:end].rstrip(b"\x00")


def codec_of(folder: Path) -> str:
    """The stream's codec as MSE names it (RFC 6381): avc1. and its first SPS's profile,
    constraint flags and level."""
    sps = next(n for n in nal_units(annexb(folder)) if n[0] & 0x1F == 7)
    return "avc1." + sps[1:4].hex()


def mid_picture_parameter_sets(stream: bytes) -> bytes:
    """The stream with the last SPS and PPS written again before every key-frame slice that
    is not its picture's first: as GStreamer's rtph264pay (config-interval=-1) sends it."""
    out, sps, pps = [], b"", b""
    for nal in nal_units(stream):
        kind = nal[0] & 0x1F
        sps = nal if kind == 7 else sps
        pps = nal if kind == 8 else pps
        if kind == 5 and out and out[-1][0] & 0x1F == 5:
            out += [sps, pps]
        out.append(nal)
    return b"".join(b"\x00\x00\x00\x01" + n for n in out)


# The luma weights of the two matrices a player may draw a stream with no colour description
# in (BT.601, BT.709: Chromium takes BT.709 for these): a frame shown is read back with both,
# and the nearer one counts.
LUMA_WEIGHTS = ((0.299, 0.587, 0.114), (0.2126, 0.7152, 0.0722))


def lumas(rgb: np.ndarray) -> list[np.ndarray]:
    """An RGB picture's luma (full range, float), by each matrix of LUMA_WEIGHTS."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return [kr * r + kg * g + kb * b for kr, kg, kb in LUMA_WEIGHTS]


def reference(folder: Path) -> list[np.ndarray]:
    """ffmpeg's decode of the clip: each picture's Y plane as the encoder coded it, from
    video range (16-235) to full range, float."""
    return [(y.astype(np.float64) - 16) * 255 / 219 for y in y_planes(decoded(folder))]


def decoded(folder: Path) -> Iterator[av.VideoFrame]:
    for part in sorted(folder.glob("part*.ts")):
        with av.open(str(part)) as container:
            yield from container.decode(video=0)


def y_planes(frames: Iterator[av.VideoFrame]) -> list[np.ndarray]:
    """Each decoded picture's Y plane as the decoder left it (4:2:0), for exact comparison."""
    return [f.to_ndarray()[:f.height] for f in frames]


def decoded_mp4(mp4: bytes) -> list[np.ndarray]:
    """The Y plane of every picture a fragmented MP4 decodes to."""
    with av.open(io.BytesIO(mp4), format="mp4") as container:
        return y_planes(container.decode(video=0))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse < 1e-10 else 10 * float(np.log10(255.0 ** 2 / mse))


def best_match(rgb: np.ndarray, refs: list[np.ndarray]) -> tuple[int, float]:
    """(index, PSNR) of the reference picture an RGB frame shown is closest to."""
    scores = [max(psnr(y, r) for y in lumas(rgb)) if r.shape == rgb.shape[:2] else 0.0
              for r in refs]
    best = int(np.argmax(scores))
    return best, scores[best]
