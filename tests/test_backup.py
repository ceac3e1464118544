"""`kustosz backup` / `kustosz restore` (issue 14 item 5; R2.2 deletions stay deleted, R2.3
holds survive): on SQLite and on the real PostgreSQL, a backup restored into a new folder
passes `audit verify` and the hash check, its hold survives, and what the sweep deleted after
the backup stays deleted. A second backup given --base hard-links unchanged media."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from kustosz.backup import journal
from kustosz.backup import state as backup_state
from kustosz.backup.layout import JOURNAL, MANIFEST, PG_DUMP, SQLITE_DB
from kustosz.backup.restore import restore
from kustosz.backup.snapshot import make_backup
from kustosz.custody.holds import place_hold
from kustosz.db.models import AuditEntry, Deletion, Hold, Recording, Source
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault
from tests.conftest import PG, Cli
from tests.opaque import opaque_bytes

PASSPHRASE = "zielona-żaba-skacze-wysoko"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def passphrase_file(folder: Path, text: str = PASSPHRASE) -> Path:
    path = folder / "passphrase"
    path.write_text(text + "\n", "utf-8")
    path.chmod(0o600)
    return path


def fill(vault: Vault, tmp: Path, count: int = 3) -> list[Recording]:
    with vault.transaction() as s:
        add_source(s, vault.policy, "kamera-wejscie", "camera", "test")
    recs = []
    for i in range(count):
        path = tmp / f"seg{i}.wav"
        path.write_bytes(opaque_bytes(f"seg{i}", 4000 + i))
        recs.append(ingest_file(vault, "kamera-wejscie", path,
                                T0.replace(hour=9 + i), T0.replace(hour=9 + i, minute=5)))
    return recs


def hold_first(vault: Vault, rec: Recording) -> int:
    with vault.transaction() as s:
        hold = place_hold(s, sources=[], start=None, end=None, basis="wniosek policji",
                          actor="test", case_ref="RSD-1/26", items=[rec.id])
        return hold.id


@pytest.fixture
def pg_target() -> Iterator[tuple[str, str] | None]:
    """A new, empty PostgreSQL database for the restore: (admin URL of the server, name)."""
    if not PG:
        yield None
        return
    name = f"kt_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG, name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def target_url(vault: Vault, pg_target: tuple[str, str] | None) -> str | None:
    """The restore's database: a new one, its search path on the backed-up schema."""
    if vault.engine.dialect.name == "sqlite":
        return None
    assert pg_target is not None
    server, name = pg_target
    schema = vault.engine.url.query["options"].split("=", 1)[1]  # type: ignore[union-attr]
    base = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def private() -> Iterator[None]:
    """The umask `kustosz` sets in main() (the vault's own writes, audit.head among them)."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_backup_restore_keeps_holds_and_deletions_and_verifies(
        vault: Vault, tmp_path: Path, pg_target: tuple[str, str] | None,
        private: None) -> None:
    recs = fill(vault, tmp_path)
    hold_id = hold_first(vault, recs[0])
    make_backup(vault, tmp_path / "b0", PASSPHRASE, actor="test")  # an earlier one
    first = make_backup(vault, tmp_path / "b1", PASSPHRASE, actor="test")
    m = first.manifest
    assert (tmp_path / "b1" / (PG_DUMP if m["backend"] == "postgresql" else SQLITE_DB)).exists()
    assert {x["key"] for x in m["media"]} == {r.storage_key for r in recs}
    assert all(x["sha256"] == r.sha256 for x, r in zip(
        sorted(m["media"], key=lambda x: x["id"]), recs, strict=True))
    # Every file and folder of the backup is this account's alone.
    for path in [tmp_path / "b1", *(tmp_path / "b1").rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert b"PRIVATE KEY" not in (tmp_path / "b1" / "keys.enc").read_bytes()

    # After the backup the sweep deletes the two unheld items (their period has ended).
    swept = run_sweep(vault, now=datetime(2027, 6, 1, tzinfo=UTC), actor="test")
    assert {d["id"] for d in swept.deleted} == {recs[1].id, recs[2].id}
    assert journal.ship(vault) == 4  # into b0's and b1's: what serve does every minute
    lines = (tmp_path / "b1" / JOURNAL).read_text().splitlines()
    assert {json.loads(line)["recording_id"] for line in lines} == {recs[1].id, recs[2].id}
    assert journal.ship(vault) == 0  # never twice

    new = tmp_path / "restored"
    report = restore(tmp_path / "b1", new, PASSPHRASE, target_url(vault, pg_target),
                     actor="test")
    assert report.ok, (report.audit_problems, report.media_problems)
    assert report.deletions_known == 2 and report.deletions_applied == 2
    assert report.media_checked == 1 and report.holds_active == 1
    restored = Vault.open(new)
    try:
        with restored.reading() as s:
            left = list(s.execute(select(Recording)).scalars())
            assert [r.id for r in left] == [recs[0].id]
            hold = s.get(Hold, hold_id)
            assert hold is not None and hold.released_at is None and hold.case_ref == "RSD-1/26"
            gone = {d.recording_id: d for d in s.execute(select(Deletion)).scalars()}
            assert set(gone) == {recs[1].id, recs[2].id}
            assert "applied by the restore" in gone[recs[1].id].rule
            actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
            # The old vault's backups are not the restored one's (journals, backup age).
            assert backup_state.load(s) == {}
        assert actions[-2:] == ["sweep.restore", "backup.restored"]
        assert not restored.storage.exists(recs[1].storage_key)
        assert restored.storage.path(recs[0].storage_key).read_bytes() == \
            vault.storage.path(recs[0].storage_key).read_bytes()
    finally:
        restored.close()
    for path in [new, *new.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path
    verified = Cli(new)("audit", "verify")
    assert "audit log intact" in verified.output


def test_second_backup_links_unchanged_media_from_the_base(sqlite_vault: Vault,
                                                           tmp_path: Path) -> None:
    recs = fill(sqlite_vault, tmp_path, 2)
    make_backup(sqlite_vault, tmp_path / "b1", PASSPHRASE)
    extra = tmp_path / "late.wav"
    extra.write_bytes(opaque_bytes("late", 3000))
    late = ingest_file(sqlite_vault, "kamera-wejscie", extra, T0.replace(hour=15),
                       T0.replace(hour=15, minute=5))
    second = make_backup(sqlite_vault, tmp_path / "b2", PASSPHRASE, base=tmp_path / "b1")
    assert (second.linked, second.copied) == (2, 1)
    for rec in recs:
        a = tmp_path / "b1" / "media" / rec.storage_key
        b = tmp_path / "b2" / "media" / rec.storage_key
        assert a.stat().st_ino == b.stat().st_ino  # one copy on the disk
    assert (tmp_path / "b2" / "media" / late.storage_key).stat().st_nlink == 1
    # Each backup stands alone: the first one removed, the second still restores whole.
    import shutil

    shutil.rmtree(tmp_path / "b1")
    report = restore(tmp_path / "b2", tmp_path / "r", PASSPHRASE)
    assert report.ok and report.media_checked == 3


def test_cli_backup_and_restore_in_both_languages(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        fill(vault, tmp_path, 2)
    finally:
        vault.close()
    pp = passphrase_file(tmp_path)
    made = cli("backup", "--to", str(tmp_path / "b"), "--passphrase-file", str(pp))
    assert "Kopia zapisana / backup written" in made.output
    checked = Cli(tmp_path / "unused")("restore", "--from", str(tmp_path / "b"), "--check",
                                       "--passphrase-file", str(pp))
    assert "Kopia jest cała / backup intact" in checked.output
    assert "2 pliki / 2 files" in checked.output
    done = Cli(tmp_path / "unused")("restore", "--from", str(tmp_path / "b"), "--data",
                                    str(tmp_path / "new"), "--passphrase-file", str(pp))
    assert "Skarbiec odtworzony / vault restored" in done.output
    assert "audit verify: OK" in done.output
    assert "kontrola skrótów / hash check: OK (2 nagrania / 2 items)" in done.output
    assert "materiał usunięty przez czyszczenie nie wraca" in done.output
    # The passphrase may come from the environment instead of a file.
    os.environ["KUSTOSZ_BACKUP_PASSPHRASE"] = PASSPHRASE
    try:
        cli("backup", "--to", str(tmp_path / "b-env"), "--base", str(tmp_path / "b"))
    finally:
        del os.environ["KUSTOSZ_BACKUP_PASSPHRASE"]
    manifest = json.loads((tmp_path / "b-env" / MANIFEST).read_text())
    assert manifest["base"] == {"path": str(tmp_path / "b")}


def test_sources_in_backup_stay_named(sqlite_vault: Vault, tmp_path: Path) -> None:
    """kustosz.toml and the sources come back as they were (nothing renamed or dropped)."""
    fill(sqlite_vault, tmp_path, 1)
    make_backup(sqlite_vault, tmp_path / "b", PASSPHRASE)
    restore(tmp_path / "b", tmp_path / "r", PASSPHRASE)
    assert (tmp_path / "r" / "kustosz.toml").read_text() == \
        (sqlite_vault.root / "kustosz.toml").read_text()
    back = Vault.open(tmp_path / "r")
    try:
        with back.reading() as s:
            assert [x.name for x in s.execute(select(Source)).scalars()] == ["kamera-wejscie"]
    finally:
        back.close()


def test_items_the_sweep_deletes_during_the_backup_are_not_resurrected(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    """The sweep runs between the database snapshot and the copy of the media (the real
    sweep, started from the backup's progress hook at that very moment): the deleted files
    are not copied, their deletions go into the backup's journal, and the restore leaves
    them deleted; nothing is reported as missing from the vault."""
    recs = fill(sqlite_vault, tmp_path, 3)
    hold_first(sqlite_vault, recs[0])

    class SweepMeanwhile:
        def start(self, what: str, total: int, total_bytes: int = 0) -> None:
            if what.endswith("media"):
                run_sweep(sqlite_vault, now=datetime(2027, 6, 1, tzinfo=UTC), actor="test")

        def advance(self, n: int = 1, nbytes: int = 0) -> None:
            pass

    made = make_backup(sqlite_vault, tmp_path / "b", PASSPHRASE, progress=SweepMeanwhile())
    assert sorted(made.gone) == [recs[1].id, recs[2].id]
    assert made.problems == [] and [m["id"] for m in made.manifest["media"]] == [recs[0].id]
    report = restore(tmp_path / "b", tmp_path / "r", PASSPHRASE)
    assert report.ok and report.deletions_applied == 2 and report.media_checked == 1


def test_postgresql_vault_in_the_public_schema_restores_into_a_new_database(
        tmp_path: Path, private: None) -> None:
    """The usual installation: a database of its own, tables in `public` (which the new
    database has already: its CREATE SCHEMA is left out of the restore)."""
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    names = [f"kt_pub_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    urls = [sa.engine.make_url(PG).set(database=n).render_as_string(hide_password=False)
            for n in names]
    try:
        vault = Vault.init(tmp_path / "vault", "pleszew", urls[0], actor="test")
        try:
            recs = fill(vault, tmp_path, 2)
            hold_first(vault, recs[1])
            made = make_backup(vault, tmp_path / "b", PASSPHRASE)
            assert made.manifest["schema"] == "public"
        finally:
            vault.close()
        report = restore(tmp_path / "b", tmp_path / "r", PASSPHRASE, urls[1])
        assert report.ok and report.media_checked == 2 and report.holds_active == 1
        assert f'database_url = "{urls[1]}"' in (tmp_path / "r" / "kustosz.toml").read_text()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_restore_writes_media_through_the_target_store(sqlite_vault: Vault, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 item 2: the restore puts media into the rebuilt vault's store by key, never by
    path, so another backend can be its target. The in-memory store stands in for one: every
    item lands there whole, the folder gets no media file of its own, and the backup is left
    as it was (copied from, not moved)."""
    from kustosz.backup import restore as restore_module
    from kustosz.backup.restore import check_backup
    from kustosz.storage.memory import MemoryStorage

    recs = fill(sqlite_vault, tmp_path, 2)
    make_backup(sqlite_vault, tmp_path / "b", PASSPHRASE)
    stores: list[MemoryStorage] = []

    def memory_store(root: Path) -> MemoryStorage:
        stores.append(MemoryStorage(tmp_path / "scratch"))
        return stores[-1]

    monkeypatch.setattr(restore_module, "data_folder_store", memory_store)
    report = restore(tmp_path / "b", tmp_path / "r", PASSPHRASE)
    (store,) = stores
    assert sorted(store.iterate()) == sorted(r.storage_key for r in recs)
    for rec in recs:
        assert store.checksum(rec.storage_key).sha256 == rec.sha256
    assert not [p for p in (tmp_path / "r" / "media").rglob("*") if p.is_file()]
    # The restored vault opens its local folder, which the test's store bypassed.
    assert len(report.media_problems) == 2
    assert check_backup(tmp_path / "b", PASSPHRASE).media_checked == 2
