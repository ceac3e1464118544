"""The local media folder compared with the index (issue 68 item 1): every stored file hashed
again against its recording's SHA-256, on a schedule.

Playback serves a file on its stamp (`kustosz.storage.proof`) once it was hashed: a change
made through the file system is caught at the next request, but a change below it — a
disk's bit rot, a write to the raw device — leaves the stamp as it was. This check reads
every stored file whole, at a bounded rate (`RATE`, in a thread at nice +5: the recorders
go first), and what differs from the index, or is gone, is marked `RecordingState.MISSING`
(nothing plays, copies, backs up or sweeps it), named in a `storage.missing` audit entry and
in the `storage_missing_versions` alert, which stays raised while any row is marked so. A
row marked missing whose file is back as indexed goes back to stored (`storage.found`). Its
stamp is cleared either way: the next playback hashes the file again.

Run by `kustosz storage check` and every `[storage] check_hours` by serve's periodic checks
(kustosz.alerts.checks), as the bucket's check is on an object store."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.audit import append as audit
from kustosz.db.deadline import patient
from kustosz.db.models import Recording, Source
from kustosz.maintenance.key_repeats import Repeat, repeated_keys
from kustosz.maintenance.key_repeats import alert as repeats_alert
from kustosz.states import AlertRow, RecordingState
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)
ACTION = "storage.check"
BATCH = 500  # rows read at a time
RATE = 64 << 20  # bytes a second read by the scheduled check
NICE = 5
EXAMPLES = 5  # files named in the alert and the audit entry
KEEP = 10_000  # rows listed in the report; more are only counted (memory)
WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Lost:
    """A stored row whose file is gone or holds other content than indexed."""

    id: int
    key: str
    source: str
    start_at: datetime
    changed: bool | None  # there, with other content; False: gone; None: marked before

    def line(self) -> str:
        when = self.start_at.astimezone(WARSAW).strftime("%Y-%m-%d %H:%M:%S")
        return f"{self.source} {when} (Europe/Warsaw): {self.key} " + (
            "marked missing" if self.changed is None else
            "changed (SHA-256 differs from the index)" if self.changed else "missing")

    def line_pl(self) -> str:
        when = self.start_at.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M:%S")
        return f"{self.source}, {when}: {self.key} — " + (
            "oznaczony jako brakujący" if self.changed is None else
            "zmieniony" if self.changed else "brak pliku")


@dataclass
class FilesReport:
    started: datetime
    checked: int = 0  # stored rows whose file was hashed
    bytes: int = 0
    lost: list[Lost] = field(default_factory=list)  # changed or gone, found by this run
    lost_beyond: int = 0
    found_ids: list[int] = field(default_factory=list)  # marked missing, back as indexed
    marked_missing: int = 0  # rows in state missing after the run
    marked: list[Lost] = field(default_factory=list)
    repeated: list[Repeat] = field(default_factory=list)  # keys two rows share
    repeated_count: int = 0

    @property
    def lost_count(self) -> int:
        return len(self.lost) + self.lost_beyond

    def as_json(self) -> dict[str, Any]:
        return {"folder": "media", "started": self.started.isoformat(),
                "checked": self.checked, "bytes": self.bytes,
                "missing_count": self.lost_count, "marked_missing": self.marked_missing,
                "found_again": len(self.found_ids), "repeated_count": self.repeated_count,
                "repeated": [{"key": r.key, "ids": list(r.ids)} for r in self.repeated],
                "missing": [{"id": x.id, "key": x.key, "source": x.source,
                             "start_at": x.start_at.isoformat(), "changed": x.changed}
                            for x in self.lost]}


def _as_indexed(vault: Vault, key: str, size: int | None, sha256: str) -> bool | None:
    """The file as the index has it (True), gone (False), or there but changed (None)."""
    try:
        found = vault.storage.checksum(key)
    except FileNotFoundError:
        return False
    if (size is not None and found.size != size) or found.sha256 != sha256:
        return None
    return True


class _Pace:
    """Holds the reading to ``rate`` bytes a second, on average since it began."""

    def __init__(self, rate: float) -> None:
        self.rate, self.began, self.done = rate, time.monotonic(), 0

    def after(self, n: int) -> None:
        self.done += n
        ahead = self.done / self.rate - (time.monotonic() - self.began)
        if ahead > 0:
            time.sleep(ahead)


@patient
def check_files(vault: Vault, rate: float = RATE,
                stopping: Callable[[], bool] = lambda: False) -> FilesReport:
    """Hash every stored (and missing) row's file against the index; changes nothing."""
    report = FilesReport(datetime.now(UTC))
    pace, after = _Pace(rate), 0
    while not stopping():
        with vault.reading() as s:
            rows = s.execute(
                select(Recording.id, Recording.storage_key, Recording.state,
                       Recording.start_at, Source.name, Recording.size, Recording.sha256)
                .join(Source, Source.id == Recording.source_id)
                .where(Recording.id > after, Recording.sha256.is_not(None),
                       Recording.state.in_([RecordingState.STORED, RecordingState.MISSING]))
                .order_by(Recording.id).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1][0]
        for rid, key, state, start_at, source, size, sha256 in rows:
            assert sha256 is not None  # the query's
            found = _as_indexed(vault, key, size, sha256)
            pace.after(size or 0)
            if state == RecordingState.MISSING:
                if found is True:
                    report.found_ids.append(rid)
                continue
            report.checked += 1
            report.bytes += size or 0
            if found is True:
                continue
            lost = Lost(rid, key, source, start_at, found is None)
            if len(report.lost) < KEEP:
                report.lost.append(lost)
            else:
                report.lost_beyond += 1
    if not stopping():
        report.repeated, report.repeated_count = repeated_keys(vault)
    return report


def missing_text(report: FilesReport, examples: list[Lost]) -> str:
    n = report.marked_missing
    shown = "; ".join(x.line_pl() for x in examples[:EXAMPLES])
    return (f"W folderze nagrań brakuje {count_pl(n, 'nagrania', 'nagrań', 'nagrań')} z "
            "rejestru albo ich zawartość różni się od zapisanej przy przyjęciu (inny skrót "
            "SHA-256)" + (f", np. {shown}" if shown else "")
            + ". Rejestr oznacza je jako brakujące (nie są odtwarzane ani kopiowane). Zmienić "
              "je mogła awaria dysku albo ktoś z dostępem do serwera: sprawdź dysk (SMART) i "
              "dziennik systemu, i odtwórz nagrania z kopii zapasowej.")


def run_files_check(vault: Vault, actor: str = "scheduler", rate: float = RATE,
                    stopping: Callable[[], bool] = lambda: False) -> FilesReport:
    """`check_files`, then the rows found changed or gone marked missing (and those back set
    to stored), their audit entries and the alert, at once."""
    report = check_files(vault, rate, stopping)
    now = datetime.now(UTC)
    with vault.transaction() as s:
        marked = _mark(s, [x.id for x in report.lost], RecordingState.STORED,
                       RecordingState.MISSING)
        if marked:
            audit(s, actor, "storage.missing", "folder media", {
                "recordings": marked[:KEEP], "count": len(marked),
                "examples": [x.line() for x in report.lost[:EXAMPLES]]})
        back = _mark(s, report.found_ids, RecordingState.MISSING, RecordingState.STORED)
        if back:
            audit(s, actor, "storage.found", "folder media",
                  {"recordings": back[:KEEP], "count": len(back)})
        report.marked_missing = s.execute(select(func.count()).select_from(Recording).where(
            Recording.state == RecordingState.MISSING)).scalar_one()
        if report.marked_missing:
            raise_row(s, AlertRow.STORAGE_MISSING_VERSIONS,
                      missing_text(report, report.lost or _marked(s)), now)
        else:
            clear_rows(s, AlertRow.STORAGE_MISSING_VERSIONS, now)
        repeats_alert(s, report.repeated, report.repeated_count, now)
        audit(s, actor, ACTION, "folder media", {
            "checked": report.checked, "bytes": report.bytes, "missing": report.lost_count,
            "marked_missing": report.marked_missing, "found_again": len(back),
            "repeated_keys": report.repeated_count,
            "repeated": [r.line() for r in report.repeated[:EXAMPLES]]})
    if report.repeated:
        log.warning("index: %d storage key(s) held by more than one recording, e.g. %s",
                    report.repeated_count,
                    "; ".join(r.line() for r in report.repeated[:EXAMPLES]))
    if report.lost:
        log.warning("media folder: %d stored file(s) changed or gone, e.g. %s",
                    report.lost_count, "; ".join(x.line() for x in report.lost[:EXAMPLES]))
    return report


def _mark(s: Session, ids: list[int], was: RecordingState, now: RecordingState) -> list[int]:
    """Rows of ``ids`` still in state ``was`` set to ``now``, their stamps cleared."""
    done: list[int] = []
    for start in range(0, len(ids), BATCH):
        done += list(s.execute(update(Recording).where(
            Recording.id.in_(ids[start:start + BATCH]), Recording.state == was)
            .values(state=now, file_stamp=None).returning(Recording.id)).scalars())
    return done


def _marked(s: Session) -> list[Lost]:
    return [Lost(rid, key, name, start_at, None) for rid, key, name, start_at in s.execute(
        select(Recording.id, Recording.storage_key, Source.name, Recording.start_at)
        .join(Source, Source.id == Recording.source_id)
        .where(Recording.state == RecordingState.MISSING)
        .order_by(Recording.id).limit(EXAMPLES)).all()]


def behind() -> None:
    """Lower this thread's priority (Linux keeps nice per thread): the recorders go first."""
    with suppress(OSError):
        os.nice(NICE)
