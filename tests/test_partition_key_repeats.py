"""A storage key two recordings hold, in two day partitions of the index (issue 68 item 3,
PostgreSQL): the partitioned index is unique per `(storage_key, start_at)` only, so nothing
refuses it on insert; the store check names it — in its report, its audit entry, the alert
`index_repeated_keys` (cleared once no key repeats) and `kustosz storage check`, which exits
1 — as it names the index's other faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from kustosz.db.models import Alert, AuditEntry, Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.maintenance.files_check import ACTION, run_files_check
from kustosz.retention.partitions import make_days, partition_name
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.conftest import Cli, make_vault


def test_a_key_repeated_across_partitions_is_reported(tmp_path: Path, pg_url: str) -> None:
    vault = make_vault(tmp_path / "vault", url=pg_url)
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hol", "camera", "test")
        make_days(vault)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        f = tmp_path / "a.mp4"
        f.write_bytes(b"\x00" * 4096)
        first = ingest_file(vault, "hol", f, start, start + timedelta(seconds=10))
        # The same key on a row of another day: refused by SQLite's unique key, not by the
        # partitioned index's (storage_key, start_at).
        later = start + timedelta(days=2)
        with vault.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO recordings (source_id, kind, start_at, end_at, storage_key, meta, "
                "state, size, sha256, expires_at, ingested_at) SELECT source_id, kind, :s, :e, "
                "storage_key, meta, state, size, sha256, expires_at, ingested_at FROM "
                "recordings WHERE id = :id"),
                {"s": later.replace(tzinfo=None),
                 "e": (later + timedelta(seconds=10)).replace(tzinfo=None), "id": first.id})
            places = conn.execute(text(
                "SELECT tableoid::regclass::text FROM recordings WHERE storage_key = :k "
                "ORDER BY id"), {"k": first.storage_key}).scalars().all()
        tz = vault.policy.timezone
        assert places == [partition_name(start.astimezone(tz).date()),
                          partition_name(later.astimezone(tz).date())]
        with vault.reading() as s:
            ids = tuple(s.execute(select(Recording.id).where(
                Recording.storage_key == first.storage_key).order_by(Recording.id)).scalars())
        assert len(ids) == 2

        report = run_files_check(vault, actor="test", rate=float("inf"))
        assert [(r.key, r.ids) for r in report.repeated] == [(first.storage_key, ids)]
        assert report.repeated_count == 1
        assert report.as_json()["repeated"] == [{"key": first.storage_key, "ids": list(ids)}]
        assert report.lost_count == 0  # the file is there, as indexed, for both
        with vault.reading() as s:
            entry = s.execute(select(AuditEntry).where(AuditEntry.action == ACTION)
                              .order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
        details = json.loads(entry.details) if isinstance(entry.details, str) else entry.details
        assert details["repeated_keys"] == 1
        assert first.storage_key in details["repeated"][0]
        (raised,) = _alerts(vault)
        assert raised.cleared_at is None
        assert raised.message.startswith("Rejestr nagrań przypisuje ten sam plik kilku "
                                         "nagraniom (1 klucz pliku), np. ")
        assert f"{first.storage_key}: jeden klucz dla nagrań nr {ids[0]}, {ids[1]}" in \
            raised.message
        run_files_check(vault, actor="test", rate=float("inf"))
        assert len(_alerts(vault)) == 1  # still the one row while the key repeats
    finally:
        vault.close()

    said = Cli(tmp_path / "vault")("storage", "check", ok=False)
    assert said.exit_code == 1
    assert "klucze magazynu wspólne dla kilku nagrań" in said.output
    assert "storage keys held by more than one recording" in said.output
    assert f"{first.storage_key}: jeden klucz dla nagrań nr {ids[0]}, {ids[1]}" in said.output

    vault = Vault.open(tmp_path / "vault", actor="test")
    try:  # the planted row taken away again: the alert clears at the next check
        with vault.engine.begin() as conn:
            conn.execute(text("DELETE FROM recordings WHERE id = :id"), {"id": ids[1]})
        report = run_files_check(vault, actor="test", rate=float("inf"))
        assert report.repeated_count == 0
        (cleared,) = _alerts(vault)
        assert cleared.cleared_at is not None
    finally:
        vault.close()


def _alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        rows = list(s.execute(select(Alert).where(Alert.kind == AlertRow.INDEX_REPEATED_KEYS)
                              .order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows
