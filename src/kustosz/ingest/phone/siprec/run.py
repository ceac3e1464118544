"""The recording server under `kustosz serve`: it listens while at least one enabled phone line
is recorded through SIPREC ([siprec] in kustosz.toml says where), takes its lines' SBC
addresses and numbers from the register every LINES_S, stores each ended session as a call,
and at start stores what a killed run left (the sessions' folders under `siprec/`).

The database away does not stop it: sessions are answered from the lines last read, their
sound is written to their folders, and a session whose call cannot be stored now stays in its
folder and is tried again every `SrsSettings.retry_s` (and at the next start)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import TypeVar

from sqlalchemy import update

from kustosz.config_schema.siprec import Siprec
from kustosz.db.calls import PhoneIntakeState
from kustosz.db.outage import is_database_away
from kustosz.index.sources import get_source
from kustosz.ingest.phone.dealt import ensure_state
from kustosz.ingest.phone.siprec.alerts import check_silence, raise_event, session_opened
from kustosz.ingest.phone.siprec.moving import move
from kustosz.ingest.phone.siprec.server import LineRule, Srs, SrsSettings
from kustosz.ingest.phone.siprec.session import SessionFolder
from kustosz.ingest.phone.siprec.store import store_leftovers, store_session
from kustosz.ingest.phone.watch import enabled_phone_sources
from kustosz.ingest.refusals import refused
from kustosz.phones.settings import INTAKE_SIPREC, PhoneSettings
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

log = logging.getLogger(__name__)
L = TypeVar("L")  # a recorder's line
LINES_S = 10.0  # how soon a line added, changed or disabled is followed
IDLE_S = 30.0  # with no SIPREC line: how often to look for one
ALLOWANCE_S = 300.0


def siprec_root(vault: Vault) -> Path:
    return vault.root / "siprec"


def read_lines(vault: Vault) -> list[LineRule]:
    names = enabled_phone_sources(vault, intake=INTAKE_SIPREC)
    out = []
    with vault.reading() as s:
        for name in names:
            cfg = PhoneSettings.of(get_source(s, name).settings)
            out.append(LineRule(name, tuple(ip_network(n) for n in cfg.siprec_from),
                                frozenset(cfg.office_numbers), cfg.extension_max_digits,
                                vault.policy.call_scope))
    return out


def tls_context(vault: Vault, siprec: Siprec | None = None) -> ssl.SSLContext | None:
    """SIP over TLS with the office's certificate, or None (not configured, or the files
    unreadable: said in the log, and SIP goes on over UDP and TCP)."""
    c = siprec if siprec is not None else vault.config.siprec
    if not c.tls_listen:
        return None
    cert, key = (vault.root / c.tls_cert), (vault.root / c.tls_key)
    try:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        log.error("SIPREC over TLS not started: the certificate %s or its key cannot be used "
                  "(%s); SIP over UDP and TCP goes on", cert, exc)
        return None
    if c.tls_client_ca.strip():
        # mutual TLS: an SBC without a certificate the office's CA signed gets no session
        # (its handshake fails); an unreadable CA leaves TLS off, never open to any client
        ca = vault.root / c.tls_client_ca.strip()
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            log.error("SIPREC over TLS not started: the SBC's certificate authority %s cannot "
                      "be used (%s); SIP over UDP and TCP goes on", ca, exc)
            return None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def settings_of(vault: Vault, siprec: Siprec | None = None) -> SrsSettings:
    """The server's settings from [siprec] (``siprec``; default: the one in force)."""
    c = siprec if siprec is not None else vault.config.siprec
    host, port = c.host_port
    ports = c.ports
    assert ports is not None  # the schema checked it
    tls = c.tls_host_port
    return SrsSettings(siprec_root(vault), host=host, port=port, address=c.address,
                       rtp_ports=ports, silence_s=c.silence_seconds, invite_rate=c.invite_rate,
                       invite_burst=max(1, int(c.invite_rate * 2)),
                       max_sessions=c.max_sessions, loss_percent=c.loss_percent,
                       tls=tls_context(vault, c), tls_port=tls[1] if tls else 5061,
                       tls_host=tls[0] if tls else "")


def count_out_of_scope(vault: Vault, line: str) -> None:
    """R1.4: a call not recorded is only counted."""
    with vault.reading() as s:
        source_id = get_source(s, line).id
    ensure_state(vault, source_id)
    with vault.transaction() as s:
        s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == source_id)
                  .values(out_of_scope=PhoneIntakeState.out_of_scope + 1))


def store_ended(vault: Vault, folder: SessionFolder) -> None:
    facts = folder.facts()
    with vault.reading() as s:
        source_id = get_source(s, facts.line).id
    ensure_state(vault, source_id)
    store_session(vault, folder)


def run_recorder(vault: Vault, stop: threading.Event, what: str, root: Path,
                 read: Callable[[Vault], list[L]],
                 serve: Callable[[Vault, list[L], threading.Event, Callable[[], None]],
                                 Coroutine[object, object, None]],
                 cannot: Callable[[OSError], str]) -> None:
    """A recorder Kustosz runs itself (``what``: SIPREC, capture), as serve's thread: its
    lines read from the register (the database away: said once, read again every IDLE_S),
    served while there are any, and what a killed run left under ``root`` stored at each
    start — and while no line is enabled too (its line disabled, or changed, after the
    kill). ``cannot``: what to say when it cannot start (the port taken...), tried again."""
    progress = progress_of(vault).loop(what.lower(), ALLOWANCE_S)
    said_away = False
    while not stop.is_set():
        progress.beat()
        try:
            lines = read(vault)
        except Exception as exc:
            if not is_database_away(exc):
                log.exception("%s lines could not be read; trying again", what)
            elif not said_away:
                log.warning("%s: the database is away; the lines are read again when it "
                            "answers", what)
            said_away = True
            progress.wait(stop, IDLE_S)
            continue
        said_away = False
        if not lines:
            quietly(store_leftovers, vault, root)
            idle(vault, stop, progress)
            continue
        try:
            store_leftovers(vault, root)
            asyncio.run(serve(vault, lines, stop, progress.beat))
        except OSError as exc:
            log.error("%s; trying again in %.0f s", cannot(exc), IDLE_S)
            idle(vault, stop, progress)
    progress.forget()


def idle(vault: Vault, stop: threading.Event, progress: Loop) -> None:
    """IDLE_S, or until serve's reload put a changed kustosz.toml in force (Vault.reload):
    a line set up with its [siprec] and its kind's period is served at once."""
    seen, end = vault.reloads, time.monotonic() + IDLE_S
    while vault.reloads == seen and (left := end - time.monotonic()) > 0:
        if progress.wait(stop, min(left, 1.0)):
            return


def run_siprec(vault: Vault, stop: threading.Event) -> None:
    run_recorder(vault, stop, "SIPREC", siprec_root(vault), read_lines, _serve,
                 lambda exc: f"SIPREC recording server cannot listen on "
                             f"{vault.config.siprec.listen}: {exc}")


def make_server(vault: Vault, settings: SrsSettings,
                lines: Callable[[], list[LineRule]]) -> Srs:
    """The recording server on ``vault``: sessions stored as calls, declined ones counted,
    problems alerted, each SBC's sessions noted for the silence alert — every database step
    in a thread of its own (Srs.later)."""
    srs: Srs

    def problem(row: AlertRow, line: str, text: str) -> None:
        log.warning("SIPREC line %s: %s (%s)", line, text, row)
        srs.later(quietly, raise_event, vault, line, row, text)

    def stranger(host: str, line: str | None, reason_pl: str, detail: str) -> None:
        # An address is what a datagram claims: folded by who it may be and the reason, never
        # a row per address (issue 64 item 4); in memory here, written by refusals' thread.
        refused(vault, device=sender_class(host, line, lines()), address=host,
                reason_pl=reason_pl, detail=f"SIPREC: {detail}", source=line)

    srs = Srs(settings, lines, lambda f: store_ended(vault, f),
              lambda line: srs.later(quietly, count_out_of_scope, vault, line), problem,
              lambda line: srs.later(quietly, session_opened, vault, line),
              not_stored(vault), stranger)
    return srs


def sender_class(host: str, line: str | None, lines: list[LineRule]) -> str:
    """Who a refused SIP message's address says sent it: the SBC of the line whose list holds
    it, or a sender on no line's list (of ``line``'s session, or of none)."""
    rule = next((r for r in lines if r.name == line), None)
    try:
        ours = rule is not None and any(ip_address(host) in n for n in rule.networks)
    except ValueError:
        ours = False
    if ours:
        return f"SBC linii {line}"
    return (f"nadawca SIP spoza listy linii {line}" if line is not None else
            "nadawca SIP spoza list linii SIPREC")


async def _serve(vault: Vault, lines: list[LineRule], stop: threading.Event,
                 beat: Callable[[], None]) -> None:
    current = lines
    started_on = vault.config.siprec

    def server_on(siprec: Siprec) -> Srs:
        return make_server(vault, settings_of(vault, siprec), lambda: current)

    srs = server_on(started_on)
    await srs.start()
    # a [siprec] the server could not move to (its port held): tried again at the next reload
    refused: tuple[Siprec, int] | None = None
    read_at = time.monotonic()
    try:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            beat()
            if time.monotonic() - read_at > LINES_S:
                read_at = time.monotonic()
                for line in current:
                    srs.later(quietly, check_silence, vault, line.name)
                try:
                    current = await asyncio.to_thread(read_lines, vault)
                except Exception as exc:  # the lines last read go on serving
                    if not is_database_away(exc):
                        log.exception("SIPREC lines could not be read again")
                if not current and not srs.sessions:
                    log.info("SIPREC: no line is recorded through SIPREC any more; the "
                             "recording server stops")
                    break
            wanted = vault.config.siprec
            if wanted != started_on and not srs.sessions \
                    and refused != (wanted, vault.reloads):
                # [siprec] reloaded (kustosz.cli.serve_reload): between calls, never in one;
                # all or nothing (siprec.moving)
                log.info("SIPREC: [siprec] changed in kustosz.toml; the recording server "
                         "moves to it")
                srs, done = await move(vault, srs, started_on, wanted, server_on)
                started_on, refused = (wanted, None) if done else \
                    (started_on, (wanted, vault.reloads))
    finally:
        await srs.close("stopped")


def not_stored(vault: Vault) -> Callable[[str, str], None]:
    """A call recorded but not stored (ffmpeg refused a stream, the file was not taken):
    `phone.not_stored` for its line, written from the hand-over's own thread."""
    def say(line: str, text: str) -> None:
        log.warning("phone line %s: %s not stored (phone.not_stored)", line, text)
        quietly(raise_event, vault, line, AlertRow.PHONE_NOT_STORED, text)
    return say


def quietly(step: Callable[..., object], *args: object) -> None:
    """A recorder's database step in its thread: the database away is said elsewhere."""
    try:
        step(*args)
    except Exception as exc:
        if not is_database_away(exc):
            log.exception("%s failed", step.__name__)
