"""Telling a person that the disk is full when the alert row cannot be written.

The notifier keeps what it has sent in the database, and the database is on the full disk:
its rows cannot be written, so its way never starts. This path composes the message in
memory and hands it straight to every configured channel (e-mail, webhook, syslog: none
needs the disk). It is used once per episode (retention/pressure.py remembers that); the
normal row follows once it can be written, and the notifier tells its start and its end as
for any alert of its kind.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kustosz.alert_kinds import kind_of
from kustosz.alerts.messages import compose
from kustosz.alerts.notifier import Notifier
from kustosz.vault import Vault

log = logging.getLogger(__name__)


def tell_without_disk(vault: Vault, row_kind: str, text: str, since: datetime) -> int:
    """Send ``text`` to every channel now; returns how many channels took it."""

    try:
        channels = Notifier(vault).channels
    except Exception:
        log.exception("alert without disk: cannot set up the alert channels")
        return 0
    item = {"alert": None, "kind": kind_of(row_kind).key, "row_kind": row_kind,
            "source": None, "since": since.isoformat(), "text": text, "event": "start",
            "at": datetime.now(UTC).isoformat(), "n": 0}
    message = compose(item, vault.policy.office_name)
    sent = 0
    for name, channel in channels.items():
        try:
            channel.send(message)
            sent += 1
        except Exception as exc:  # nothing to queue it in: the log is all there is
            log.error("alert without disk: channel %s failed: %s", name, exc)
    log.warning("disk full: alert %s sent straight to %d of %d channel(s)", row_kind, sent,
                len(channels))
    return sent
