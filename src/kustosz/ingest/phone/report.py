"""What one phone intake pass did: built by the pass (intake.IntakePass) when it ends, shown
by `kustosz phones scan` and the watcher."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ScanReport:
    source: str
    stored: int = 0
    out_of_scope: int = 0
    skipped: list[str] = field(default_factory=list)
    waiting: int = 0  # seen, not yet taken: still growing, or waiting for its call record
    cdr_lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
