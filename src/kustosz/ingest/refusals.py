"""Input from outside that Kustosz cannot read or must refuse — an SBC's recording session, a
camera's answer, a CDR line, a file — is an alert naming the device and the reason, never only
a log line (issue 47 item 5).

One alert row (`input.refused`) per device and hour: the refusals that follow within the hour
are folded into it (its message says how many), so a device repeating the same bad message
500 times makes one row, not 500. `input_refusals` keeps each device's count for /metrics
(`kustosz_input_refused_total`) and the last reason. The reason is Polish, for the office's
staff; the technical detail follows in English, as the device's own log would say it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Alert, InputRefusal, Source
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)

ACTOR = "intake"
FOLD = timedelta(hours=1)
_DEVICE_MAX = 200
_DETAIL_MAX = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean(text: str, limit: int) -> str:
    """Outside text made safe for one line of an alert: control characters (a CR/LF a
    device sent, an ANSI escape) become a space, and it is cut at `limit`."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def refused(vault: Vault, *, device: str, reason_pl: str, detail: str = "",
            source: str | None = None, now: datetime | None = None,
            taken: bool = False) -> None:
    """Record one refusal of `device`'s input (``taken``: not refused, but taken without a
    part it should have had — a recording without its call record). Opens its own
    transaction; never raises (the
    refusal itself is already the caller's answer to the device — a database away must not
    turn it into a crash), the database's trouble is logged and left to its own alert."""
    now = now or datetime.now(UTC)
    device, detail = clean(device, _DEVICE_MAX), clean(detail, _DETAIL_MAX)
    log.warning("refused input from %s: %s%s", device, reason_pl,
                f" ({detail})" if detail else "")
    for attempt in (1, 2):
        try:
            with vault.transaction() as s:
                _record(s, device, reason_pl, detail, source, now, vault.policy.timezone,
                        taken)
            return
        except IntegrityError:  # another thread recorded this device's first refusal first
            if attempt == 2:
                log.exception("refusal from %s not recorded", device)
        except (SQLAlchemyError, OSError):
            log.exception("refusal from %s not recorded (the database is away?)", device)
            return


def _record(s: Session, device: str, reason_pl: str, detail: str, source: str | None,
            now: datetime, tz: tzinfo, taken: bool) -> None:
    source_id = None
    if source is not None:
        source_id = s.execute(select(Source.id).where(Source.name == source)).scalar()
    row = s.execute(select(InputRefusal).where(InputRefusal.device == device)).scalar()
    if row is None:
        row = InputRefusal(device=device, source_id=source_id, count=0, first_at=now,
                           last_at=now, last_reason="", alert_id=None, alert_count=0)
        s.add(row)
    row.count += 1
    row.last_at = now
    row.last_reason = reason_pl
    row.source_id = source_id if source_id is not None else row.source_id
    alert = s.get(Alert, row.alert_id) if row.alert_id is not None else None
    if alert is not None and now - alert.raised_at < FOLD:
        row.alert_count += 1
        alert.message = _message(device, reason_pl, detail, row.alert_count,
                                 alert.raised_at.astimezone(tz), taken)
        return
    alert = Alert(raised_at=now, kind=AlertRow.INPUT_REFUSED, source_id=row.source_id,
                  message=_message(device, reason_pl, detail, 1, now.astimezone(tz), taken))
    s.add(alert)
    s.flush()
    row.alert_id, row.alert_count = alert.id, 1
    audit(s, ACTOR, f"alert.{AlertRow.INPUT_REFUSED}", device, {"reason": reason_pl})


def _message(device: str, reason_pl: str, detail: str, count: int, since: datetime,
             taken: bool = False) -> str:
    # the device named in quotes after "urządzenia" (genitive): its own words ("kamera hol",
    # "centrala linii X", an SBC's address) keep their form
    text = (f"Przyjęto niepełne dane od urządzenia „{device}”: {reason_pl}" if taken else
            f"Odrzucono dane od urządzenia „{device}”: {reason_pl}")
    if detail:
        text += f" ({detail})"
    text += "."
    if count > 1:
        text += (f" Powtórzyło się {count_pl(count, 'raz', 'razy', 'razy')} od "
                 f"{since:%Y-%m-%d %H:%M} (pokazany ostatni powód).")
    return text


def counts(s: Session) -> dict[int | None, int]:
    """Refusals since each device was first refused, added up by source (None: devices that
    are no source, e.g. an SBC no line names), for /metrics — which names no device: an
    address or a camera's name says where it hangs."""
    return {source_id: int(n) for source_id, n in s.execute(
        select(InputRefusal.source_id, func.sum(InputRefusal.count))
        .group_by(InputRefusal.source_id))}
