"""The installation administrator's command line meets an office's material (issue 67 item 2).

In an installation the command line is the installation administrator's: the office's own
people work on its pages. So a command on an office of an installation runs at once only
when it is the infrastructure's — the service, recorders, sources, storage, backups, checks
(``INFRASTRUCTURE``). Every other command — material, personal data, registers, the office's
decisions, and any command added later until it is named here — needs the office's head's
support grant in force (kustosz.access.support): run under one, it is recorded in the office's
audit chain; without one it is refused in words and the attempt recorded too. A single
office's vault has no installation administrator, and its command line is as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from kustosz import office_identity
from kustosz.errors import InputError
from kustosz.installation_layout import installation_holding

# Command paths (the words after `kustosz`) that touch no office's material, personal data or
# registers. A command not named here is gated, so a new one is covered before anyone thinks
# of it; tests/installation/test_support_grants.py names every command and fails on a name
# here that the program no longer has.
INFRASTRUCTURE: frozenset[str] = frozenset({
    "audit checkpoint", "audit pin-witness", "audit verify",
    "backup", "restore", "recover", "serve", "nodes", "doctor", "demo", "init", "sweeper",
    "cameras add", "cameras clock", "cameras disable", "cameras discover", "cameras enable",
    "cameras list", "cameras onvif", "cameras override-start", "cameras password",
    "capture", "clock confirm", "clock undo list", "clock undo propose",
    "config check", "config keep-last-good", "config schema",
    "events add", "events categories", "events listen", "events rules", "events set",
    "events status", "events token",
    "mail add", "mail listen", "mail password", "mail status",
    "phones add", "phones add-capture", "phones add-siprec", "phones disable", "phones enable",
    "phones list", "phones scan", "phones status", "phones watch",
    "policy check", "policy schema", "policy show", "recorders status",
    "retention run", "retention watch", "secrets forget-lost-key",
    "sites add", "sites list", "sources add", "sources disable", "sources enable",
    "sources list", "storage backfill-versions", "storage check", "tls self-signed",
    "zones add", "zones kinds", "zones list",
})


def command_path() -> str | None:
    """The running command's words after `kustosz` ("users list"), None outside a command.
    Typer carries its own copy of click; its context stack is the one place a helper every
    command shares can learn which command called it."""
    from typer._click.globals import get_current_context

    context = get_current_context(silent=True)
    names: list[str] = []
    while context is not None:
        names.append(context.info_name or "")
        context = context.parent
    return " ".join(reversed(names[:-1])) if len(names) > 1 else None


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _who(actor: str) -> dict[str, str]:
    """Who ran it, as the audit record keeps it: the account the system says (KUSTOSZ_ACTOR
    is any text anyone sets, so it is kept beside, never instead)."""
    return {"os_user": _os_user(), "actor": actor}


def check(folder: Path, actor: str, command: str | None = None) -> None:
    """Let the command run on ``folder``, or refuse it in words, recording either in the
    office's audit chain when it needed the head's grant. ``command``: a part of an
    infrastructure command that is the office's decision (`retention run --now` ahead of
    the clock), asked by that command itself."""
    command = command or command_path()
    if command is None or command in INFRASTRUCTURE:
        return
    from kustosz.access import support
    from kustosz.vault import Vault

    in_place = installation_holding(folder.resolve()) is not None
    try:
        vault = Vault.open(folder, actor=actor)
    except Exception:
        if in_place:
            raise  # an office that cannot be opened is no way past its gate
        return  # no vault here (the command's own opening says why, the same way)
    try:
        with vault.transaction() as session:
            # The office by any name: its folder, a link to it, a copy of it, another
            # kustosz.toml pointing at its database, its backup restored (office_identity).
            if in_place:
                office_identity.learn(session, folder)  # an office from before the row
            elif office_identity.of(session) is None:
                return
            row = support.in_force(session)
            if row is not None:
                support.used(session, _who(actor), command, row)
                return
            support.refused(session, _who(actor), command)
    finally:
        vault.close()
    name = folder.resolve().name
    raise InputError(
        f"`{command}` reaches the material, personal data or registers of the office "
        f"{name!r}, and the installation's administrator may do that only while the office's "
        "head grants support access (its pages: Administration, Support access); the attempt "
        "is recorded in the office's audit log",
        pl=f"Polecenie „{command}” sięga do nagrań, danych osobowych lub rejestrów urzędu "
           f"„{name}”. Administrator instalacji może to zrobić tylko z dostępem serwisowym "
           "udzielonym przez kierownika urzędu (w aplikacji urzędu: Administracja → Dostęp "
           "serwisowy). Próbę zapisano w dzienniku zdarzeń urzędu.")
