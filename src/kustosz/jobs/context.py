"""What a running job's function gets: the vault, which attempt this is, and a way to say how
far it got (the page that waits shows it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kustosz.jobs import records

if TYPE_CHECKING:
    from kustosz.vault import Vault

REPORT_EVERY_S = 0.5  # a progress row written at most this often (a note change always)


@dataclass
class JobContext:
    vault: Vault
    job_id: int
    attempt: int  # 1 for the first
    _last: tuple[float, str | None] = field(default=(0.0, None), repr=False)
    _at: float = field(default=0.0, repr=False)

    def progress(self, fraction: float, note: str | None = None) -> None:
        """``fraction`` of the work done (0..1); ``note``: what it is doing, in Polish.
        The fraction shown never goes back within an attempt (a stage that starts lower
        than the last one ended stays where it was): the person waiting reads it as how
        far the work got, and the time left is reckoned from it (jobs.eta)."""
        fraction = max(self._last[0], min(1.0, fraction)) if fraction == fraction else \
            self._last[0]
        now = time.monotonic()
        if note == self._last[1] and now - self._at < REPORT_EVERY_S and fraction < 1.0:
            return
        self._last, self._at = (fraction, note), now
        records.report(self.vault, self.job_id, fraction, note)
