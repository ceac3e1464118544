"""The daily digest for the data protection officer (R6.3): once a day at `[alerts]
digest_at` (the office's local time, Europe/Warsaw), a plain-text e-mail in Polish to
`digest_to` (default: the alert recipients) with what the last day brought — alerts raised
and cleared, access refusals, requests waiting and their deadlines, copies due for
destruction, what the sweeps deleted — and what is open now.

The day covered runs from the previous digest time to this one on the office's clock, so
across a change to or from summer time it is 23 or 25 hours long, and every moment is in
exactly one digest. The day sent is kept in the notifier's `alerts.notifier` row
(``digest``): a digest is never sent twice for one day, also across restarts; one that
could not be sent is retried after `retry_s`. A day on which `serve` did not run at the
digest time is sent late the same day; earlier missed days are not made up. The first
digest is the first one due after the notifier first ran (a new vault started at noon
does not send that morning's at once).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from kustosz.access.records import REFUSAL_ACTIONS
from kustosz.alert_kinds import kind_of
from kustosz.alerts.channels import ChannelError
from kustosz.alerts.deliveries import FAILED, SENT, Delivery, DeliveryLog, addressed
from kustosz.alerts.messages import WARSAW, Message
from kustosz.alerts.state import channel_problems, load_state, save_state
from kustosz.config import AlertsConfig
from kustosz.custody.copies import list_copies
from kustosz.custody.requests import list_requests, overdue_copies
from kustosz.db.deleted import Which, deleted_totals
from kustosz.db.models import Alert, AuditEntry, Source
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)
NEAR_DAYS = 3  # a request's decision deadline this close is named
LISTED = 15  # at most this many lines per list; the rest is counted


def window(day: date, at: str, tz: ZoneInfo = WARSAW) -> tuple[datetime, datetime]:
    """The span the digest of local ``day`` covers: from the digest time of the day before
    to that of ``day`` (wall-clock times; 23 or 25 hours across a clock change)."""
    hh, mm = (int(x) for x in at.split(":"))
    # In UTC: Python subtracts two times of one zone by their wall clocks (always 24 h).
    end = datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(UTC)
    start = datetime.combine(day - timedelta(days=1), time(hh, mm), tzinfo=tz).astimezone(UTC)
    return start, end


def due_day(now: datetime, at: str, last: str | None, tz: ZoneInfo = WARSAW) -> date | None:
    """The local day whose digest is due at ``now``, or None."""
    if not at:
        return None
    today = now.astimezone(tz).date()
    if last == today.isoformat() or now < window(today, at, tz)[1]:
        return None
    return today


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


_NAMED = {"camera_down": "kamera „{name}” nie nagrywa",
          "phone_down": "linia telefoniczna „{name}” nie dostarcza nagrań",
          "recorder_restarting": "rejestrator kamery „{name}” uruchamia się ponownie w pętli"}


def _listed(lines: list[str]) -> list[str]:
    if len(lines) <= LISTED:
        return lines
    return [*lines[:LISTED], f"  … i {len(lines) - LISTED} więcej (zob. pulpit)"]


def compose_digest(vault: Vault, start: datetime, end: datetime, office: str = "") -> Message:
    tz = vault.policy.timezone
    policy = vault.policy
    with vault.reading() as s:
        names = dict(s.execute(select(Source.id, Source.name)).all())

        def described(a: Alert) -> str:
            kind = kind_of(a.kind)
            if a.source_id not in names:
                return kind.label_pl
            name = names[a.source_id]
            if kind.key in _NAMED:  # the name right after its noun: kamera „wejście” …
                return _NAMED[kind.key].format(name=name)
            return f"{kind.label_pl} („{name}”)"

        raised = list(s.execute(select(Alert).where(Alert.raised_at >= start,
                                                    Alert.raised_at < end)
                                .order_by(Alert.raised_at)).scalars())
        cleared = list(s.execute(select(Alert).where(Alert.cleared_at >= start,
                                                     Alert.cleared_at < end)
                                 .order_by(Alert.cleared_at)).scalars())
        still = list(s.execute(select(Alert).where(Alert.cleared_at.is_(None))
                               .order_by(Alert.raised_at)).scalars())
        refusals = s.execute(select(AuditEntry.action, AuditEntry.actor, func.count())
                             .where(AuditEntry.action.in_(REFUSAL_ACTIONS),
                                    AuditEntry.at >= start, AuditEntry.at < end)
                             .group_by(AuditEntry.action, AuditEntry.actor)).all()
        waiting = list_requests(s, "registered")
        approved = list_requests(s, "approved")
        # Approved, still without a copy past the office's time (issue 30 item 4): their
        # material stays held until the copy is made, so the officer must see them.
        late_copies = overdue_copies(s, policy, now=end)
        due_copies = list_copies(s, due_only=True, now=end)
        deleted, size, swept = deleted_totals(s, Which(deleted_from=start, deleted_before=end))
        sweeps = len(swept)
        failing = channel_problems(s)
    day_pl = end.astimezone(tz).strftime("%d.%m.%Y")
    out = [f"Zestawienie dzienne Kustosza{f' — {office}' if office else ''}",
           f"Okres: od {_local(start, tz)} do {_local(end, tz)}.", ""]

    out.append(f"1. Alarmy w tym okresie: zgłoszone: {len(raised)}, zakończone: "
               f"{len(cleared)}.")
    out += _listed([f"  - {_local(a.raised_at, tz)} zgłoszony: {described(a)}"
                    for a in raised])
    out += _listed([f"  - {_local(a.cleared_at, tz)} zakończony: {described(a)}"
                    for a in cleared if a.cleared_at])
    out.append(f"   Alarmy nadal trwające: {len(still)}.")
    out += _listed([f"  - od {_local(a.raised_at, tz)}: {described(a)}" for a in still])
    if failing:
        out.append("   Kanały powiadomień, które nie działają: " + ", ".join(
            f"{p['name']} ({p['reason']})" for p in failing) + ".")
    out.append("")

    total = sum(n for _, _, n in refusals)
    out.append(f"2. Odmowy dostępu do nagrań: {total}.")
    what = {"access.refused": "odmowa", "access.blocked_address": "stanowisko spoza listy"}
    out += _listed([f"  - {actor}: {count_pl(n, 'raz', 'razy', 'razy')} ({what.get(a, a)})"
                    for a, actor, n in sorted(refusals, key=lambda r: -r[2])])
    out.append("")

    today = end.astimezone(tz).date()
    out.append(f"3. Wnioski czekające na decyzję: {len(waiting)}; zatwierdzone, czekające na "
               f"kopię: {len(approved)}.")
    after = policy.custody.decision_overdue_after
    lines = []
    for r in waiting:
        last_day = after.last_day(r.received_on)
        if last_day < today:
            lines.append(f"  - wniosek nr {r.id} z {r.received_on:%d.%m.%Y}: termin decyzji "
                         f"minął {last_day:%d.%m.%Y}")
        elif (last_day - today).days <= NEAR_DAYS:
            lines.append(f"  - wniosek nr {r.id} z {r.received_on:%d.%m.%Y}: termin decyzji "
                         f"{last_day:%d.%m.%Y}")
    out += _listed(lines)
    if late_copies:
        out.append(f"   Wnioski zatwierdzone bez kopii — po terminie: {len(late_copies)} "
                   "(nagrania pozostają zabezpieczone, dopóki kopia nie zostanie sporządzona).")
        out += _listed([f"  - wniosek nr {r.id} z {r.received_on:%d.%m.%Y}: kopia "
                        f"nie została sporządzona, po terminie od {late.since:%d.%m.%Y}"
                        for r, late in late_copies])
    out.append("")

    out.append(f"4. Kopie do zniszczenia (upłynął okres ich przechowywania): {len(due_copies)}.")
    out += _listed([f"  - kopia nr {c.number}, termin minął {_local(c.expires_at, tz)}"
                    for c in due_copies])
    out.append("")

    items = count_pl(deleted, "nagranie", "nagrania", "nagrań")
    runs = count_pl(sweeps, "przebiegu", "przebiegach", "przebiegach")
    out.append(f"5. Usuwanie nagrań po terminie: {items} ({_size_pl(int(size))}) w {runs}.")
    out += ["", "Wiadomość wysłana automatycznie przez Kustosza; szczegóły na pulpicie."]
    subject = (f"[Kustosz] Zestawienie dzienne {day_pl}: alarmy {len(raised)}, odmowy {total}, "
               f"wnioski {len(waiting)}, kopie do zniszczenia {len(due_copies)}")
    payload = {"kind": "digest", "event": "digest", "source": None, "alert_id": None,
               "at": end.isoformat(), "since": start.isoformat(), "subject": subject,
               "text": subject, "alert_ids": sorted({a.id for a in [*raised, *cleared, *still]})}
    return Message(subject, "\n".join(out) + "\n", "notice", payload)


def _size_pl(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}".replace(".", ",")
        size /= 1000
    return f"{size:.1f} TB".replace(".", ",")


def send_if_due(vault: Vault, config: AlertsConfig, email: Any, now: datetime,
                retry_s: float = 60.0, deliveries: DeliveryLog | None = None) -> bool:
    """Send the digest of today when its time has come and it was not sent; True if sent.
    Each attempt is recorded in ``deliveries`` (alerts.deliveries) with the alert rows the
    digest names."""

    if email is None or not config.digest_at:
        return False
    tz = vault.policy.timezone
    with vault.reading() as s:
        state = load_state(s)
    mark = state["digest"]
    if mark.get("next_try") and datetime.fromisoformat(mark["next_try"]) > now:
        return False
    if not mark:  # the first pass ever: the first digest is the next one after it
        with vault.transaction() as s:
            state = load_state(s)
            state["digest"] = {"since": now.isoformat()}
            save_state(s, state)
        mark = state["digest"]
    day = due_day(now, config.digest_at, mark.get("day"), tz)
    if day is None:
        return False
    start, end = window(day, config.digest_at, tz)
    if "day" not in mark and end < datetime.fromisoformat(mark["since"]):
        return False
    msg = compose_digest(vault, start, end, vault.policy.office_name)
    to = tuple(config.digest_to) or None
    def told(outcome: str, reason: str | None = None) -> None:
        if deliveries is not None:
            deliveries.note(Delivery(tuple(msg.payload["alert_ids"]), "digest", "email",
                                     getattr(email, "name", "email"), addressed(email, to),
                                     datetime.now(UTC), outcome, reason))

    try:
        email.send(msg, to=to)
    except ChannelError as exc:
        told(FAILED, exc.reason)
        with vault.transaction() as s:
            state = load_state(s)
            state["digest"]["next_try"] = (now + timedelta(seconds=retry_s)).isoformat()
            save_state(s, state)
        log.error("the daily digest for %s could not be sent: %s; retried in %.0f s", day,
                  exc, retry_s)
        return False
    told(SENT)
    with vault.transaction() as s:
        state = load_state(s)
        state["digest"] = {"day": day.isoformat(), "sent": now.isoformat(),
                           "since": mark.get("since")}
        save_state(s, state)
    log.info("daily digest for %s sent", day)
    return True
