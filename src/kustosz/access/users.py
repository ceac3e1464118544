"""Users and roles (minimal: the people the custody paperwork names).

A role says what a person may be asked to do — decide on a request (approver), sit on the
destruction commission (commission), keep and make copies (custodian), supervise the use of the
recordings from the registers and the access log (supervisor: 001 §4) — never what material
they may open; that is the individual authorisation's job (R3.2), added by the access work.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.accounts import end_credentials
from kustosz.access.contractors import agreement_problems
from kustosz.audit import append as audit
from kustosz.collation import person_key
from kustosz.db.custody import User
from kustosz.errors import FieldError, InputError, NotFound

# What each role means, said after its short label ("zatwierdzający — kierownik jednostki…"):
# it never repeats the label and has no brackets of its own, so the two read as one phrase.
ROLES: dict[str, str] = {
    "administrator": "konta, stanowiska i ustawienia systemu (dział IT)",
    "dpo": "Inspektor Ochrony Danych",
    "approver": "kierownik jednostki lub zastępca, decyduje o udostępnieniu nagrań",
    "operator": "podgląd bieżący kamer",
    "viewer": "przegląd nagrań, tylko z upoważnieniem",
    "auditor": "wgląd w rejestry i listy, bez zmian",
    "custodian": "sporządzanie i przechowywanie kopii",
    "commission": "członek komisji niszczącej kopie",
    # 001 §4 (the Sekretarz Miasta), 002 zał.5 §1 ust. 4 (the DPO); R6.3: reports, no material
    "supervisor": "nadzór nad wykorzystaniem, odsłuchiwaniem, udostępnianiem i "
                  "przechowywaniem nagrań, np. Sekretarz Miasta; rejestry i rejestr dostępu, "
                  "bez dostępu do nagrań",
}
# Short labels for where space is tight (the page header); ROLES above says what each means.
ROLE_SHORT: dict[str, str] = {
    "administrator": "administrator", "dpo": "IOD", "approver": "zatwierdzający",
    "operator": "operator", "viewer": "przeglądający", "auditor": "kontrola",
    "custodian": "kopie", "commission": "komisja", "supervisor": "nadzorujący",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}\Z")


def new_user_problems(session: Session, name: str, display_name: str,
                      roles: list[str], contractor: bool = False,
                      contractor_agreement: str | None = None,
                      contractor_until: date | None = None,
                      position: str | None = None) -> list[FieldError]:
    """Everything wrong with a new user's details, one error per field (a form shows them all
    at once; ``add_user`` refuses with the first). A maintenance contractor needs the
    processing agreement and its last day [004 §6.3]."""

    problems = []
    if not (name or "").strip():
        problems.append(FieldError("name", "give the user name (login)",
                                   pl="Podaj nazwę użytkownika (login)."))
    elif not _NAME.match(name):
        problems.append(FieldError(
            "name", f"user name {name!r} must be 1-100 lower-case letters, digits, '.', '_' "
                    "or '-'",
            pl=f"Login „{name}” może mieć 1–100 znaków: małe litery bez polskich znaków, cyfry, "
               "„.”, „_” lub „-” (np. jan.kowalski)."))
    elif session.execute(select(User.id).where(User.name == name)).first():
        problems.append(FieldError("name", f"a user named {name!r} already exists",
                                   pl=f"Użytkownik o loginie {name} już istnieje."))
    if not (display_name or "").strip():
        problems.append(FieldError(
            "display_name", "a user needs a display name (imię i nazwisko) for the documents",
            pl="Podaj imię i nazwisko — pojawiają się w dokumentach."))
    if not roles:
        problems.append(FieldError("roles", f"give at least one --role ({', '.join(ROLES)})",
                                   pl="Wybierz co najmniej jedną rolę."))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        problems.append(FieldError(
            "roles", f"unknown role {unknown[0]!r}; known roles: {', '.join(ROLES)}",
            pl=f"Nieznana rola „{unknown[0]}”; dostępne: {', '.join(ROLES)}."))
    if len(position or "") > 200:
        problems.append(FieldError("position", "Stanowisko może mieć najwyżej 200 znaków."))
    if contractor or contractor_agreement or contractor_until:
        problems += agreement_problems(contractor_agreement, contractor_until)
    return problems


def add_user(session: Session, name: str, display_name: str, roles: list[str], actor: str,
             title: str | None = None, position: str | None = None,
             contractor_agreement: str | None = None,
             contractor_until: date | None = None, contractor: bool = False) -> User:
    problems = new_user_problems(session, name, display_name, roles, contractor,
                                 contractor_agreement, contractor_until, position)
    if problems:
        raise problems[0]
    display = display_name.strip()
    agreement = (contractor_agreement or "").strip() or None
    user = User(name=name, display_name=display, title=(title or "").strip() or None,
                position=(position or "").strip() or None, contractor_agreement=agreement,
                contractor_until=contractor_until if agreement else None,
                roles=sorted(set(roles)), active=True, created_at=datetime.now(UTC))
    session.add(user)
    session.flush()
    details: dict[str, object] = {"roles": user.roles, "title": user.title}
    if user.position:
        details["position"] = user.position
    if agreement:
        details["contractor"] = {"agreement": agreement,
                                 "until": user.contractor_until.isoformat()
                                 if user.contractor_until else None}
    audit(session, actor, "user.add", name, details)
    return user


def set_position(session: Session, name: str, position: str | None, actor: str) -> User:
    """Record a person's new position (stanowisko). Where the preset lists the positions that
    may view recordings [003 §3.4], an authorisation issued for the old position opens nothing
    from now on (kustosz.access.authorisations.active_for)."""
    user = get_user(session, name)
    new = (position or "").strip() or None
    if new is not None and len(new) > 200:
        raise FieldError("position", "Stanowisko może mieć najwyżej 200 znaków.")
    if new == user.position:
        raise InputError(f"user {name!r} already holds this position",
                         pl=f"Użytkownik {name} zajmuje już to stanowisko.")
    before = user.position
    user.position = new
    session.flush()
    audit(session, actor, "user.position", name, {"before": before, "after": new})
    return user


def get_user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {name!r} (see: kustosz users list)",
                       pl=f"Nie ma użytkownika {name}.")
    return user


def require_role(session: Session, name: str, role: str, doing: str) -> User:
    """The named, active user holding ``role``; otherwise a clear refusal."""
    user = get_user(session, name)
    if not user.active:
        raise InputError(f"user {name!r} is not active and cannot {doing}",
                         pl=f"Konto użytkownika {name} jest wyłączone.")
    if role not in user.roles:
        raise InputError(f"user {name!r} does not have the {role} role needed to {doing}",
                         pl=f"Użytkownik {name} nie ma potrzebnej roli: "
                            f"{ROLE_SHORT.get(role, role)} — {ROLES.get(role, role)}.")
    return user


def list_users(session: Session) -> list[User]:
    """Every account, as people are listed: by surname in Polish order (then the login)."""
    return sorted(session.execute(select(User)).scalars(),
                  key=lambda u: (person_key(u.display_name), u.name))


def printed(session: Session, name: str) -> str:
    """How a user is named on a document: display name, and title where known."""
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        return name
    return f"{user.display_name}, {user.title}" if user.title else user.display_name


def _active_admins(session: Session) -> list[User]:
    return [u for u in list_users(session) if u.active and "administrator" in u.roles]


def set_active(session: Session, name: str, active: bool, actor: str) -> User:
    """Disable (or enable again) a person's account. A disabled person's sessions and API
    tokens end at once; their name stays on every document and register they appear in."""

    user = get_user(session, name)
    if user.active == active:
        raise InputError(f"user {name!r} is already {'enabled' if active else 'disabled'}",
                         pl=f"Konto {name} jest już {'włączone' if active else 'wyłączone'}.")
    if not active and "administrator" in user.roles and \
            [u.id for u in _active_admins(session)] == [user.id]:
        raise InputError(f"{name!r} is the only active administrator; enable or appoint "
                         "another administrator first",
                         pl=f"{name} jest jedynym aktywnym administratorem — najpierw nadaj "
                            "rolę administratora komuś innemu.")
    user.active = active
    session.flush()
    ended = {} if active else end_credentials(session, user, "account disabled")
    audit(session, actor, "user.enable" if active else "user.disable", name, ended)
    return user


def set_roles(session: Session, name: str, roles: list[str], actor: str) -> User:
    """Replace a person's roles. What proved the old roles (sessions, API tokens) ends."""

    user = get_user(session, name)
    if actor == name:
        raise InputError("nobody changes their own roles; ask another administrator",
                         pl="Nikt nie zmienia własnych ról — poproś o to innego "
                            "administratora.")
    wanted = sorted(set(roles))
    if not wanted:
        raise InputError(f"give at least one role ({', '.join(ROLES)})",
                         pl="Wybierz co najmniej jedną rolę.")
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise InputError(f"unknown role {unknown[0]!r}; known roles: {', '.join(ROLES)}",
                         pl=f"Nieznana rola „{unknown[0]}”; dostępne: {', '.join(ROLES)}.")
    if wanted == sorted(user.roles):
        raise InputError(f"user {name!r} already has exactly these roles",
                         pl=f"Użytkownik {name} ma już dokładnie te role.")
    if "administrator" in user.roles and "administrator" not in wanted and user.active and \
            [u.id for u in _active_admins(session)] == [user.id]:
        raise InputError(f"{name!r} is the only active administrator; appoint another "
                         "administrator before taking the role away",
                         pl=f"{name} jest jedynym aktywnym administratorem — najpierw nadaj "
                            "rolę administratora komuś innemu.")
    before = list(user.roles)
    user.roles = wanted
    session.flush()
    ended = end_credentials(session, user, "roles changed")
    audit(session, actor, "user.roles", name, {"before": before, "after": wanted, **ended})
    return user
