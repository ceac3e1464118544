"""The mail journal and event listeners `kustosz serve` runs next to the recorders.

Each enabled mailbox and endpoint source gets the same service `kustosz mail listen` /
`kustosz events listen` runs, on its own event loop in its own thread (`Background`), so a
slow or failing listener cannot stall the recorders or another listener. One that cannot
start (its port is taken, its certificate is unreadable) is logged and tried again later:
the office would rather keep recording video than lose everything over one misconfigured
syslog port. Sources added, changed, disabled or enabled while serve runs are picked up
within `RESCAN_S`, without a restart (`Listeners`).

The passes beat serve's watchdog (kustosz.watchdog) as ``listeners``: every pass, each listener
started or stopped, and while a listener starts or closes its chunk; each listener's own event
loop beats from its ticks (chunks.service). `run` ending at the stop forgets the passes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.db.outage import is_database_away
from kustosz.ingest.chunks.counters import Counters
from kustosz.ingest.chunks.service import Background, Service
from kustosz.ingest.chunks.spool import ChunkSpool, spool_root
from kustosz.ingest.events.intake import EventIntake
from kustosz.ingest.events.search import index_events
from kustosz.ingest.mail.search import index_mail
from kustosz.ingest.mail.service import mail_service
from kustosz.kinds import CHUNKED, SourceKind
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

log = logging.getLogger(__name__)
KINDS = tuple(k.name.value for k in CHUNKED)  # ("mailbox", "endpoint")
RESCAN_S = 15.0  # how soon a source added, changed or disabled takes effect under serve
# The longest the passes may honestly go without a beat: the wait between passes (RESCAN_S)
# and a look at the register on a database that went silent (connect 10 s, an answer 60 s,
# db.deadline), or one step of a pass; a listener's start or stop beats while it runs.
ALLOWANCE_S = 180.0


def _service(vault: Vault, kind: str, name: str) -> Service:
    # Imported here: the mail intake pulls in aiosmtpd or imap-tools, which a camera-only
    # office never uses. A mailbox either listens for SMTP or polls its IMAP journal mailbox.
    if kind == SourceKind.MAILBOX:
        return mail_service(vault, name)

    return EventIntake(vault, name)


def settle_disabled(vault: Vault) -> int:
    """Take in the chunks that disabled sources left in the spool (serve stopped by a crash,
    the source disabled before the next start): what they hold was received while they were
    enabled, and it must come under retention rather than wait for a listener that is not
    started. Enabled sources' leftovers are taken in as their listeners start."""

    with vault.reading() as s:
        idle = [(src.id, src.name, src.kind) for src in s.execute(select(Source).where(
            Source.kind.in_(KINDS), Source.enabled.is_(False))).scalars()]
    taken = 0
    for source_id, name, kind in idle:
        if not spool_root(vault, name).exists():
            continue
        counters = Counters(source_id)
        spool = (ChunkSpool(vault, name, "mail", "hour", index_mail, counters)
                 if kind == SourceKind.MAILBOX else
                 ChunkSpool(vault, name, "events", "hour", index_events, counters))
        try:
            taken += len(spool.recover())
            counters.flush(vault)
        except Exception:
            log.exception("%s: chunks left in the spool could not be taken in; they stay "
                          "there for the next start", name)
    return taken


def _digest(kind: str, settings: dict[str, Any]) -> str:
    """What a running listener was started with: any change (a port, the allow-list, a
    certificate, the token, the rules) restarts it."""
    text = json.dumps({"kind": kind, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Running:
    kind: str
    digest: str
    bg: Background


class Listeners:
    """The listeners of `kustosz serve`, kept in step with the register of sources: each
    pass (at start, then every `RESCAN_S`) starts the enabled sources not yet running,
    stops those disabled or removed, and restarts one whose settings changed. Stopping
    closes the open chunk, so what it received is stored. A source that fails to start is
    tried again on the next pass; its failure is logged once, not on every pass."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.running: dict[str, _Running] = {}
        self.failing: dict[str, tuple[str, str]] = {}  # name -> (digest, error)
        self.away_since: float | None = None  # the register could not be read: the database
        # One pass at a time (serve's first, then the rescans); `_lock` guards `running`
        # only, and is never held while the database or a listener is waited for: stop_all
        # (on shutdown, from another thread) must not wait a minute for a silent database.
        self._pass = threading.Lock()
        self._lock = threading.Lock()
        self._stopping = False
        self._progress: Loop | None = None  # serve's watchdog, while `run` runs

    def _beat(self) -> None:
        if self._progress is not None:
            self._progress.beat()

    def wanted(self) -> dict[str, tuple[str, str]]:
        """Enabled mailbox and endpoint sources: name -> (kind, digest of their settings)."""
        with self.vault.reading() as s:
            return {src.name: (src.kind, _digest(src.kind, src.settings or {}))
                    for src in s.execute(select(Source).where(
                        Source.kind.in_(KINDS), Source.enabled.is_(True))
                        .order_by(Source.name)).scalars()}

    def reconcile(self) -> None:
        """One pass; never raises (a failed look at the register is retried next pass). While
        the database is away the running listeners go on as they are: they need it only to
        take their chunks in, which they retry by themselves."""
        with self._pass:
            try:
                wanted = self.wanted()
            except Exception as exc:
                if not is_database_away(exc):
                    log.exception("listeners: the register of sources could not be read; "
                                  "trying again in %.0f s", RESCAN_S)
                elif self.away_since is None:
                    self.away_since = time.monotonic()
                    log.warning("listeners: the database is away (%s); the %d running "
                                "listener(s) go on, sources added or changed wait for it",
                                type(exc).__name__, len(self.running))
                return
            if self.away_since is not None:
                log.info("listeners: the register answers again after %.0f s",
                         time.monotonic() - self.away_since)
                self.away_since = None
            for name, run in list(self.running.items()):
                self._beat()
                want = wanted.get(name)
                if want is None:
                    self._stop(name, "disabled or removed")
                elif want[1] != run.digest:
                    self._stop(name, "settings changed; restarting")
            for name in set(self.failing) - set(wanted):
                del self.failing[name]
            for name, (kind, digest) in wanted.items():
                self._beat()
                if name not in self.running and not self._stopping:
                    self._start(name, kind, digest)

    def _start(self, name: str, kind: str, digest: str) -> None:
        try:
            bg = Background(lambda: _service(self.vault, kind, name), beat=self._beat)
        except Exception as exc:
            state = (digest, f"{type(exc).__name__}: {exc}")
            if self.failing.get(name) != state:
                log.error("%s source %s could not start (%s); trying again every %.0f s, "
                          "the other listeners and the recorders keep running",
                          kind, name, exc, RESCAN_S)
            self.failing[name] = state
            return
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self.running[name] = _Running(kind, digest, bg)
        if stopping:  # serve began to stop while this one started
            self._stop_one(name, _Running(kind, digest, bg), "serve is stopping")
            return
        where = ", ".join(f"{k} {h}:{p}" for k, (h, p) in bg.service.addresses.items())
        log.info("%s source %s %s%s", kind, name, f"listening on {where}" if where
                 else "started", " (it failed before)" if self.failing.pop(name, None) else "")

    def _stop(self, name: str, why: str) -> None:
        with self._lock:
            run = self.running.pop(name, None)
        if run is not None:
            self._stop_one(name, run, why, self._beat)

    @staticmethod
    def _stop_one(name: str, run: _Running, why: str,
                  beat: Callable[[], None] | None = None) -> None:
        log.info("%s source %s: stopping (%s)", run.kind, name, why)
        try:
            run.bg.stop(beat)
        except Exception:
            # Not lost: the chunk stays in the spool and the next start takes it in.
            log.exception("%s: stopping failed; its open chunk is taken in at the next start",
                          name)

    def run(self, stop: threading.Event) -> None:
        """Passes until ``stop`` is set (serve's thread); the first is the caller's. A pass
        never raises, and a database that does not answer ends its look at the register
        within its deadline (db.deadline): the passes go on through any outage."""
        self._progress = progress_of(self.vault).loop("listeners", ALLOWANCE_S)
        try:
            while not self._progress.wait(stop, RESCAN_S):
                self._beat()
                self.reconcile()
        finally:
            if stop.is_set():  # stopped on purpose: no hang
                self._progress.forget()

    def addresses(self, name: str) -> dict[str, tuple[str, int]]:
        with self._lock:
            run = self.running.get(name)
            return dict(run.bg.service.addresses) if run else {}

    def stop_all(self) -> None:
        """Stop every listener; stopping closes its open chunk, so what it received is taken
        in. A pass under way starts nothing more, and stops what it was starting."""
        with self._lock:
            self._stopping = True
            running, self.running = self.running, {}
        # All at once: each closes and takes in its own chunk (seconds for a busy source on a
        # loaded machine); one after another, serve's bounded stop would count their sum.
        stopping = [threading.Thread(target=self._stop_one, args=(name, run, "serve is stopping"),
                                     name=f"stop-{name}", daemon=True)
                    for name, run in running.items()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
