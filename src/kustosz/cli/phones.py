"""phones (PBX sources and their intake) and calls (search, show)."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.progress import Progress
from rich.table import Table

from kustosz.audit import append as audit
from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
)
from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.errors import InputError, NotFound
from kustosz.index.calls import search_calls, window
from kustosz.ingest.phone.intake import scan
from kustosz.ingest.phone.lines import (
    add_capture_line,
    add_phone_source,
    add_siprec_line,
    disable_phone_source,
    enable_phone_source,
    phone_sources,
    phone_status,
)
from kustosz.ingest.phone.report import ScanReport
from kustosz.ingest.phone.watch import watch
from kustosz.phones.settings import DEFAULT_NO_CDR_WAIT_S, PhoneSettings
from kustosz.states import RecordingState

phones_app = typer.Typer(no_args_is_help=True, help="Phone lines: the PBX's recordings.")
calls_app = typer.Typer(no_args_is_help=True, help="Recorded calls: search and show.")
PROGRESS_FROM = 200  # files; shorter passes finish before a bar would help

# The options every way of adding a line shares (phones add, add-siprec, add-capture)
OfficeNumbers = Annotated[list[str] | None, typer.Option(
    "--office-number", help="The office's own number (DID); repeatable.")]
ExtensionDigits = Annotated[int, typer.Option("--extension-digits",
                                              help="Numbers this short are extensions.")]
LegalBasis = Annotated[str, typer.Option("--legal-basis", help="Podstawa prawna nagrywania.")]
Purpose = Annotated[str, typer.Option("--purpose", help="Cel nagrywania.")]
Retention = Annotated[str | None, typer.Option("--retention",
                                               help="Shorter period for this line.")]


# Said whenever a line is added or enabled (issue 49 item 6): the callers must hear that the
# call is recorded before it begins [001 §1.3–1.4; 004 §8 ust. 2; art. 13 RODO], and Kustosz,
# recording a copy of the media (SIPREC, a mirrored port), plays nothing to them.
ANNOUNCEMENT = ("Pamiętaj: dzwoniący muszą usłyszeć komunikat o nagrywaniu rozmowy, zanim "
                "rozmowa się zacznie (art. 13 RODO) — ustaw go w centrali lub w SBC; Kustosz go "
                "nie odtwarza. / Callers must hear that the call is recorded before it begins "
                "(art. 13 GDPR): set the announcement in the PBX or the SBC; Kustosz does not "
                "play it.")


@fails_cleanly
def phones_add(
    name: str,
    spool: Path = typer.Option(..., "--spool", help="Folder the PBX records into."),
    cdr: Path = typer.Option(..., "--cdr", help="The PBX's Master.csv (cdr_csv)."),
    office_number: OfficeNumbers = None,
    extension_digits: ExtensionDigits = 4,
    legal_basis: LegalBasis = "",
    purpose: Purpose = "",
    remove_after_intake: bool = typer.Option(False, "--remove-after-intake",
                                             help="Delete from the spool once stored."),
    cdr_utc: bool = typer.Option(False, "--cdr-utc", help="The PBX logs UTC (usegmtime=yes)."),
    no_cdr_wait: float = typer.Option(DEFAULT_NO_CDR_WAIT_S, "--no-cdr-wait",
                                      help="Seconds to wait for a call record."),
    retention: Retention = None,
) -> None:
    """Register a PBX as a phone source (disabled until enabled with a legal basis)."""
    with open_vault() as vault, vault.transaction() as s:
        add_phone_source(s, vault.policy, name, actor(), spool=spool, cdr=cdr,
                         numbers=list(office_number or []), retention=retention,
                         extension_max_digits=extension_digits, cdr_utc=cdr_utc,
                         legal_basis=legal_basis, purpose=purpose,
                         remove_after_intake=remove_after_intake, no_cdr_wait_s=no_cdr_wait)
        scope = vault.policy.call_scope
    console.print(f"phone source {name} added (disabled; scope {scope}); enable it with: "
                  f"kustosz phones enable {name}")
    console.print(ANNOUNCEMENT, markup=False)




@fails_cleanly
def phones_add_siprec(
    name: str,
    sbc: list[str] = typer.Option(..., "--from",
                                  help="The SBC or PBX sending recording sessions (address "
                                       "or network); repeatable."),
    office_number: OfficeNumbers = None,
    extension_digits: ExtensionDigits = 4,
    legal_basis: LegalBasis = "",
    purpose: Purpose = "",
    retention: Retention = None,
) -> None:
    """Register a line whose calls Kustosz records itself, from the recording sessions (SIPREC)
    its SBC sends to `kustosz serve` ([siprec] in kustosz.toml); disabled until enabled."""
    with open_vault() as vault, vault.transaction() as s:
        add_siprec_line(s, vault.policy, name, actor(), sources=list(sbc),
                        numbers=list(office_number or []), retention=retention,
                        extension_max_digits=extension_digits, legal_basis=legal_basis,
                        purpose=purpose)
        scope = vault.policy.call_scope
        listen = vault.config.siprec.listen
    console.print(f"phone line {name} added (disabled; scope {scope}); its SBC sends recording "
                  f"sessions to {listen}; enable it with: kustosz phones enable {name}")
    console.print(ANNOUNCEMENT, markup=False)


@fails_cleanly
def phones_add_capture(
    name: str,
    interface: str = typer.Option(..., "--interface",
                                  help="The network interface the mirrored switch port "
                                       "(SPAN) is connected to, e.g. eth1."),
    office_number: OfficeNumbers = None,
    extension_digits: ExtensionDigits = 4,
    legal_basis: LegalBasis = "",
    purpose: Purpose = "",
    retention: Retention = None,
    sip_tcp_port: list[int] | None = typer.Option(
        None, "--sip-tcp-port",
        help="A TCP port the exchange signals SIP on (repeatable; default 5060 and 5061). "
             "SIP over UDP is read on any port."),
) -> None:
    """Register a line whose calls Kustosz records itself from a mirrored switch port: SIP and
    RTP read off INTERFACE by the capture process (kustosz-capture.service) and recorded by
    `kustosz serve`; disabled until enabled."""
    with open_vault() as vault, vault.transaction() as s:
        add_capture_line(s, vault.policy, name, actor(), interface=interface,
                         numbers=list(office_number or []), retention=retention,
                         extension_max_digits=extension_digits, legal_basis=legal_basis,
                         purpose=purpose, tcp_ports=list(sip_tcp_port or []))
        scope = vault.policy.call_scope
    console.print(f"phone line {name} added (disabled; scope {scope}); its calls are read off "
                  f"{interface.strip()} by the capture process (kustosz capture, run by "
                  f"kustosz-capture.service); enable it with: kustosz phones enable {name}")
    console.print(ANNOUNCEMENT, markup=False)


class PhoneRow(TypedDict):
    """One line of `phones list` (its --json object)."""

    name: str
    enabled: bool
    spool: str
    legal_basis: str


def _intake_of(cfg: PhoneSettings) -> str:
    if cfg.by_capture:
        return f"mirrored port {cfg.capture}"
    return f"SIPREC from {', '.join(cfg.siprec_from)}" if cfg.by_siprec else cfg.spool


@fails_cleanly
def phones_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List phone sources."""
    with open_vault() as vault, vault.reading() as s:
        rows: list[PhoneRow] = [{"name": src.name, "enabled": src.enabled,
                                 "spool": _intake_of(PhoneSettings.of(src.settings)),
                                 "legal_basis": PhoneSettings.of(src.settings).legal_basis}
                                for src in phone_sources(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "enabled", "spool", "legal basis")
    for r in rows:
        table.add_row(r["name"], "yes" if r["enabled"] else "no", r["spool"],
                      r["legal_basis"] or "—")
    console.print(table)


@fails_cleanly
def phones_enable(name: str, legal_basis: str = typer.Option("", "--legal-basis"),
                  purpose: str = typer.Option("", "--purpose")) -> None:
    """Enable a phone source; refused without a documented legal basis and purpose."""
    with open_vault() as vault, vault.transaction() as s:
        enable_phone_source(s, name, actor(), legal_basis=legal_basis, purpose=purpose)
    console.print(f"phone source {name} enabled")
    console.print(ANNOUNCEMENT, markup=False)


@fails_cleanly
def phones_disable(name: str, reason: str = typer.Option("", "--reason")) -> None:
    """Stop taking in a phone source's recordings (the PBX is not affected)."""
    with open_vault() as vault, vault.transaction() as s:
        disable_phone_source(s, name, actor(), reason)
    console.print(f"phone source {name} disabled")


def _print_report(report: ScanReport) -> None:
    console.print(f"{report.source}: stored {report.stored}, out of scope (counted, not kept) "
                  f"{report.out_of_scope}, skipped {len(report.skipped)}, waiting "
                  f"{report.waiting}, call records read {report.cdr_lines}")
    for line in report.skipped[:20]:
        console.print(f"  skipped {line}")


@fails_cleanly
def phones_scan(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One intake pass: take in what the PBX has finished writing."""
    with open_vault() as vault:
        if as_json:
            emit_json(scan(vault, name).as_dict())
            return
        with Progress(console=console, transient=True) as bar:
            task = None

            def advance(done: int, total: int) -> None:
                nonlocal task
                if total < PROGRESS_FROM:
                    return
                if task is None:
                    task = bar.add_task(f"taking in {name}", total=total)
                bar.update(task, completed=done)

            report = scan(vault, name, progress=advance)
    _print_report(report)


@fails_cleanly
def phones_status(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counters, last activity and the latest skipped items of a phone source."""
    with open_vault() as vault, vault.reading() as s:
        st = phone_status(s, name)
        if as_json:
            emit_json(st.as_dict())
            return
        table = Table("", "")
        table.add_row("enabled", "yes" if st.enabled else "no")
        table.add_row("legal basis", st.settings.get("legal_basis") or "—")
        table.add_row("purpose", st.settings.get("purpose") or "—")
        table.add_row("scope (policy)", str(vault.policy.call_scope))
        table.add_row("spool", st.settings["spool"])
        table.add_row("call records", st.settings["cdr"])
        table.add_row("stored", str(st.stored))
        table.add_row("out of scope (counted, not kept)", str(st.out_of_scope))
        table.add_row("skipped", str(st.skipped))
        table.add_row("waiting in the spool", str(st.waiting))
        table.add_row("last pass", local(st.last_scan_at, vault))
        table.add_row("newest file in the spool", local(st.last_file_at, vault))
        table.add_row("last intake", local(st.last_intake_at, vault))
        console.print(table)
        for at, item, message in st.problems:
            console.print(f"  {local(at, vault)} skipped {item}: {message}")


@fails_cleanly
def phones_watch(names: list[str] = typer.Argument(None),
                 interval: float = typer.Option(30.0, "--interval", help="Seconds per pass."),
                 passes: int = typer.Option(None, "--passes", help="Stop after this many.")
                 ) -> None:
    """Keep taking in recordings: a pass every --interval seconds, plus the alerts."""
    if interval <= 0:
        raise InputError("--interval must be above zero",
                         pl="Wartość --interval musi być większa od zera.")
    with open_vault() as vault:
        watch(vault, list(names or []) or None, interval=interval, passes=passes,
              on_pass=lambda r: _print_report(r) if r.stored or r.skipped else None)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date {text!r} is not a date like 2026-11-20",
                         pl=f"--date „{text}” nie jest datą w postaci RRRR-MM-DD (np. "
                            "2026-11-20).") from None


def _parse_clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InputError(f"--around {text!r} is not a time like 14:30",
                         pl=f"--around „{text}” nie jest godziną w postaci GG:MM "
                            "(np. 14:30).") from None


@fails_cleanly
def calls_search(
    number: str = typer.Option(None, "--number", help="Either side, any writing."),
    callee: str = typer.Option(None, "--callee", help="The called number."),
    day: str = typer.Option(None, "--date", help="Local date, e.g. 2026-11-20."),
    hour: int = typer.Option(None, "--hour", help="Approximate hour (0-23)."),
    around: str = typer.Option(None, "--around", help="Approximate time, e.g. 14:30."),
    minutes: int = typer.Option(30, "--within-minutes", "--window",
                                help="Widen the hour or time by this much each side."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find calls by number(s), date and approximate hour, as a written request gives them."""
    with open_vault() as vault:
        tz = vault.policy.timezone
        begin = end = None
        if day is not None:
            begin, end = window(_parse_day(day), tz, hour,
                                _parse_clock(around) if around else None, minutes)
        elif hour is not None or around is not None:
            raise InputError("--hour and --around need --date",
                             pl="Opcje --hour i --around wymagają --date.")
        with vault.reading() as s:
            hits = search_calls(s, number, callee, begin, end)
        # The command line reads with the server account's rights and checks no authorisation
        # (like mail and events search); who phoned whom is still personal data, so each
        # search is on the record with its query and how many calls it showed.
        query = {"number": number, "callee": callee, "date": day, "hour": hour,
                 "around": around}
        with vault.transaction() as s:
            audit(s, actor(), "calls.search", "all phone lines",
                  {"query": {k: v for k, v in query.items() if v is not None},
                   "rows": len(hits)})
    if as_json:
        emit_json([h.as_dict(tz) for h in hits])
        return
    table = Table("id", "line", "start (local)", "end", "caller", "callee", "direction",
                  "disposition")
    for h in hits:
        table.add_row(str(h.recording_id), h.source, local(h.start_at, vault),
            local(h.end_at, vault), h.caller or "(unknown)", h.callee or "(unknown)", h.direction,
            h.disposition or ("no call record" if h.no_cdr else "—"))
    console.print(table)
    console.print(f"{len(hits)} call(s)")


@fails_cleanly
def calls_show(recording_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """One call's index entry (not its audio: listening needs an authorisation)."""
    with open_vault() as vault, vault.reading() as s:
        call = s.get(Call, recording_id)
        rec = s.get(Recording, recording_id)
        if call is None or rec is None or rec.state != RecordingState.STORED:
            raise NotFound(f"no stored call with id {recording_id}",
                           pl=f"Nie ma zapisanej rozmowy o identyfikatorze {recording_id}.")
        times = {"start": rec.start_at, "end": rec.end_at, "expires": rec.expires_at}
        info = {"recording_id": recording_id,
                **{k: v.isoformat() if v else None for k, v in times.items()},
                "caller": call.caller_shown, "callee": call.callee_shown,
                "direction": call.direction, "disposition": call.disposition,
                "no_cdr": call.no_cdr, "uniqueid": call.uniqueid, "size": rec.size,
                "sha256": rec.sha256, "meta": rec.meta}
        shown = {**info, **{k: local(v, vault) for k, v in times.items()}}
        with vault.transaction() as w:  # on the record, like calls search
            audit(w, actor(), "calls.show", f"recording {recording_id}", {})
    if as_json:
        emit_json(info)  # ISO 8601 in UTC, like every --json
        return
    for key, value in shown.items():
        console.print(f"{key}: {value}")


@fails_cleanly
def capture() -> None:
    """The capture process: reads the mirrored ports of the lines recorded off the wire and
    hands their SIP and RTP frames to `kustosz serve` over the data folder's run/capture.sock.
    Needs CAP_NET_RAW and nothing else (deploy/systemd/kustosz-capture.service); opens no
    database and holds no key."""
    import logging
    import signal
    import threading

    from kustosz.cli.common import data_dir
    from kustosz.ingest.phone.capture.helper import run

    # a daemon: its connections and interfaces are worth a line in the journal each
    logging.getLogger("kustosz.ingest.phone.capture").setLevel(logging.INFO)
    from kustosz.ingest.phone.capture.wire import socket_path

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    path = socket_path(data_dir())
    console.print(f"kustosz capture: serving kustosz serve at {path}")
    run(path, stop)


def register(app: typer.Typer) -> None:
    app.command("capture")(capture)
    for verb, fn in (("add", phones_add), ("add-siprec", phones_add_siprec),
                     ("add-capture", phones_add_capture),
                     ("list", phones_list), ("enable", phones_enable),
                     ("disable", phones_disable), ("scan", phones_scan),
                     ("status", phones_status), ("watch", phones_watch)):
        phones_app.command(verb)(fn)
    calls_app.command("search")(calls_search)
    calls_app.command("show")(calls_show)
    app.add_typer(phones_app, name="phones")
    app.add_typer(calls_app, name="calls")
