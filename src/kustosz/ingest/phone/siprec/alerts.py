"""What a person hears of a SIPREC line (issue 35 item 5): a session refused for what it
offered, a call whose sound never came, a call that lost more packets than allowed — each an
alert row of its own (one-off: `phone_recording`, folded into one message an hour) — and,
as for a PBX's line, an SBC that opened no recording session during working hours for the
line's `silent_minutes` (`phone.silent`, cleared by the next session). Polish: they are for
the office's staff; the technical reason follows in English as the SBC's log says it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from kustosz.audit import append as audit
from kustosz.db.calls import PhoneIntakeState
from kustosz.db.models import Alert
from kustosz.index.sources import get_source
from kustosz.ingest.phone.dealt import ensure_state
from kustosz.phones.settings import PhoneSettings
from kustosz.states import AlertRow
from kustosz.vault import Vault

ACTOR = "siprec"
_WORDS = {
    AlertRow.PHONE_SESSION_REFUSED: "sesja nagrywania od centrali (SBC) została odrzucona, "
                                    "rozmowa nie jest nagrywana",
    AlertRow.PHONE_NO_SOUND: "rozmowa została zapisana bez dźwięku: strumienie RTP nie "
                             "dotarły (szyfrowanie, inna trasa, zapora)",
    AlertRow.PHONE_LOSS: "w nagraniu rozmowy brakuje części pakietów dźwięku",
    AlertRow.PHONE_NOT_STORED: "rozmowa została nagrana, ale nie udało się zapisać jej w "
                               "systemie; czeka w folderze danych, zapis jest ponawiany",
}


def raise_event(vault: Vault, line: str, row: AlertRow, detail: str,
                now: datetime | None = None) -> None:
    """One alert row for one call's problem."""
    now = now or datetime.now(UTC)
    with vault.transaction() as s:
        source = get_source(s, line)
        s.add(Alert(raised_at=now, kind=row, source_id=source.id,
                    message=f"Linia telefoniczna {line}: {_WORDS[row]} ({detail})."))
        audit(s, ACTOR, f"alert.{row}", line, {})


def session_opened(vault: Vault, line: str, now: datetime | None = None) -> None:
    """The SBC is alive: its last session's time, for the silence alert."""
    now = now or datetime.now(UTC)
    with vault.reading() as s:
        source_id = get_source(s, line).id
    ensure_state(vault, source_id)
    with vault.transaction() as s:
        s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == source_id)
                  .values(last_file_at=now))


def check_silence(vault: Vault, line: str, now: datetime | None = None) -> bool:
    """Raise or clear `phone.silent` for a line Kustosz records itself (SIPREC, or off a
    mirrored port); True while it is open."""
    now = now or datetime.now(UTC)
    with vault.reading() as s:
        source = get_source(s, line)
        cfg = PhoneSettings.of(source.settings)
        state = s.get(PhoneIntakeState, source.id)
    local_now = now.astimezone(vault.policy.timezone)
    working = (local_now.weekday() in cfg.workdays
               and cfg.work_hours[0] <= local_now.hour < cfg.work_hours[1])
    last = state.last_file_at if state and state.last_file_at else source.created_at
    silent = working and now - last > timedelta(minutes=cfg.silent_minutes)
    with vault.transaction() as s:
        open_ = s.execute(select(Alert).where(
            Alert.source_id == source.id, Alert.kind == AlertRow.PHONE_SILENT,
            Alert.cleared_at.is_(None))).scalars().first()
        if silent and open_ is None:
            since = f"{last.astimezone(vault.policy.timezone):%Y-%m-%d %H:%M}"
            what = (f"na porcie lustrzanym (interfejs {cfg.capture}) nie pojawiła się żadna "
                    "rozmowa, choć trwają godziny pracy. Sprawdź kopię ruchu (port "
                    "mirroring) na przełączniku." if cfg.by_capture else
                    "centrala (SBC) nie otworzyła żadnej sesji nagrywania, choć trwają "
                    "godziny pracy. Sprawdź nagrywanie SIPREC w SBC.")
            s.add(Alert(raised_at=now, kind=AlertRow.PHONE_SILENT, source_id=source.id,
                        message=f"Linia telefoniczna {line}: od {since} {what}"))
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_SILENT}", line, {})
        elif not silent and open_ is not None:
            open_.cleared_at = now
            audit(s, ACTOR, f"alert.{AlertRow.PHONE_SILENT}.cleared", line, {})
    return silent
