"""The notifier `serve` runs: it reads the alert rows, decides what to tell a person (after
the grace of the kind, a reminder every repeat, the all-clear) and delivers it through every
configured channel.

What it has sent is kept in the `vault_settings` row `alerts.notifier` (JSON; no migration,
and it survives a restart, so a start message is never sent twice for one alert):

- ``open``: the alerts whose start message was decided (id -> since, last message time);
  only these get reminders and an all-clear. An alert that cleared before its grace passed
  (or before any start was decided) is never told — a blip is not a message.
- ``once``: for kinds nobody clears (disk pressure), per row kind and source the newest row
  handled and when the last message went, so that a sweep that raises the same alert every
  15 minutes makes one message per repeat period, not a flood.
- ``queues``: per channel, the messages decided but not yet delivered, oldest first. A
  decision and its queue entry are one transaction; an entry leaves the queue only once the
  channel took it. A failing channel keeps its queue (nothing is lost) and is retried after
  `retry_s`; a newer reminder replaces an older undelivered one of the same alert. A message
  the channel took just as the database stopped answering (its entry not yet out of the
  queue) is remembered by the running notifier and written off first when the database
  answers again, before anything is sent: a notifier that lives through an outage never sends
  it twice (issue 27). Only a process that ends in that moment sends it again at its next
  start: at least once, never lost.
- ``channels``: per channel, since when it fails and why (the dashboard shows it).

Each attempt to send a message through a channel, sent or failed, is also recorded for good
in `alert_deliveries` (alerts.deliveries): the queues forget, the accountability report
needs to say who was told of each alert (issue 53).
- ``past``: the rows of lasting kinds that cleared before a start was decided, looked at once
  (``done``: id -> when it cleared, for `PAST_LOOK`; ``from``: rows cleared earlier than the
  first pass that kept this are never looked at). One that lasted longer than its grace is
  told once, as what it was ("Kamera „wejscie” nie nagrywała przez 1 min 10 s"): the
  notifier was not running (serve restarting, the database away) or the row was written
  only once the problem had ended (kustosz.ingest.camera.health.clear_down_alert).

Kinds told from memory (`Kind.from_memory`, the database away: alerts/without_database.py)
are told by the process that saw them; their rows are the record and are never told here.

The loop never ends before ``stop``: a database away makes it wait with a bounded back-off
(db.outage) and ask again; `run_notifier` also builds the notifier that way. It beats
serve's watchdog (kustosz.watchdog) as ``alerts`` at each step of a pass and while it waits,
and is forgotten when it ends at the stop.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.alert_kinds import KINDS, Kind, kind_of
from kustosz.alerts.channels import ChannelError, build
from kustosz.alerts.checks import Checks
from kustosz.alerts.deliveries import FAILED, SENT, Delivery, DeliveryLog, addressed, covered
from kustosz.alerts.digest import send_if_due
from kustosz.alerts.messages import Message, compose, compose_many
from kustosz.alerts.settings import effective
from kustosz.alerts.state import STATE_KEY, HeldState, channel_problems, load_state
from kustosz.atrest.sealing import SecretBox
from kustosz.config import AlertsConfig
from kustosz.db.cameras import Gap
from kustosz.db.clock import ClockJump
from kustosz.db.models import Alert, Source
from kustosz.db.outage import Backoff, is_database_away
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
POLL_S = 5.0
RETRY_S = 60.0
GATHER_AT = 3  # this many alerts of one kind starting (or clearing) at once: one message
FIRST_LOOK = timedelta(hours=1)  # one-off rows older than this at first sight are not told
PAST_LOOK = timedelta(hours=1)  # rows that cleared longer ago than this are not told late
AWAY_LIMIT_S = 60.0  # the longest wait between passes while the database is away
# The longest one step of a pass may honestly take: the checks (several reads, each waiting
# up to connect 10 s + an answer 60 s on a database that went silent: db.deadline), or the
# messages of a pass (each channel's send bounded at 10 s a step, alerts.channels).
ALLOWANCE_S = 300.0



def jumped_s(s: Session, since: datetime, at: datetime) -> float:
    """How far the server's clock stepped between ``since`` and ``at`` (kustosz.clock): a
    problem's length is the time between them less that (issue 48 item 14: a camera down
    across a clock set 40 days ahead was told "przerwa 40 dni")."""
    total = s.execute(select(func.sum(ClockJump.delta_s)).where(
        ClockJump.clock.in_(("server", "restart")), ClockJump.detected_at > since,
        ClockJump.detected_at <= at)).scalar()
    return float(total or 0.0)

class Certificate(Protocol):
    """The certificate `serve` serves (kustosz.web.tls.Tls, a layer up, is one)."""

    @property
    def cert(self) -> Path: ...

    @property
    def not_after(self) -> datetime: ...


class Channel(Protocol):
    name: str

    def send(self, msg: Message) -> None: ...


class Notifier:
    def __init__(self, vault: Vault, config: AlertsConfig | None = None,
                 channels: dict[str, Channel] | None = None, poll_s: float | None = None,
                 retry_s: float | None = None, tls: Any = None) -> None:
        """Without ``config`` the settings in force are read again at each pass
        (kustosz.toml with the web's changes, kustosz.alerts.settings). ``tls``: the
        certificate `serve` serves, watched by the cert_expiring check."""

        self.vault = vault
        self._follow = config is None and channels is None
        self.config = config if config is not None else self._in_force()
        self.channels: dict[str, Channel] = channels if channels is not None \
            else build(self.config.channels, self._secrets(), vault)
        self.poll_s = POLL_S if poll_s is None else poll_s
        self.retry_s = RETRY_S if retry_s is None else retry_s
        self.checks = Checks(vault, self.config.forecast_days,
                             tls.not_after if tls is not None else None,
                             str(tls.cert) if tls is not None else None)
        self._checked = 0.0
        # per channel, the messages (their ``n``) it took whose leaving the queue is not
        # written yet: the database stopped answering between the two (``queues`` above)
        self._unsaved: dict[str, set[int]] = {}
        self.held = HeldState(vault)  # the state, in memory while a full disk refuses it
        self.deliveries = DeliveryLog(vault)  # who was told, for good (issue 53)

    def _in_force(self) -> AlertsConfig:
        return effective(self.vault)

    def _secrets(self) -> SecretBox | None:
        try:
            return self.vault.secrets
        except RuntimeError:  # a vault opened without its secrets key (some tests)
            return None

    def refresh(self) -> None:
        """Take in the settings changed on the web page since the last pass."""
        if not self._follow:
            return
        config = self._in_force()
        if config != self.config:
            self.config = config
            self.channels = build(config.channels, self._secrets(), self.vault)
            self.checks.forecast_days = config.forecast_days
            log.info("alert settings changed; channels now: %s",
                     ", ".join(self.channels) or "none")

    def settings(self, kind: Kind) -> tuple[timedelta, timedelta | None]:
        return self.config.kinds.get(kind.key, (kind.grace, kind.repeat))

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: the checks that raise rows (every `checks.EVERY_S`), the
        messages, the daily digest. Without channels the rows still reach the dashboard."""
        from kustosz.alerts.checks import EVERY_S  # noqa: PLC0415 - read when asked: tests shorten it

        log.info("alert notifier: channels %s", ", ".join(self.channels) or "none")
        backoff = Backoff(first_s=self.poll_s, limit_s=max(self.poll_s, AWAY_LIMIT_S))
        away = False
        progress = progress_of(self.vault).loop("alerts", ALLOWANCE_S)
        while not stop.is_set():
            wait = self.poll_s
            try:
                progress.beat()
                self.refresh()
                if time.monotonic() - self._checked >= EVERY_S or not self._checked:
                    self._checked = time.monotonic()
                    self.checks.run()
                    progress.beat()
                if self.channels:
                    self.tick()
                    progress.beat()
                self.digest()
                if away:
                    log.info("alert notifier: the database answers again")
                away = False
                backoff.reset()
            except Exception as exc:  # a surprise must not end the notifier for good
                if is_database_away(exc):
                    if not away:
                        log.warning("alert notifier: the database is away (%s); asking again "
                                    "with back-off", type(exc).__name__)
                    away = True
                    wait = backoff.delay()
                else:
                    log.exception("alert notifier pass failed")
            if progress.wait(stop, wait):
                break
        progress.forget()  # stopped on purpose: no hang

    def digest(self, now: datetime | None = None) -> bool:
        """The DPO's daily digest, once a day at `[alerts] digest_at` (kustosz.alerts.digest)."""

        email = self.channels.get("email")
        return send_if_due(self.vault, self.config, email, now or datetime.now(UTC),
                           self.retry_s, self.deliveries)

    def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self.decide(now)
        self.deliver(now)

    # -- deciding ------------------------------------------------------------------------
    def decide(self, now: datetime) -> None:
        self._pass = now.isoformat()  # the items decided together (see _batches)
        with self.held.change() as (s, state):
            names = dict(s.execute(select(Source.id, Source.name)).all())
            rows = list(s.execute(select(Alert).where(Alert.cleared_at.is_(None))
                                  .order_by(Alert.id)).scalars())
            seen = set()
            newest: dict[str, Alert] = {}
            for row in rows:
                kind = kind_of(row.kind)
                if kind.from_memory:  # told by the process that saw it
                    continue
                if not kind.clears:
                    newest[f"{row.kind}|{row.source_id or ''}"] = row
                    continue
                seen.add(str(row.id))
                self._lasting(s, state, row, kind, names, now)
            past = state.setdefault("past", {"from": now.isoformat(), "done": {}})
            for alert_id in [a for a in state["open"] if a not in seen]:
                entry = state["open"].pop(alert_id)
                gone = s.get(Alert, int(alert_id))
                at = gone.cleared_at if gone is not None and gone.cleared_at else now
                past["done"][alert_id] = at.isoformat()
                since = datetime.fromisoformat(entry["item"]["since"])
                self._enqueue(state, dict(entry["item"], event="clear", at=at.isoformat(),
                                          jumped_s=jumped_s(s, since, at)))
            self._past(s, state, past, names, now)
            for key, row in newest.items():
                self._one_off(state, key, row, kind_of(row.kind), names, now)
            for name in list(state["queues"]):
                if name not in self.channels:  # a channel taken out of kustosz.toml
                    del state["queues"][name]
                    state["channels"].pop(name, None)

    def _lasting(self, s: Session, state: dict[str, Any], row: Alert, kind: Kind,
                 names: dict[int, str], now: datetime) -> None:
        grace, repeat = self.settings(kind)
        entry = state["open"].get(str(row.id))
        if entry is None:
            since = self._since(s, row)
            if now - since < grace:
                return
            item = {"alert": row.id, "kind": kind.key, "row_kind": row.kind,
                    "source": names.get(row.source_id) if row.source_id else None,
                    "since": since.isoformat(), "text": row.message, "detail": row.detail}
            state["open"][str(row.id)] = {"item": item, "last": now.isoformat()}
            self._enqueue(state, dict(item, event="start", at=now.isoformat()))
        elif repeat is not None and now - datetime.fromisoformat(entry["last"]) >= repeat:
            entry["last"] = now.isoformat()
            self._enqueue(state, dict(entry["item"], event="repeat", at=now.isoformat()))

    def _one_off(self, state: dict[str, Any], key: str, row: Alert, kind: Kind,
                 names: dict[int, str], now: datetime) -> None:
        grace, repeat = self.settings(kind)
        entry = state["once"].get(key)
        if entry is not None and row.id <= entry["upto"]:
            return
        if now - row.raised_at < grace:
            return
        last = datetime.fromisoformat(entry["last"]) if entry and entry.get("last") else None
        fresh = row.raised_at >= now - (repeat or FIRST_LOOK) if entry is None else True
        tell = fresh and (last is None or repeat is None or now - last >= repeat)
        state["once"][key] = {"upto": row.id, "last": now.isoformat() if tell else
                              (last.isoformat() if last else None)}
        if tell:
            self._enqueue(state, {"alert": row.id, "kind": kind.key, "row_kind": row.kind,
                                  "source": names.get(row.source_id) if row.source_id
                                  else None, "since": row.raised_at.isoformat(),
                                  "text": row.message, "detail": row.detail,
                                  "event": "once",
                                  "at": now.isoformat()})

    def _past(self, s: Session, state: dict[str, Any], past: dict[str, Any],
              names: dict[int, str], now: datetime) -> None:
        """Rows of lasting kinds that cleared with no start decided: one message for each
        that lasted longer than its grace (see the module's ``past``)."""
        since_from = max(datetime.fromisoformat(past["from"]), now - PAST_LOOK)
        done: dict[str, str] = past["done"]
        for key in [k for k, at in done.items() if datetime.fromisoformat(at) < now - PAST_LOOK]:
            del done[key]
        rows = s.execute(select(Alert).where(Alert.cleared_at.is_not(None),
                                             Alert.cleared_at >= since_from)
                         .order_by(Alert.cleared_at, Alert.id)).scalars()
        for row in rows:
            kind = kind_of(row.kind)
            if str(row.id) in done or not kind.clears or kind.from_memory:
                continue
            assert row.cleared_at is not None
            done[str(row.id)] = row.cleared_at.isoformat()
            since = self._since(s, row)
            end = self._end(s, row, since)
            grace, _repeat = self.settings(kind)
            # A kind told at once (no grace) whose row came and went between two looks (a
            # full disk freed by the sweep in 2 s): its next episode speaks; not a mail each.
            if grace <= timedelta(0) or end - since < grace:
                continue
            self._enqueue(state, {"alert": row.id, "kind": kind.key, "row_kind": row.kind,
                                  "source": names.get(row.source_id) if row.source_id
                                  else None, "since": since.isoformat(), "text": row.message,
                                  "detail": row.detail, "event": "past", "at": end.isoformat(),
                                  "jumped_s": jumped_s(s, since, end)})

    @staticmethod
    def _end(s: Session, row: Alert, since: datetime) -> datetime:
        """When the problem ended: for a camera, the end of its gap (the first segment after
        it), not when the row was cleared; otherwise when the row was cleared."""
        assert row.cleared_at is not None
        if row.kind == AlertRow.CAMERA_DOWN and row.source_id is not None:
            end = s.execute(select(Gap.end_at).where(
                Gap.source_id == row.source_id, Gap.start_at == since,
                Gap.end_at.is_not(None)).limit(1)).scalar_one_or_none()
            if end is not None:
                return min(end, row.cleared_at)
        return row.cleared_at

    @staticmethod
    def _since(s: Session, row: Alert) -> datetime:
        """When the problem began: for a camera, the gap the recorder opened (the row is
        written only `--down-alert-after` later); otherwise when the row was raised."""
        if row.kind == AlertRow.CAMERA_DOWN and row.source_id is not None:
            start = s.execute(select(Gap.start_at).where(
                Gap.source_id == row.source_id, Gap.start_at <= row.raised_at)
                .order_by(Gap.start_at.desc()).limit(1)).scalar_one_or_none()
            if start is not None:
                return start
        return row.raised_at

    def _enqueue(self, state: dict[str, Any], item: dict[str, Any]) -> None:
        state["seq"] += 1
        item = dict(item, n=state["seq"], decided=self._pass)
        for name in self.channels:
            queue = state["queues"].setdefault(name, [])
            if item["event"] in ("repeat", "clear"):  # an older reminder says less
                queue[:] = [q for q in queue if not (q["alert"] == item["alert"]
                                                     and q["event"] == "repeat")]
            queue.append(item)

    # -- delivering ----------------------------------------------------------------------
    def deliver(self, now: datetime) -> None:
        office = self.vault.policy.office_name
        self.deliveries.flush()  # records that waited for the database
        for name, channel in self.channels.items():
            self._settle(name)
            state = self.held.read()
            status = state["channels"].get(name) or {}
            if status.get("next_try") and datetime.fromisoformat(status["next_try"]) > now:
                continue
            failure: ChannelError | None = None
            for batch in _batches(state["queues"].get(name, [])):
                try:
                    channel.send(compose(batch[0], office) if len(batch) == 1
                                 else compose_many(batch, office))
                except ChannelError as exc:
                    failure = exc
                except Exception as exc:  # a channel's bug is its failure
                    failure = ChannelError("error", f"{type(exc).__name__}")
                    log.exception("alert channel %s: unexpected error", name)
                self._told(name, channel, batch, failure)
                if failure is not None:
                    break
                self._unsaved.setdefault(name, set()).update(item["n"] for item in batch)
                self._settle(name)
            if failure is not None:
                self._failed(name, failure, now)
            elif status:
                self._recovered(name)

    def _told(self, name: str, channel: Channel, batch: list[dict[str, Any]],
              failure: ChannelError | None) -> None:
        """The lasting record of this attempt (alerts.deliveries): kept in memory while the
        database does not take it, never in the way of the next message."""
        self.deliveries.note(Delivery(
            covered(batch), batch[0]["event"], name, getattr(channel, "name", name),
            addressed(channel), datetime.now(UTC), FAILED if failure else SENT,
            failure.reason if failure else None))

    def _settle(self, name: str) -> None:
        """What ``name`` took leaves its queue. While the database is away this raises and
        the notifier keeps it in memory, to write off before it sends anything more."""
        sent = self._unsaved.get(name)
        if sent:
            self._done(name, sent)
            del self._unsaved[name]

    def _done(self, name: str, sent: set[int]) -> None:
        with self.held.change() as (_s, state):
            state["queues"][name] = [q for q in state["queues"].get(name, [])
                                     if q["n"] not in sent]

    def _failed(self, name: str, exc: ChannelError, now: datetime) -> None:
        with self.held.change() as (_s, state):
            status = state["channels"].get(name) or {"since": now.isoformat()}
            status.update(reason=exc.reason, detail=str(exc),
                          next_try=(now + timedelta(seconds=self.retry_s)).isoformat())
            state["channels"][name] = status
            waiting = len(state["queues"].get(name, []))
        log.error("alert channel %s failed: %s; %d message(s) wait, retried in %.0f s", name,
                  exc, waiting, self.retry_s)

    def _recovered(self, name: str) -> None:
        with self.held.change() as (_s, state):
            state["channels"].pop(name, None)
        log.info("alert channel %s works again; what waited was sent", name)


def _batches(queue: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The queue in sending order; a run of at least `GATHER_AT` starts (or all-clears, or
    problems told after they ended) of one kind decided in the same pass becomes one
    message."""
    out: list[list[dict[str, Any]]] = []
    for item in queue:
        last = out[-1] if out else None
        if (last and item["event"] in ("start", "clear", "past")
                and last[0]["event"] == item["event"]
                and last[0]["kind"] == item["kind"]
                and last[0].get("decided") == item.get("decided")):
            last.append(item)
        else:
            out.append([item])
    flat: list[list[dict[str, Any]]] = []
    for batch in out:
        flat.extend([batch] if len(batch) >= GATHER_AT else [[i] for i in batch])
    return flat


def run_notifier(vault: Vault, stop: threading.Event, tls: Certificate | None = None) -> None:
    """`serve`'s alert thread: the notifier built (its settings are in the database, which
    may be away at the start: asked again with back-off) and run until ``stop``."""
    backoff = Backoff(first_s=POLL_S, limit_s=AWAY_LIMIT_S)
    progress = progress_of(vault).loop("alerts", ALLOWANCE_S)  # the notifier's own replaces it
    while not stop.is_set():
        try:
            progress.beat()
            notifier = Notifier(vault, tls=tls)
        except Exception as exc:
            if is_database_away(exc):
                log.warning("alert notifier: the database is away (%s); starting later",
                            type(exc).__name__)
            else:
                log.exception("alert notifier: cannot start; trying again")
            if progress.wait(stop, backoff.delay()):
                progress.forget()
                return
            continue
        notifier.run(stop)
        return
    progress.forget()


__all__ = ["KINDS", "STATE_KEY", "Notifier", "channel_problems", "load_state", "run_notifier"]
