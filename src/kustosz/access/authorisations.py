"""Individual authorisations (upoważnienia, R3.2): what actually opens material.

A role only makes a person eligible for an action; the authorisation names the holder, the
scope (sources or source kinds × actions), the approver who issued it and its dates. Expired,
revoked, not yet valid, or held by someone no longer eligible, it opens nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import contractors
from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.db.access import Authorisation
from kustosz.db.custody import User
from kustosz.db.models import Source
from kustosz.errors import FieldError, InputError
from kustosz.kinds import KINDS, by_action
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.policy.model import Duties
from kustosz.states import AuthorisationState

ACTIONS: dict[str, str] = {
    "live": "podgląd bieżący (obraz z kamer na żywo)",
    "playback": "odtwarzanie (przegląd) nagrań",
    "listening": "odsłuch nagrań rozmów telefonicznych",
    "calls": "przegląd wykazu rozmów telefonicznych (numery, czas i długość połączeń)",
    "export": "pobranie kopii nagrania",
    "mail": "przegląd danych z monitoringu poczty elektronicznej (metadane wiadomości)",
    "events": "przegląd zdarzeń z monitoringu aktywności w systemach informatycznych",
}
# Each kind of source as an authorisation lists it ("wszystkie kamery"), from the registry.
SOURCE_KINDS: dict[str, str] = {k.name.value: k.sources_pl for k in KINDS.values()}
# Which roles make a person eligible for which action (DESIGN: People and language).
ELIGIBLE: dict[str, frozenset[str]] = {
    "live": frozenset({"operator", "viewer"}),
    "playback": frozenset({"viewer", "dpo", "approver"}),
    "listening": frozenset({"viewer", "dpo", "approver"}),
    # Who phoned whom, when and for how long is personal data in itself; it is a separate
    # action from hearing the call, so the register can be opened without the recordings.
    "calls": frozenset({"viewer", "dpo", "approver"}),
    "export": frozenset({"custodian", "administrator"}),
    # Mail and IT-activity data are reviewed by the same people who review recordings; the
    # security operators watching the cameras have no business in anyone's correspondence.
    "mail": frozenset({"viewer", "dpo", "approver"}),
    "events": frozenset({"viewer", "dpo", "approver"}),
}
# What each action may open. Mail and events are separate actions so that an authorisation
# to look into security events does not open correspondence (Kodeks pracy art. 22³).
# (kustosz.kinds: each kind lists the actions that open it.)
ACTION_KINDS: dict[str, frozenset[str]] = {
    a: frozenset(k.value for k in by_action(a)) for a in ACTIONS}


def eligible(user: User, action: str) -> bool:
    return user.active and bool(set(user.roles) & ELIGIBLE.get(action, frozenset()))


def state(a: Authorisation, now: datetime | None = None) -> AuthorisationState:
    now = now or datetime.now(UTC)
    if a.revoked_at is not None:
        return AuthorisationState.REVOKED
    if now < a.valid_from:
        return AuthorisationState.FUTURE
    if now >= a.valid_to:
        return AuthorisationState.EXPIRED
    return AuthorisationState.ACTIVE


STATES_PL = {"active": "obowiązuje", "revoked": "odwołane", "future": "jeszcze nie obowiązuje",
             "expired": "wygasło"}


def issue(session: Session, *, holder: str, actions: list[str], sources: list[str],
          source_kinds: list[str], valid_from: datetime | None, valid_to: datetime | None,
          by: str, actor: str, basis: str | None = None, policy: Policy | None = None,
          now: datetime | None = None) -> Authorisation:
    """Checks everything before writing; ``policy`` carries the office's separation of
    duties (without one, the safe defaults apply)."""
    now = now or datetime.now(UTC)
    duties = policy.duties if policy is not None else Duties()
    tz = policy.timezone if policy is not None else contractors.OFFICE_TZ
    check_texts(basis=basis)
    user = session.execute(select(User).where(User.name == (holder or "").strip())) \
        .scalar_one_or_none()
    if user is None:
        raise FieldError("holder", "Nie ma takiego użytkownika.")
    if not actions:
        raise FieldError("actions", "Wybierz co najmniej jedną czynność.")
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown:
        raise FieldError("actions", f"Nieznana czynność: {unknown[0]}.")
    for action in actions:
        if not eligible(user, action):
            raise FieldError("actions", f"Rola użytkownika {user.name} nie pozwala upoważnić "
                                        f"go do czynności: {ACTIONS[action]}.")
    if not sources and not source_kinds:
        raise FieldError("sources", "Wskaż źródła albo rodzaje źródeł.")
    bad_kind = [k for k in source_kinds if k not in SOURCE_KINDS]
    if bad_kind:
        raise FieldError("source_kinds", f"Nieznany rodzaj źródła: {bad_kind[0]}.")
    known = set(session.execute(select(Source.name).where(Source.name.in_(sources))).scalars())
    missing = [n for n in sources if n not in known]
    if missing:
        raise FieldError("sources", f"Nie ma źródła o nazwie {missing[0]}.")
    # An authorisation that could open nothing it names is a mistake on the form (e.g. mail
    # review over cameras); saying so now beats a refusal later at the viewing station.
    opened = set().union(*(ACTION_KINDS[a] for a in actions))
    for kind in source_kinds:
        if kind not in opened:
            raise FieldError("source_kinds", f"Żadna z wybranych czynności nie dotyczy "
                                             f"rodzaju: {SOURCE_KINDS[kind]}.")
    kinds_of = dict(session.execute(select(Source.name, Source.kind)
                                    .where(Source.name.in_(sources))).all())
    for name in sources:
        if kinds_of[name] not in opened:
            raise FieldError("sources", f"Żadna z wybranych czynności nie dotyczy źródła "
                                        f"{name}.")
    if valid_from is None:
        raise FieldError("valid_from", "Podaj datę początku obowiązywania.")
    if valid_to is None:
        raise FieldError("valid_to", "Podaj datę końca obowiązywania.")
    if valid_to <= valid_from:
        raise FieldError("valid_to", "Koniec obowiązywania musi być po jego początku.")
    try:
        require_role(session, by, "approver", "issue authorisations")
    except InputError:
        raise FieldError("issued_by", "Upoważnienie wydaje kierownik jednostki lub zastępca "
                                      "(rola: approver).") from None
    listed = policy.access.positions if policy is not None else ()
    if listed and user.position not in listed:
        held = f"zajmuje stanowisko: {user.position}" if user.position else \
            "nie ma wpisanego stanowiska"
        raise FieldError("holder", f"{user.display_name} ({user.name}) {held}. Z nagraniami "
                                   "mogą zapoznawać się tylko osoby na stanowiskach: "
                                   f"{', '.join(listed)} (access.positions; regulamin "
                                   "monitoringu, 003 §3 ust. 4).")
    if contractors.is_contractor(user):
        if contractors.ended(user, now, tz):
            raise FieldError("holder", contractors.ended_pl(user))
        assert user.contractor_until is not None
        last = user.contractor_until
        if valid_to > _midnight_after(last, tz):
            raise FieldError("valid_to", f"Upoważnienie konserwatora nie może obowiązywać "
                                         f"dłużej niż umowa powierzenia nr "
                                         f"{user.contractor_agreement} (do "
                                         f"{last:%d.%m.%Y}; 004 §6.3).")
    if duties.no_self_authorisation and user.name == by:
        raise FieldError("holder", "Nie można wydać upoważnienia samemu sobie — upoważnienie "
                                   "dla tej osoby musi wydać inny zatwierdzający "
                                   "(policy.duties.no_self_authorisation).")
    auth = Authorisation(holder_id=user.id, sources=sorted(set(sources)),
                         source_kinds=sorted(set(source_kinds)), actions=sorted(set(actions)),
                         basis=(basis or "").strip() or None, issued_by=by, issued_at=now,
                         valid_from=valid_from, valid_to=valid_to,
                         position=user.position if listed else None)
    session.add(auth)
    session.flush()
    audit(session, actor, "authorisation.issue", f"authorisation {auth.id}", {
        "holder": user.name, "actions": auth.actions, "sources": auth.sources,
        "source_kinds": auth.source_kinds, "from": valid_from.isoformat(),
        "to": valid_to.isoformat(), "by": by})
    return auth


def revoke(session: Session, auth_id: int, by: str, reason: str, actor: str,
           now: datetime | None = None) -> Authorisation:
    auth = session.get(Authorisation, auth_id)
    if auth is None:
        raise InputError(f"no authorisation {auth_id}",
                         pl=f"Nie ma upoważnienia nr {auth_id}.")
    if auth.revoked_at is not None:
        raise InputError(f"authorisation {auth_id} is already revoked",
                         pl=f"Upoważnienie nr {auth_id} zostało już odwołane.")
    check_texts(reason=reason)
    if not (reason or "").strip():
        raise FieldError("reason", "Podaj powód odwołania.")
    auth.revoked_at = now or datetime.now(UTC)
    auth.revoked_by = by
    auth.revoke_reason = reason.strip()
    session.flush()
    audit(session, actor, "authorisation.revoke", f"authorisation {auth_id}",
          {"by": by, "reason": auth.revoke_reason})
    return auth


def covers(a: Authorisation, action: str, source: Source) -> bool:
    return (action in a.actions and source.kind in ACTION_KINDS[action]
            and (source.name in a.sources or source.kind in a.source_kinds))


def active_for(session: Session, user: User, action: str, sources: list[Source],
               now: datetime | None = None) -> Authorisation | None:
    """An active authorisation of ``user`` covering ``action`` on every one of ``sources``."""
    now = now or datetime.now(UTC)
    if not sources or not eligible(user, action) or contractors.ended(user, now):
        return None
    rows = session.execute(select(Authorisation).where(
        Authorisation.holder_id == user.id, Authorisation.revoked_at.is_(None),
        Authorisation.valid_from <= now, Authorisation.valid_to > now)
        .order_by(Authorisation.id)).scalars()
    for a in rows:
        if position_changed(a, user):
            continue
        if all(covers(a, action, s) for s in sources):
            return a
    return None


def position_changed(a: Authorisation, user: User) -> bool:
    """An authorisation issued for a listed position [003 §3.4] opens nothing once its holder
    holds another position."""
    return a.position is not None and a.position != user.position


def _midnight_after(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def list_authorisations(session: Session, holder: User | None = None) -> list[Authorisation]:
    query = select(Authorisation).order_by(Authorisation.id.desc())
    if holder is not None:
        query = query.where(Authorisation.holder_id == holder.id)
    return list(session.execute(query).scalars())


def scope_pl(a: Authorisation) -> str:
    what = ", ".join(ACTIONS[x] for x in a.actions)
    where = ", ".join([*(f"źródło {n}" for n in a.sources),
                       *(f"wszystkie {SOURCE_KINDS[k]}" for k in a.source_kinds)])
    return f"{what} — {where}"
