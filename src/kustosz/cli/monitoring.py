"""mail (journal sources: add, status, listen, search) and events (endpoint sources: add,
status, listen, search). Web pages for both come with the web app."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kustosz.audit import append as audit
from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
    parse_time,
)
from kustosz.cli.mail_imap import imap_settings, mail_password, warn_plaintext
from kustosz.errors import InputError
from kustosz.ingest.chunks.service import Service
from kustosz.ingest.events.intake import EventIntake
from kustosz.ingest.events.rules import CATEGORIES, DEFAULT_FALLBACK, DEFAULT_RULES
from kustosz.ingest.events.search import search_events
from kustosz.ingest.events.settings import (
    EndpointSettings,
    add_endpoint_source,
    endpoint_source,
    endpoint_sources,
    new_token,
    set_rules,
)
from kustosz.ingest.mail.search import ROLES, search_mail
from kustosz.ingest.mail.service import mail_service
from kustosz.ingest.mail.settings import (
    SMTP_ONLY,
    MailSettings,
    add_mail_source,
    mail_source,
    mail_sources,
    set_bodies,
)
from kustosz.ingest.status import source_status
from kustosz.vault import Vault

mail_app = typer.Typer(no_args_is_help=True,
                       help="E-mail monitoring: the journal (metadata only by default).")
events_app = typer.Typer(no_args_is_help=True,
                         help="IT-activity monitoring: syslog and JSON events from the office's "
                              "tools.")


def _run(service_factory: Any, seconds: float | None) -> None:
    async def main() -> None:
        service: Service = service_factory()
        await service.start()
        verb = "polling" if "imap" in service.addresses else "listening on"
        console.print(f"{service.source_name}: {verb} "
                      + ", ".join(f"{k} {h}:{p}" for k, (h, p) in service.addresses.items())
                      + " (Ctrl-C stops)")
        if getattr(service, "notice", None):
            console.print(f"{service.source_name}: {service.notice}")  # type: ignore[attr-defined]
        try:
            await (asyncio.sleep(seconds) if seconds else asyncio.Event().wait())
        finally:
            await service.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def _print_status(st: dict[str, Any], vault: Vault) -> None:
    table = Table("", "", title=f"{st['name']} ({st['kind']})")
    table.add_row("enabled", "yes" if st["enabled"] else "no")
    if "mode" in st:
        table.add_row("mode", "IMAP journal mailbox" if st["mode"] == "imap"
                      else "SMTP listener")
    if st.get("mode") == "imap":
        table.add_row("last poll", local(st["last_poll"], vault) if st["last_poll"] else "—")
        if st["last_failure"]:
            table.add_row("last failure", local(st["last_failure"], vault))
    for key, value in st["settings"].items():
        if (st.get("mode") == "smtp" and key.startswith("imap_")) or \
                (st.get("mode") == "imap" and key in SMTP_ONLY):
            continue  # the other mode's defaults would only confuse
        if value not in (None, "", [], False) or key == "keep_bodies":
            table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list)
                          else str(value))
    table.add_row("chunks stored", str(st["chunks_stored"]))
    table.add_row("newest chunk ends", local(st["newest_chunk_end"], vault))
    table.add_row("indexed items", str(st["indexed"]))
    table.add_row("waiting in the open chunk", str(st["waiting_in_spool"]))
    for name, value in st["counters"].items():
        table.add_row(f"counter {name}", str(value))
    console.print(table)


PENDING_MARK = "*"


def _pending_note(found: list[dict[str, Any]]) -> str:
    # Rows from a chunk still open: searchable already, stored when the chunk closes.
    n = sum(1 for row in found if row["pending"])
    return f"; {PENDING_MARK} {n} not yet stored (open chunk)" if n else ""


def _times(since: str | None, until: str | None) -> tuple[Any, Any]:
    return (parse_time(since, "--since") if since else None,
            parse_time(until, "--until") if until else None)


# -- mail -----------------------------------------------------------------------------------
@fails_cleanly
def mail_add(
    name: str,
    listen: str = typer.Option(None, "--listen",
                               help="HOST:PORT of the SMTP listener (default 127.0.0.1:2525)."),
    allow_host: list[str] = typer.Option(None, "--allow-host",
                                         help="Mail server allowed to deliver (IP or CIDR); "
                                              "repeatable. Default: this machine only."),
    allow_sender: list[str] = typer.Option(None, "--allow-sender",
                                           help="Envelope sender address or @domain; "
                                                "repeatable. Default: any."),
    office_domain: list[str] = typer.Option(None, "--office-domain",
                                            help="The office's own mail domain; repeatable."),
    keep_bodies: bool = typer.Option(False, "--keep-bodies",
                                     help="Keep full messages (needs --legal-basis)."),
    legal_basis: str = typer.Option("", "--legal-basis",
                                    help="Podstawa prawna przechowywania treści wiadomości."),
    tls_cert: str = typer.Option("", "--tls-cert", help="Certificate for STARTTLS."),
    tls_key: str = typer.Option("", "--tls-key"),
    require_tls: bool = typer.Option(False, "--require-tls"),
    max_message_bytes: int = typer.Option(MailSettings.max_message_bytes,
                                          "--max-message-bytes"),
    chunk: str = typer.Option("hour", "--chunk", help="hour or day."),
    retention: str = typer.Option(None, "--retention", help="Shorter period for this source."),
    imap_host: str = typer.Option("", "--imap-host",
                                  help="Pull from this IMAP journal mailbox instead of "
                                       "listening for SMTP."),
    imap_port: int = typer.Option(None, "--imap-port", help="Default: 993, or 143."),
    imap_tls: str = typer.Option("imaps", "--imap-tls",
                                 help="imaps, starttls or none (none: same machine only)."),
    imap_ca_file: str = typer.Option("", "--imap-ca-file",
                                     help="CA certificate of the IMAP server, if private."),
    imap_user: str = typer.Option("", "--imap-user"),
    imap_password_file: Path = typer.Option(None, "--imap-password-file",
                                            help="File holding the password (first line)."),
    imap_password_env: str = typer.Option(None, "--imap-password-env",
                                          help="Environment variable holding the password."),
    imap_folder: str = typer.Option("INBOX", "--imap-folder"),
    imap_poll_seconds: float = typer.Option(60.0, "--imap-poll-seconds"),
    keep_on_server: bool = typer.Option(False, "--keep-on-server",
                                        help="Mark taken messages \\Seen (or move them: "
                                             "--imap-move-to) instead of deleting them."),
    imap_move_to: str = typer.Option("", "--imap-move-to"),
) -> None:
    """Register a journal mailbox: the address the mail server copies every message to
    (SMTP), or the IMAP mailbox it delivers the journal to (--imap-host)."""
    settings = MailSettings(listen=listen or "127.0.0.1:2525",
                            allow_senders=list(allow_sender or []),
                            office_domains=list(office_domain or []), keep_bodies=keep_bodies,
                            bodies_legal_basis=legal_basis, tls_cert=tls_cert, tls_key=tls_key,
                            require_tls=require_tls, max_message_bytes=max_message_bytes,
                            chunk=chunk)
    if allow_host:
        settings.allow_hosts = list(allow_host)
    imap_settings(settings, {"listen": listen, "allow_host": allow_host,
                             "allow_sender": allow_sender, "tls_cert": tls_cert,
                             "tls_key": tls_key, "require_tls": require_tls},
                  host=imap_host, port=imap_port, tls=imap_tls, ca_file=imap_ca_file,
                  user=imap_user, password_file=imap_password_file,
                  password_env=imap_password_env, folder=imap_folder,
                  poll_seconds=imap_poll_seconds, keep_on_server=keep_on_server,
                  move_to=imap_move_to)
    with open_vault() as vault, vault.transaction() as s:
        add_mail_source(s, vault.policy, name, actor(), settings, retention=retention)
    warn_plaintext(settings)
    kept = "full messages (legal basis recorded)" if keep_bodies else "metadata only"
    how = f"pulls from {settings.imap_user}@{settings.imap_host}" if imap_host else "SMTP"
    console.print(f"mailbox {name} added ({how}, {kept}); start it with: "
                  f"kustosz mail listen {name} (or kustosz serve)")


@fails_cleanly
def mail_bodies(name: str, keep: bool = typer.Option(..., "--keep/--no-keep"),
                legal_basis: str = typer.Option("", "--legal-basis")) -> None:
    """Turn keeping of full messages on (with its legal basis) or off."""
    with open_vault() as vault, vault.transaction() as s:
        set_bodies(s, name, actor(), keep, legal_basis)
    console.print(f"mailbox {name}: " + ("full messages kept, except private ones" if keep
                                         else "metadata only"))


@fails_cleanly
def mail_status(name: str = typer.Argument(None), as_json: bool = typer.Option(False, "--json")
                ) -> None:
    """Settings, counters and what is stored, for one mailbox or all."""
    with open_vault() as vault, vault.reading() as s:
        sources = [mail_source(s, name)] if name else mail_sources(s)
        states = [source_status(vault, s, src) for src in sources]
        if as_json:
            emit_json(states)
            return
        if not states:
            console.print("no mailbox sources (add one with: kustosz mail add NAME)")
        for st in states:
            _print_status(st, vault)


@fails_cleanly
def mail_listen(name: str, seconds: float = typer.Option(None, "--for",
                                                         help="Stop after this many seconds.")
                ) -> None:
    """Run the SMTP journal listener, or the IMAP poller, of a mailbox (until Ctrl-C)."""
    with open_vault() as vault:
        _run(lambda: mail_service(vault, name), seconds)


@fails_cleanly
def mail_search(
    address: str = typer.Option(None, "--address", help="Exact address (any letter case)."),
    person: str = typer.Option(None, "--person", help="Part of a name or an address."),
    role: str = typer.Option(None, "--role", help=f"One of {', '.join(ROLES)}, env_from."),
    subject: str = typer.Option(None, "--subject", help="Part of the subject."),
    source: str = typer.Option(None, "--source"),
    since: str = typer.Option(None, "--since"), until: str = typer.Option(None, "--until"),
    limit: int = typer.Option(200, "--limit"), as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find journalled messages (metadata) by person, address, subject and time."""
    start, end = _times(since, until)
    with open_vault() as vault, vault.reading() as s:
        found = search_mail(s, address=address, person=person, role=role, subject=subject,
                            source=source, start=start, end=end, limit=limit)
        _searched(vault, "mail.search", source, found, address=address, person=person,
                  role=role, subject=subject, since=since, until=until)
        if as_json:
            emit_json(found)
            return
        table = Table("", "received", "from", "to", "subject", "size", "attachments",
                      "private")
        for m in found:
            table.add_row(PENDING_MARK if m["pending"] else "",
                          local(m["received_at"], vault), m["from"] or m["env_from"],
                          ", ".join(m["to"][:3]) + (" …" if len(m["to"]) > 3 else ""),
                          m["subject"][:60], str(m["size"]), str(len(m["attachments"])),
                          "tak" if m["private"] else "")
        console.print(table)
        console.print(f"{len(found)} message(s){_pending_note(found)}")


def _searched(vault: Vault, action: str, source: str | None, found: list[Any],
              **query: Any) -> None:
    """The command line reads the vault with the server account's rights, so it checks no
    authorisation; what it shows is still on the record: who (the system account), what
    was asked, how many rows (the web app records each search as an access entry)."""
    with vault.transaction() as s:
        audit(s, actor(), action, f"source {source}" if source else "all sources",
              {"query": {k: v for k, v in query.items() if v}, "rows": len(found)})


# -- events ---------------------------------------------------------------------------------
@fails_cleanly
def events_add(
    name: str,
    syslog_udp: str = typer.Option("", "--syslog-udp", help="HOST:PORT, e.g. 0.0.0.0:5514."),
    syslog_tcp: str = typer.Option("", "--syslog-tcp", help="HOST:PORT."),
    syslog_tls: str = typer.Option("", "--syslog-tls", help="HOST:PORT (needs --tls-cert)."),
    relp: str = typer.Option("", "--relp", help="HOST:PORT of the RELP listener (rsyslog "
                             "omrelp; acknowledged once on disk: nothing lost)."),
    http: str = typer.Option("", "--http", help="HOST:PORT of the JSON endpoint."),
    tls_cert: str = typer.Option("", "--tls-cert"), tls_key: str = typer.Option("", "--tls-key"),
    allow_host: list[str] = typer.Option(None, "--allow-host",
                                         help="Sender allowed (IP or CIDR); repeatable; "
                                              "default: this machine only (127.0.0.1, ::1)."),
    chunk: str = typer.Option("hour", "--chunk", help="hour or day."),
    retention: str = typer.Option(None, "--retention", help="Shorter period for this source."),
) -> None:
    """Register an endpoint source: where the office's tools send their events."""
    settings = EndpointSettings(syslog_udp=syslog_udp, syslog_tcp=syslog_tcp,
                                syslog_tls=syslog_tls, relp=relp, http=http, tls_cert=tls_cert,
                                tls_key=tls_key, allow_hosts=list(allow_host or []), chunk=chunk)
    with open_vault() as vault, vault.transaction() as s:
        _, token = add_endpoint_source(s, vault.policy, name, actor(), settings,
                                       retention=retention)
    console.print(f"endpoint source {name} added; start it with: kustosz events listen {name}")
    if token:
        console.print(f"API token (shown only now): {token}")


@fails_cleanly
def events_token(name: str) -> None:
    """Issue a new API token for the JSON endpoint (the old one stops working)."""
    with open_vault() as vault, vault.transaction() as s:
        token = new_token(s, name, actor())
    console.print(f"API token (shown only now): {token}")


@fails_cleanly
def events_status(name: str = typer.Argument(None),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Settings, counters and what is stored, for one endpoint source or all."""
    with open_vault() as vault, vault.reading() as s:
        sources = [endpoint_source(s, name)] if name else endpoint_sources(s)
        states = [source_status(vault, s, src) for src in sources]
        if as_json:
            emit_json(states)
            return
        if not states:
            console.print("no endpoint sources (add one with: kustosz events add NAME)")
        for st in states:
            st["settings"].pop("rules", None)
            _print_status(st, vault)


@fails_cleanly
def events_listen(name: str, seconds: float = typer.Option(None, "--for",
                                                           help="Stop after this many seconds.")
                  ) -> None:
    """Run the syslog and JSON listeners of an endpoint source (until Ctrl-C)."""
    with open_vault() as vault:
        _run(lambda: EventIntake(vault, name), seconds)


@fails_cleanly
def events_categories() -> None:
    """The categories of IT-activity monitoring (R1.10) and what office staff read."""
    for code, label in CATEGORIES.items():
        console.print(f"{code:18} {label}")


@fails_cleanly
def events_rules(
    name: str,
    file: Path = typer.Option(None, "--file", help="JSON list of {name, category, pattern, "
                                                   "field}; patterns in lower case."),
    defaults: bool = typer.Option(False, "--defaults", help="Go back to the default rules."),
    fallback: str = typer.Option(None, "--fallback", help="Category when no rule matches."),
) -> None:
    """Show the source's categorisation rules, or replace them (--file / --defaults)."""
    with open_vault() as vault:
        if file is None and not defaults and fallback is None:
            with vault.reading() as s:
                st = EndpointSettings.of(endpoint_source(s, name).settings)
            emit_json({"fallback": st.fallback,
                       "rules": DEFAULT_RULES if st.rules is None else st.rules})
            return
        rules = None
        if file is not None:
            try:
                rules = json.loads(file.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot read rules from {file}: {exc}",
                                 pl=f"Nie można odczytać reguł z pliku {file}: {exc}.") from None
        with vault.transaction() as s:
            current = EndpointSettings.of(endpoint_source(s, name).settings)
            if file is None and not defaults:
                rules = current.rules
            set_rules(s, name, actor(), rules, fallback or current.fallback or DEFAULT_FALLBACK)
    console.print(f"{name}: rules updated; `kustosz serve` restarts its listener with them "
                  "within 15 s (a `kustosz events listen` must be restarted)")


@fails_cleanly
def events_search(
    host: str = typer.Option(None, "--host"), user: str = typer.Option(None, "--user"),
    category: str = typer.Option(None, "--category", help="See: kustosz events categories."),
    source: str = typer.Option(None, "--source"),
    text: str = typer.Option(None, "--text", help="Part of the event's text."),
    since: str = typer.Option(None, "--since"), until: str = typer.Option(None, "--until"),
    limit: int = typer.Option(200, "--limit"), as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find events by host, user, category and time."""
    if category and category not in CATEGORIES:
        raise InputError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}",
                         pl=f"Nieznana kategoria „{category}”; dostępne: {', '.join(CATEGORIES)}.")
    start, end = _times(since, until)
    with open_vault() as vault, vault.reading() as s:
        found = search_events(s, host=host, user=user, category=category, source=source,
                              start=start, end=end, text=text, limit=limit)
        _searched(vault, "events.search", source, found, host=host, user=user,
                  category=category, text=text, since=since, until=until)
        if as_json:
            emit_json(found)
            return
        table = Table("", "time", "host", "user", "category", "app", "message")
        for e in found:
            table.add_row(PENDING_MARK if e["pending"] else "", local(e["at"], vault),
                          e["host"], e["user"], e["category"], e["app"], e["message"][:80])
        console.print(table)
        console.print(f"{len(found)} event(s){_pending_note(found)}")


def register(app: typer.Typer) -> None:
    for verb, fn in (("add", mail_add), ("bodies", mail_bodies), ("status", mail_status),
                     ("listen", mail_listen), ("search", mail_search),
                     ("password", mail_password)):
        mail_app.command(verb)(fn)
    for verb, fn in (("add", events_add), ("token", events_token), ("status", events_status),
                     ("listen", events_listen), ("search", events_search),
                     ("categories", events_categories), ("rules", events_rules)):
        events_app.command(verb)(fn)
    app.add_typer(mail_app, name="mail")
    app.add_typer(events_app, name="events")
