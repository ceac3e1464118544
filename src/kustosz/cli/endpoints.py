"""`kustosz events set`: change where and how an endpoint source listens. A running
`kustosz serve` restarts that listener (closing and storing its open chunk) on its next look
at the register; `sources enable|disable` (cli/material.py) start and stop it."""

from __future__ import annotations

from typing import Any

import typer

from kustosz.cli.common import actor, console, fails_cleanly, open_vault
from kustosz.errors import InputError
from kustosz.ingest.events.settings import change_endpoint
from kustosz.ingest.listeners import RESCAN_S


@fails_cleanly
def events_set(
    name: str,
    syslog_udp: str = typer.Option(None, "--syslog-udp", help="HOST:PORT; \"\" turns it off."),
    syslog_tcp: str = typer.Option(None, "--syslog-tcp", help="HOST:PORT; \"\" turns it off."),
    syslog_tls: str = typer.Option(None, "--syslog-tls", help="HOST:PORT; \"\" turns it off."),
    relp: str = typer.Option(None, "--relp", help="HOST:PORT of the RELP listener (rsyslog "
                             "omrelp: nothing lost); \"\" turns it off."),
    http: str = typer.Option(None, "--http", help="HOST:PORT of the JSON endpoint; \"\" off."),
    tls_cert: str = typer.Option(None, "--tls-cert"), tls_key: str = typer.Option(None,
                                                                               "--tls-key"),
    allow_host: list[str] = typer.Option(None, "--allow-host",
                                         help="Sender allowed (IP or CIDR); repeatable; "
                                              "replaces the list."),
    any_host: bool = typer.Option(False, "--any-host", help="Empty the allow-list: then "
                                  "only this machine (127.0.0.1, ::1) may send."),
    chunk: str = typer.Option(None, "--chunk", help="hour or day."),
) -> None:
    """Change an endpoint source's listeners, certificate, allow-list or chunk length."""
    changes: dict[str, Any] = {k: v for k, v in (
        ("syslog_udp", syslog_udp), ("syslog_tcp", syslog_tcp), ("syslog_tls", syslog_tls),
        ("relp", relp), ("http", http), ("tls_cert", tls_cert), ("tls_key", tls_key),
        ("chunk", chunk))
        if v is not None}
    if allow_host and any_host:
        raise InputError("--allow-host and --any-host exclude each other",
                         pl="Opcje --allow-host i --any-host wykluczają się.")
    if allow_host or any_host:
        changes["allow_hosts"] = list(allow_host or [])
    if not changes:
        raise InputError("nothing to change (see: kustosz events set --help)",
                         pl="Nie ma nic do zmiany (zob. kustosz events set --help).")
    with open_vault() as vault, vault.transaction() as s:
        token = change_endpoint(s, name, actor(), changes)
    console.print(f"endpoint source {name} changed; a running `kustosz serve` restarts its "
                  f"listener within {RESCAN_S:.0f} s")
    if token:
        console.print(f"API token (shown only now): {token}")


def register(app: typer.Typer) -> None:
    # Beside the other `events` verbs; typer reads a sub-app's commands when it runs.
    from kustosz.cli.monitoring import events_app

    events_app.command("set")(events_set)
