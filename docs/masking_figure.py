"""Draw docs/screenshots/18-maskowanie-przed-po.png: one frame of a 2 s clip of scikit-image's
`astronaut` (Eileen Collins, NASA, public domain) before and after `masking.mask_video` with its
defaults. Run: .venv/bin/python docs/masking_figure.py"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

from kustosz.masking.video import Segment, mask_video

OUT = Path(__file__).parent / "screenshots" / "18-maskowanie-przed-po.png"


def frame(path: Path, n: int = 25) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, f in enumerate(container.decode(video=0)):
            if i == n:
                return f.to_ndarray(format="rgb24")
    raise RuntimeError(f"{path} has fewer than {n + 1} frames")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        picture = np.pad(data.astronaut(), ((0, 0), (228, 228), (0, 0)), constant_values=128)
        cv2.imwrite(str(work / "a.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        segment = work / "seg.ts"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                        "-y", "-loop", "1", "-framerate", "25", "-i", str(work / "a.png"),
                        "-t", "2", "-vf", "scale=640:338,pad=640:360:0:11:gray,setsar=1",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts",
                        str(segment)], check=True)
        masked = work / "masked.mp4"
        mask_video([Segment(segment, 0.0, segment.name)], masked)
        before, after = frame(segment), frame(masked)
    gap = np.full((before.shape[0], 12, 3), 255, np.uint8)
    both = np.concatenate([before, gap, after], axis=1)
    cv2.imwrite(str(OUT), cv2.cvtColor(both, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
