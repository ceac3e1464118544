"""A key's refusals written into its rows (kustosz.ingest.refusals): the `input_refusals` row
(the count for /metrics, the last reason), the interval's `input.refused` alert row its
refusals fold into, and the audit log — one entry when the interval's alert row opens, and,
when the interval held more than one refusal, one when it ends saying how many and from how
many addresses. Called with a key's tally, never once per refusal."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Alert, InputRefusal, Source
from kustosz.ingest.refusal_fold import FOLD, SAMPLE, SEEN_MAX, Key, Tally
from kustosz.states import AlertRow
from kustosz.words import count_pl

ACTOR = "intake"
OPENED = f"alert.{AlertRow.INPUT_REFUSED}"  # an interval's alert row opened
ENDED = f"{OPENED}.folded"  # ... and, past its hour, what it folded


def write(s: Session, key: Key, t: Tally, tz: tzinfo) -> datetime:
    """Fold ``t`` into its rows; the time its interval's alert row was raised."""
    source_id = None
    if t.source is not None:
        source_id = s.execute(select(Source.id).where(Source.name == t.source)).scalar()
    row = s.execute(select(InputRefusal).where(
        InputRefusal.device == key.device, InputRefusal.reason == key.reason)
        .with_for_update()).scalar()
    if row is None:
        row = InputRefusal(device=key.device, reason=key.reason, source_id=source_id, count=0,
                           first_at=t.first_at, last_at=t.last_at, last_reason="",
                           alert_id=None, alert_count=0, addresses=0, sample=[])
        s.add(row)
    row.count += t.count
    row.last_at = max(row.last_at, t.last_at)
    row.last_reason = t.reason_pl
    row.source_id = source_id if source_id is not None else row.source_id
    alert = s.get(Alert, row.alert_id) if row.alert_id is not None else None
    if alert is not None and t.first_at - alert.raised_at < FOLD:
        row.alert_count += t.count
        _addresses(row, t, fresh=False)
        _worded(alert, key, row, t, alert.raised_at.astimezone(tz))
        return alert.raised_at
    if alert is not None:
        close(s, row, alert)
    row.alert_count = t.count
    _addresses(row, t, fresh=True)
    alert = Alert(raised_at=t.first_at, kind=AlertRow.INPUT_REFUSED, source_id=row.source_id)
    _worded(alert, key, row, t, t.first_at.astimezone(tz))
    s.add(alert)
    s.flush()
    row.alert_id = alert.id
    details: dict[str, object] = {"reason": t.reason_pl}
    if t.last_address is not None:
        details |= {"times": t.count, "addresses": row.addresses, "sample": row.sample}
    audit(s, ACTOR, OPENED, key.device, details)
    return alert.raised_at


def _addresses(row: InputRefusal, t: Tally, fresh: bool) -> None:
    if t.last_address is None:
        return
    before = [] if fresh else list(row.sample or [])
    row.sample = before + [a for a in t.sample if a not in before][:SAMPLE - len(before)]
    row.addresses = (0 if fresh else row.addresses) + t.new_addresses
    if t.many:
        row.addresses = max(row.addresses, SEEN_MAX)
    row.last_address = t.last_address


def close(s: Session, row: InputRefusal, alert: Alert) -> None:
    """The end of a row's interval: what it folded, in one audit entry (none for a single
    refusal: the entry of its opening says it all)."""
    if row.alert_count > 1:
        details: dict[str, object] = {
            "reason": row.last_reason if not row.reason else row.reason,
            "times": row.alert_count, "from": alert.raised_at.isoformat(),
            "to": row.last_at.isoformat()}
        if row.last_address is not None:
            details |= {"addresses": row.addresses, "sample": row.sample,
                        "last": row.last_address}
        audit(s, ACTOR, ENDED, row.device, details)
    row.alert_id, row.alert_count, row.addresses, row.sample = None, 0, 0, []
    row.last_address = None


def close_due(s: Session, now: datetime) -> int:
    """Close every row whose interval ended by ``now`` (a quiet key is closed by whoever
    looks next: the periodic checks, the next write); how many."""
    due = s.execute(select(InputRefusal, Alert).join(Alert, Alert.id == InputRefusal.alert_id)
                    .where(Alert.raised_at <= now - FOLD)
                    .with_for_update(of=InputRefusal)).all()
    for row, alert in due:
        close(s, row, alert)
    return len(due)


def _worded(alert: Alert, key: Key, row: InputRefusal, t: Tally, since: datetime) -> None:
    alert.message = message(key, row, t, since)
    alert.message_en = message_en(key, row, t, since)
    alert.detail = t.detail or None


def message(key: Key, row: InputRefusal, t: Tally, since: datetime) -> str:
    """The alert row's text: Polish, for the office's staff. The device's own detail (in
    English, as its log would say it) is not put into it: the row keeps it apart (`detail`),
    and a page shows it after the sentence, said to be the technical detail (issue 65)."""
    count = row.alert_count
    if row.last_address is None:
        # the device named in quotes after "urządzenia" (genitive): its own words ("kamera
        # hol", "centrala linii X") keep their form
        text = (f"Przyjęto niepełne dane od urządzenia „{key.device}”: {t.reason_pl}"
                if t.taken else f"Odrzucono dane od urządzenia „{key.device}”: {t.reason_pl}")
    elif row.addresses <= 1:
        text = f"Odrzucono dane z adresu {row.last_address} ({key.device}): {t.reason_pl}"
    else:
        at_least = "co najmniej " if row.addresses >= SEEN_MAX else ""
        text = (f"Odrzucono dane z {at_least}{row.addresses} adresów ({key.device}): "
                f"{t.reason_pl}")
    text += "."
    if count > 1:
        text += (f" Powtórzyło się {count_pl(count, 'raz', 'razy', 'razy')} od "
                 f"{since:%Y-%m-%d %H:%M}")
        text += " (pokazany ostatni powód)." if row.last_address is None else "."
    if row.last_address is not None and row.addresses > 1:
        named = ", ".join(row.sample or [])
        text += f" Adresy, m.in.: {named}; ostatni: {row.last_address}."
    return text


def message_en(key: Key, row: InputRefusal, t: Tally, since: datetime) -> str | None:
    """The same in English, where the device's detail gives the reason in English; None
    without one (a page then gives the Polish, marked as such)."""
    if not t.detail:
        return None
    count, why = row.alert_count, t.detail.rstrip(".")
    if row.last_address is None:
        text = (f"Incomplete data taken from the device \"{key.device}\": {why}." if t.taken
                else f"Data from the device \"{key.device}\" refused: {why}.")
    elif row.addresses <= 1:
        text = f"Data from the address {row.last_address} ({key.device}) refused: {why}."
    else:
        at_least = "at least " if row.addresses >= SEEN_MAX else ""
        text = (f"Data from {at_least}{row.addresses} addresses ({key.device}) refused: "
                f"{why}.")
    if count > 1:
        text += f" It happened {count} times since {since:%Y-%m-%d %H:%M}"
        text += " (the last reason shown)." if row.last_address is None else "."
    if row.last_address is not None and row.addresses > 1:
        text += (f" Addresses, among others: {', '.join(row.sample or [])}; last: "
                 f"{row.last_address}.")
    return text
