"""[backup]: daily backups under `kustosz serve` (kustosz.backup.schedule)."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import Field, ValidationInfo, field_validator

from kustosz.config_schema.base import Table, outside, problem, root_of

_TIME = ("%H:%M", "%H:%M:%S")


def parse_at(value: str | time) -> time:
    if isinstance(value, time):
        return value
    for fmt in _TIME:
        try:
            return datetime.strptime(value.strip(), fmt).time()
        except ValueError:
            continue
    raise problem('must be a time of day, e.g. "02:30"', "musi być godziną, np. „02:30”")


class Backup(Table):
    folder: str = Field(
        description="Each backup a subfolder named by its time (UTC); outside "
        "the data folder, never created (a share not mounted "
        "fails loudly)."
    )
    at: str = Field("02:30", description="Every day at this time of the office's zone.")
    passphrase_file: str | None = Field(None, description="The backup's passphrase (chmod 600).")
    keep: int = Field(7, ge=1, le=365, description="The newest this many are kept.")

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise problem(
                "must be a path (outside the data folder)",
                "musi być ścieżką (poza katalogiem danych)",
            )
        outside(
            root_of(info),
            value,
            f"{value} is inside the data folder; put it on another disk or a share",
            f"{value} leży w katalogu danych; wskaż inny dysk albo udział sieciowy",
        )
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object) -> object:
        # TOML's own time of day (at = 02:30:00) is as good as the quoted one
        return value.strftime("%H:%M:%S") if isinstance(value, time) else value

    @field_validator("at")
    @classmethod
    def _at_valid(cls, value: str) -> str:
        parse_at(value)
        return value
