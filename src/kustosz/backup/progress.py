"""How far a backup has got (issue 29 item 14): its steps, each counted in files and, where
the sizes are known beforehand (media, documents), in bytes as they are copied.

`make_backup` and `restore` tell any `layout.Progress`; the command line shows a bar
(kustosz.cli.backup), serve's schedule writes lines to its log (`Logged`): a night's backup
of months of media takes hours, and its log says how far it is and about how long is left,
rounded as the job page rounds it (kustosz.jobs.eta)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kustosz.jobs import eta
from kustosz.words import plural

log = logging.getLogger(__name__)
LOG_EVERY_S = 60.0  # a scheduled backup's progress line at most this often


def human_bytes(n: float) -> str:
    """'1,2 GB', '340 MB', '12 kB' (decimal units, Polish decimal comma)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f}".replace(".", ",") + f" {unit}"
    return f"{int(n)} B"


class Counted:
    """A `layout.Progress` that keeps count: the step, its files and bytes done and in all,
    and when it began."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.what = ""
        self.files = self.files_total = 0
        self.bytes = self.bytes_total = 0
        self.began = clock()

    def start(self, what: str, total: int, total_bytes: int = 0) -> None:
        self.what, self.files_total, self.bytes_total = what, total, total_bytes
        self.files = self.bytes = 0
        self.began = self.clock()
        self.changed()

    def advance(self, n: int = 1, nbytes: int = 0) -> None:
        self.files += n
        self.bytes += nbytes
        self.changed()

    @property
    def fraction(self) -> float:
        """The share of the step done: by bytes where they are known, else by files."""
        if self.bytes_total > 0:
            return min(1.0, self.bytes / self.bytes_total)
        return min(1.0, self.files / self.files_total) if self.files_total > 0 else 0.0

    def estimate(self, lang: str = "pl") -> str | None:
        return eta.estimate(self.fraction, self.clock() - self.began, lang)

    def line(self) -> str:
        """'nagrania / media: 45% (340 z 800 plików, 1,2 GB z 2,7 GB), około 5 minut do
        końca'."""

        files = (f"{self.files} z {self.files_total} "
                 f"{plural(self.files_total, 'pliku', 'plików', 'plików')}")
        size = (f", {human_bytes(self.bytes)} z {human_bytes(self.bytes_total)}"
                if self.bytes_total else "")
        left = self.estimate()
        return (f"{self.what}: {self.fraction:.0%} ({files}{size})"
                + (f", {left}" if left else ""))

    def changed(self) -> None:
        """Called after every change (a subclass shows it)."""


class Logged(Counted):
    """A scheduled backup's progress in serve's log: each step's start and a line at most
    every `LOG_EVERY_S` while it runs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 every_s: float = LOG_EVERY_S) -> None:
        super().__init__(clock)
        self.every_s = every_s
        self.said = clock()

    def start(self, what: str, total: int, total_bytes: int = 0) -> None:
        super().start(what, total, total_bytes)
        log.info("backup: %s", self.line())
        self.said = self.clock()

    def changed(self) -> None:
        if self.what and self.clock() - self.said >= self.every_s:
            log.info("backup: %s", self.line())
            self.said = self.clock()
