"""What a camera's recorder is given to record: the camera as the register has it, its
address with the credentials for ffmpeg alone, and what an earlier probe found of it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CameraJob:
    source_id: int
    name: str
    shown_url: str  # without credentials
    input_url: str = field(repr=False)  # with credentials: for ffmpeg and the clock probe only
    secrets: tuple[str, ...] = field(default=(), repr=False)
    segment_seconds: float = 10.0
    # What an earlier probe found of its pictures (camera_recorder_status.pictures_cut); not
    # compared: learning it is no change of the camera's settings that restarts its recorder.
    pictures_cut: bool | None = field(default=None, compare=False)
