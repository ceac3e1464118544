"""The lasting record of who was told of an alert (issue 53): one `alert_deliveries` row per
message per channel attempt — the alert rows it covered, the event (start, repeat, clear,
once, past, digest), the channel's name and kind, the recipients as the channel addresses
them, when, and whether it went or failed (with ChannelError's reason code).

The notifier's queues forget a message once a channel took it; this record stays. Writing it
must never stop a delivery: a record the database does not take (away, a full disk) waits in
memory, oldest first, and is written at the next attempt that succeeds. Only a process that
ends before then loses the record (never the message; its log line says it was sent).

The recipients never hold a secret: e-mail addresses, a webhook's host (not its path, query,
user or password: the address may carry a token), syslog's host and port.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kustosz.db.models import AlertDelivery
from kustosz.vault import Vault

log = logging.getLogger(__name__)
SENT, FAILED = "sent", "failed"
WAITING_LIMIT = 10_000  # records kept in memory while the database is away; the oldest go


@dataclass(frozen=True)
class Delivery:
    alert_ids: tuple[int, ...]
    event: str
    channel: str
    channel_kind: str
    recipients: str
    sent_at: datetime
    outcome: str
    reason: str | None = None
    from_memory: bool = False

    def row(self) -> AlertDelivery:
        return AlertDelivery(alert_ids=list(self.alert_ids), event=self.event,
                             channel=self.channel, channel_kind=self.channel_kind,
                             recipients=self.recipients, sent_at=self.sent_at,
                             outcome=self.outcome, reason=self.reason,
                             from_memory=self.from_memory)


def host_of(url: str) -> str:
    """A web address's host only: never its user, password, path or query."""
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def addressed(sender: Any, to: tuple[str, ...] | None = None) -> str:
    """Whom ``sender`` reaches (its ``addressed``; a sender without one: "")."""
    how = getattr(sender, "addressed", None)
    if how is None:
        return ""
    try:
        return str(how(to) if to else how())
    except Exception:  # naming the recipients must never stop a delivery
        return "?"


def covered(items: Iterable[dict[str, Any]]) -> tuple[int, ...]:
    """The alert rows a message's queue items are about."""
    return tuple(int(i["alert"]) for i in items if i.get("alert") is not None)


class DeliveryLog:
    """The records a process made, written at once when the database takes them."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.waiting: list[Delivery] = []
        self._lock = threading.Lock()

    def note(self, delivery: Delivery) -> None:
        with self._lock:
            self.waiting.append(delivery)
            if len(self.waiting) > WAITING_LIMIT:
                lost = self.waiting.pop(0)
                log.error("alert delivery record of %s lost: too many wait for the database",
                          lost.sent_at.isoformat())
        self.flush()

    def flush(self) -> bool:
        """Write what waits; False (and kept) when the database does not take it."""
        with self._lock:
            if not self.waiting:
                return True
            rows = list(self.waiting)
            try:
                with self.vault.transaction() as s:
                    s.add_all([d.row() for d in rows])
            except Exception as exc:  # away, or a full disk: kept for the next attempt
                log.warning("%d alert delivery record(s) wait for the database: %s",
                            len(rows), type(exc).__name__)
                return False
            del self.waiting[:len(rows)]
            return True
