"""The capture recorder under `kustosz serve`: it waits for the capture process at the data
folder's `capture.sock` while at least one enabled phone line is recorded off a mirrored port,
takes its lines' interfaces and numbers from the register every LINES_S, stores each ended
call, and at start stores what a killed run left (the calls' folders under `capture/`).

A person hears of it when the lines' calls cannot be seen: the capture process not connected
(not running, not permitted, killed) for longer than ABSENT_S raises `phone.capture_away`,
one alert for every line read off a mirrored port, raised at the moment it went away and
cleared when it is back (issue 64: an absence of 75 s used to be told to nobody, the lines'
`phone.unreachable` waiting out its 2 minutes' grace from when it was written); a line's
interface not read, or SIP over TLS on the line's port (its calls cannot be followed),
raises `phone.unreachable` for the line, cleared when it reads again (and no TLS has been
seen for TLS_RECENT_S); a port where no call is offered during working hours raises
`phone.silent` (siprec.alerts.check_silence)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kustosz.audit import append as audit
from kustosz.db.models import Alert
from kustosz.db.outage import is_database_away
from kustosz.index.sources import get_source
from kustosz.ingest.phone.capture.calls import CaptureLine, CaptureSettings
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.ingest.phone.capture.wire import socket_path
from kustosz.ingest.phone.siprec.alerts import check_silence, raise_event, session_opened
from kustosz.ingest.phone.siprec.run import (
    count_out_of_scope,
    not_stored,
    quietly,
    run_recorder,
    store_ended,
)
from kustosz.ingest.phone.siprec.server import LineRule
from kustosz.ingest.phone.watch import enabled_phone_sources
from kustosz.ingest.refusals import refused
from kustosz.phones.settings import INTAKE_CAPTURE, PhoneSettings
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import duration_pl

log = logging.getLogger(__name__)
LINES_S = 10.0
ABSENT_S = 60.0  # the capture process may take this long to (re)connect before it is alerted
TLS_RECENT_S = 300.0  # SIP over TLS seen on a port keeps its alert open this long after
ACTOR = "capture"


def capture_root(vault: Vault) -> Path:
    return vault.root / "capture"


def read_lines(vault: Vault) -> list[CaptureLine]:
    out = []
    with vault.reading() as s:
        for name in enabled_phone_sources(vault, intake=INTAKE_CAPTURE):
            cfg = PhoneSettings.of(get_source(s, name).settings)
            out.append(CaptureLine(cfg.capture, LineRule(
                name, (), frozenset(cfg.office_numbers), cfg.extension_max_digits,
                vault.policy.call_scope), tuple(cfg.sip_tcp_ports)))
    return out


def settings_of(vault: Vault) -> CaptureSettings:
    c = vault.config.siprec  # the calls' silence and loss limits are the same for both ways
    return CaptureSettings(capture_root(vault), socket_path(vault.root),
                           silence_s=c.silence_seconds, loss_percent=c.loss_percent,
                           tls_recent_s=TLS_RECENT_S)


def check_reading(vault: Vault, line: str, why: str, now: datetime | None = None) -> bool:
    """Raise (``why``: what keeps the line's calls unseen) or clear (``why`` "")
    `phone.unreachable` for a line read off a mirrored port; True while it is open."""
    now = now or datetime.now(UTC)
    with vault.transaction() as s:
        source = get_source(s, line)
        cfg = PhoneSettings.of(source.settings)
        open_ = s.execute(select(Alert).where(
            Alert.source_id == source.id, Alert.kind == AlertRow.PHONE_UNREACHABLE,
            Alert.cleared_at.is_(None))).scalars().first()
        if why and open_ is None:
            s.add(Alert(raised_at=now, kind=AlertRow.PHONE_UNREACHABLE, source_id=source.id,
                        message=(f"Linia telefoniczna {line}: rozmowy z portu lustrzanego "
                                 f"(interfejs {cfg.capture}) nie są nagrywane — {why}.")))
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_UNREACHABLE}", line, {})
        elif not why and open_ is not None:
            open_.cleared_at = now
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_UNREACHABLE}.cleared", line, {})
    return bool(why)


def check_away(vault: Vault, since: datetime | None, lines: list[str],
               now: datetime | None = None) -> None:
    """Raise (``since``: when the capture process went away) or clear (None)
    `phone.capture_away`: every line read off a mirrored port goes unrecorded meanwhile."""
    now = now or datetime.now(UTC)
    tz = vault.policy.timezone
    with vault.transaction() as s:
        open_ = s.execute(select(Alert).where(
            Alert.kind == AlertRow.PHONE_CAPTURE_AWAY, Alert.cleared_at.is_(None))
        ).scalars().first()
        named = ", ".join(f"„{n}”" for n in sorted(lines)) or "—"
        if since is not None and open_ is None:
            s.add(Alert(raised_at=since, kind=AlertRow.PHONE_CAPTURE_AWAY, source_id=None,
                        message=(f"Proces przechwytywania rozmów (kustosz capture, usługa "
                                 f"kustosz-capture) nie jest połączony z usługą Kustosz od "
                                 f"{since.astimezone(tz):%Y-%m-%d %H:%M:%S}: rozmowy linii "
                                 f"{named} z portu lustrzanego nie są nagrywane. Sprawdź "
                                 "„systemctl status kustosz-capture”.")))
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_CAPTURE_AWAY}", "capture", {
                "since": since.isoformat(), "lines": sorted(lines)})
        elif since is None and open_ is not None:
            open_.cleared_at = now
            open_.message = (
                f"Proces przechwytywania rozmów (kustosz capture) nie był połączony z usługą "
                f"Kustosz od {open_.raised_at.astimezone(tz):%Y-%m-%d %H:%M:%S} do "
                f"{now.astimezone(tz):%H:%M:%S} ({duration_pl(now - open_.raised_at)}): "
                f"rozmów linii {named} z tego czasu nie nagrano; rozmowy, które wtedy "
                "trwały, zapisano z tą przerwą.")
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_CAPTURE_AWAY}.cleared", "capture", {})


def why_unseen(recorder: Recorder, line: CaptureLine) -> str:
    """What keeps a line's calls from being seen now (Polish, for the alert), or "". The
    capture process away is not the line's: `phone.capture_away` tells it, once."""
    if not recorder.connected:
        return ""
    why = recorder.interfaces.get(line.interface)
    if why:
        return f"proces przechwytywania nie czyta interfejsu ({why})"
    if recorder.sip_over_tls(line.interface):
        return ("sygnalizacja SIP jest tam szyfrowana (SIP przez TLS, port 5061), a rozmów "
                "zestawianych przez TLS nie da się nagrać z portu lustrzanego; nagrywaj je "
                "przez SIPREC z SBC albo z centrali")
    return ""


class Absent:
    """The capture process's absence as serve's loop sees it: since when (monotonic, and
    the wall clock for the alert), and whether its alert is raised (None: not known — a
    run that stopped while it was away may have left it open)."""

    def __init__(self, since: float | None, wall: datetime) -> None:
        self.since, self.wall = since, wall
        self.raised: bool | None = None

    def look(self, connected: bool, now: float) -> tuple[datetime | None] | None:
        """What the alert needs now: (the absence's start,) to raise it, (None,) to clear
        it, None for nothing."""
        if connected:
            self.since = None
            if self.raised is not False:
                self.raised = False
                return (None,)
            return None
        if self.since is None:
            self.since, self.wall = now, datetime.now(UTC)
        if self.raised is not True and now - self.since > ABSENT_S:
            self.raised = True
            return (self.wall,)
        return None


def run_capture(vault: Vault, stop: threading.Event) -> None:
    run_recorder(vault, stop, "capture", capture_root(vault), read_lines, _serve,
                 lambda exc: f"capture: cannot wait for the capture process at "
                             f"{socket_path(vault.root)}: {exc}")


def make_recorder(vault: Vault, settings: CaptureSettings,
                  lines: Callable[[], list[CaptureLine]]) -> Recorder:
    """The capture recorder on ``vault``: calls stored, those out of scope counted, problems
    alerted, each port's offered calls noted for the silence alert — every database step in a
    thread of its own."""
    recorder: Recorder

    def problem(row: AlertRow, line: str, text: str) -> None:
        log.warning("capture line %s: %s (%s)", line, text, row)
        recorder.later(quietly, raise_event, vault, line, row, text)

    def refuse(line: str, device: str, reason_pl: str, detail: str, *, times: int = 1,
               address: str | None = None) -> None:
        recorder.later(lambda: refused(vault, device=device, reason_pl=reason_pl,
                                       detail=detail, source=line, times=times,
                                       address=address))

    recorder = Recorder(
        settings, lines, lambda f: store_ended(vault, f),
        lambda line: recorder.later(quietly, count_out_of_scope, vault, line), problem,
        lambda line: recorder.later(quietly, session_opened, vault, line), not_stored(vault),
        refuse)
    return recorder


async def _serve(vault: Vault, lines: list[CaptureLine], stop: threading.Event,
                 beat: Callable[[], None]) -> None:
    current = lines
    recorder = make_recorder(vault, settings_of(vault), lambda: current)
    await recorder.start()
    read_at = time.monotonic()
    absent = Absent(time.monotonic(), datetime.now(UTC))
    said: dict[str, str] = {}
    try:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            beat()
            now = time.monotonic()
            if (change := absent.look(recorder.connected, now)) is not None:
                recorder.later(quietly, check_away, vault, change[0],
                               [line.rule.name for line in current])
            for line in current:
                why = why_unseen(recorder, line)
                if said.get(line.rule.name) != why:
                    said[line.rule.name] = why
                    recorder.later(quietly, check_reading, vault, line.rule.name, why)
            if now - read_at > LINES_S:
                read_at = now
                for line in current:
                    recorder.later(quietly, check_silence, vault, line.rule.name)
                try:
                    current = await asyncio.to_thread(read_lines, vault)
                except Exception as exc:  # the lines last read go on being recorded
                    if not is_database_away(exc):
                        log.exception("capture lines could not be read again")
                if not current and not recorder.calls:
                    log.info("capture: no line is recorded off a mirrored port any more")
                    if absent.raised is not False:  # no line left to go unrecorded
                        recorder.later(quietly, check_away, vault, None, [])
                    break
                recorder.ask()
    finally:
        await recorder.close("stopped")

