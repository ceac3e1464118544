"""A start after an unclean stop of serve is an alert saying what the stop cost (issue 48
item 8: kill -9 during 30 SIPREC calls — 8 never recorded, 2 cut — and no alert of any kind).

serve writes `run/serve.running` in the data folder when it starts and removes it when it
stops by itself (a signal, an error it ends on: its parts are stopped and their last material
taken in either way). A start that finds the file was preceded by a stop that ran nothing of
that: a kill, a crash of the process, a power loss. Its alert names when serve was last seen
alive (the clock watch's reading, kept every minute) and how long it was away, and says what
such a gap costs: the cameras recorded nothing (their gaps are on their time lines), the calls
offered by SIPREC or seen on a mirrored port in that time were not recorded, and the calls
running at the stop were cut (each told on its line as it is stored, with what was received).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kustosz.audit import append as audit
from kustosz.clock.words import span_pl, when_pl
from kustosz.db.models import Alert, Setting, Source
from kustosz.fsutil import write_atomic
from kustosz.kinds import SourceKind
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger(__name__)
MARK = Path("run") / "serve.running"
_READING_KEY = "clock.reading"  # kustosz.clock.watch's, read before the watch writes anew


def begin(root: Path) -> dict[str, Any] | None:
    """Mark serve running; what an earlier run that did not stop left, or None."""
    path = root / MARK
    previous: dict[str, Any] | None = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            previous = {}
        if not isinstance(previous, dict):
            previous = {}
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(path, json.dumps({"pid": os.getpid(),
                                   "started_at": datetime.now(UTC).isoformat()}).encode())
    return previous


def end(root: Path) -> None:
    """serve stopped by itself: the next start is a clean one."""
    try:
        (root / MARK).unlink(missing_ok=True)
    except OSError:
        log.exception("the running mark %s could not be removed", root / MARK)


def last_alive(vault: Vault) -> datetime | None:
    """When the stopped run was last seen alive: the clock watch's last reading (kept every
    minute). Read before this run's watch keeps its own."""
    with vault.reading() as s:
        row = s.get(Setting, _READING_KEY)
    try:
        wall = float(json.loads(row.value)["wall"]) if row is not None else None
    except (ValueError, KeyError, TypeError):
        wall = None
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


def tell(vault: Vault, previous: dict[str, Any], seen: datetime | None,
         now: datetime | None = None) -> None:
    """The alert of an unclean stop, raised once this start has the database."""
    now = now or datetime.now(UTC)
    with vault.transaction() as s:
        cameras, lines = (s.execute(select(func.count()).select_from(Source).where(
            Source.enabled.is_(True), kind)).scalar_one() for kind in (
                Source.kind == SourceKind.CAMERA, Source.kind == SourceKind.PHONE))
        s.add(Alert(raised_at=now, kind=AlertRow.SERVE_UNCLEAN_STOP,
                    message=message_pl(seen, now, cameras, lines)))
        audit(s, "serve", f"alert.{AlertRow.SERVE_UNCLEAN_STOP}", "serve", {
            "last_alive": seen.isoformat() if seen else None,
            "previous_pid": previous.get("pid"), "previous_start": previous.get("started_at"),
            "cameras": cameras, "phone_lines": lines})
    log.error("serve did not stop by itself last time (last seen %s): alert raised",
              seen.isoformat() if seen else "unknown")


def message_pl(seen: datetime | None, now: datetime, cameras: int, lines: int) -> str:
    text = "Usługa Kustosz zatrzymała się nieoczekiwanie (przerwana siłą, awaria procesu albo " \
           "zasilania)"
    if seen is not None:
        text += (f": ostatni znak życia {when_pl(seen)}, ponowne uruchomienie "
                 f"{when_pl(now)}, przerwa trwała {span_pl((now - seen).total_seconds())}")
    text += "."
    if cameras:
        text += (f" Kamery ({cameras}) w tym czasie nie nagrywały — przerwy są zapisane na "
                 "osiach czasu kamer.")
    if lines:
        text += (" Rozmowy przesłane przez SIPREC lub widoczne na porcie lustrzanym w tym "
                 "czasie nie zostały nagrane, a rozmowy trwające w chwili zatrzymania są "
                 "przerwane (każda zgłoszona osobno na swojej linii, zapisana do chwili awarii).")
    return text + " Sprawdź w dzienniku systemu (journalctl -u kustosz), co zatrzymało usługę."
