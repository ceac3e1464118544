"""users disable|enable|roles|reset|unthrottle, tokens list|revoke: the account lifecycle
from the terminal (the same rules as the administration pages)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import typer
from rich.table import Table

from kustosz.access import accounts, passwords, throttle, tokens
from kustosz.access.users import ROLES, get_user, set_active, set_position, set_roles
from kustosz.cli.common import actor, console, emit_json, fails_cleanly, local, open_vault
from kustosz.cli.requests import users_app
from kustosz.db.custody import User
from kustosz.errors import InputError

tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: list and revoke.")


class TokenRow(TypedDict):
    """One line of `tokens list` (its --json object)."""

    id: int
    user: str
    name: str
    scopes: list[str]
    state: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None


class AppointmentRow(TypedDict):
    """One line of `commission list` (its --json object)."""

    id: int
    member: str
    order: str
    appointed_on: str
    ends_on: str | None
    approver: str
    words: str


@fails_cleanly
def users_disable(name: str) -> None:
    """Disable an account: its sessions and API tokens end at once."""
    with open_vault() as vault, vault.transaction() as s:
        set_active(s, name, False, actor())
    console.print(f"user {name} disabled; their sessions and API tokens ended")


@fails_cleanly
def users_enable(name: str) -> None:
    """Enable a disabled account again (it signs in anew; old tokens stay ended)."""
    with open_vault() as vault, vault.transaction() as s:
        set_active(s, name, True, actor())
    console.print(f"user {name} enabled")


@fails_cleanly
def users_roles(name: str,
                role: list[str] = typer.Option(..., "--set",
                                               help=f"Repeatable: {', '.join(ROLES)}.")) -> None:
    """Replace a user's roles; their sessions and API tokens end."""
    with open_vault() as vault, vault.transaction() as s:
        user = set_roles(s, name, list(role), actor())
        roles = ", ".join(user.roles)
    console.print(f"user {name}: roles {roles}; their sessions and API tokens ended")


@fails_cleanly
def users_reset(name: str) -> None:
    """Give a user a new one-time password (shown once, here); sessions and tokens end."""
    password = passwords.one_time_password()
    with open_vault() as vault, vault.transaction() as s:
        user = get_user(s, name)
        accounts.set_password(s, user, password, actor(), one_time=True, check=False)
    console.print(f"one-time password for {name} (shown only now; it must be changed at the "
                  f"first login): {password}")


@fails_cleanly
def users_unthrottle(name: str = typer.Argument(None, help="Account name."),
                     address: str = typer.Option(None, "--address",
                                                 help="A client address instead.")) -> None:
    """Lift the wait after failed logins of an account name or of an address."""
    if not name and not address:
        raise InputError("name an account or give --address",
                         pl="Podaj nazwę konta albo --address.")
    with open_vault() as vault, vault.transaction() as s:
        lifted = throttle.lift(s, name=name, client=address)
        from kustosz.audit import append as audit

        audit(s, actor(), "login.unthrottle", name or address or "",
              {"account": name, "address": address, "lifted": lifted})
    console.print("wait lifted" if lifted else "nothing was waiting")


@fails_cleanly
def users_unlock_link(name: str,
                      hours: str = typer.Option("8", "--hours",
                                                help="Valid for this many hours (1-72).")
                      ) -> None:
    """A one-time link letting NAME sign in past login waits (shown once, here)."""
    from kustosz.access import unlock

    with open_vault() as vault, vault.transaction() as s:
        link, row = unlock.issue(s, name, actor(), hours)
        until = local(row.expires_at, vault)
    console.print(f"Link odblokowujący dla {name} (pokazany tylko teraz; jednorazowy, ważny "
                  f"do {until}, tylko dla tego konta) — adres aplikacji WWW i dalej: "
                  f"{unlock.PATH}{link}\n"
                  f"one-time unlock link for {name} (shown only now; valid until {until}): "
                  f"the web app's address followed by {unlock.PATH}{link}", soft_wrap=True,
                  markup=False, highlight=False)


@fails_cleanly
def tokens_list(user: str = typer.Option(None, "--user", help="Only this user's tokens."),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """API tokens: owner, name, scopes, state, expiry, last use (never the token itself)."""
    with open_vault() as vault, vault.reading() as s:
        owner: User | None = get_user(s, user) if user else None
        rows: list[TokenRow] = [{"id": t.id, "user": n, "name": t.name, "scopes": t.scopes,
                                 "state": tokens.state(t), "created_at": t.created_at,
                                 "expires_at": t.expires_at, "last_used_at": t.last_used_at,
                                 "revoked_at": t.revoked_at, "revoke_reason": t.revoke_reason}
                                for t, n in tokens.list_tokens(s, owner)]
        if as_json:
            emit_json(rows)
            return
        table = Table("id", "user", "name", "scopes", "state", "expires", "last used")
        for r in rows:
            state = r["state"] + (f" ({r['revoke_reason']})" if r["revoke_reason"] else "")
            table.add_row(str(r["id"]), r["user"], r["name"], ", ".join(r["scopes"]), state,
                          local(r["expires_at"], vault), local(r["last_used_at"], vault))
    console.print(table)


@fails_cleanly
def tokens_revoke(token_id: int, reason: str = typer.Option("revoked by the administrator",
                                                            "--reason")) -> None:
    """Revoke an API token at once."""
    with open_vault() as vault, vault.transaction() as s:
        # The terminal is the administrator's: file modes keep everyone else out of the vault.
        tokens.revoke(s, token_id, actor(), only_of=None, reason=reason)
    console.print(f"token {token_id} revoked")


@fails_cleanly
def users_position(name: str, position: str = typer.Argument(
        None, help="The position as the preset lists it; leave out for one off the list.")
                   ) -> None:
    """Record a person's position (003 §3.4): an authorisation issued for another position
    stops opening recordings."""
    with open_vault() as vault, vault.transaction() as s:
        listed = vault.policy.access.positions
        if position and listed and position not in listed:
            raise InputError(f"{position!r} is not on the preset's list of positions "
                             f"({', '.join(listed)})",
                             pl=f"Stanowiska „{position}” nie ma w wykazie: "
                                f"{', '.join(listed)}.")
        set_position(s, name, position, actor())
    console.print(f"user {name}: position {position or '(not listed)'}")


@fails_cleanly
def users_contractor(name: str,
                     agreement: str = typer.Option(..., "--agreement",
                                                   help="The processing agreement's reference."),
                     until: str = typer.Option(..., "--until",
                                               help="Its last day (YYYY-MM-DD).")) -> None:
    """Record (or renew) a maintenance contractor's processing agreement (004 §6.3); their
    access ends with it. Sessions and API tokens end now."""
    from kustosz.access.contractors import parse_day, set_agreement

    last_day = parse_day(until, "until")
    with open_vault() as vault, vault.transaction() as s:
        set_agreement(s, get_user(s, name), agreement, last_day, actor(),
                      tz=vault.policy.timezone)
    console.print(f"user {name}: processing agreement {agreement.strip()} until {last_day}")


commission_app = typer.Typer(no_args_is_help=True, help="The destruction commission: the "
                             "head's appointments (002 zał.5 §8.2).")


@fails_cleanly
def commission_appoint(member: str,
                       order: str = typer.Option(..., "--order",
                                                 help="The order's number, e.g. 12/2026."),
                       on: str = typer.Option(..., "--date", help="The order's date."),
                       until: str = typer.Option(None, "--until",
                                                 help="The appointment's last day."),
                       by: str = typer.Option(..., "--by",
                                              help="The approver (head) who appointed.")
                       ) -> None:
    """Record the head's appointment of a commission member."""
    from kustosz.access.contractors import parse_day
    from kustosz.custody import commission

    day = parse_day(on, "appointed_on")
    last = parse_day(until, "ends_on")
    with open_vault() as vault, vault.transaction() as s:
        row = commission.appoint(s, member=member, order_ref=order, appointed_on=day,
                                 ends_on=last, approver=by, actor=actor())
        said = f"appointment {row.id}: {member}, {commission.words(row)}"
    console.print(said)


@fails_cleanly
def commission_end(appointment_id: int,
                   on: str = typer.Option(..., "--on", help="The last day (YYYY-MM-DD).")
                   ) -> None:
    """End an appointment on its last day."""
    from kustosz.access.contractors import parse_day
    from kustosz.custody import commission

    with open_vault() as vault, vault.transaction() as s:
        commission.end(s, appointment_id, parse_day(on, "ends_on"), actor())
    console.print(f"appointment {appointment_id} ends on {on}")


@fails_cleanly
def commission_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """The appointments, newest first."""
    from kustosz.custody import commission

    with open_vault() as vault, vault.reading() as s:
        rows: list[AppointmentRow] = [
            {"id": a.id, "member": a.member, "order": a.order_ref,
             "appointed_on": a.appointed_on.isoformat(),
             "ends_on": a.ends_on.isoformat() if a.ends_on else None,
             "approver": a.approver, "words": commission.words(a)}
            for a in commission.list_appointments(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "member", "appointed by", "until", "approver")
    for r in rows:
        table.add_row(str(r["id"]), r["member"], r["words"], r["ends_on"] or "—", r["approver"])
    console.print(table)


def register(app: typer.Typer) -> None:
    users_app.command("position")(users_position)
    users_app.command("contractor")(users_contractor)
    commission_app.command("appoint")(commission_appoint)
    commission_app.command("end")(commission_end)
    commission_app.command("list")(commission_list)
    app.add_typer(commission_app, name="commission")
    users_app.command("disable")(users_disable)
    users_app.command("enable")(users_enable)
    users_app.command("roles")(users_roles)
    users_app.command("reset")(users_reset)
    users_app.command("unthrottle")(users_unthrottle)
    users_app.command("unlock-link")(users_unlock_link)
    tokens_app.command("list")(tokens_list)
    tokens_app.command("revoke")(tokens_revoke)
    app.add_typer(tokens_app, name="tokens")
