"""Which ffmpeg Kustosz runs: the recorders, the phone and mail intake, copies and masking
all take it from here (a leaf, so that no part needs the camera recorder's command line to
find the binary)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kustosz.errors import ConfigError


def ffmpeg_exe(choice: str | None = None) -> str:
    """`wheel` (default: the imageio-ffmpeg binary), `system` (ffmpeg on PATH) or a path."""
    if not choice or choice == "wheel":
        import imageio_ffmpeg  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

        return imageio_ffmpeg.get_ffmpeg_exe()
    if choice == "system":
        found = shutil.which("ffmpeg")
        if not found:
            raise ConfigError("ffmpeg=system, but there is no ffmpeg on PATH",
                              pl="Ustawiono ffmpeg=system, ale w ścieżce PATH nie ma programu "
                                 "ffmpeg.")
        return found
    if not Path(choice).is_file():
        raise ConfigError(f"ffmpeg {choice!r} does not exist",
                          pl=f"Program ffmpeg „{choice}” nie istnieje.")
    return choice
