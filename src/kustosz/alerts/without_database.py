"""Telling a person that the database is away, when no alert row can be written (issue 27).

The notifier keeps its rows and its queues in the database: while the database is away its
way is shut. `serve`'s database watch (kustosz.db.watch) hands every reading to
`DatabaseAlerts`: once the database has been away longer than the grace of
`database_unreachable` (60 s, alert_kinds.py; `[alerts.kinds.database_unreachable]` or the
web page may change it), the message is composed in memory and handed straight to every
configured channel (e-mail, webhook, syslog: none needs the database), once per outage. A
channel that fails is tried again every `RETRY_S` while the process runs; there is nowhere
else to keep the message. When the database answers again its end is told the same way
("Baza danych znów dostępna") and an alert row is written, raised at the outage's start and
cleared at its end, so that the history shows it; the notifier never tells such a row
(`Kind.from_memory`). An outage is over once the database has answered for as long as the
grace (a flapping database is one outage, `DatabaseAlerts.tick`). An outage shorter than the
grace is neither told nor written (the log has it).

The channels and the grace are the settings in force (kustosz.toml with the web's changes)
as last read while the database answered (again every `REFRESH_S`); until the first such
read, kustosz.toml's alone. Sending runs on a thread of its own, so a slow relay never delays
the watch's next probe; so do the settings' reading and the outages' rows once the database
answers (a database silent again just then must not hold the probe that would see it).

Each attempt is recorded in `alert_deliveries` (alerts.deliveries) marked ``from_memory``:
kept in memory until the outage's row is written, then written against it (issue 53).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kustosz.alert_kinds import KINDS
from kustosz.alerts.channels import build
from kustosz.alerts.deliveries import FAILED, SENT, Delivery, DeliveryLog, addressed
from kustosz.alerts.messages import Message, compose, local
from kustosz.alerts.settings import effective
from kustosz.config import AlertsConfig
from kustosz.db.deadline import hurry
from kustosz.db.models import Alert
from kustosz.db.watch import DatabaseWatch, Reading
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import duration_pl

log = logging.getLogger(__name__)
KEY = "database_unreachable"
ROW = AlertRow.DATABASE_UNREACHABLE
RETRY_S = 30.0  # a channel that failed is tried again after this long
REFRESH_S = 300.0  # the settings in force are read again this often while the database answers
READ_S = 5.0  # reading the settings waits no longer for the database than this


class DatabaseAlerts:
    """A listener of the database watch. ``channels`` and ``grace`` fixed by a test replace
    the settings in force."""

    def __init__(self, vault: Vault, channels: dict[str, Any] | None = None,
                 grace: timedelta | None = None, retry_s: float = RETRY_S) -> None:
        self.vault = vault
        self._fixed = channels is not None
        self._fixed_grace = grace
        self.channels: dict[str, Any] = dict(channels or {})
        self.grace = grace if grace is not None else KINDS[KEY].grace
        self.retry_s = retry_s
        self.told: datetime | None = None  # the start of the outage whose start was told
        self.owed: list[tuple[datetime, datetime]] = []  # outages whose row is not written
        self._episode: datetime | None = None  # the first unanswered probe of this outage
        self._up_since: datetime | None = None  # answering again since (not settled yet)
        self._last_down: datetime | None = None  # the last tick that found it away
        self._away_s = 0.0  # time away within the episode
        self._read_at: float | None = None
        self._queues: dict[str, list[Message]] = {}
        self._next_try: dict[str, float] = {}
        self._lock = threading.Lock()  # the queues: the watch's thread and the sender's
        self._sending = threading.Lock()  # one delivery at a time: each message sent once
        self._sender: threading.Thread | None = None
        self._worker: threading.Thread | None = None  # settings and rows: _in_background
        self._again = self._working = False
        # who was told (alerts.deliveries): per outage (its start), the attempts made before
        # its row exists; then the row's id, for attempts made after it was written
        self.deliveries = DeliveryLog(vault)
        self._told: dict[str, list[Delivery]] = {}
        self._rows: dict[str, int] = {}
        if not self._fixed:
            self._use(vault.config.alerts)  # kustosz.toml's until the database is read

    def __call__(self, reading: Reading) -> None:
        self.tick(reading, datetime.now(UTC))

    def tick(self, reading: Reading, now: datetime) -> None:
        """One outage is an episode: from the first probe unanswered until the database has
        answered for as long as the grace without a break. A database that answers one probe
        in a dozen (a failing network card, a server in a crash loop) is away nearly all the
        time, never for the whole grace at once: its time away within the episode counts, and
        its start and its end are each told once, not at every flap."""
        if reading.up:
            if self._episode is not None:
                if self._up_since is None:
                    self._up_since = reading.since
                if now - self._up_since >= self.grace:
                    self._end_episode()
            self._in_background()
        elif reading.up is False:
            if self._episode is not None and self._up_since is not None and \
                    reading.since - self._up_since >= self.grace:
                self._end_episode()  # it had answered long enough: this is a new outage
            if self._episode is None:
                self._episode, self._away_s = reading.since, 0.0
            if self._up_since is not None or self._last_down is None:
                self._away_s += (now - reading.since).total_seconds()
            else:
                self._away_s += (now - self._last_down).total_seconds()
            self._up_since, self._last_down = None, now
            if self.told is None and self._away_s >= self.grace.total_seconds():
                self.told = self._episode
                log.error("database away since %s (%s): the alert goes straight to %d "
                          "channel(s)", self._episode.isoformat(), reading.error,
                          len(self.channels))
                self._enqueue(self._message("start", self._episode, now))
        if reading.up:
            self._last_down = None
        self._deliver_in_background()

    def _end_episode(self) -> None:
        assert self._episode is not None and self._up_since is not None
        if self.told is not None:
            self._enqueue(self._message("clear", self._episode, self._up_since))
            with self._lock:
                self.owed.append((self._episode, self._up_since))
        self._episode = self._up_since = None
        self.told, self._away_s = None, 0.0

    def _in_background(self) -> None:
        """The database answered: the settings read again and the outages' rows written, on
        a thread of their own. On the watch's thread they held its next probes for as long
        as a database that fell silent right after answering kept them waiting (the
        connection's deadline): the outage was told seconds past grace + bound (issue 64)."""
        with self._lock:
            self._again = True  # a worker under way goes round once more
            if self._working:
                return
            self._working = True
            self._worker = threading.Thread(target=self._while_up,
                                            name="database-alerts-rows", daemon=True)
            self._worker.start()

    def _while_up(self) -> None:
        while True:
            with self._lock:
                if not self._again:
                    self._working = False
                    return
                self._again = False
            try:
                self._refresh()
                self._write_owed()
            except Exception:  # the next answered probe tries again
                log.exception("database alerts: the settings or the outages' rows failed")

    def settled(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) for the settings' reading and the rows' writing started
        by the last answered probe; True when nothing of it is still under way."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return worker is None or not worker.is_alive()

    # -- the settings ----------------------------------------------------------------------
    def _use(self, config: AlertsConfig) -> None:
        try:
            secrets = self.vault.secrets
        except RuntimeError:  # a vault opened without its secrets key (some tests)
            secrets = None
        self.channels = dict(build(config.channels, secrets))
        if self._fixed_grace is None:
            self.grace = config.kinds.get(KEY, (KINDS[KEY].grace, None))[0]

    def _refresh(self) -> None:
        if self._fixed or (self._read_at is not None
                           and time.monotonic() - self._read_at < REFRESH_S):
            return

        self._read_at = time.monotonic()
        try:
            with hurry(READ_S):
                config = effective(self.vault)
        except Exception as exc:  # the last settings known stay in force
            log.warning("database alerts: cannot read the alert settings: %s",
                        type(exc).__name__)
            return
        self._use(config)

    # -- the messages ----------------------------------------------------------------------
    def _message(self, event: str, since: datetime, at: datetime) -> Message:
        tz = self.vault.policy.timezone
        text = None
        if event == "start":
            text = (f"Kustosz nie może połączyć się z bazą danych od {local(since, tz)}; "
                    "szczegóły w dzienniku usługi (journalctl -u kustosz).")
        item = {"alert": None, "kind": KEY, "row_kind": str(ROW), "source": None,
                "since": since.isoformat(), "text": text, "event": event,
                "at": at.isoformat(), "n": 0}
        return compose(item, self.vault.policy.office_name)

    def _enqueue(self, message: Message) -> None:
        with self._lock:
            for name in self.channels:
                self._queues.setdefault(name, []).append(message)
                self._next_try.pop(name, None)

    def _deliver_in_background(self) -> None:
        with self._lock:
            waiting = any(self._queues.get(name) for name in self.channels)
        if not waiting or (self._sender is not None and self._sender.is_alive()):
            return
        self._sender = threading.Thread(target=self.deliver, name="database-alerts",
                                        daemon=True)
        self._sender.start()

    def deliver(self) -> int:
        """Send what waits, oldest first, to each channel due; returns how many were sent."""
        with self._sending:
            return self._deliver()

    def _deliver(self) -> int:
        sent = 0
        for name, channel in list(self.channels.items()):
            with self._lock:
                if time.monotonic() < self._next_try.get(name, 0.0):
                    continue
                queue = list(self._queues.get(name, []))
            for message in queue:
                try:
                    channel.send(message)
                except Exception as exc:  # a ChannelError, or a channel's own bug
                    log.error("database alert: channel %s failed: %s; tried again in %.0f s",
                              name, exc, self.retry_s)
                    self._record(message, name, channel, getattr(exc, "reason", "error"))
                    with self._lock:
                        self._next_try[name] = time.monotonic() + self.retry_s
                    break
                self._record(message, name, channel, None)
                sent += 1
                with self._lock:
                    self._queues[name].remove(message)
        return sent

    # -- the record ------------------------------------------------------------------------
    def _record(self, message: Message, name: str, channel: Any, reason: str | None) -> None:
        """An attempt told from memory: recorded against the outage's row once it exists."""
        delivery = Delivery((), str(message.payload.get("event")), name,
                            getattr(channel, "name", name), addressed(channel),
                            datetime.now(UTC), FAILED if reason else SENT, reason,
                            from_memory=True)
        key = str(message.payload.get("since"))
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                self._told.setdefault(key, []).append(delivery)
        if row is not None:
            self.deliveries.note(replace(delivery, alert_ids=(row,)))

    def _recorded(self, since: datetime, row: int) -> None:
        with self._lock:
            self._rows[since.isoformat()] = row
            told = self._told.pop(since.isoformat(), [])
        for delivery in told:
            self.deliveries.note(replace(delivery, alert_ids=(row,)))

    def _write_owed(self) -> None:
        while True:
            with self._lock:
                if not self.owed:
                    return
                since, until = self.owed[0]
            local_since = local(since, self.vault.policy.timezone)
            local_until = local(until, self.vault.policy.timezone)
            message = (f"Baza danych była niedostępna od {local_since} do {local_until} "
                       f"({duration_pl(until - since)}).")
            try:
                with self.vault.transaction() as s:
                    row = Alert(raised_at=since, kind=ROW, source_id=None, message=message,
                                cleared_at=until)
                    s.add(row)
                    s.flush()
                    row_id = row.id
            except Exception as exc:  # away again: written at its next return
                log.warning("database alerts: the outage's row waits: %s", type(exc).__name__)
                return
            with self._lock:
                self.owed.pop(0)
            self._recorded(since, row_id)
            log.info("database outage %s - %s written to the alert history", since.isoformat(),
                     until.isoformat())


def watch_database(vault: Vault, **kw: Any) -> DatabaseWatch:
    """The watch `serve` runs (its thread: ``watch.run(stop)``), telling its outages."""
    watch = DatabaseWatch.of(vault, **kw)
    watch.listeners.append(DatabaseAlerts(vault))
    return watch
