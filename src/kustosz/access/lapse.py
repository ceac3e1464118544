"""Why the sign-in that admitted a request no longer holds (issue 64 item 2).

A long answer — a live stream, a download — asks the gate again while it runs
(web/media_recheck.py). When the browser session or the API token it came with stops proving
the person, the answer ends and its access record says what ended it: signed out, a password
reset, the account disabled, the roles changed, the token revoked, the sign-in expired. The
reasons are the ones the sign-in's row keeps (`WebSession.end_reason`, `ApiToken.
revoke_reason`, written by `accounts.end_credentials` and the sign-out) or its dates; nothing
here decides whether the sign-in holds — `accounts.session_for` and `tokens.resolve` do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import agreements
from kustosz.access.accounts import IDLE_MINUTES
from kustosz.db.access import ApiToken, WebSession
from kustosz.db.custody import User
from kustosz.digests import token_digest


def of_session(session: Session, cookie: str | None, now: datetime | None = None) -> str:
    """What ended the browser session ``cookie`` carries, in English (the access record)."""
    now = now or datetime.now(UTC)
    row = session.get(WebSession, token_digest(cookie)) if cookie else None
    if row is None:
        return "no sign-in"
    if row.ended_at is not None:
        return f"sign-in ended: {row.end_reason or 'signed out'}"
    return _of_user(session, row.user_id, now) or (
        "sign-in expired" if row.expires_at <= now else
        f"sign-in idle for {IDLE_MINUTES} minutes"
        if row.last_seen_at + timedelta(minutes=IDLE_MINUTES) <= now else "sign-in refused")


def of_token(session: Session, bearer: str, now: datetime | None = None) -> str:
    """What ended the API token ``bearer``, in English."""
    now = now or datetime.now(UTC)
    row = session.execute(select(ApiToken).where(
        ApiToken.token_hash == token_digest(bearer.strip()))).scalar_one_or_none()
    if row is None:
        return "unknown API token"
    if row.revoked_at is not None:
        return f"API token ended: {row.revoke_reason or 'revoked'}"
    if row.expires_at is not None and row.expires_at <= now:
        return "API token expired"
    return _of_user(session, row.user_id, now) or "API token refused"


def _of_user(session: Session, user_id: int, now: datetime) -> str | None:
    user = session.get(User, user_id)
    if user is None:
        return "account removed"
    if not user.active:
        return "account disabled"
    if agreements.ended(user, now):
        return f"contractor's processing agreement {user.contractor_agreement} over"
    return None
