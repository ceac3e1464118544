"""The bucket compared with the index (issue 16, hardening): objects and versions nobody
indexed.

The app's credentials cannot delete, but they can PUT: a new key, or a newer version under a
recording's key (reads name the index's version id, so playback never serves it, yet it sits
in the bucket). Kustosz stores nothing in the bucket but recordings (segments, chunks, calls,
files: `kustosz.ingest.files`), each under its own key with the version id the index keeps,
so every version the index does not name is unknown. This walks the bucket's versions page by
page (`list_object_versions`, 1000 at a time: a bucket of millions is never held in memory),
asks the index about each page's keys, and reports:

- ``unknown``: a version (or a delete marker) of a key no recording has, or a version other
  than the one its recording names;
- ``size_differs``: the indexed version is there but its size is not the index's;
- ``duplicates``: an extra version under a stored recording's key that is a whole copy of it
  (read back: the row's size and SHA-256) — an upload the store finished after its client was
  killed, beside the one the retry stored (issue 68 item 4). Known, not foreign: counted and
  named in the run's audit entry, no alert (Object Lock keeps it until its own retain-until).

A key whose row has no version id yet (an intake under way, an undone intake the sweep will
remove, a row older than migration 0019) is not judged: it is counted as ``unverified``.
Candidates are asked again at the end — the index (an intake committed meanwhile) and the
store (a version the sweep deleted meanwhile) — so a busy vault raises no false alarm.

The other way round (issue 28 item 4: a version deleted behind the gateway, through the
store's own back doors, left the index saying "stored"): every version the walk lists is
remembered as a 64-bit digest of its key and version id (8 bytes each, sorted once: 80 M
versions take 640 MB for the length of the run), then the index's stored rows with a version
id are read in batches of their ids and each looked up:

- ``missing``: a stored row whose version the bucket did not list, and a HEAD of it finds
  none (so an intake committed after its key was listed is not one);
- changed: a stored row whose version was listed with another size (``size_differs``), or
  was not listed and its HEAD shows another size, another SHA-256 than the one intake put in
  its metadata, or no lock though it was written with one (SeaweedFS does not list a version
  whose entry was rewritten through the filer). A version rewritten with the same size and its
  metadata and lock forged too is not told from the original without reading it whole.

Both are marked `RecordingState.MISSING` (nothing plays, copies or backs them up; the index no
longer says it holds them) in the run's transaction, with the audit entry
(`storage.missing`: the rows' ids); a row marked so whose version is listed again as indexed
goes back to stored (`storage.found`). The alert `storage_missing_versions` stays raised while
any row is marked missing, naming how many and a few (camera or line, time in Europe/Warsaw,
key).

Each run writes one audit entry; unknown objects raise `storage_unknown_objects` (how many
and a few keys and versions), a run that finds none clears it. Run by `kustosz storage
check` and every `[storage] check_hours` by serve's periodic checks (kustosz.alerts.checks).
"""

from __future__ import annotations

import hashlib
import logging
from array import array
from collections.abc import Iterator
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
from kustosz.errors import ConfigError
from kustosz.maintenance.key_repeats import Repeat, repeated_keys
from kustosz.maintenance.key_repeats import alert as repeats_alert
from kustosz.states import AlertRow, RecordingState
from kustosz.storage.base import Refused
from kustosz.storage.s3 import META_SHA256, S3Storage
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)
EXAMPLES = 5  # keys/versions named in the alert and the audit entry
RECHECK = 500  # candidates asked again at the end (beyond that: reported as found)
KEEP = 10_000  # unknown versions listed in the report; more are only counted (memory)
ACTION = "storage.check"
BATCH = 5000  # index rows looked up at a time
SHOWN = 20  # rows marked missing that `kustosz storage check` names
WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Lost:
    """An indexed version the store does not hold as indexed."""

    id: int
    key: str
    version: str
    source: str
    start_at: datetime
    changed: bool  # listed, but of another size than indexed; else not listed at all

    def line(self, earlier: bool = False) -> str:
        when = self.start_at.astimezone(WARSAW).strftime("%Y-%m-%d %H:%M:%S")
        what = "marked missing" if earlier else \
            "changed in the store" if self.changed else "missing from the store"
        return f"{self.source} {when} (Europe/Warsaw): {self.key} version {self.version} {what}"

    def line_pl(self, earlier: bool = False) -> str:
        when = self.start_at.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M:%S")
        what = "oznaczone jako brakujące" if earlier else \
            "zmieniona w magazynie" if self.changed else "brak w magazynie"
        return f"{self.source}, {when}: {self.key}, wersja {self.version} — {what}"


@dataclass
class CheckReport:
    bucket: str  # and the vault's part of it, when offices share it: "media/mops/"
    started: datetime
    versions: int = 0  # versions and delete markers listed
    known: int = 0
    unverified: int = 0
    unknown: list[tuple[str, str, bool]] = field(default_factory=list)  # key, version, marker
    size_differs: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # key, version
    unknown_beyond: int = 0  # unknown past the first KEEP (counted, not listed)
    indexed: int = 0  # stored rows (with a version id) looked up in the listing
    lost: list[Lost] = field(default_factory=list)  # found missing or changed by this run
    lost_beyond: int = 0
    found_again: int = 0  # rows marked missing whose version is listed as indexed again
    marked_missing: int = 0  # rows in state missing after the run (this run's and earlier)
    found_ids: list[int] = field(default_factory=list, repr=False)  # of the found_again
    marked: list[Lost] = field(default_factory=list)  # the first rows marked missing (run_check)
    repeated: list[Repeat] = field(default_factory=list)  # keys two rows share
    repeated_count: int = 0

    @property
    def unknown_count(self) -> int:
        return len(self.unknown) + self.unknown_beyond

    @property
    def problems(self) -> int:
        return self.unknown_count + len(self.size_differs)

    @property
    def lost_count(self) -> int:
        return len(self.lost) + self.lost_beyond

    def examples(self) -> list[str]:
        shown = [f"{k} (version {v}{', delete marker' if m else ''})"
                 for k, v, m in self.unknown[:EXAMPLES]]
        shown += [f"{k} (version {v}: size differs from the index)"
                  for k, v in self.size_differs[:max(0, EXAMPLES - len(shown))]]
        return shown

    def as_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "started": self.started.isoformat(),
                "versions": self.versions, "known": self.known,
                "unverified": self.unverified, "unknown_count": self.unknown_count,
                "size_differs_count": len(self.size_differs),
                "unknown": [{"key": k, "version_id": v, "delete_marker": m}
                            for k, v, m in self.unknown],
                "size_differs": [{"key": k, "version_id": v} for k, v in self.size_differs],
                "duplicates": [{"key": k, "version_id": v} for k, v in self.duplicates],
                "indexed": self.indexed, "missing_count": self.lost_count,
                "marked_missing": self.marked_missing, "found_again": self.found_again,
                "repeated_count": self.repeated_count,
                "repeated": [{"key": r.key, "ids": list(r.ids)} for r in self.repeated],
                "missing": [{"id": x.id, "key": x.key, "version_id": x.version,
                             "source": x.source, "start_at": x.start_at.isoformat(),
                             "changed": x.changed} for x in self.lost],
                "marked": [{"id": x.id, "key": x.key, "version_id": x.version,
                            "source": x.source, "start_at": x.start_at.isoformat()}
                           for x in self.marked]}


def _digest(key: str, version: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}\0{version}".encode(), digest_size=8)
                          .digest(), "big")


def _index_of(vault: Vault, keys: list[str]) -> dict[str, list[tuple[str | None, int | None]]]:
    """storage_key → [(version_id, size)] of the rows with these keys (any state)."""
    found: dict[str, list[tuple[str | None, int | None]]] = {}
    with vault.reading() as s:
        for key, version, size in s.execute(select(
                Recording.storage_key, Recording.version_id, Recording.size)
                .where(Recording.storage_key.in_(keys))):
            found.setdefault(key, []).append((version, size))
    return found


def _judge(report: CheckReport, page: list[dict[str, Any]],
           index: dict[str, list[tuple[str | None, int | None]]]) -> None:
    for item in page:
        key, version, marker = item["Key"], item["VersionId"], item["marker"]
        rows = index.get(key)
        if rows and any(v is None for v, _size in rows):
            report.unverified += 1
            continue
        match = [size for v, size in rows or [] if v == version]
        if marker or not match:
            if len(report.unknown) < KEEP:
                report.unknown.append((key, version, marker))
            else:
                report.unknown_beyond += 1
        elif match[0] is not None and item.get("Size") is not None and \
                int(item["Size"]) != int(match[0]):
            report.size_differs.append((key, version))
        else:
            report.known += 1


def _pages(store: S3Storage, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """The vault's versions and delete markers, a page at a time: the whole bucket, or only
    the vault's part of a bucket offices share ([storage] prefix, issue 67), keys without
    the prefix as the index keeps them."""
    yield from store.version_pages(page_size)


def _recheck(vault: Vault, store: S3Storage, report: CheckReport) -> None:
    """Ask again about what looked unknown: an intake may have committed its row after its
    page was judged, and the sweep may have deleted a version after it was listed."""
    head = report.unknown[:RECHECK]
    index = _index_of(vault, sorted({k for k, _v, _m in head}))
    still: list[tuple[str, str, bool]] = []
    for key, version, marker in head:
        rows = index.get(key, [])
        if any(v is None or v == version for v, _size in rows) and not marker:
            report.known += 1
            continue
        if not marker:
            try:
                store._head(key, version)
            except FileNotFoundError:
                continue  # deleted meanwhile (the sweep, by its credentials)
            except Refused:  # not readable with the app's credentials: there, and unknown
                pass
        still.append((key, version, marker))
    report.unknown = _whole_copies(vault, store, report, still) + report.unknown[RECHECK:]


def _whole_copies(vault: Vault, store: S3Storage, report: CheckReport,
                  candidates: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """The candidates left once those under a stored recording's key that are a whole copy
    of it (read back and hashed) are taken as `duplicates`."""
    keys = sorted({k for k, _v, marker in candidates if not marker})
    wanted: dict[str, set[tuple[int | None, str | None]]] = {}
    if keys:
        with vault.reading() as s:
            for key, size, sha in s.execute(select(
                    Recording.storage_key, Recording.size, Recording.sha256).where(
                    Recording.storage_key.in_(keys),
                    Recording.state == RecordingState.STORED)):
                wanted.setdefault(key, set()).add((size, sha))
    left = []
    for key, version, marker in candidates:
        if not marker and key in wanted:
            try:
                got = store.checksum(key, version=version)
            except (FileNotFoundError, Refused):
                got = None
            if got is not None and (got.size, got.sha256) in wanted[key]:
                report.duplicates.append((key, version))
                continue
        left.append((key, version, marker))
    return left


@patient
def check_bucket(vault: Vault, page_size: int = 1000) -> CheckReport:
    """Walk the bucket against the index; changes nothing (see `run_check`)."""

    store = vault.storage
    if not isinstance(store, S3Storage):
        raise ConfigError("the bucket-vs-index check needs media in an object store "
                          '([storage] kind = "s3")',
                          pl="Porównanie kubełka z rejestrem wymaga nagrań w magazynie "
                             'obiektów ([storage] kind = "s3").')
    report = CheckReport(store.place, datetime.now(UTC))
    seen = array("Q")
    for page in _pages(store, page_size):
        report.versions += len(page)
        seen.extend(_digest(i["Key"], i["VersionId"]) for i in page if not i["marker"])
        _judge(report, page, _index_of(vault, sorted({i["Key"] for i in page})))
    if report.unknown:
        _recheck(vault, store, report)
    _find_lost(vault, store, report, seen)
    report.repeated, report.repeated_count = repeated_keys(vault)
    return report


def _find_lost(vault: Vault, store: S3Storage, report: CheckReport, seen: array) -> None:
    """Every stored row (with a version id) whose version the walk did not list, or listed
    with another size; and the rows marked missing whose version is back as indexed."""
    import numpy as np  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    listed = np.frombuffer(seen, dtype=np.uint64).copy() if len(seen) else \
        np.zeros(0, dtype=np.uint64)
    listed.sort()
    del seen
    changed = set(report.size_differs)
    back: list[int] = []
    after = 0
    while True:
        with vault.reading() as s:
            rows = s.execute(
                select(Recording.id, Recording.storage_key, Recording.version_id,
                       Recording.state, Recording.start_at, Source.name, Recording.size,
                       Recording.sha256, Recording.expires_at)
                .join(Source, Source.id == Recording.source_id)
                .where(Recording.id > after, Recording.version_id.is_not(None),
                       Recording.state.in_([RecordingState.STORED, RecordingState.MISSING]))
                .order_by(Recording.id).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1][0]
        present = listed_in(listed, [_digest(r[1], r[2]) for r in rows])
        for (rid, key, version, state, start_at, source, size, sha256, expires), there \
                in zip(rows, present, strict=True):
            is_changed = (key, version) in changed
            good = bool(there) and not is_changed
            if state == RecordingState.MISSING:
                if good:
                    back.append(rid)
                continue
            report.indexed += 1
            if good:
                continue
            if not there:
                # Not listed: committed after its key was listed, or there but stripped of
                # what the listing shows (SeaweedFS lists no version whose metadata a write
                # through the filer replaced).
                found = _as_indexed(store, key, version, size, sha256, expires is not None)
                if found is True:
                    continue
                is_changed = found is None
            lost = Lost(rid, key, version, source, start_at, is_changed)
            if len(report.lost) < KEEP:
                report.lost.append(lost)
            else:
                report.lost_beyond += 1
    report.found_again = len(back)
    report.found_ids = back  # `run_check` sets them back to stored


def listed_in(listed: Any, digests: list[int]) -> Any:
    """For each digest, whether the sorted uint64 array ``listed`` holds it."""
    import numpy as np  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    want = np.fromiter(digests, dtype=np.uint64, count=len(digests))
    if not len(listed):
        return np.zeros(len(want), dtype=bool)
    at = np.searchsorted(listed, want)
    return (at < len(listed)) & (listed[np.minimum(at, len(listed) - 1)] == want)


def _as_indexed(store: S3Storage, key: str, version: str, size: int | None, sha256: str | None,
                locked: bool) -> bool | None:
    """The version as the index has it (True), gone (False) or there but changed (None): of
    another size, another SHA-256 than intake noted in its metadata, or without the lock
    every version with a retention date was written with."""

    try:
        head = store._head(key, version)
    except FileNotFoundError:
        return False
    except Refused:
        return True  # not readable with these credentials: not shown missing
    noted = (head.get("Metadata") or {}).get(META_SHA256)
    if size is not None and int(head.get("ContentLength", -1)) != int(size):
        return None
    if noted is not None and sha256 is not None and noted != sha256:
        return None
    if noted is None and locked and head.get("ObjectLockRetainUntilDate") is None:
        return None
    return True


def alert_text(report: CheckReport) -> str:
    n = report.problems
    return (f"W magazynie obiektów (kubełek {report.bucket}) jest "
            f"{count_pl(n, 'obiekt lub wersja', 'obiekty lub wersje', 'obiektów lub wersji')} "
            "nieznanych rejestrowi nagrań, np. " + "; ".join(report.examples())
            + ". Zapisać je mógł ktoś, kto zna dane dostępowe aplikacji: sprawdź, kto ma do "
              "nich dostęp, i wymień je. Kustosz ich nie odtwarza ani nie kopiuje.")


def missing_text(report: CheckReport, examples: list[Lost]) -> str:
    n = report.marked_missing
    shown = "; ".join(x.line_pl() for x in examples[:EXAMPLES])
    return (f"W magazynie obiektów (kubełek {report.bucket}) brakuje "
            f"{count_pl(n, 'nagrania', 'nagrań', 'nagrań')} z rejestru albo są one zmienione"
            + (f", np. {shown}" if shown else "")
            + ". Rejestr oznacza je jako brakujące (nie są odtwarzane ani kopiowane). Usunąć "
              "je mógł ktoś z dostępem do serwera magazynu z pominięciem bramy S3: sprawdź, kto "
              "ma do niego dostęp (kustosz doctor), i odtwórz nagrania z kopii zapasowej.")


def run_check(vault: Vault, actor: str = "scheduler") -> CheckReport:
    """`check_bucket`, then its audit entries, the rows found missing marked so (and those
    back set to stored), and the alerts (raised or cleared) at once."""

    report = check_bucket(vault)
    now = datetime.now(UTC)
    with vault.transaction() as s:
        if report.problems:
            raise_row(s, AlertRow.STORAGE_UNKNOWN_OBJECTS, alert_text(report), now)
        else:
            clear_rows(s, AlertRow.STORAGE_UNKNOWN_OBJECTS, now)
        marked: list[int] = []
        for start in range(0, len(report.lost), BATCH):
            ids = [x.id for x in report.lost[start:start + BATCH]]
            # only rows still stored: a sweep may have claimed one meanwhile
            marked += list(s.execute(update(Recording).where(
                Recording.id.in_(ids), Recording.state == RecordingState.STORED)
                .values(state=RecordingState.MISSING).returning(Recording.id)).scalars())
        if marked:
            audit(s, actor, "storage.missing", f"bucket {report.bucket}", {
                "recordings": marked[:KEEP], "count": len(marked),
                "examples": [x.line() for x in report.lost[:EXAMPLES]]})
        back = report.found_ids
        for start in range(0, len(back), BATCH):
            s.execute(update(Recording).where(
                Recording.id.in_(back[start:start + BATCH]),
                Recording.state == RecordingState.MISSING)
                .values(state=RecordingState.STORED))
        if back:
            audit(s, actor, "storage.found", f"bucket {report.bucket}",
                  {"recordings": back[:KEEP], "count": len(back)})
        report.marked_missing = s.execute(select(func.count()).select_from(Recording).where(
            Recording.state == RecordingState.MISSING)).scalar_one()
        report.marked = _marked_examples(s, SHOWN)
        if report.marked_missing:
            raise_row(s, AlertRow.STORAGE_MISSING_VERSIONS,
                      missing_text(report, report.lost or report.marked), now)
        else:
            clear_rows(s, AlertRow.STORAGE_MISSING_VERSIONS, now)
        repeats_alert(s, report.repeated, report.repeated_count, now)
        audit(s, actor, ACTION, f"bucket {report.bucket}", {
            "versions": report.versions, "known": report.known,
            "unverified": report.unverified, "unknown": report.unknown_count,
            "size_differs": len(report.size_differs), "examples": report.examples(),
            "duplicates": [f"{k} (version {v})" for k, v in report.duplicates[:KEEP]],
            "indexed": report.indexed, "missing": report.lost_count,
            "marked_missing": report.marked_missing, "found_again": report.found_again,
            "repeated_keys": report.repeated_count,
            "repeated": [r.line() for r in report.repeated[:EXAMPLES]]})
    if report.problems:
        log.warning("bucket %s: %d version(s) the index does not know, e.g. %s",
                    report.bucket, report.problems, "; ".join(report.examples()))
    if report.duplicates:
        log.info("bucket %s: %d extra version(s) each a whole copy of its key's recording "
                 "(an upload finished after its client was killed), e.g. %s", report.bucket,
                 len(report.duplicates), "; ".join(f"{k} {v}" for k, v in
                                                   report.duplicates[:EXAMPLES]))
    if report.repeated:
        log.warning("index: %d storage key(s) held by more than one recording, e.g. %s",
                    report.repeated_count,
                    "; ".join(r.line() for r in report.repeated[:EXAMPLES]))
    if report.lost:
        log.warning("bucket %s: %d indexed version(s) missing or changed, e.g. %s",
                    report.bucket, report.lost_count,
                    "; ".join(x.line() for x in report.lost[:EXAMPLES]))
    return report


def _marked_examples(s: Session, limit: int) -> list[Lost]:
    """The first rows marked missing (``changed`` unknown here: False)."""
    return [Lost(rid, key, version or "", name, start_at, False)
            for rid, key, version, name, start_at in s.execute(
                select(Recording.id, Recording.storage_key, Recording.version_id, Source.name,
                       Recording.start_at).join(Source, Source.id == Recording.source_id)
                .where(Recording.state == RecordingState.MISSING)
                .order_by(Recording.id).limit(limit)).all()]
