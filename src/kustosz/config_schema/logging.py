"""[logging]: the format of serve's log lines."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kustosz.config_schema.base import Table


class Logging(Table):
    format: Literal["json", "text"] | None = Field(
        None, description='"json" (one object a line) or "text"; --log-format wins.'
    )
