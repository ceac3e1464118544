"""Bytes for a test's camera file whose content does not matter."""

from __future__ import annotations

import functools
import random
import tempfile
from pathlib import Path

from kustosz.ingest.sound_strip import _streams


@functools.cache
def opaque_bytes(tag: str, size: int) -> bytes:
    """``size`` bytes in which ffmpeg finds no sound, the same for the same ``tag``.

    Not os.urandom: libavformat's probe reads about 1 in 5 000 random 4 kB files as AAC
    (sound and no picture), which a camera source refuses (R1.3), so a test that stored random
    bytes failed at random. These are seeded, and checked here with the intake's own probe; a
    seed whose bytes do carry sound is passed over for the next one.
    """
    for salt in range(100):
        data = random.Random(f"{tag}:{size}:{salt}").randbytes(size)
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(data)
            f.flush()
            found = _streams(Path(f.name))
        if found is None or found[1] == 0:
            return data
    raise AssertionError(f"no opaque bytes for {tag!r} in 100 seeds")
