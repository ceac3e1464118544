"""Who was told of each alert, kept for good (issue 53): every attempt the notifier makes to
send a message through a channel is one `alert_deliveries` row — the alert rows covered, the
channel, the recipients as the channel addresses them (a webhook's host, never its token or
query; syslog's host and port; e-mail addresses), sent or failed with its reason. A record
the database does not take waits in memory and never stops a message; the daily digest is
recorded with the rows it names. Real receivers on loopback (tests/alerts_helpers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kustosz.alert_rows import raise_row
from kustosz.db.models import Alert, AlertDelivery
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, SyslogSink, WebhookSink
from tests.test_alerts import configure
from tests.test_alerts_digest import configure as digest_configure
from tests.test_alerts_digest import waw


def _rows(vault: Vault) -> list[AlertDelivery]:
    with vault.reading() as s:
        rows = list(s.execute(select(AlertDelivery).order_by(AlertDelivery.id)).scalars())
        s.expunge_all()
        return rows


def _sweep_fails(vault: Vault, at: datetime) -> int:
    with vault.transaction() as s:
        raise_row(s, AlertRow.SWEEP_FAILED, "Usuwanie nagrań po terminie nie powiodło się.", at)
        return int(s.execute(select(Alert.id).where(Alert.kind == AlertRow.SWEEP_FAILED))
                   .scalar_one())


def test_each_attempt_is_recorded_with_whom_it_addressed_and_no_secret(
        sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    now = datetime.now(UTC).replace(microsecond=0)
    with WebhookSink(status=500) as hook, SyslogSink() as syslog:
        url = hook.url.replace("http://", "http://jan:haslo@")  # token in the query, user:pass
        notifier = configure(vault, f'[alerts.webhook]\nurl = "{url}"\n'
                             f'[alerts.syslog]\nhost = "127.0.0.1"\nport = {syslog.port}\n')
        alert = _sweep_fails(vault, now)
        notifier.tick(now + timedelta(minutes=10))  # the webhook answers 500
        hook.status = 200
        notifier.tick(now + timedelta(minutes=11))  # before the retry: nothing more
        notifier.tick(now + timedelta(minutes=12))  # retried: it goes
        assert len(hook.posts) == 1 and len(syslog.lines) == 1
    rows = _rows(vault)
    got = [(r.channel, r.channel_kind, r.recipients, r.outcome, r.reason, r.alert_ids,
            r.event, r.from_memory) for r in rows]
    assert got == [
        ("webhook", "webhook", "127.0.0.1", "failed", "http", [alert], "start", False),
        ("syslog", "syslog", f"127.0.0.1:{syslog.port}", "sent", None, [alert], "start",
         False),
        ("webhook", "webhook", "127.0.0.1", "sent", None, [alert], "start", False)]
    assert all("sekret" not in r.recipients and "haslo" not in r.recipients for r in rows)
    assert rows[0].sent_at <= rows[2].sent_at


class _Away:
    """A vault whose database does not answer (for the delivery record only)."""

    def transaction(self) -> Any:
        raise OperationalError("INSERT", {}, Exception("connection refused"))


def test_a_database_away_keeps_the_record_and_never_stops_the_message(
        sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    now = datetime.now(UTC).replace(microsecond=0)
    with SmtpSink() as smtp:
        notifier = configure(vault, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                             'from = "kustosz@um.example.pl"\nto = ["iod@um.example.pl"]\n')
        alert = _sweep_fails(vault, now)
        notifier.deliveries.vault = _Away()  # type: ignore[assignment]
        notifier.tick(now + timedelta(minutes=10))
        assert len(smtp.mails) == 1  # told all the same
        assert _rows(vault) == [] and len(notifier.deliveries.waiting) == 1
        notifier.deliveries.vault = vault  # it answers again: written at the next pass
        notifier.tick(now + timedelta(minutes=11))
        assert len(smtp.mails) == 1 and notifier.deliveries.waiting == []
    [row] = _rows(vault)
    assert (row.alert_ids, row.recipients, row.outcome) == ([alert], "iod@um.example.pl",
                                                           "sent")
    assert row.sent_at < now + timedelta(minutes=1)  # when it went, not when written


def test_the_digest_is_recorded_with_the_alerts_it_names(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    with vault.transaction() as s:
        row = Alert(raised_at=waw(2026, 11, 23, 3, 0), kind="sweep_failed",
                    message="Usuwanie nie powiodło się.")
        s.add(row)
        s.flush()
        alert = row.id
    sink = SmtpSink()
    notifier = digest_configure(vault, sink.port)
    notifier.digest(waw(2026, 11, 22, 6, 0))
    assert not notifier.digest(waw(2026, 11, 23, 7, 30))  # nobody listens
    with sink:
        assert notifier.digest(waw(2026, 11, 23, 7, 32))
    got = [(r.event, r.alert_ids, r.recipients, r.outcome, r.reason) for r in _rows(vault)]
    assert got == [("digest", [alert], "iod@um.example.pl", "failed", "unreachable"),
                   ("digest", [alert], "iod@um.example.pl", "sent", None)]
