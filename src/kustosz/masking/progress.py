"""What masking says of its progress: the callback's shape and the notes a job's page shows
(kept apart from the masking itself, which loads the detector and the video libraries, so
that the pages and the copy's job can name the step without loading them)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]
PROGRESS_NOTE = "Maskowanie osób na nagraniu i sprawdzanie każdej klatki"
CHECK_NOTE = "Sprawdzanie zamaskowanego nagrania klatka po klatce"
