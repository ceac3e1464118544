"""Listening to recorded calls under an office's own rules (001 §1.2, §3.1, §3.3; 004 §4).

One regulation listens "tylko do realizacji celu określonego w §1 ust. 2" [001 §3.1], another
"tylko i wyłącznie w celach wskazanych w § 3 ust. 1" [004 §4.1]: the purpose is one of the
preset's list (``access.listening_purposes``), not free text, and the refusal cites where the
office's own regulation says so (``listening_basis``) and what it says recordings do not serve
(``listening_not_for``: 004 §4.2, "nie stanowi środka kontroli wykonywania pracy przez
pracownika") — never another office's paragraphs. "Ze wszystkich
czynności podjętych w trakcie odsłuchiwania treści nagrania sporządza się protokół" [§3.3]:
where ``access.listening_protocol`` is on, a listening session is not closed without its
protocol, and one that ended without it (its time ran out) is listed as missing it until the
protocol is filed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.access import ListeningProtocol, ViewingSession
from kustosz.errors import FieldError
from kustosz.kinds import Action
from kustosz.policy import Policy


def basis(policy: Policy) -> str:
    """Where the office's regulation states its listening purposes, as it follows "określone
    w" (the locative); an office that listed purposes without saying where: its rules."""
    return policy.access.listening_basis or "zasadach urzędu"


def hint(policy: Policy) -> str:
    """What the start form says under the purposes (Polish)."""
    not_for = policy.access.listening_not_for
    return f"tylko cele określone w {basis(policy)}" + (f"; {not_for}" if not_for else "")


def check_purpose(policy: Policy, action: str, purpose: str | None) -> None:
    """FieldError when a listening states a purpose outside the office's list [001 §3.1;
    004 §4.1-2]."""
    allowed = policy.access.listening_purposes
    if action != "listening" or not allowed:
        return
    if (purpose or "").strip() not in allowed:
        listed = "; ".join(allowed)
        not_for = f" {policy.access.listening_not_for}." if policy.access.listening_not_for \
            else ""
        raise FieldError(
            "purpose", f"a listening serves only one of the purposes the office's regulation "
                       f"states ({basis(policy)}): {listed}.{not_for} Choose one from the list.",
            pl=f"Odsłuchanie rozmowy jest możliwe tylko w jednym z celów określonych w "
               f"{basis(policy)}: {listed}.{not_for} Wybierz cel z listy.")


def has_protocol(session: Session, vs: ViewingSession) -> bool:
    return session.execute(select(ListeningProtocol.id).where(
        ListeningProtocol.viewing_id == vs.id)).first() is not None


def close_refused(session: Session, policy: Policy, vs: ViewingSession) -> str | None:
    """Why ``vs`` may not be closed yet (Polish), or None."""
    if vs.action != Action.LISTENING or not policy.access.listening_protocol \
            or has_protocol(session, vs):
        return None
    return ("Odsłuchania nie można zakończyć bez protokołu — ze wszystkich czynności podjętych "
            "w trakcie odsłuchiwania sporządza się protokół (§3 ust. 3, załącznik nr 2). "
            "Wypełnij i zapisz protokół, a potem zakończ odsłuch.")


def without_protocol(session: Session, policy: Policy) -> list[ViewingSession]:
    """Listening sessions that have no protocol yet, where the office requires one."""
    if not policy.access.listening_protocol:
        return []
    filed = select(ListeningProtocol.viewing_id)
    return list(session.execute(select(ViewingSession).where(
        ViewingSession.action == Action.LISTENING, ViewingSession.id.not_in(filed))
        .order_by(ViewingSession.id)).scalars())
