"""[audit]: the signed checkpoints of the audit log and where they are sent."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from kustosz.config_schema.base import Table, outside, problem, root_of


class Audit(Table):
    witness: str | None = Field(
        None,
        description="A file OUTSIDE the data folder (another disk or a share) the "
        "checkpoints are appended to.",
    )
    checkpoint_minutes: float = Field(
        15.0, gt=0, le=1440, description="How often a checkpoint is signed."
    )
    syslog: str | None = Field(
        None, description='The office\'s syslog server (UDP), e.g. "192.0.2.10:514".'
    )

    @field_validator("witness")
    @classmethod
    def _witness(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        # The witness is worth something only where the one who holds the data folder
        # cannot also rewrite it; inside the folder it would be cut together with the log.
        outside(
            root_of(info),
            value,
            f"{value} is inside the data folder; put it outside (another disk or a share)",
            f"{value} leży w katalogu danych; wskaż miejsce poza nim (inny dysk albo "
            "udział sieciowy)",
        )
        return value

    @field_validator("syslog")
    @classmethod
    def _syslog(cls, value: str | None) -> str | None:
        if not value:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise problem(
                "must be host:port, e.g. 192.0.2.10:514",
                "musi mieć postać host:port, np. 192.0.2.10:514",
            )
        return value
