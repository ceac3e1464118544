"""Administration: users and roles, individual authorisations (issued by the approver,
printable as 004 annex 1), the workstation allow-list, listening protocols (001 annex 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from kustosz.access import accounts, allowlist, contractors, directory, passwords, throttle, unlock
from kustosz.access import authorisations as auths
from kustosz.access.records import with_witness
from kustosz.access.users import (
    ROLES,
    add_user,
    get_user,
    list_users,
    new_user_problems,
    printed,
    set_active,
    set_position,
    set_roles,
)
from kustosz.audit import append as audit
from kustosz.custody import commission
from kustosz.custody.actions import record_action
from kustosz.custody.papers import authorisation_doc_data, blank
from kustosz.db.access import Account, Authorisation, ListeningProtocol
from kustosz.db.calls import Call
from kustosz.db.custody import User
from kustosz.db.models import Source
from kustosz.documents import render
from kustosz.errors import FieldError, InputError, KustoszError, NotFound
from kustosz.kinds import SourceKind
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.forms import by_field
from kustosz.web.gate import gate
from kustosz.web.media import Blocked, guard, refusal_answer
from kustosz.web.pages import _when, form_of
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)


# -- users ------------------------------------------------------------------------------------
def _users_page(ctx: Ctx, form: dict[str, str] | None = None,
                errors: dict[str, str] | None = None, status: int = 200,
                error: str | None = None, shown: str | None = None,
                row_form: dict[str, list[str]] | None = None) -> Response:
    """``errors``: the new-user form's by field name, a row's as ``roles-<name>`` (its
    role change) or ``account-<name>`` (disable, enable, reset); ``row_form``: the roles a
    refused role change asked for, checked again in that row."""
    with ctx.vault.reading() as s:
        users = list_users(s)
        all_accounts = list(s.execute(select(Account)).scalars())
        by_directory = {a.user_id for a in all_accounts if a.directory}
        waits = throttle.waits(s)
    waiting_names = {w.key.removeprefix("account:") for w in waits
                     if w.key.startswith("account:")} | \
        {w.key.removeprefix("pair:").rpartition("@")[0] for w in waits
         if w.key.startswith("pair:")}
    waiting_addresses = [(w.key.removeprefix("address:"), w) for w in waits
                         if w.key.startswith("address:")]
    today = datetime.now(UTC)
    agreement_over = {u.name for u in users if contractors.ended(u, today,
                                                                 ctx.vault.policy.timezone)}
    return page(ctx, "users.html", status, users=users, roles=ROLES,
                positions=ctx.vault.policy.access.positions, agreement_over=agreement_over,
                waiting=waiting_names, waiting_addresses=waiting_addresses,
                by_directory=by_directory, msg=flash_of(ctx),
                form=form or {}, errors=errors or {}, error=error, shown=shown,
                row_form=row_form or {})


@router.get("/admin/users")
def users(ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    return _users_page(ctx)


@router.post("/admin/users")
async def users_add(request: Request, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    raw = await request.form()
    form = await form_of(request)
    roles = [r for r in raw.getlist("roles") if isinstance(r, str)]
    form["roles"] = ",".join(roles)
    name = form.get("name", "").strip()
    contractor = bool(form.get("contractor"))
    try:
        until = contractors.parse_day(form.get("contractor_until"), "contractor_until")
        day_error = None
    except FieldError as exc:
        until, day_error = None, exc
    with ctx.vault.reading() as s:
        errors = by_field(ctx, new_user_problems(
            s, name, form.get("display_name", ""), roles, contractor,
            form.get("contractor_agreement"), until, form.get("position")))
    if day_error is not None:
        errors["contractor_until"] = ctx.said(day_error)
    if errors:
        return _users_page(ctx, form, errors, 422)
    password = passwords.one_time_password()
    by_directory = bool(form.get("directory"))
    try:
        with ctx.vault.transaction() as s:
            user = add_user(s, name, form["display_name"], roles, admin.name,
                            title=form.get("title") or None,
                            position=form.get("position") or None,
                            contractor_agreement=form.get("contractor_agreement") or None,
                            contractor_until=until, contractor=contractor)
            if by_directory:
                accounts.set_directory(s, user, True, admin.name)
            else:
                accounts.set_password(s, user, password, admin.name, one_time=True,
                                      check=False)
    except FieldError as exc:  # e.g. the same login added a moment ago elsewhere
        return _users_page(ctx, form, {exc.field: ctx.said(exc)}, 422)
    except InputError as exc:
        return _users_page(ctx, form, {"name": ctx.said(exc)}, 422)
    if by_directory:
        return _users_page(ctx, shown=f"Użytkownik {form['name']} loguje się hasłem z katalogu "
                                      "(LDAP/Active Directory).")
    return _users_page(ctx, shown=f"Użytkownik {form['name']} — hasło jednorazowe (pokazane "
                                  f"tylko teraz): {password}")


@router.post("/admin/users/{name}/reset")
async def users_reset(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    password = passwords.one_time_password()
    with ctx.vault.transaction() as s:
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            return _users_page(ctx, error=ctx._("Nie ma użytkownika {name}.", name=name),
                               status=404)
        if accounts.account_of(s, user).directory:
            return _users_page(ctx, errors={f"account-{name}": ctx._(
                "Hasło użytkownika {name} sprawdza katalog (LDAP/Active Directory); zmienia "
                "się je w katalogu.", name=name)}, status=409)
        accounts.set_password(s, user, password, admin.name, one_time=True, check=False)
    return _users_page(ctx, shown=ctx._(
        "Nowe hasło jednorazowe dla {name} (pokazane tylko teraz): {password}", name=name,
        password=password))


@router.post("/admin/users/{name}/directory")
async def users_directory(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    """Switch a person between the directory's password and a local one (a fresh one-time
    password, since the directory's was never kept)."""
    admin = ctx.need("admin")
    password = passwords.one_time_password()
    with ctx.vault.transaction() as s:
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            return _users_page(ctx, error=ctx._("Nie ma użytkownika {name}.", name=name),
                               status=404)
        to_directory = not accounts.account_of(s, user).directory
        accounts.set_directory(s, user, to_directory, admin.name)
        if not to_directory:
            accounts.set_password(s, user, password, admin.name, one_time=True, check=False)
    if to_directory:
        return _users_page(ctx, shown=ctx._(
            "{name} loguje się teraz hasłem z katalogu (LDAP/Active Directory).", name=name))
    return _users_page(ctx, shown=ctx._(
        "{name} loguje się teraz hasłem lokalnym — hasło jednorazowe (pokazane tylko teraz): "
        "{password}", name=name, password=password))


@router.post("/admin/users/{name}/disable")
async def users_disable(name: str, ctx: Ctx = gate("admin")) -> Response:
    return _lifecycle(ctx, name, lambda s, who: set_active(s, name, False, who),
                      ctx._("Konto {name} wyłączone; jego sesje i tokeny API zakończone.",
                            name=name),
                      field=f"account-{name}")


@router.post("/admin/users/{name}/enable")
async def users_enable(name: str, ctx: Ctx = gate("admin")) -> Response:
    return _lifecycle(ctx, name, lambda s, who: set_active(s, name, True, who),
                      ctx._("Konto {name} włączone.", name=name), field=f"account-{name}")


@router.post("/admin/users/{name}/roles")
async def users_roles(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    roles = [r for r in (await request.form()).getlist("roles") if isinstance(r, str)]
    return _lifecycle(ctx, name, lambda s, who: set_roles(s, name, roles, who),
                      ctx._("Role użytkownika {name} zmienione; jego sesje i tokeny API "
                            "zakończone.", name=name), field=f"roles-{name}",
                      asked={name: roles})


@router.post("/admin/users/{name}/position")
async def users_position(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    """A person's position on the regulation's list [003 §3.4]; an authorisation issued for
    the old one stops opening recordings."""
    position = (await form_of(request)).get("position", "")
    listed = ctx.vault.policy.access.positions
    if position and position not in listed:
        return _users_page(ctx, errors={f"position-{name}": ctx._(
            "Stanowiska „{position}” nie ma w wykazie: {listed}.", position=position[:100],
            listed=", ".join(listed))}, status=422)
    return _lifecycle(ctx, name, lambda s, who: set_position(s, name, position, who),
                      ctx._("Stanowisko użytkownika {name} zmienione.", name=name),
                      field=f"position-{name}")


@router.post("/admin/users/{name}/contractor")
async def users_contractor(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    """Record a contractor's renewed processing agreement [004 §6.3]."""
    form = await form_of(request)
    key = f"contractor-{name}"

    def change(s: Any, who: str) -> None:
        user = get_user(s, name)
        until = contractors.parse_day(form.get("contractor_until"), "contractor_until")
        contractors.set_agreement(s, user, form.get("contractor_agreement"), until, who,
                                  tz=ctx.vault.policy.timezone)

    admin = ctx.need("admin")
    try:
        with ctx.vault.transaction() as s:
            change(s, admin.name)
    except NotFound as exc:
        return _users_page(ctx, error=ctx.said(exc), status=404)
    except FieldError as exc:
        part = "agreement" if exc.field == "contractor_agreement" else "until"
        return _users_page(ctx, errors={f"{key}-{part}": ctx.said(exc)}, status=422)
    return redirect(flash_url("/admin/users", ctx._(
        "Umowa powierzenia użytkownika {name} zapisana; jego sesje i tokeny API zakończone.",
        name=name)))


@router.post("/admin/users/{name}/unthrottle")
async def users_unthrottle(name: str, ctx: Ctx = gate("admin")) -> Response:
    def lift(s: Any, who: str) -> None:
        lifted = throttle.lift(s, name=name)
        audit(s, who, "login.unthrottle", name, {"account": name, "lifted": lifted})

    return _lifecycle(ctx, name, lift, f"Zdjęto spowolnienie logowania konta {name}.",
                      must_exist=False)


@router.post("/admin/users/{name}/unlock")
async def users_unlock(name: str, request: Request, ctx: Ctx = gate("admin")) -> Response:
    """A one-time unlock link (kustosz.access.unlock), shown once."""

    admin = ctx.need("admin")
    hours = (await form_of(request)).get("hours") or unlock.DEFAULT_HOURS
    try:
        with ctx.vault.transaction() as s:
            link, row = unlock.issue(s, name, admin.name, hours)
            until = row.expires_at
    except NotFound as exc:
        return _users_page(ctx, error=ctx.said(exc), status=404)
    except InputError as exc:
        return _users_page(ctx, errors={f"account-{name}": ctx.said(exc)}, status=422)
    url = str(request.base_url).rstrip("/") + request.scope["root_path"] + unlock.PATH + link
    when = until.astimezone(ctx.vault.policy.timezone).strftime("%d.%m.%Y %H:%M")
    return _users_page(ctx, shown=ctx._(
        "Link odblokowujący dla {name} (pokazany tylko teraz; jednorazowy, ważny do {when}, "
        "tylko dla tego konta): {url}", name=name, when=when, url=url))


@router.post("/admin/throttle/address")
async def address_unthrottle(request: Request, ctx: Ctx = gate("admin")) -> Response:
    address = str((await request.form()).get("address", ""))[:150]
    admin = ctx.need("admin")
    with ctx.vault.transaction() as s:
        lifted = throttle.lift(s, client=address)
        audit(s, admin.name, "login.unthrottle", address, {"address": address,
                                                            "lifted": lifted})
    return redirect(flash_url("/admin/users", ctx._(
        "Zdjęto spowolnienie logowania z adresu {address}.", address=address)))


def _lifecycle(ctx: Ctx, name: str, change: Any, done: str, must_exist: bool = True,
               field: str | None = None, asked: dict[str, list[str]] | None = None
               ) -> Response:
    """A change to one user's row; a refusal is shown in that row (``field``), with the
    roles asked for still checked (``asked``)."""
    admin = ctx.need("admin")
    try:
        with ctx.vault.transaction() as s:
            if must_exist:
                get_user(s, name)
            change(s, admin.name)
    except NotFound as exc:
        return _users_page(ctx, error=ctx.said(exc), status=404)
    except InputError as exc:
        if field is None:
            return _users_page(ctx, error=ctx.said(exc), status=409)
        return _users_page(ctx, errors={field: ctx.said(exc)}, row_form=asked, status=409)
    return redirect(flash_url("/admin/users", done))


# -- authorisations ---------------------------------------------------------------------------
def _auth_page(ctx: Ctx, form: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200) -> Response:
    with ctx.vault.reading() as s:
        mine_only = not (ctx.may("authorise") or ctx.may("oversight"))
        rows = auths.list_authorisations(s, ctx.user if mine_only else None)
        names = {u.id: u for u in list_users(s)}
        sources = [x.name for x in s.execute(select(Source).where(
            Source.kind.in_((SourceKind.CAMERA, SourceKind.PHONE)))
            .order_by(Source.name)).scalars()]
    now = datetime.now(UTC)
    return page(ctx, "authorisations.html", status, rows=rows, users=names, sources=sources,
                actions=auths.ACTIONS, kinds=auths.SOURCE_KINDS, form=form or {},
                errors=errors or {}, state=lambda a: auths.state(a, now),
                states=auths.STATES_PL,
                msg=flash_of(ctx))


@router.get("/authorisations")
def authorisations(ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    return _auth_page(ctx)


@router.post("/authorisations")
async def authorisations_issue(request: Request, ctx: Ctx = gate("authorise")) -> Response:
    approver = ctx.need("authorise")
    raw = await request.form()
    form = await form_of(request)
    actions = [a for a in raw.getlist("actions") if isinstance(a, str)]
    sources = [a for a in raw.getlist("sources") if isinstance(a, str)]
    kinds = [a for a in raw.getlist("source_kinds") if isinstance(a, str)]
    form.update(actions=",".join(actions), sources=",".join(sources),
                source_kinds=",".join(kinds))
    # What needs no lookup is checked here, all at once; the domain then refuses with the
    # first of its own findings (who may be authorised to what, which sources exist).
    errors: dict[str, str] = {}
    if not form.get("holder", "").strip():
        errors["holder"] = "Wybierz osobę upoważnioną."
    if not actions:
        errors["actions"] = "Wybierz co najmniej jedną czynność."
    if not sources and not kinds:
        errors["sources"] = "Wskaż źródła albo rodzaje źródeł."
    start = _when(form.get("valid_from"), "valid_from", errors, ctx)
    end = _when(form.get("valid_to"), "valid_to", errors, ctx)
    if start is not None and end is not None and end <= start:
        errors["valid_to"] = "Koniec obowiązywania musi być po jego początku."
    if errors:
        return _auth_page(ctx, form, errors, 422)
    try:
        with ctx.vault.transaction() as s:
            a = auths.issue(s, holder=form.get("holder", ""), actions=actions, sources=sources,
                            source_kinds=kinds, valid_from=start, valid_to=end,
                            by=approver.name, actor=approver.name, basis=form.get("basis"),
                            policy=ctx.vault.policy)
            number = a.id
    except FieldError as exc:
        return _auth_page(ctx, form, {exc.field: ctx.said(exc)}, 422)
    return redirect(flash_url("/authorisations", ctx._("Wydano upoważnienie nr {n}.", n=number)))


@router.post("/authorisations/{auth_id}/revoke")
async def authorisations_revoke(auth_id: PathId, request: Request,
                                ctx: Ctx = gate("authorise")) -> Response:
    approver = ctx.need("authorise")
    form = await form_of(request)
    try:
        with ctx.vault.transaction() as s:
            auths.revoke(s, auth_id, approver.name, form.get("reason", ""), approver.name)
    except KustoszError as exc:
        return _auth_page(ctx, {f"reason-{auth_id}": form.get("reason", "")},
                          {f"reason-{auth_id}": ctx.said(exc)}, 422)
    return redirect(flash_url("/authorisations", ctx._("Upoważnienie nr {n} odwołane.",
                                                         n=auth_id)))


@router.get("/authorisations/{auth_id}.pdf")
def authorisation_pdf(auth_id: PathId, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()

    with ctx.vault.reading() as s:
        a = s.get(Authorisation, auth_id)
        if a is None or (a.holder_id != user.id and not ctx.may("authorise")
                         and not ctx.may("oversight")):
            return page(ctx, "error.html", 404, message="Nie ma takiego upoważnienia.")
        data = authorisation_doc_data(s, ctx.vault.policy, a)
    pdf = render("authorisation", data, data_root=ctx.vault.root)
    name = f"upowaznienie-{auth_id}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


# -- the destruction commission's appointments (002 zał.5 §8.2) ------------------------------
def _commission_page(ctx: Ctx, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status: int = 200) -> Response:

    with ctx.vault.reading() as s:
        rows = commission.list_appointments(s)
        members = [u for u in list_users(s) if u.active and "commission" in u.roles]
        names = {u.name: u for u in list_users(s)}
    today = datetime.now(UTC).astimezone(ctx.vault.policy.timezone).date()
    return page(ctx, "commission.html", status, rows=rows, members=members, names=names,
                today=today, words=commission.words, form=form or {}, errors=errors or {},
                required_by_policy=ctx.vault.policy.access.commission_appointed,
                msg=flash_of(ctx))


@router.get("/commission")
def commission_list(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _commission_page(ctx)


@router.post("/commission")
async def commission_appoint(request: Request, ctx: Ctx = gate("authorise")) -> Response:
    """The head (an approver) records whom an order appointed to the commission."""

    approver = ctx.need("authorise")
    form = await form_of(request)
    try:
        on = contractors.parse_day(form.get("appointed_on"), "appointed_on")
        until = contractors.parse_day(form.get("ends_on"), "ends_on")
        with ctx.vault.transaction() as s:
            row = commission.appoint(s, member=form.get("member", ""),
                                     order_ref=form.get("order_ref", ""), appointed_on=on,
                                     ends_on=until, approver=approver.name,
                                     actor=approver.name)
            said = ctx._("Wyznaczono {who} ({order}).", who=printed(s, row.member),
                         order=ctx._(commission.words(row)))
    except FieldError as exc:
        return _commission_page(ctx, form, {exc.field: ctx.said(exc)}, 422)
    return redirect(flash_url("/commission", said))


@router.post("/commission/{appointment_id}/end")
async def commission_end(appointment_id: PathId, request: Request,
                         ctx: Ctx = gate("authorise")) -> Response:

    approver = ctx.need("authorise")
    form = await form_of(request)
    key = f"ends_on-{appointment_id}"
    try:
        last = contractors.parse_day(form.get("ends_on"), "ends_on")
        with ctx.vault.transaction() as s:
            commission.end(s, appointment_id, last, approver.name)
    except NotFound as exc:
        return _commission_page(ctx, errors={key: ctx.said(exc)}, status=404)
    except InputError as exc:
        return _commission_page(ctx, {key: form.get("ends_on", "")}, {key: ctx.said(exc)},
                                422)
    return redirect(flash_url("/commission", ctx._("Wyznaczenie nr {n} zakończone.",
                                                      n=appointment_id)))


# -- settings: the workstation allow-list (R3.5) ----------------------------------------------
def _settings_page(ctx: Ctx, status: int = 200, form: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None,
                   ldap_form: dict[str, str] | None = None,
                   ldap_errors: dict[str, str] | None = None,
                   lockout: str | None = None) -> Response:
    """Both setting forms on one page; the one not being saved shows what is stored.
    ``lockout``: the list (as it would be stored) that leaves out the saver's own computer,
    which the page asks to confirm."""
    with ctx.vault.reading() as s:
        stored_allowlist = allowlist.current(s)
        ldap = directory.current(s)
    stored_ldap = {"ldap_url": ldap.url, "ldap_bind_dn": ldap.bind_dn,
                   "ldap_start_tls": "1" if ldap.start_tls else "",
                   "ldap_timeout": str(ldap.timeout)}
    return page(ctx, "settings.html", status, form=form or {"allowlist": stored_allowlist},
                errors=errors or {}, ldap_form=ldap_form or stored_ldap,
                ldap_errors=ldap_errors or {}, msg=flash_of(ctx),
                client=ctx.client, lockout=lockout)


@router.get("/admin/settings")
def settings(ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    return _settings_page(ctx)


class _WouldLockOut(Exception):
    """Rolls back an allow-list that leaves out the saver's own computer, until confirmed."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


@router.post("/admin/settings")
async def settings_save(request: Request, ctx: Ctx = gate("admin")) -> Response:
    """Save the allow-list. Every entry that is not an address or network is named at once;
    a list that would shut out the computer saving it is not saved until confirmed: the
    "Zapisz mimo to" button sends back the very list that was warned about."""
    admin = ctx.need("admin")
    form = await form_of(request)
    text = form.get("allowlist", "")
    parts = text.replace(",", " ").split()  # as allowlist.parse reads it
    bad = []
    for part in parts:
        try:
            allowlist.parse(part)
        except InputError as exc:
            bad.append(ctx.said(exc))
    if bad:
        return _settings_page(ctx, 422, form=form, errors={
            "allowlist": "; ".join(m.rstrip(".") for m in bad) + ". Nic nie zapisano."})
    if not parts:
        return _settings_page(ctx, 422, form=form, errors={"allowlist": (
            "Podaj co najmniej jeden adres lub sieć — z pustą listą nikt nie otworzy nagrań.")})
    try:
        with ctx.vault.transaction() as s:
            # The real check, on the list as it would be stored: allowed() before and after
            # saving it in this transaction, which is rolled back if it shuts the saver out.
            had_access = bool(ctx.client) and allowlist.allowed(s, ctx.client)
            value = allowlist.set_allowlist(s, text, admin.name)
            if had_access and not allowlist.allowed(s, ctx.client) \
                    and form.get("confirm") != value:
                raise _WouldLockOut(value)
    except _WouldLockOut as held:
        return _settings_page(ctx, 409, form=form, lockout=held.value, errors={"allowlist": (
            f"Twój komputer (adres {ctx.client}) nie będzie na liście — po zapisaniu "
            "stracisz dostęp do nagrań z tego stanowiska.")})
    return redirect(flash_url("/admin/settings", "Zapisano."))


@router.post("/admin/settings/ldap")
async def settings_ldap(request: Request, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    form = await form_of(request)
    value, errors = directory.validate(form.get("ldap_url", ""), form.get("ldap_bind_dn", ""),
                                       bool(form.get("ldap_start_tls")),
                                       form.get("ldap_timeout", "5"))
    if errors:
        return _settings_page(ctx, 422, ldap_form=form, ldap_errors=errors)
    with ctx.vault.transaction() as s:
        directory.set_settings(s, value, admin.name)
    return redirect(flash_url("/admin/settings", "Zapisano."))


# -- listening protocol (001 annex 2) ---------------------------------------------------------
PROTOCOL_FIELDS = ("listeners", "employee", "other_party", "location", "breach", "causes",
                   "actions", "inquiry")


@router.post("/view/{token}/protocol")
async def listening_protocol(token: str, request: Request,
                             ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    form = await form_of(request)

    errors = {f: "To pole jest wymagane." for f in ("listeners", "breach")
              if not form.get(f, "").strip()}
    tz = ctx.vault.policy.timezone
    with ctx.vault.transaction() as s:
        try:
            # the whole media guard, allow-list included: the form shows the call's numbers
            vs, scope = guard(ctx, s, token, "listening")
        except Blocked as exc:  # returning commits the refusal's audit entry
            return refusal_answer(ctx, exc.refused)
        if errors:
            call = s.get(Call, scope.recording.id) if scope.recording else None
            return page(ctx, "view.html", 422, vs=vs, scope=scope, token=token, call=call,
                        actions=auths.ACTIONS, form=form, errors=errors)
        rec = scope.recording
        assert rec is not None
        data = blank("listening-protocol", ctx.vault.policy)
        now = datetime.now(UTC)
        data.update({f: form.get(f, "").strip() or None for f in PROTOCOL_FIELDS})
        # the person present at the session is one of those who listened (R3.4, issue 30)

        data["listeners"] = with_witness(data["listeners"] or "", vs) or None
        data.update({"date": now.astimezone(tz).strftime("%d.%m.%Y"),
                     "call_date": rec.start_at.astimezone(tz).strftime("%d.%m.%Y"),
                     "call_time": rec.start_at.astimezone(tz).strftime("%H:%M:%S")})
        folder = ctx.vault.root / "documents" / "listening"
        row = ListeningProtocol(viewing_id=vs.id, request_id=vs.request_id,
                                case_ref=vs.case_ref, data=data, pdf="", made_by=user.name,
                                made_at=now)
        s.add(row)
        s.flush()
        out = folder / f"protokol-odsluchu-{row.id}.pdf"
        render("listening-protocol", data, out, ctx.vault.root)
        row.pdf = str(out.relative_to(ctx.vault.root))
        record_action(s, "listening.protocol", f"Protokół z odsłuchania rozmowy nr {rec.id} "
                      f"({data['call_date']} {data['call_time']}); cel: {vs.purpose}"
                      + (f"; obecny: {vs.witness}." if vs.witness else "."),
                      printed(s, user.name), request_id=vs.request_id, at=now)
        audit(s, user.name, "listening.protocol", f"recording {rec.id}",
              {"protocol": row.id, "viewing": vs.id, "request": vs.request_id,
               "case_ref": vs.case_ref})
        pid = row.id
    return redirect(flash_url(f"/protocols/{pid}", "Protokół zapisany."))


@router.get("/protocols/{pid}")
def protocol_page(pid: PathId, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    with ctx.vault.reading() as s:
        row = s.get(ListeningProtocol, pid)
    if row is None or (row.made_by != user.name and not ctx.may("custody_read")):
        return page(ctx, "error.html", 404, message="Nie ma takiego protokołu.")
    return page(ctx, "protocol.html", row=row, msg=flash_of(ctx))


@router.get("/protocols/{pid}/pdf")
def protocol_pdf(pid: PathId, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    with ctx.vault.reading() as s:
        row = s.get(ListeningProtocol, pid)
    if row is None or (row.made_by != user.name and not ctx.may("custody_read")):
        return page(ctx, "error.html", 404, message="Nie ma takiego protokołu.")
    pdf = Path(ctx.vault.root / row.pdf).read_bytes()
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="protokol-odsluchania-{row.id}.pdf"'})
