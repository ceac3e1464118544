"""The dashboard's alarms (issue 50 items 1 and 2): who is told which open alert, in what
order, and the way from a camera's alarm to its live view.

Whoever watches is told, not only the oversight roles: an operator at the cameras is the first
to notice a dead one. But a role never opens material by itself (DESIGN), and an alarm names
its camera or line, so a person outside oversight is told only the alarms of the sources an
active authorisation of theirs covers, plus those that concern everyone (the database away).
The oversight roles are told everything, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.authorisations import ACTION_KINDS, ACTIONS, active_for, eligible
from kustosz.db.custody import User
from kustosz.db.models import Alert, Source
from kustosz.kinds import Action, SourceKind
from kustosz.states import AlertRow

_R = AlertRow
# Nothing records, or nothing can be seen: first, before what can wait (the issue: "a camera
# down, a line silent, a database away: first").
FIRST: dict[str, int] = {
    _R.DATABASE_UNREACHABLE: 0, _R.DISK_FULL: 1, _R.DISK_FULL_HELD: 1, _R.CAMERA_DOWN: 1,
    _R.CAMERA_VIDEO_LOSS: 1, _R.CAMERA_TAMPER: 1, _R.RECORDER_RESTARTING: 2,
    _R.PHONE_UNREACHABLE: 2, _R.PHONE_SILENT: 2, _R.PHONE_BACKLOG: 2,
    _R.SOURCE_WITHOUT_NODE: 2, _R.NODE_MISSING: 2, _R.STORAGE_UNREACHABLE: 2,
}
LATER = 3
# Alarms of no one source that everyone signed in is told.
EVERYONE = frozenset({_R.DATABASE_UNREACHABLE})


@dataclass(frozen=True)
class Alarm:
    """One open alert as the dashboard says it; ``live``: the live view's start form for its
    camera, when the reader may watch that camera live (the purpose is still asked)."""

    text: str
    live: str | None = None


def _sees(s: Session, user: User, source: Source, now: datetime) -> bool:
    """An active authorisation of ``user`` covers ``source`` for some action they may do."""
    return any(active_for(s, user, action, [source], now) for action in ACTIONS
               if source.kind in ACTION_KINDS[action] and eligible(user, action))


def alarms_for(s: Session, user: User, oversight: bool, now: datetime) -> list[Alarm]:
    """The open alerts ``user`` is told, the most urgent first, newest first within."""
    rows = sorted(s.execute(select(Alert, Source).outerjoin(
        Source, Source.id == Alert.source_id).where(Alert.cleared_at.is_(None))).all(),
        key=lambda r: (FIRST.get(r[0].kind, LATER), -r[0].raised_at.timestamp(), -r[0].id))
    seen: dict[int, bool] = {}
    out = []
    for alert, source in rows:
        if source is None:
            if oversight or alert.kind in EVERYONE:
                out.append(Alarm(alert.message))
            continue
        if source.id not in seen:
            seen[source.id] = oversight or _sees(s, user, source, now)
        if not seen[source.id]:
            continue
        live = None
        if source.kind == SourceKind.CAMERA and active_for(s, user, Action.LIVE, [source], now):
            live = f"/media/start?action=live&source={quote(source.name, safe='')}"
        out.append(Alarm(alert.message, live))
    return out
