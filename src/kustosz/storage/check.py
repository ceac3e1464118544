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
- ``size_differs``: the indexed version is there but its size is not the index's.

A key whose row has no version id yet (an intake under way, an undone intake the sweep will
remove, a row older than migration 0019) is not judged: it is counted as ``unverified``.
Candidates are asked again at the end — the index (an intake committed meanwhile) and the
store (a version the sweep deleted meanwhile) — so a busy vault raises no false alarm.

Each run writes one audit entry; unknown objects raise `storage_unknown_objects` (how many
and a few keys and versions), a run that finds none clears it. Run by `kustosz storage
check` and every `[storage] check_hours` by serve's periodic checks (kustosz.alerts.checks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from kustosz.db.deadline import patient
from kustosz.db.models import Recording
from kustosz.documents.words import count_pl
from kustosz.storage.base import Refused
from kustosz.vault import Vault

log = logging.getLogger(__name__)
EXAMPLES = 5  # keys/versions named in the alert and the audit entry
RECHECK = 500  # candidates asked again at the end (beyond that: reported as found)
KEEP = 10_000  # unknown versions listed in the report; more are only counted (memory)
ACTION = "storage.check"


@dataclass
class CheckReport:
    bucket: str
    started: datetime
    versions: int = 0  # versions and delete markers listed
    known: int = 0
    unverified: int = 0
    unknown: list[tuple[str, str, bool]] = field(default_factory=list)  # key, version, marker
    size_differs: list[tuple[str, str]] = field(default_factory=list)
    unknown_beyond: int = 0  # unknown past the first KEEP (counted, not listed)

    @property
    def unknown_count(self) -> int:
        return len(self.unknown) + self.unknown_beyond

    @property
    def problems(self) -> int:
        return self.unknown_count + len(self.size_differs)

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
                "size_differs": [{"key": k, "version_id": v} for k, v in self.size_differs]}


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


def _pages(store: Any, page_size: int) -> Any:
    """The bucket's versions and delete markers, a page at a time."""
    pages = store._s3.get_paginator("list_object_versions").paginate(
        Bucket=store.bucket, PaginationConfig={"PageSize": page_size})
    with store._errors("list the versions in"):
        for page in pages:
            items = [{**v, "marker": False} for v in page.get("Versions", [])]
            items += [{**m, "marker": True} for m in page.get("DeleteMarkers", [])]
            yield items


def _recheck(vault: Vault, store: Any, report: CheckReport) -> None:
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
    report.unknown = still + report.unknown[RECHECK:]


@patient
def check_bucket(vault: Vault, page_size: int = 1000) -> CheckReport:
    """Walk the bucket against the index; changes nothing (see `run_check`)."""
    from kustosz.storage.s3 import S3Storage

    store = vault.storage
    if not isinstance(store, S3Storage):
        from kustosz.errors import ConfigError

        raise ConfigError("the bucket-vs-index check needs media in an object store "
                          '([storage] kind = "s3")',
                          pl="Porównanie kubełka z rejestrem wymaga nagrań w magazynie "
                             'obiektów ([storage] kind = "s3").')
    report = CheckReport(store.bucket, datetime.now(UTC))
    for page in _pages(store, page_size):
        report.versions += len(page)
        _judge(report, page, _index_of(vault, sorted({i["Key"] for i in page})))
    if report.unknown:
        _recheck(vault, store, report)
    return report


def alert_text(report: CheckReport) -> str:
    n = report.problems
    return (f"W magazynie obiektów (kubełek {report.bucket}) jest "
            f"{count_pl(n, 'obiekt lub wersja', 'obiekty lub wersje', 'obiektów lub wersji')} "
            "nieznanych rejestrowi nagrań, np. " + "; ".join(report.examples())
            + ". Zapisać je mógł ktoś, kto zna dane dostępowe aplikacji: sprawdź, kto ma do "
              "nich dostęp, i wymień je. Kustosz ich nie odtwarza ani nie kopiuje.")


def run_check(vault: Vault, actor: str = "scheduler") -> CheckReport:
    """`check_bucket`, then its audit entry and the alert (raised or cleared) at once."""
    from kustosz.alerts.kinds import AlertRow
    from kustosz.alerts.rows import clear_rows, raise_row
    from kustosz.audit import append as audit

    report = check_bucket(vault)
    now = datetime.now(UTC)
    with vault.transaction() as s:
        if report.problems:
            raise_row(s, AlertRow.STORAGE_UNKNOWN_OBJECTS, alert_text(report), now)
        else:
            clear_rows(s, AlertRow.STORAGE_UNKNOWN_OBJECTS, now)
        audit(s, actor, ACTION, f"bucket {report.bucket}", {
            "versions": report.versions, "known": report.known,
            "unverified": report.unverified, "unknown": report.unknown_count,
            "size_differs": len(report.size_differs), "examples": report.examples()})
    if report.problems:
        log.warning("bucket %s: %d version(s) the index does not know, e.g. %s",
                    report.bucket, report.problems, "; ".join(report.examples()))
    return report
