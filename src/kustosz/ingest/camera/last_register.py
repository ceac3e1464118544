"""The last camera register known to work, kept on disk for a start without the database.

`kustosz serve` started (or restarted by systemd) while the database is away cannot read the
register (issue 27: an outage of any length costs no video). Every successful decision of the
recorder pool writes here which cameras were recording and how to reach them; a start with the
database away starts their recorders from this file into the spool, and the database takes
the segments in when it answers.

The file holds what the database holds and nothing more open: a camera's password stays in
the sealed form of its row (kustosz.atrest.sealing), opened with the vault's secrets key from
keys/ only when a recorder starts. It is written atomically and readable by the vault's owner
only (0600), as the key beside it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kustosz.atrest.sealing import RTSP_PASSWORD, SecretBox
from kustosz.cameras.register import SIMULATED_PREFIX
from kustosz.cameras.rules import RtspAddress
from kustosz.fsutil import write_atomic
from kustosz.ingest.camera.job import CameraJob

log = logging.getLogger(__name__)
FILE_NAME = "register.json"
VERSION = 1


@dataclass(frozen=True)
class KeptCamera:
    """One camera as the register had it when it was last allowed to record."""

    source_id: int
    name: str
    url: str  # without credentials, as the database keeps it
    user: str | None
    sealed_password: str | None  # as the database keeps it: never the password in clear
    segment_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "name": self.name, "url": self.url,
                "user": self.user, "sealed_password": self.sealed_password,
                "segment_seconds": self.segment_seconds}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> KeptCamera:
        return cls(int(raw["source_id"]), str(raw["name"]), str(raw["url"]),
                   raw.get("user"), raw.get("sealed_password"),
                   float(raw["segment_seconds"]))

    def job(self, secrets: SecretBox | None) -> CameraJob:
        """The recorder's job; the password is opened here, in memory only."""
        password = None
        if self.sealed_password is not None:
            if secrets is None:
                raise ValueError("the vault's secrets key is not on disk")
            password = secrets.open(self.sealed_password, RTSP_PASSWORD)
        address = RtspAddress(self.url, self.user, password)
        url = self.url if self.url.startswith(SIMULATED_PREFIX) else address.with_credentials()
        kept = tuple(x for x in (self.user, password) if x)
        return CameraJob(self.source_id, self.name, self.url, url, kept, self.segment_seconds)


def register_path(spool: Path) -> Path:
    """Beside the camera spool, not in it: an empty spool means nothing waits to be taken in
    (a stop's check, an operator's look), and its folders are cameras' own."""
    return spool.with_name(f"{spool.name}-{FILE_NAME}")


class LastRegister:
    """The file in a spool folder; `keep` writes only what changed (a decision every 15 s
    that finds the same register costs no write)."""

    def __init__(self, spool: Path) -> None:
        self.path = register_path(spool)
        self._written: str | None = None

    def keep(self, cameras: list[KeptCamera]) -> bool:
        text = json.dumps({"version": VERSION,
                           "cameras": [c.as_dict() for c in sorted(
                               cameras, key=lambda c: c.source_id)]},
                          ensure_ascii=False, indent=1) + "\n"
        if text == self._written:
            return False
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.path, text, mode=0o600)
        self._written = text
        return True

    def read(self) -> list[KeptCamera]:
        """The cameras kept; none when there is no file or it cannot be read (logged)."""
        try:
            raw = json.loads(self.path.read_text("utf-8"))
            if raw.get("version") != VERSION:
                raise ValueError(f"version {raw.get('version')!r}")
            return [KeptCamera.of(c) for c in raw["cameras"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("the last camera register %s cannot be read (%s): no camera records "
                      "until the database answers", self.path, exc)
            return []
