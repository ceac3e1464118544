"""The IMAP side of `kustosz mail`: options of `mail add` for a journal mailbox pulled over
IMAP, reading its password, and `mail password` to replace it.

The password never comes on the command line (it would sit in the shell history and in
`ps` for everyone on the machine): it is read from a file or an environment variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kustosz.cli.common import actor, console, err_console, fails_cleanly, open_vault
from kustosz.cli.secret_input import read_secret
from kustosz.errors import InputError
from kustosz.ingest.mail.settings import MailSettings, contradiction, set_imap_password

SMTP_OPTIONS = {"listen": "--listen", "allow_host": "--allow-host",
                "allow_sender": "--allow-sender", "tls_cert": "--tls-cert",
                "tls_key": "--tls-key", "require_tls": "--require-tls"}


def read_password(file: Path | None, env: str | None) -> str:
    password = read_secret(file, env, "IMAP password", "--imap-password-file",
                           "--imap-password-env", "hasło skrzynki IMAP")
    if password is None:
        raise InputError("an IMAP journal mailbox needs its password: --imap-password-file "
                         "FILE or --imap-password-env VARIABLE",
                         pl="Skrzynka IMAP dziennika poczty wymaga hasła: --imap-password-file "
                            "PLIK albo --imap-password-env ZMIENNA.")
    return password


def imap_settings(settings: MailSettings, smtp_given: dict[str, Any], *, host: str,
                  port: int | None, tls: str, ca_file: str, user: str,
                  password_file: Path | None, password_env: str | None, folder: str,
                  poll_seconds: float, keep_on_server: bool, move_to: str) -> MailSettings:
    """Fill the IMAP fields of ``settings`` from `mail add`'s options, refusing those of
    the other mode. Without --imap-host, `MailSettings.check` refuses any IMAP option given;
    the password options are refused here, before any file is read."""
    if host:
        given = [SMTP_OPTIONS[k] for k, v in smtp_given.items() if v]
        if given:
            raise contradiction(given, InputError)
        if port is not None and not 1 <= port <= 65535:
            raise InputError(f"--imap-port {port} must be between 1 and 65535",
                             pl=f"Port --imap-port {port} musi mieścić się w zakresie od 1 do "
                                "65535.")
    elif password_file is not None or password_env:
        raise InputError("--imap-password-file / --imap-password-env need --imap-host",
                         pl="Opcje --imap-password-file i --imap-password-env wymagają "
                            "--imap-host.")
    settings.imap_host, settings.imap_port, settings.imap_tls = host, port or 0, tls
    settings.imap_ca_file, settings.imap_user, settings.imap_folder = ca_file, user, folder
    settings.imap_poll_seconds, settings.imap_keep_on_server = poll_seconds, keep_on_server
    settings.imap_move_to = move_to
    if host:
        settings.imap_password = read_password(password_file, password_env)
    return settings


def warn_plaintext(settings: MailSettings) -> None:
    if warning := settings.plaintext_warning():
        err_console.print(f"[bold yellow]warning:[/] {warning}", markup=True, soft_wrap=True)


@fails_cleanly
def mail_password(
    name: str,
    password_file: Path = typer.Option(None, "--imap-password-file",
                                       help="File holding the new password (first line)."),
    password_env: str = typer.Option(None, "--imap-password-env",
                                     help="Environment variable holding the new password."),
) -> None:
    """Replace the password of an IMAP journal mailbox (a running poller uses it once
    restarted)."""
    password = read_password(password_file, password_env)
    with open_vault() as vault, vault.transaction() as s:
        set_imap_password(s, name, actor(), password)
    console.print(f"mailbox {name}: IMAP password replaced; restart `kustosz serve` or "
                  f"`kustosz mail listen {name}` to use it")
