"""[retention]: how often the sweep runs under `kustosz serve`."""

from __future__ import annotations

from pydantic import Field

from kustosz.config_schema.base import Table


class Retention(Table):
    interval_minutes: float = Field(
        15.0,
        gt=0,
        le=1440,
        description="How often the retention sweep runs (it also runs at local midnight).",
    )
