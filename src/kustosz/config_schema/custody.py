"""[custody]: how far a registered request's hold reaches around the time it names."""

from __future__ import annotations

from pydantic import Field

from kustosz.config_schema.base import Table


class Custody(Table):
    hold_margin_minutes: int = Field(
        30,
        ge=0,
        le=1440,
        description="A request holds its window widened by this many minutes on each side, "
        "since requesters give times roughly.",
    )
