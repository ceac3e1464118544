"""The dashboard's alarms (issue 50 items 1 and 2): who is told which open alert, in what
order, and the way from a camera's alarm to its live view.

Whoever watches is told, not only the oversight roles: an operator at the cameras is the first
to notice a dead one. But a role never opens material by itself (DESIGN), and an alarm names
its camera or line, so a person outside oversight is told only the alarms of the sources an
active authorisation of theirs covers, plus those that concern everyone (the database away).
The oversight roles are told everything, as before. A dashboard lists at most SHOWN alarms,
the most urgent and newest, and says how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import quote
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.authorisations import ACTION_KINDS, ACTIONS, active_for, eligible
from kustosz.cameras.down_since import down_since
from kustosz.db.custody import User
from kustosz.db.models import Alert, Source
from kustosz.kinds import Action, SourceKind
from kustosz.states import AlertRow
from kustosz.web.alarm_words import Row, alarm_words
from kustosz.web.camera_silence import Silence, silence_of

_R = AlertRow
# Nothing records, or nothing can be seen: first, before what can wait (the issue: "a camera
# down, a line silent, a database away: first").
FIRST: dict[str, int] = {
    _R.DATABASE_UNREACHABLE: 0, _R.DISK_FULL: 1, _R.DISK_FULL_HELD: 1, _R.CAMERA_DOWN: 1,
    _R.CAMERA_VIDEO_LOSS: 1, _R.CAMERA_TAMPER: 1, _R.RECORDER_RESTARTING: 2,
    _R.PHONE_UNREACHABLE: 2, _R.PHONE_SILENT: 2, _R.PHONE_BACKLOG: 2, _R.PHONE_CAPTURE_AWAY: 2,
    _R.SOURCE_WITHOUT_NODE: 2, _R.NODE_MISSING: 2, _R.STORAGE_UNREACHABLE: 2,
}
LATER = 3
# Alarms of no one source that everyone signed in is told.
EVERYONE = frozenset({_R.DATABASE_UNREACHABLE})
# The roles that watch for alarms: offered notifications on their devices (web.alarm_push).
# Each is told only what the rule below tells it.
WATCH_ROLES = frozenset({"administrator", "dpo", "approver", "auditor", "supervisor",
                         "operator", "viewer"})
# Alarms a dashboard lists; the rest are counted (issue 64 item 4: 5 000 alarms made a
# 988 KB page). Refusals fold, so this is a bound, not a page anyone should reach.
SHOWN = 50


WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Alarm:
    """One open alert as the dashboard says it, in the reader's language (web.alarm_words);
    ``key``: its row's id, by which the page's live list knows it again; ``live``: the live
    view's start form for its camera, when the reader may watch that camera live (the
    purpose is still asked); ``silent``: the camera's silence, said beside that button
    (web/camera_silence.py)."""

    key: int
    text: Markup
    plain: str
    live: str | None = None
    silent: Silence | None = None


def _sees(s: Session, user: User, source: Source, now: datetime) -> bool:
    """An active authorisation of ``user`` covers ``source`` for some action they may do."""
    return any(active_for(s, user, action, [source], now) for action in ACTIONS
               if source.kind in ACTION_KINDS[action] and eligible(user, action))


def told(s: Session, user: User, oversight: bool, now: datetime,
         alert_ids: list[int] | None = None) -> list[tuple[int, Source | None]]:
    """The open alerts ``user`` is told (of ``alert_ids`` only, when given), the most urgent
    first, newest first within, each with its source: the dashboard's rule, which the live
    list and a device's notifications follow too (web.alarm_push)."""
    query = select(Alert.id, Alert.kind, Alert.raised_at, Alert.source_id)
    # given ids: a notification's, whose rows may have cleared since (an all-clear)
    query = query.where(Alert.cleared_at.is_(None) if alert_ids is None
                        else Alert.id.in_(alert_ids))
    rows = sorted(s.execute(query).all(),
                  key=lambda r: (FIRST.get(r.kind, LATER), -r.raised_at.timestamp(), -r.id))
    ids = {r.source_id for r in rows if r.source_id is not None}
    sources = {src.id: src for src in s.execute(select(Source).where(Source.id.in_(ids)))
               .scalars()} if ids else {}
    seen: dict[int, bool] = {}
    out: list[tuple[int, Source | None]] = []
    for alert_id, kind, _, source_id in rows:
        source = sources.get(source_id) if source_id is not None else None
        if source is None:
            if oversight or kind in EVERYONE:
                out.append((alert_id, None))
            continue
        if source.id not in seen:
            seen[source.id] = oversight or _sees(s, user, source, now)
        if seen[source.id]:
            out.append((alert_id, source))
    return out


def worded(s: Session, user: User, told_of: list[tuple[int, Source | None]], now: datetime,
           lang: str = "pl", tz: tzinfo = WARSAW) -> list[Alarm]:
    """``told_of`` (from `told`) in ``lang``, each with its way to the live view. Their
    texts are read only for these."""
    ids = [alert_id for alert_id, _ in told_of]
    rows = {r.id: Row(r.kind, r.message, r.message_en, r.detail) for r in s.execute(
        select(Alert.id, Alert.kind, Alert.message, Alert.message_en, Alert.detail)
        .where(Alert.id.in_(ids)))} if ids else {}
    cameras = {src.id for _, src in told_of
               if src is not None and src.kind == SourceKind.CAMERA}
    down = down_since(s, cameras) if cameras else {}
    out = []
    for alert_id, source in told_of:
        live, silent = None, None
        if source is not None and source.kind == SourceKind.CAMERA and active_for(
                s, user, Action.LIVE, [source], now):
            live = f"/media/start?action=live&source={quote(source.name, safe='')}"
            silent = silence_of(s, source.id)
        words = alarm_words(rows[alert_id], lang, tz, source.name if source else None,
                            down.get(source.id) if source is not None else None)
        out.append(Alarm(alert_id, words.html, words.plain, live, silent))
    return out


def alarms_for(s: Session, user: User, oversight: bool, now: datetime, lang: str = "pl",
               tz: tzinfo = WARSAW) -> tuple[list[Alarm], int]:
    """The open alerts ``user`` is told, the most urgent first, newest first within: at most
    SHOWN of them, in ``lang``, and how many more there are."""
    every = told(s, user, oversight, now)
    return worded(s, user, every[:SHOWN], now, lang, tz), len(every) - min(len(every), SHOWN)
