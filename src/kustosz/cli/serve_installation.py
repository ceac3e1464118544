"""`kustosz --data INSTALL serve` (no --office): the web of every office of an installation on
one port — office `mops` at /o/mops/, the list of offices at / (kustosz.web.installation_app)
— and each office's background jobs (copies, reports, holds) that its pages start.

What this process does not run for an office: its recorders, listeners, phone intake,
retention sweep, alerts' delivery, audit checkpoints and backups. Those stay each office's
own `kustosz --data INSTALL --office SLUG serve --port 0` (one systemd unit an office,
docs/operations/offices.md): one office's recorders or sweep failing, or its database role
refused, then stops nothing of another's. This is said at start, on stderr and in the log,
office by office — never left to be found out.

An office whose vault cannot be opened (its kustosz.toml refused, its database away or its
role refused) is logged with why, listed on / as not served and answers 503; the others are
served."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from kustosz import installation_layout as layout
from kustosz import jobs, office_identity
from kustosz.access.bootstrap import FIRST_ADMIN, first_admin
from kustosz.cli.common import actor, console, fails_cleanly
from kustosz.cli.serve_stop import serve_signals
from kustosz.errors import InputError
from kustosz.installation.registry import slugs
from kustosz.logs import check_format
from kustosz.logs import setup as setup_logs
from kustosz.vault import Vault
from kustosz.web.installation_app import Office, create_installation_app
from kustosz.web.tls import Network, Tls

log = logging.getLogger(__name__)
JOBS_STOP_S = 5.0


def open_offices(root: Path, who: str) -> list[Office]:
    """Every office of the installation, opened as its own role; one that cannot be opened
    is kept with why (its outage, not the installation's)."""
    out = []
    for slug in slugs(root):
        try:
            vault = Vault.open(layout.offices_folder(root) / slug, actor=who)
        except Exception as exc:  # any refusal: that office alone is not served
            log.error("office %s could not be opened: %s", slug, exc,
                      extra={"office": slug})
            out.append(Office(slug, None, refused=f"{type(exc).__name__}: {exc}"))
            continue
        try:
            office_identity.settle(vault)  # an office from before the row learns it here
        except Exception as exc:  # the gate still knows it by its folder
            log.warning("office %s: its record of being an office could not be written: %s",
                        slug, exc, extra={"office": slug})
        out.append(Office(slug, vault, vault.policy.office_name))
    return out


def said_of(root: Path, office: Office) -> tuple[str, str]:
    """(Polish, English): what this process does for ``office``, and what it leaves (the
    command for the rest, whole: it is copied into a unit file as it is)."""
    if office.vault is None:
        return (f"urząd {office.slug}: NIE URUCHOMIONY — nie udało się otworzyć skarbca "
                f"({office.refused}); pozostałe urzędy działają",
                f"office {office.slug}: NOT SERVED: its vault could not be opened "
                f"({office.refused}); the other offices are served")
    own = f"kustosz --data {root} --office {office.slug} serve --port 0"
    return (f"urząd {office.slug} ({office.name}): /o/{office.slug}/ — strony i zadania w tle; "
            f"nagrywanie, retencja i powiadomienia: {own} (usługa systemd "
            f"kustosz-office@{office.slug})",
            f"office {office.slug}: /o/{office.slug}/ (pages and background jobs); recording, "
            f"retention and alerts: {own} (systemd unit kustosz-office@{office.slug})")


def serve_installation(root: Path, host: str, port: int, tls: Tls | None,
                       proxies: tuple[Network, ...], log_format: str | None,
                       say: Callable[..., None]) -> None:
    from kustosz.web.server import WebServer, plain_http_warning, reachable_hosts

    name = layout.read(root).installation.name
    undo_logs = setup_logs(check_format(log_format) if log_format else "json")
    # stdout holds only log lines in JSON; what serve says to a person goes to stderr, and
    # soft_wrap: a command or a password is not cut in two at 80 columns (the journal)
    say = functools.partial(say if log_format == "text" else Console(stderr=True).print,
                            soft_wrap=True)
    offices = open_offices(root, actor())
    runners = [o.vault for o in offices if o.vault is not None]
    try:
        for vault in runners:
            jobs.start(vault)
        app = create_installation_app(name, offices, tls, proxies)
        with serve_signals() as stop:
            server = WebServer(None, host, port, tls=tls, trusted_proxies=proxies, app=app)
            server.start()
            scheme = "https" if tls else "http"
            say(f"kustosz serve: instalacja / installation {root} ({name}); Ctrl-C stops")
            say(f"Aplikacja WWW / web app: {scheme}://{reachable_hosts(host)[0]}:{port}/")
            warning = plain_http_warning(host, tls, proxies)
            if warning:
                say(f"{warning[0]}\n{warning[1]}")
            for office in offices:
                pl, en = said_of(root, office)
                say(f"{pl}\n  {en}")
                # as a vault's serve does the first time: on the console only, never logged
                password = (first_admin(office.vault, new_only=True)
                            if office.vault is not None else None)
                if password:
                    say(f"  Pierwszy administrator urzędu {office.slug}: {FIRST_ADMIN} / hasło "
                        f"jednorazowe: {password} (pokazane tylko raz; przy logowaniu trzeba "
                        "ustawić własne)")
                (log.warning if office.vault is None else log.info)(
                    "%s", en, extra={"office": office.slug})
            stop.wait()
            server.stop()
    finally:
        for vault in runners:
            jobs.stop(vault, JOBS_STOP_S)
            vault.close()
        undo_logs()
    say("stopped")


def or_installation(serve: Callable[..., None]) -> Callable[..., None]:
    """`kustosz serve` as it was for a vault (and for one office named with --office), and
    `serve_installation` for an installation's folder without --office."""
    import functools

    @functools.wraps(serve)
    def either(**options: Any) -> None:
        from kustosz.cli.common import state

        root = state.data
        if root is None or state.office is not None or not layout.is_installation(root):
            serve(**options)
            return
        _serve_whole(root, options)

    return either


@fails_cleanly
def _serve_whole(root: Path, options: dict[str, Any]) -> None:
    from kustosz.web.tls import parse_proxies, tls_pair

    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("kustosz").setLevel(logging.INFO)
    if not options["port"]:
        raise InputError(
            "--port 0 serves no web: an installation's serve is its offices' web; record "
            f"with kustosz --data {root} --office SLUG serve --port 0",
            pl="--port 0 wyłącza WWW, a serve instalacji to właśnie strony jej urzędów; "
               f"nagrywanie: kustosz --data {root} --office SLUG serve --port 0.")
    # Checked before anything starts, as a vault's serve does: a bad certificate stops here.
    tls = tls_pair(options.get("tls_cert"), options.get("tls_key"))
    proxies = parse_proxies(list(options.get("trusted_proxy") or []))
    serve_installation(root, options["host"], options["port"], tls, proxies,
                       options.get("log_format"), console.print)
