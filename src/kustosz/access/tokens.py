"""API tokens for automation: made in a browser session, limited to scopes, with an expiry;
listed and revoked by their owner and by the administrator; ended with their owner's
password change, reset, deactivation or role change (`accounts.end_credentials`).
Only a token's SHA-256 is kept: a copy of the database opens nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.agreements import ended
from kustosz.audit import append as audit
from kustosz.db.access import ApiToken
from kustosz.db.custody import User
from kustosz.digests import token_digest as digest
from kustosz.errors import FieldError, InputError, NotFound

PREFIX = "ksz_"
MAX_DAYS = 730
LAST_USED_PRECISION = timedelta(minutes=1)  # no write on every request of a busy script


def state(row: ApiToken, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def create(session: Session, user: User, name: str, scopes: list[str], days: int,
           known_scopes: tuple[str, ...]) -> tuple[str, ApiToken]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise FieldError("name", "Podaj nazwę tokenu (do 100 znaków), np. „skrypt kopii”.")
    bad = [x for x in scopes if x not in known_scopes]
    if not scopes or bad:
        raise FieldError("scopes", f"Nieznany zakres {bad[0]!r}; dostępne: "
                         f"{', '.join(known_scopes)}."
                         if bad else "Wybierz co najmniej jeden zakres tokenu.")
    if not 1 <= days <= MAX_DAYS:
        raise FieldError("days", f"Token może być ważny od 1 do {MAX_DAYS} dni.")
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(token),
                   scopes=sorted(set(scopes)), created_by=user.name, created_at=now,
                   expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit(session, user.name, "token.create", f"token {row.id}",
          {"name": name, "scopes": row.scopes, "days": days})
    return token, row


@dataclass(frozen=True)
class Resolved:
    row: ApiToken
    user: User


def resolve(session: Session, token: str, now: datetime | None = None) -> Resolved | None:
    """The token's row and owner when it may be used now; None otherwise (revoked, expired,
    unknown, or its owner disabled)."""
    now = now or datetime.now(UTC)
    row = session.execute(select(ApiToken).where(
        ApiToken.token_hash == digest(token.strip()))).scalar_one_or_none()
    if row is None or state(row, now) != "active":
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if ended(user, now):  # a contractor's agreement is over [004 §6.3]
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
        session.flush()
    return Resolved(row, user)


def list_tokens(session: Session, user: User | None = None) -> list[tuple[ApiToken, str]]:
    """(token, owner's name), newest first; everyone's when ``user`` is None."""
    q = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id) \
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user is not None:
        q = q.where(ApiToken.user_id == user.id)
    return [(t, n) for t, n in session.execute(q).all()]


def revoke(session: Session, token_id: int, actor: str, only_of: User | None,
           reason: str = "revoked") -> ApiToken:
    """Revoke a token; ``only_of``: the caller may revoke only that person's own tokens
    (anyone's when None: the administrator)."""
    row = session.get(ApiToken, token_id)
    if row is None or (only_of is not None and row.user_id != only_of.id):
        raise NotFound(f"no token {token_id} (see: kustosz tokens list)",
                       pl=f"Nie ma tokenu nr {token_id}.")
    if row.revoked_at is not None:
        raise InputError(f"token {token_id} is already revoked",
                         pl=f"Token nr {token_id} został już unieważniony.")
    row.revoked_at = datetime.now(UTC)
    row.revoke_reason = reason[:200]
    session.flush()
    audit(session, actor, "token.revoke", f"token {row.id}",
          {"name": row.name, "reason": row.revoke_reason})
    return row


def end_all(session: Session, user: User, reason: str, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    rows = list(session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars())
    for row in rows:
        row.revoked_at = now
        row.revoke_reason = reason[:200]
    session.flush()
    return len(rows)
