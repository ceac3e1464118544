"""A test picture of real people and a camera-like clip made from it.

Real photographs that ship inside scikit-image's wheel (a test dependency; deface requires it
anyway): `astronaut` (Eileen Collins, NASA, public domain), `camera` (the cameraman) and the
first faces of `lfw_subset` (Labeled Faces in the Wild), tiled into one frame. Synthetic,
drawn faces would not say whether real faces are found. The clip pans across the picture like
a slowly moving camera and carries a sound track, which the masked result must not keep.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

LFW_FACES = 8
PAD_X, PAD_Y = 128, 64


def scene() -> np.ndarray:
    """1280×768 RGB: eight LFW faces in a row above the astronaut and the cameraman."""
    faces = [np.pad(cv2.resize((f * 255).astype(np.uint8), (96, 96),
                               interpolation=cv2.INTER_CUBIC), 16, constant_values=128)
             for f in data.lfw_subset()[:LFW_FACES]]  # the subset's first 100 are faces
    row = np.stack([np.concatenate(faces, axis=1)] * 3, axis=-1)
    people = np.concatenate([data.astronaut(), np.stack([data.camera()] * 3, axis=-1)], axis=1)
    tile = np.concatenate([row, people], axis=0)  # 1024×640
    return np.pad(tile, ((PAD_Y, PAD_Y), (PAD_X, PAD_X), (0, 0)), constant_values=128)


def make_clip(folder: Path, *, width: int = 640, height: int = 360, seconds: float = 4.0,
              fps: int = 25, segment_s: float | None = 2.0, audio: bool = True) -> list[Path]:
    """MPEG-TS segments (as the recorder stores them) of a pan over `scene`: a 1152×648
    window moving 128 px right and 8 px down over the clip, scaled to width×height."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "scene.png"
    cv2.imwrite(str(png), cv2.cvtColor(scene(), cv2.COLOR_RGB2BGR))
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate",
            str(fps), "-i", str(png)]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    vf = (f"crop=1152:648:x='128*t/{seconds}':y='56+8*t/{seconds}',"
          f"scale={width}:{height},setsar=1")
    args += ["-vf", vf, "-t", str(seconds), "-r", str(fps), "-c:v", "libx264", "-preset",
             "veryfast", "-crf", "18", "-g", str(max(1, round(fps * (segment_s or 1.0)))),
             "-pix_fmt", "yuv420p"]
    if segment_s:  # a key frame at each cut, so that each segment is exactly segment_s long
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{segment_s})"]
    args += ["-c:a", "aac"] if audio else ["-an"]
    if segment_s:
        args += ["-f", "segment", "-segment_time", str(segment_s), "-segment_format", "mpegts",
                 "-reset_timestamps", "0", str(folder / "seg%03d.ts")]
    else:
        args += ["-f", "mpegts", str(folder / "seg000.ts")]
    subprocess.run(args, check=True, capture_output=True)
    return sorted(folder.glob("seg*.ts"))
