"""Backup and restore of a vault whose media are on an object store (issue 16 leftovers).

The bucket is versioned and locked: a backup holds the database, kustosz.toml, the keys and a
manifest naming each item's bucket, key, version id, size and SHA-256 — not the media, unless
`--with-media`. A restore finds the media in the bucket again (hash-checked), refuses clearly
and writes nothing when the bucket cannot be opened, and applies the deletions made after the
backup without the application's credentials. Real SeaweedFS on loopback; SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import Cli
from tests.storage.conftest import S3Server
from tests.storage.test_backfill_versions import _vault

from kustosz.backup import journal
from kustosz.backup.layout import MANIFEST
from kustosz.backup.restore import check_backup, restore
from kustosz.backup.snapshot import make_backup
from kustosz.db.models import Recording
from kustosz.errors import InputError
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault

PASSPHRASE = "zielona-żaba-skacze-wysoko"


def _fill(vault: Vault, tmp_path: Path) -> list[Recording]:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    now = datetime.now(UTC).replace(microsecond=0)
    starts = [now - timedelta(days=40), now - timedelta(hours=2), now - timedelta(hours=1)]
    out = []
    for i, at in enumerate(starts):  # the first one's period (30 days) has ended already
        seg = tmp_path / f"seg{i}.ts"
        seg.write_bytes(bytes([0x47, i]) * 94 * (i + 1))
        out.append(ingest_file(vault, "hall", seg, at, at + timedelta(seconds=10)))
    return out


def test_a_backup_names_the_buckets_versions_and_a_restore_finds_them_again(
        tmp_path: Path, seaweed: S3Server) -> None:
    vault, bucket = _vault(tmp_path, seaweed)
    try:
        recs = _fill(vault, tmp_path)
        made = make_backup(vault, tmp_path / "b", PASSPHRASE, actor="test")
        m = made.manifest
        assert m["media_in"] == {"kind": "s3", "endpoint": seaweed.endpoint, "bucket": bucket}
        assert sorted((x["key"], x["version_id"], x["sha256"]) for x in m["media"]) == \
            sorted((r.storage_key, r.version_id, r.sha256) for r in recs)
        assert not (tmp_path / "b" / "media").exists()  # nothing downloaded
        assert made.copied == 0
        # after the backup the old vault's sweep deletes the expired one from the bucket
        swept = run_sweep(vault, actor="test")
        assert [d["id"] for d in swept.deleted] == [recs[0].id]
        assert journal.ship(vault) == 1
    finally:
        vault.close()
    checked = check_backup(tmp_path / "b", PASSPHRASE)
    assert checked.media_checked == 0  # the media are the bucket's, not files of the backup
    report = restore(tmp_path / "b", tmp_path / "r", PASSPHRASE, actor="test")
    assert report.ok, (report.audit_problems, report.media_problems)
    assert (report.deletions_applied, report.media_checked) == (1, 2)
    restored = Vault.open(tmp_path / "r")
    try:
        with restored.reading() as s:
            left = dict(s.execute(sa.select(Recording.id, Recording.version_id)).all())
        assert left == {r.id: r.version_id for r in recs[1:]}
        assert restored.storage.checksum(recs[1].storage_key,
                                         version=recs[1].version_id).sha256 == recs[1].sha256
        assert not (tmp_path / "r" / "media").exists() or \
            not any((tmp_path / "r" / "media").rglob("*.ts"))
    finally:
        restored.close()


def test_a_restore_without_the_buckets_credentials_refuses_and_writes_nothing(
        tmp_path: Path, seaweed: S3Server) -> None:
    vault, _bucket = _vault(tmp_path, seaweed)
    try:
        _fill(vault, tmp_path)
        make_backup(vault, tmp_path / "b", PASSPHRASE, actor="test")
    finally:
        vault.close()
    (tmp_path / "s3-app.toml").unlink()  # a new machine without the credentials file
    with pytest.raises(InputError) as exc:
        restore(tmp_path / "b", tmp_path / "r", PASSPHRASE, actor="test")
    assert "the backup's media are in the object store bucket" in str(exc.value)
    assert "nothing was written" in str(exc.value)
    assert "Nagrania z kopii są w kubełku magazynu obiektów" in (exc.value.pl or "")
    assert not (tmp_path / "r").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.restoring")]


def test_with_media_copies_each_indexed_version_and_the_cli_says_where_media_are(
        tmp_path: Path, seaweed: S3Server) -> None:
    vault, bucket = _vault(tmp_path, seaweed)
    try:
        recs = _fill(vault, tmp_path)
        # a newer version forged with the app's credentials is not what the backup copies
        seaweed.client(seaweed.app).put_object(Bucket=bucket, Key=recs[1].storage_key,
                                               Body=b"FORGED")
    finally:
        vault.close()
    pp = tmp_path / "passphrase"
    pp.write_text(PASSPHRASE + "\n", "utf-8")
    pp.chmod(0o600)
    cli = Cli(vault.root)
    plain = cli("backup", "--to", str(tmp_path / "b1"), "--passphrase-file", str(pp))
    assert f"media not copied, they stay in the bucket {seaweed.endpoint}/{bucket}" in \
        " ".join(plain.output.split())
    checked = cli("restore", "--from", str(tmp_path / "b1"), "--check",
                  "--passphrase-file", str(pp))
    assert f"the media are in the bucket {seaweed.endpoint}/{bucket}, not in the backup" in \
        " ".join(checked.output.split())
    full = cli("backup", "--to", str(tmp_path / "b2"), "--passphrase-file", str(pp),
               "--with-media")
    assert "stay in the bucket" not in full.output
    manifest = json.loads((tmp_path / "b2" / MANIFEST).read_text())
    assert manifest["media_in"] == "backup"
    assert {(x["key"], x["sha256"]) for x in manifest["media"]} == \
        {(r.storage_key, r.sha256) for r in recs}
    assert check_backup(tmp_path / "b2", PASSPHRASE).media_checked == 3
    # restored onto the same bucket: its versions are used (and checked), nothing uploaded
    report = restore(tmp_path / "b2", tmp_path / "r", PASSPHRASE, actor="test")
    assert report.ok, report.media_problems
    assert report.media_checked == 3
