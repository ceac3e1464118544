"""The wall clock of the test's process stepped while the steady clock runs on (issue 64 item
7): `time.time()` everywhere in the process (the capture process too, where a test runs it in
a thread), and `datetime.now()` of the call intake's modules, read the true time plus the
step set so far — as after NTP or an administrator set the date. `time.monotonic()` is left
alone: it is what a step does not move."""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime, tzinfo

import pytest

# The modules of the call intake that read the wall clock through `datetime.now`.
MODULES = ("kustosz.ingest.phone.siprec.server", "kustosz.ingest.phone.siprec.store",
           "kustosz.ingest.phone.capture.recorder", "kustosz.ingest.phone.capture.run")


class WallStep:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset_s = 0.0
        real = time.time
        step = self

        def stepped() -> float:
            return real() + step.offset_s

        class Now(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
                return datetime.fromtimestamp(stepped(), tz)

        monkeypatch.setattr(time, "time", stepped)
        for name in MODULES:
            module = importlib.import_module(name)
            if getattr(module, "datetime", None) is datetime:
                monkeypatch.setattr(module, "datetime", Now)
        self.true = real

    def step(self, seconds: float) -> None:
        self.offset_s += seconds


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
