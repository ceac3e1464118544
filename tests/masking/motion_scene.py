"""Clips that attack the masking's schedule (issue 28 item 1): real faces (the photographs of
scikit-image's `lfw_subset` and `astronaut`, as in scene.py) composited frame by frame onto a
picture without faces, so that each frame's content is known exactly.

- `flashing`: one face shown only on frames 1–4 of every 10, between detections made on every
  5th frame (0, 5, 10, …): the masking of issue 17 never saw it.
- `walking`: faces crossing the picture at different speeds (one fast, one entering late,
  one leaving early, one seen on four frames only), beside the requester (the astronaut),
  who stands still.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

WIDTH, HEIGHT, FPS = 640, 360, 25
FACE = 96  # px: a face as a CCTV camera sees a person a few metres away at 640×360


def background() -> np.ndarray:
    """A picture with texture but no face: the brick wall, tinted, at 640×360."""
    brick = cv2.resize(data.brick(), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    rgb = np.stack([brick, (brick * 0.9).astype(np.uint8), (brick * 0.8).astype(np.uint8)],
                   axis=-1)
    return np.ascontiguousarray(rgb)


def lfw_face(number: int, size: int = FACE) -> np.ndarray:
    face = (data.lfw_subset()[number] * 255).astype(np.uint8)
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.stack([face] * 3, axis=-1)


def astronaut_face(size: int = 120) -> np.ndarray:
    """Eileen Collins' head and shoulders from `astronaut` (her face is near (210, 110))."""
    return cv2.resize(data.astronaut()[20:260, 100:340], (size, size),
                      interpolation=cv2.INTER_AREA)


def paste(frame: np.ndarray, picture: np.ndarray, x: int, y: int) -> None:
    """``picture`` onto ``frame`` at (x, y), clipped to the frame."""
    h, w = picture.shape[:2]
    x1, y1, x2, y2 = max(0, x), max(0, y), min(WIDTH, x + w), min(HEIGHT, y + h)
    if x2 > x1 and y2 > y1:
        frame[y1:y2, x1:x2] = picture[y1 - y:y2 - y, x1 - x:x2 - x]


def encode(folder: Path, frames: int, draw: Callable[[int], np.ndarray],
           segment_s: float = 2.0) -> list[Path]:
    """MPEG-TS segments (as the recorder stores them) of ``draw(n)`` for n < ``frames``."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS),
            "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "16",
            "-g", str(round(FPS * segment_s)), "-pix_fmt", "yuv420p",
            "-force_key_frames", f"expr:gte(t,n_forced*{segment_s})",
            "-f", "segment", "-segment_time", str(segment_s), "-segment_format", "mpegts",
            "-reset_timestamps", "0", str(folder / "seg%03d.ts")]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    for n in range(frames):
        proc.stdin.write(np.ascontiguousarray(draw(n)).tobytes())
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")
    return sorted(folder.glob("seg*.ts"))


def flashing(folder: Path, frames: int = 170, at: tuple[int, int] = (420, 120)) -> list[Path]:
    """A face on frames 1–4 of every 10 and on no other."""
    bg, face = background(), lfw_face(0)

    def draw(n: int) -> np.ndarray:
        frame = bg.copy()
        if 1 <= n % 10 <= 4:
            paste(frame, face, *at)
        return frame

    return encode(folder, frames, draw)


@dataclass(frozen=True)
class Walker:
    face: int  # lfw_subset index
    x0: float
    y0: float
    vx: float  # px per frame
    vy: float
    first: int = 0  # frames on which the person is in the picture
    last: int = 10_000


WALKERS = [Walker(1, -90, 40, 6.0, 0.5),  # walks in from the left
           Walker(2, 660, 120, -14.0, -1.0, first=10),  # runs in from the right, late
           Walker(3, 300, 230, 2.0, -3.0, last=60),  # leaves the picture (cut) at frame 60
           Walker(4, 520, 20, -25.0, 4.0, first=40),  # a fast one, from frame 40
           # one who passes a doorway: in the picture on frames 41–44 only, between two
           # detections made on every 5th frame
           Walker(5, 560, 110, -40.0, 0.0, first=41, last=44)]
REQUESTER_AT = (40, 200)  # the astronaut's 120 px square, all along
REQUESTER_KEEP = {"x": 40, "y": 200, "w": 120, "h": 120, "from_s": 0.0, "to_s": 60.0,
                  "note": "wnioskodawczyni"}


def walking(folder: Path, frames: int = 100) -> list[Path]:
    bg, requester = background(), astronaut_face()
    faces = {w.face: lfw_face(w.face) for w in WALKERS}

    def draw(n: int) -> np.ndarray:
        frame = bg.copy()
        paste(frame, requester, *REQUESTER_AT)
        for w in WALKERS:
            if w.first <= n <= w.last:
                k = n - w.first
                paste(frame, faces[w.face], round(w.x0 + w.vx * k), round(w.y0 + w.vy * k))
        return frame

    return encode(folder, frames, draw)
