"""Fail-open alerts (R1.5): Kustosz never blocks the PBX, so it must say when calls stop
reaching the vault — a spool that stays silent during working hours, or that fills with
recordings nobody takes in, or that cannot be reached at all. Messages are for office staff,
hence Polish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kustosz.audit import append as audit
from kustosz.db.calls import PhoneIntakeState
from kustosz.db.models import Alert
from kustosz.ingest.phone.dealt import dealt_items, is_dealt
from kustosz.ingest.phone.intake import load
from kustosz.ingest.phone.spool import item_hashes, look
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import count_pl, plural

BACKLOG_MARGIN = timedelta(minutes=15)
ACTOR = "phone-watch"


def check_alerts(vault: Vault, name: str, now: datetime | None = None) -> list[str]:
    """Raise or clear this source's alerts; returns the kinds open afterwards."""
    source, cfg = load(vault, name)
    if not source.enabled:
        return []
    now = now or datetime.now(UTC)
    tz = vault.policy.timezone
    local_now = now.astimezone(tz)
    wanted: dict[str, str] = {}
    if not cfg.spool_path.is_dir():
        wanted[AlertRow.PHONE_UNREACHABLE] = (f"Linia telefoniczna {name}: katalog nagrań centrali "
                                       f"{cfg.spool} jest niedostępny; nagrania nie trafiają "
                                       "do systemu.")
    else:
        files = look(cfg.spool_path).files
        named = item_hashes(cfg.item_key, files)
        dealt = dealt_items(vault, source.id, named)
        limit = now - timedelta(seconds=cfg.no_cdr_wait_s + cfg.settle_s) - BACKLOG_MARGIN
        stale = [rel for rel, seen in files.items() if not is_dealt(dealt, named[rel], seen)
                 and datetime.fromtimestamp(seen[1] / 1e9, UTC) < limit]
        if stale:
            waits, taken = plural(len(stale), ("czeka", "zostało przyjęte"),
                                  ("czekają", "zostały przyjęte"),
                                  ("czeka", "zostało przyjętych"))
            wanted[AlertRow.PHONE_BACKLOG] = (
                f"Linia telefoniczna {name}: "
                f"{count_pl(len(stale), 'nagranie', 'nagrania', 'nagrań')} {waits} w katalogu "
                f"centrali dłużej niż {int((now - limit).total_seconds() // 60)} min i nie "
                f"{taken} do systemu (sprawdź: kustosz phones status {name}).")
    with vault.reading() as s:
        state = s.get(PhoneIntakeState, source.id)
    working = (local_now.weekday() in cfg.workdays
               and cfg.work_hours[0] <= local_now.hour < cfg.work_hours[1])
    last = (state.last_file_at if state and state.last_file_at else source.created_at)
    if working and now - last > timedelta(minutes=cfg.silent_minutes):
        wanted[AlertRow.PHONE_SILENT] = (
            f"Linia telefoniczna {name}: od {last.astimezone(tz):%Y-%m-%d %H:%M} centrala nie "
            "zapisała żadnego nowego nagrania, choć trwają godziny pracy. Sprawdź, czy "
            "nagrywanie rozmów działa.")
    with vault.transaction() as s:
        open_ = {a.kind: a for a in s.execute(select(Alert).where(
            Alert.source_id == source.id, Alert.kind.like("phone.%"),
            Alert.cleared_at.is_(None))).scalars()}
        for kind, message in wanted.items():
            if kind not in open_:
                s.add(Alert(raised_at=now, kind=kind, source_id=source.id, message=message))
                audit(s, ACTOR, f"alert.{kind}", name, {})
        for kind, alert in open_.items():
            if kind not in wanted:
                alert.cleared_at = now
                audit(s, ACTOR, f"alert.{kind}.cleared", name, {})
    return sorted(wanted)
