"""The refusals the intake of recordings shares (kustosz.ingest.files, the camera's batches,
the chunk services), each worded once, in English and in Polish (tests/test_error_polish.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kustosz.errors import InputError


def unzoned_times() -> InputError:
    return InputError("times must carry a zone (e.g. 2026-11-21T10:00:00+01:00)",
                      pl="Czas musi zawierać strefę czasową (np. 2026-11-21T10:00:00+01:00).")


def end_before_start(end: datetime, start: datetime) -> InputError:
    return InputError(f"end {end.isoformat()} is before start {start.isoformat()}",
                      pl=f"Koniec {end.isoformat()} jest wcześniejszy niż początek "
                         f"{start.isoformat()}.")


def no_such_file(path: Path) -> InputError:
    return InputError(f"no such file: {path}", pl=f"Nie ma pliku {path}.")


def source_disabled(name: str) -> InputError:
    return InputError(f"source {name!r} is disabled",
                      pl=f"Źródło „{name}” jest wyłączone.")


def no_source(source_id: int) -> InputError:
    return InputError(f"no source with id {source_id}",
                      pl=f"Nie ma źródła o identyfikatorze {source_id}.")


def adopt_times(what: str) -> InputError:
    """``what`` (adopt_file, adopt_segment) was given naive times or an end before its start."""
    return InputError(f"{what} needs zoned times with start <= end",
                      pl=f"{what} wymaga czasów ze strefą czasową, przy czym początek nie może "
                         "być późniejszy niż koniec.")
