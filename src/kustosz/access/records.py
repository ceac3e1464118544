"""Viewing sessions and the access log (DESIGN invariant 2).

Before anything plays or is shown, the person states the purpose, the case or request it
serves, for video the authorised person present (R3.4), and for mail and events the period
looked into. That opens a viewing session: a random token the media URLs carry. Every media
request is checked again (the session's owner, the authorisation still active now, the item
inside the session's scope) and leaves an access entry; the session's from–to, count and bytes
grow with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.authorisations import ACTIONS, FieldError, active_for
from kustosz.audit import access_chain
from kustosz.audit import append as audit
from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.custody import Copy, Request, User
from kustosz.db.models import Recording, Source
from kustosz.limits import check_texts

SESSION_HOURS = 4  # a viewing session's URLs stop working after this long
LIVE_SECONDS = 60  # live view reaches only segments this recent (R3.1: no recorded material)
# Actions that open recorded material and so must name the case they serve (R3.2, R3.3).
REVIEWS = ("playback", "listening", "mail", "events", "calls")


class Refused(Exception):
    """The request gets no material (403); ``reason`` is for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Scope:
    sources: list[Source]
    recording: Recording | None = None
    copy: Copy | None = None


def _copy_sources(session: Session, copy: Copy) -> list[Source]:
    names = sorted({str(s.get("name")) for s in copy.sources if s.get("name")})
    return list(session.execute(select(Source).where(Source.name.in_(names))).scalars())


def scope_of(session: Session, vs: ViewingSession) -> Scope:
    if vs.copy_id is not None:
        copy = session.get(Copy, vs.copy_id)
        if copy is None or copy.state != "kept":
            raise Refused("copy gone")
        return Scope(_copy_sources(session, copy), copy=copy)
    if vs.recording_id is not None:
        rec = session.get(Recording, vs.recording_id)
        if rec is None or rec.state != "stored":
            raise Refused("recording gone")
        return Scope([session.get(Source, rec.source_id)], recording=rec)
    source = session.get(Source, vs.source_id) if vs.source_id else None
    if source is None:
        raise Refused("no source")
    return Scope([source])


def open_viewing(session: Session, *, user: User, action: str, client: str,
                 purpose: str | None, case_ref: str | None = None,
                 request_id: int | None = None, witness: str | None = None,
                 source: Source | None = None, recording: Recording | None = None,
                 copy: Copy | None = None, window: tuple[datetime, datetime] | None = None,
                 now: datetime | None = None) -> str | None:
    """The token of a new viewing session; None (with an audit entry) when no active
    authorisation opens the material for this person."""
    now = now or datetime.now(UTC)
    if action not in ACTIONS:
        raise FieldError("action", "Nieznana czynność.")
    check_texts(purpose=purpose, case_ref=case_ref, witness=witness)
    purpose = (purpose or "").strip()
    case_ref = (case_ref or "").strip() or None
    witness = (witness or "").strip() or None
    if action == "live":
        purpose = purpose or "podgląd bieżący — ochrona osób i mienia"
    elif not purpose:
        raise FieldError("purpose", "Podaj cel dostępu.")
    if action in REVIEWS and not case_ref and request_id is None:
        raise FieldError("case_ref", "Podaj sprawę lub numer wniosku, któremu służy dostęp.")
    if request_id is not None and session.get(Request, request_id) is None:
        raise FieldError("request_id", f"Nie ma wniosku nr {request_id}.")
    if action == "playback" and not witness:
        raise FieldError("witness", "Podaj osobę upoważnioną obecną przy przeglądzie "
                                    "(002 zał.5 §7.6).")
    if action in ("mail", "events", "calls") and window is None:
        raise FieldError("from", "Podaj okres, którego dotyczy przegląd.")
    if window is not None and window[1] <= window[0]:
        raise FieldError("to", "Koniec okresu musi być po jego początku.")
    vs = ViewingSession(token_hash="", user_id=user.id, user_name=user.name, action=action,
                        source_id=source.id if source else None,
                        recording_id=recording.id if recording else None,
                        copy_id=copy.id if copy else None,
                        window_start=window[0] if window else None,
                        window_end=window[1] if window else None, purpose=purpose,
                        case_ref=case_ref, request_id=request_id, witness=witness,
                        client=client[:100], started_at=now, last_at=now, served=0,
                        bytes_served=0)
    scope = scope_of_new(session, vs)
    auth = active_for(session, user, action, scope.sources, now)
    if auth is None:
        audit(session, user.name, "access.refused", _what(vs, scope),
              {"action": action, "client": client, "why": "no active authorisation"})
        return None
    token = secrets.token_urlsafe(32)
    vs.token_hash = digest(token)
    vs.authorisation_id = auth.id
    session.add(vs)
    session.flush()
    audit(session, user.name, "access.open", _what(vs, scope), {
        "viewing": vs.id, "action": action, "authorisation": auth.id, "purpose": purpose,
        "case_ref": case_ref, "request": request_id, "witness": witness, "client": client,
        "from": vs.window_start.isoformat() if vs.window_start else None,
        "to": vs.window_end.isoformat() if vs.window_end else None})
    return token


def scope_of_new(session: Session, vs: ViewingSession) -> Scope:
    try:
        return scope_of(session, vs)
    except Refused:
        raise FieldError("source", "Nie ma takiego materiału.") from None


def _what(vs: ViewingSession, scope: Scope) -> str:
    if scope.copy is not None:
        return f"copy {scope.copy.number}"
    if scope.recording is not None:
        return f"recording {scope.recording.id}"
    return f"source {scope.sources[0].name}" if scope.sources else "nothing"


def admit(session: Session, token: str, user: User | None, action: str | None = None,
          now: datetime | None = None) -> tuple[ViewingSession, Scope]:
    """The checks every media request passes, against the state of things now."""
    now = now or datetime.now(UTC)
    if user is None:
        raise Refused("not logged in")
    vs = session.execute(select(ViewingSession).where(
        ViewingSession.token_hash == digest(token))).scalar_one_or_none()
    if vs is None or vs.user_id != user.id:
        raise Refused("unknown viewing session")
    if vs.ended_at is not None or vs.started_at + timedelta(hours=SESSION_HOURS) <= now:
        raise Refused("viewing session over")
    if action is not None and vs.action != action:
        raise Refused(f"viewing session is for {vs.action}, not {action}")
    scope = scope_of(session, vs)
    if active_for(session, user, vs.action, scope.sources, now) is None:
        raise Refused("no active authorisation")
    return vs, scope


def served(session: Session, vs: ViewingSession, what: str, client: str, nbytes: int,
           recording_id: int | None = None, now: datetime | None = None) -> AccessEntry:
    now = now or datetime.now(UTC)
    entry = AccessEntry(viewing_id=vs.id, at=now, what=what[:400], recording_id=recording_id,
                        client=client[:100], bytes=nbytes)
    access_chain.link(session, entry)
    session.add(entry)
    # Read the counters again under the chain's lock that link() took: concurrent requests
    # of one viewing (segments load in parallel) would otherwise overwrite each other's.
    session.refresh(vs)
    vs.last_at = max(vs.last_at, now)
    vs.served += 1
    vs.bytes_served += nbytes
    session.flush()
    return entry


def end_viewing(session: Session, vs: ViewingSession, now: datetime | None = None) -> None:
    if vs.ended_at is None:
        vs.ended_at = now or datetime.now(UTC)
        session.flush()


def recent(session: Session, limit: int = 200) -> list[ViewingSession]:
    return list(session.execute(select(ViewingSession).order_by(
        ViewingSession.id.desc()).limit(limit)).scalars())
