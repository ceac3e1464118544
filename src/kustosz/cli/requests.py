"""users, requests (add, list, show, decide)."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import typer
from rich.table import Table

from kustosz.access.users import ROLES, add_user, list_users
from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
    parse_time,
)
from kustosz.custody.answer_deadline import deadline_of, extend
from kustosz.custody.decisions import decide, decision_of, decisions_of
from kustosz.custody.requests import (
    KINDS,
    RequestSpec,
    get_request,
    list_requests,
    material_count,
    register_request,
)
from kustosz.db.custody import Request
from kustosz.errors import FieldError, InputError, NotFound
from kustosz.states import RequestStatus
from kustosz.vault import Vault

users_app = typer.Typer(no_args_is_help=True, help="People: accounts, roles, passwords, sign-in.")
requests_app = typer.Typer(no_args_is_help=True,
                           help="Requests (wnioski): register with auto-hold, decide.")


def parse_day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date (YYYY-MM-DD)",
                         pl=f"{what} „{text}” nie jest datą (RRRR-MM-DD).") from None


@fails_cleanly
def users_add(name: str, display: str = typer.Option(..., "--display",
                                                      help="Full name as printed."),
              role: list[str] = typer.Option(None, "--role",
                                             help=f"Repeatable: {', '.join(ROLES)}."),
              title: str = typer.Option(None, "--title", help="Position (stanowisko)."),
              position: str = typer.Option(None, "--position",
                                           help="The position as the preset lists it "
                                                "(access.positions, 003 §3.4)."),
              agreement: str = typer.Option(None, "--contractor-agreement",
                                            help="A maintenance contractor: the processing "
                                                 "agreement's reference (004 §6.3)."),
              until: str = typer.Option(None, "--contractor-until",
                                        help="The agreement's last day (YYYY-MM-DD).")) -> None:
    """Add a user (approver, commission member, custodian, …)."""
    from kustosz.access import accounts, passwords
    from kustosz.access.contractors import parse_day

    last_day = parse_day(until, "contractor_until")
    # As the users page does: the account gets a one-time password, shown here once (never
    # logged; the audit log records only that one was set), changed at the first sign-in.
    # Without one the new person could not sign in until someone thought of `users reset`.
    password = passwords.one_time_password()
    with open_vault() as vault, vault.transaction() as s:
        user = add_user(s, name, display, list(role or []), actor(), title=title,
                        position=position, contractor_agreement=agreement,
                        contractor_until=last_day,
                        contractor=agreement is not None or until is not None)
        accounts.set_password(s, user, password, actor(), one_time=True, check=False)
    console.print(f"Dodano użytkownika {name}. Hasło jednorazowe (pokazane tylko teraz; "
                  f"przy pierwszym logowaniu trzeba je zmienić): {password}\n"
                  f"user {name} added; one-time password (shown only now; it must be changed "
                  f"at the first login): {password}\n"
                  f"Gdy hasło zaginie, nowe da: kustosz users reset {name} "
                  f"(if it is lost: kustosz users reset {name})", soft_wrap=True, markup=False,
                  highlight=False)


class ContractorRow(TypedDict):
    agreement: str
    until: str | None


class UserRow(TypedDict):
    """One line of `users list` (its --json object)."""

    name: str
    display_name: str
    title: str | None
    roles: list[str]
    active: bool
    position: str | None
    contractor: ContractorRow | None


@fails_cleanly
def users_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users and their roles."""
    with open_vault() as vault, vault.reading() as s:
        rows: list[UserRow] = [
            {"name": u.name, "display_name": u.display_name, "title": u.title,
             "roles": u.roles, "active": u.active, "position": u.position,
             "contractor": {"agreement": u.contractor_agreement,
                            "until": u.contractor_until.isoformat()
                            if u.contractor_until else None}
             if u.contractor_agreement else None} for u in list_users(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "display name", "title", "roles", "active")
    for r in rows:
        table.add_row(r["name"], r["display_name"], r["title"] or "—", ", ".join(r["roles"]),
                      "yes" if r["active"] else "no")
    console.print(table)


@fails_cleanly
def requests_add(
    kind: str = typer.Option(..., "--kind", help=f"One of: {', '.join(KINDS)}."),
    material: str = typer.Option(..., "--material", help="video, calls, mail or events."),
    requester: str = typer.Option(..., "--requester", help="Requester's data (name, address)."),
    contact: str = typer.Option(None, "--contact", help="Phone or e-mail of the requester."),
    received: str = typer.Option(None, "--received", help="Date lodged, YYYY-MM-DD (today)."),
    event_date: str = typer.Option(..., "--date", help="Exact date of the event, YYYY-MM-DD."),
    approx_time: str = typer.Option(None, "--time", help="Approximate time, HH:MM (local)."),
    start: str = typer.Option(None, "--from", help="Window start, ISO time with zone."),
    end: str = typer.Option(None, "--to", help="Window end, ISO time with zone."),
    place: str = typer.Option(None, "--place", help="SITE or SITE/ZONE (video)."),
    camera: list[str] = typer.Option(None, "--camera", help="Camera source; repeatable."),
    caller: str = typer.Option(None, "--caller", help="Calling number (calls)."),
    callee: str = typer.Option(None, "--callee", help="Called number (calls)."),
    source: list[str] = typer.Option(None, "--source",
                                     help="Mailbox or endpoint source (mail, events); "
                                          "repeatable. Default: all of the kind."),
    who: str = typer.Option(None, "--who", help="Person, address (mail) or host, user "
                                                "(events) the copy is narrowed to."),
    description: str = typer.Option(None, "--description", help="Description of the event."),
    purpose: str = typer.Option(None, "--purpose", help="Purpose (cel uzyskania nagrania)."),
    case_ref: str = typer.Option(None, "--case", help="Case reference of the authority."),
    delivery: str = typer.Option(None, "--delivery",
                                 help="A data subject's choice how to receive the copy: "
                                      "in_person, post or electronic (art. 15 ust. 3 RODO)."),
    margin: int = typer.Option(None, "--margin",
                               help="Minutes held either side of the time or window "
                                    "(default: custody.hold_margin_minutes in kustosz.toml)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register a request; its material is held at once (R2.4, R4.2)."""
    with open_vault() as vault:
        today = vault.now().astimezone(vault.policy.timezone).date()
        spec = RequestSpec(
            kind=kind, material=material, requester=requester, contact=contact,
            received_on=parse_day(received, "--received") or today,
            event_date=parse_day(event_date, "--date") or today, purpose=purpose or "",
            approx_time=approx_time, start=parse_time(start, "--from") if start else None,
            end=parse_time(end, "--to") if end else None, place=place,
            cameras=list(camera or []), caller=caller, callee=callee,
            sources=list(source or []), who=who,
            description=description, case_ref=case_ref, delivery=delivery,
            margin_minutes=vault.config.hold_margin_minutes if margin is None else margin)
        with vault.transaction() as s:
            req = register_request(s, vault.policy, spec, actor())
            row = _row(vault, req)
    if as_json:
        emit_json(row)
        return
    if req.status == RequestStatus.REFUSED:
        console.print(f"request {req.id} registered as REFUSED: {req.status_reason}")
        return
    console.print(f"request {req.id} registered; material held (hold {req.hold_id})")
    if req.warning:
        console.print(f"[yellow]warning:[/] {req.warning}", markup=True)


def _row(vault: Vault, req: Request) -> dict[str, object]:
    return {"id": req.id, "kind": req.kind, "material": req.material,
            "requester": req.requester, "received_on": req.received_on.isoformat(),
            "event_date": req.event_date.isoformat(), "place": req.place, "who": req.who,
            "sources": req.sources, "caller": req.caller, "callee": req.callee,
            "from": req.start_at.astimezone(vault.policy.timezone).isoformat(),
            "to": req.end_at.astimezone(vault.policy.timezone).isoformat(),
            "items": req.items, "purpose": req.purpose, "description": req.description,
            "status": req.status, "reason": req.status_reason, "late": req.late,
            "warning": req.warning, "hold": req.hold_id, "case_ref": req.case_ref,
            "delivery": req.delivery, "no_data_on": req.no_data_on.isoformat()
            if req.no_data_on else None,
            **_deadline(vault, req)}


def _deadline(vault: Vault, req: Request) -> dict[str, object]:
    """A data subject's answer deadline (art. 12 ust. 3 RODO); nothing for other kinds."""
    with vault.reading() as s:
        d = deadline_of(s, req, vault.policy.timezone)
    if d is None:
        return {}
    return {"answer_due": d.due.isoformat(),
            "extended_on": d.extended_on.isoformat() if d.extended_on else None,
            "extension_reason": req.extension_reason,
            "answered_on": d.answered_on.isoformat() if d.answered_on else None}


@fails_cleanly
def requests_list(status: str = typer.Option(None, "--status"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """List requests."""
    with open_vault() as vault, vault.reading() as s:
        reqs = list_requests(s, status)
        rows = [_row(vault, r) for r in reqs]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "kind", "material", "requester", "received", "event", "status", "hold")
    for r in rows:
        table.add_row(str(r["id"]), str(r["kind"]), str(r["material"]), str(r["requester"]),
                      str(r["received_on"]), str(r["event_date"]), str(r["status"]),
                      str(r["hold"] or "—"))
    console.print(table)


@fails_cleanly
def requests_show(request_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one request, its decision and how much material it points to now."""
    with open_vault() as vault, vault.reading() as s:
        req = get_request(s, request_id)
        row = _row(vault, req)
        row["material_found"] = material_count(s, req)
        rows = [{"agree": d.agree, "by": d.decided_by, "capacity": d.capacity,
                 "on": d.decided_on.isoformat(), "reason": d.reason, "keyed_by": d.keyed_by,
                 "recorded_by": d.recorded_by, "paper_ref": d.paper_ref}
                for d in decisions_of(s, req.id)]
        settled = decision_of(s, req.id)
        row["decision"] = None if settled is None else \
            next(r for r in rows if r["capacity"] == settled.capacity)
        row["decisions"] = rows  # each position's, with approval "all"
        registered = local(req.registered_at, vault)
        shown = {**row, "from": local(req.start_at, vault), "to": local(req.end_at, vault)}
    if as_json:
        emit_json(row)
        return
    for key, value in shown.items():
        console.print(f"{key:>15}: {value}")
    console.print(f"{'registered':>15}: {registered}")


@fails_cleanly
def requests_decide(request_id: int,
                    agree: bool = typer.Option(None, "--agree/--refuse",
                                               help="Wyrażam zgodę / nie wyrażam zgody."),
                    by: str = typer.Option(..., "--by", help="The approver (user name)."),
                    on: str = typer.Option(None, "--on", help="Date of the decision (today)."),
                    position: str = typer.Option(
                        None, "--as", help="The position deciding: head, deputy or a key of "
                                           "the policy's [positions] ([disclosure] approvers)."),
                    deputy: bool = typer.Option(False, "--deputy",
                                                help="The deputy decides (--as deputy)."),
                    reason: str = typer.Option(None, "--reason"),
                    paper_ref: str = typer.Option(
                        None, "--paper-ref",
                        help="Reference of the paper document the decision was taken on "
                             "(required here: the command line has no approver's account).")
                    ) -> None:
    """Record the approver's decision, taken on paper, on a request (R4.1)."""
    if agree is None:
        raise InputError("give --agree or --refuse",
                         pl="Podaj --agree albo --refuse.")
    if deputy and position not in (None, "deputy"):
        raise InputError(f"--deputy is --as deputy; it contradicts --as {position}",
                         pl=f"--deputy oznacza --as deputy — nie łączy się z --as {position}.")
    with open_vault() as vault, vault.transaction() as s:
        today = vault.now().astimezone(vault.policy.timezone).date()
        try:
            # keyed_by None: whoever runs the command line is not the approver's account.
            decide(s, vault.policy, request_id, by=by, agree=agree,
                   on=parse_day(on, "--on") or today, actor=actor(), keyed_by=None,
                   paper_ref=paper_ref, capacity=position, deputy=deputy, reason=reason)
            status = get_request(s, request_id).status
        except FieldError as exc:
            raise InputError(f"{exc} [--{exc.field.replace('_', '-')}]",
                             pl=f"{exc.pl} [--{exc.field.replace('_', '-')}]") from None
    waits = agree and status == RequestStatus.REGISTERED  # approval "all": others to agree
    console.print(f"request {request_id}: {'agreed' if agree else 'refused'}"
                  + ("; awaiting the other approvers' decisions" if waits else "")
                  + (f" (decision on paper {paper_ref.strip()})" if paper_ref else ""))


@fails_cleanly
def requests_extend(request_id: int,
                    reason: str = typer.Option(
                        ..., "--reason", help="Why: the request's complexity or the number of "
                                              "requests (told to the data subject)."),
                    on: str = typer.Option(None, "--on",
                                           help="Day the data subject was told (today)."),
                    by: str = typer.Option(
                        ..., "--by", help="Who signs the notice: the office's user name (the "
                                          "command line's login is not a person of the "
                                          "office).")
                    ) -> None:
    """Extend a data subject's answer deadline by two months (art. 12 ust. 3 RODO)."""
    from kustosz.access.users import get_user

    with open_vault() as vault, vault.transaction() as s:
        today = vault.now().astimezone(vault.policy.timezone).date()
        try:
            signer = get_user(s, by.strip())
        except NotFound:
            raise InputError(f"no user named {by!r} signs the notice [--by] (see: kustosz "
                             "users list)",
                             pl=f"Nie ma użytkownika {by}, który mógłby podpisać zawiadomienie "
                                "[--by] (wykaz: kustosz users list).") from None
        if not signer.active:
            raise InputError(f"user {signer.name!r} is deactivated and cannot sign the notice "
                             "[--by]",
                             pl=f"Użytkownik {signer.name} jest nieaktywny — nie może podpisać "
                                "zawiadomienia [--by].")
        try:
            d = extend(s, vault.policy.timezone, request_id, reason=reason,
                       on=parse_day(on, "--on") or today, by=signer.name, actor=actor(),
                       today=today)
        except FieldError as exc:
            raise InputError(f"{exc} [--{exc.field.replace('_', '-')}]",
                             pl=f"{exc.pl} [--{exc.field.replace('_', '-')}]") from None
    console.print(f"request {request_id}: answer due {d.due.isoformat()} "
                  f"(extended; the data subject was told on {d.extended_on})")


@fails_cleanly
def requests_no_data(request_id: int,
                     by: str = typer.Option(..., "--by",
                                            help="Who signs the answer: the office's user name "
                                                 "(custodian, administrator or approver)."),
                     on: str = typer.Option(None, "--on", help="Day of the answer (today).")
                     ) -> None:
    """Answer a data subject that no data of theirs are processed (art. 15 ust. 1 RODO):
    nothing of theirs is stored any more; the request is answered and its hold released."""
    from kustosz.custody.no_data import answer_no_data

    with open_vault() as vault, vault.transaction() as s:
        today = vault.now().astimezone(vault.policy.timezone).date()
        try:
            req = answer_no_data(s, vault.policy, request_id, by=by.strip(),
                                 on=parse_day(on, "--on") or today, actor=actor(),
                                 now=vault.now())
        except FieldError as exc:
            raise InputError(f"{exc} [--{exc.field.replace('_', '-')}]",
                             pl=f"{exc.pl} [--{exc.field.replace('_', '-')}]") from None
        day = req.no_data_on
    assert day is not None
    console.print(f"Żądanie nr {request_id}: odpowiedziano {day.strftime('%d.%m.%Y')}, że nie "
                  "przetwarzamy danych tej osoby; zabezpieczenie zwolniono. Odpowiedź: kustosz "
                  f"documents render answer-letter --request {request_id}\n"
                  f"request {request_id}: answered on {day.isoformat()} that no data of the "
                  "person are processed; its hold is released", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    requests_app.command("add")(requests_add)
    requests_app.command("list")(requests_list)
    requests_app.command("show")(requests_show)
    requests_app.command("decide")(requests_decide)
    requests_app.command("extend")(requests_extend)
    requests_app.command("no-data")(requests_no_data)
    app.add_typer(users_app, name="users")
    app.add_typer(requests_app, name="requests")
