"""`kustosz storage backfill-versions` (issue 16 leftovers): rows stored before migration 0019
have no version id; the backfill records the version whose content hashes to the index's
SHA-256 — past a newer version forged with the app's credentials — and names, audits and
leaves unset a row no version matches (replaced, or missing), never guessing. Batched and
resumable. Real SeaweedFS on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import Cli, make_vault
from tests.storage.conftest import S3Server
from tests.storage.test_s3_vault import s3_lines, set_storage, write_credentials

from kustosz.db.models import AuditEntry, Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.maintenance import backfill
from kustosz.maintenance.backfill import backfill_versions
from kustosz.vault import Vault


def _vault(tmp_path: Path, seaweed: S3Server, url: str = "") -> tuple[Vault, str]:
    """A vault whose kustosz.toml names a SeaweedFS bucket (as an office configures it)."""
    bucket = seaweed.make_bucket()
    vault = make_vault(tmp_path / "vault", url=url)
    vault.close()
    creds = write_credentials(tmp_path / "s3-app.toml", seaweed.app.access_key,
                              seaweed.app.secret_key)
    sweep = write_credentials(tmp_path / "s3-sweep.toml", seaweed.sweep.access_key,
                              seaweed.sweep.secret_key)
    set_storage(vault.root, s3_lines(seaweed, bucket, creds)
                + f'\ndelete_credentials_file = "{sweep}"')
    return Vault.open(vault.root, actor="test"), bucket


def _stored(vault: Vault, tmp_path: Path, n: int) -> list[Recording]:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    out = []
    for i in range(n):
        seg = tmp_path / f"seg{i}.ts"
        seg.write_bytes(bytes([0x47, i]) * 94 * (i + 1))
        out.append(ingest_file(vault, "hall", seg, t0 + timedelta(minutes=10 * i)))
    with vault.transaction() as s:  # as indexed before migration 0019
        s.execute(sa.update(Recording).values(version_id=None))
    return out


def _versions(vault: Vault) -> dict[int, str | None]:
    with vault.reading() as s:
        return dict(s.execute(sa.select(Recording.id, Recording.version_id)).all())


def _audit(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(e.details) if isinstance(e.details, str) else e.details
                for e in s.execute(sa.select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.seq)).scalars()]


def test_backfill_finds_the_indexed_version_and_names_what_matches_none(
        tmp_path: Path, backend_url: str, seaweed: S3Server) -> None:
    vault, bucket = _vault(tmp_path, seaweed, backend_url)
    try:
        recs = _stored(vault, tmp_path, 5)
        app, sweep = seaweed.client(seaweed.app), seaweed.client(seaweed.owner)
        forged, replaced, missing = recs[1], recs[2], recs[3]
        # a newer version forged with the app's credentials: the older one is the indexed
        app.put_object(Bucket=bucket, Key=forged.storage_key, Body=b"FORGED")
        # the original gone (the store admin, bypass) and other content in its place
        sweep.delete_object(Bucket=bucket, Key=replaced.storage_key,
                            VersionId=replaced.version_id, BypassGovernanceRetention=True)
        app.put_object(Bucket=bucket, Key=replaced.storage_key, Body=b"OTHER")
        sweep.delete_object(Bucket=bucket, Key=missing.storage_key,
                            VersionId=missing.version_id, BypassGovernanceRetention=True)
        seen: list[tuple[int, int]] = []
        report = backfill_versions(vault, actor="tester", batch=2,
                                   progress=lambda d, t: seen.append((d, t)))
        assert (report.total, report.filled, report.batches) == (5, 3, 3)
        assert seen == [(2, 5), (4, 5), (5, 5)]
        got = _versions(vault)
        for rec in (recs[0], forged, recs[4]):
            assert got[rec.id] == rec.version_id  # the original, not the forged newer one
        assert got[replaced.id] is None and got[missing.id] is None
        assert {(u.id, u.versions) for u in report.unmatched} == {(replaced.id, 1),
                                                                  (missing.id, 0)}
        assert "none of its 1 version(s) has the indexed content" in \
            next(u for u in report.unmatched if u.id == replaced.id).line()
        audited = _audit(vault, "storage.version_unmatched")
        assert sorted((a["key"], a["versions"]) for a in audited) == sorted(
            [(replaced.storage_key, 1), (missing.storage_key, 0)])
        assert _audit(vault, "storage.versions_backfilled")[-1]["filled"] == 3
        # again: only the two unmatched rows are looked at, nothing changes
        again = backfill_versions(vault, actor="tester")
        assert (again.total, again.filled, len(again.unmatched)) == (2, 0, 2)
        assert _versions(vault) == got
    finally:
        vault.close()


def test_a_backfill_cut_short_goes_on_where_it_stopped(
        tmp_path: Path, seaweed: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    vault, _bucket = _vault(tmp_path, seaweed)
    try:
        recs = _stored(vault, tmp_path, 4)
        real, calls = backfill.match_version, []

        def dies_on_the_third(*args, **kw):  # type: ignore[no-untyped-def]
            calls.append(args[1])
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(*args, **kw)

        monkeypatch.setattr(backfill, "match_version", dies_on_the_third)
        with pytest.raises(KeyboardInterrupt):
            backfill_versions(vault, batch=2)
        monkeypatch.undo()
        got = _versions(vault)  # the first batch committed, the second not
        assert [got[r.id] for r in recs] == [recs[0].version_id, recs[1].version_id,
                                             None, None]
        report = backfill_versions(vault, batch=2)
        assert (report.total, report.filled, report.unmatched) == (2, 2, [])
        assert _versions(vault) == {r.id: r.version_id for r in recs}
    finally:
        vault.close()


def test_the_command_prints_each_unmatched_row_and_exits_1(tmp_path: Path,
                                                            seaweed: S3Server) -> None:
    vault, bucket = _vault(tmp_path, seaweed)
    try:
        recs = _stored(vault, tmp_path, 2)
        sweep = seaweed.client(seaweed.owner)
        sweep.delete_object(Bucket=bucket, Key=recs[1].storage_key,
                            VersionId=recs[1].version_id, BypassGovernanceRetention=True)
    finally:
        vault.close()
    result = Cli(vault.root)("storage", "backfill-versions", ok=False)
    assert result.exit_code == 1, result.output
    assert "1 of 2 version id(s) recorded, 1 without matching content" in result.output
    assert "uzupełniono wersje: 1 z 2, bez zgodnej treści: 1" in result.output
    assert f"recording {recs[1].id} ({recs[1].storage_key}): no version of the object is " \
           "in the store (missing)" in result.output
    result = Cli(vault.root)("storage", "backfill-versions", "--json", ok=False)
    assert json.loads(result.output)["unmatched"][0]["id"] == recs[1].id


def test_on_the_local_folder_there_is_nothing_to_backfill(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    vault.close()
    result = Cli(vault.root)("storage", "backfill-versions")
    assert "nothing to backfill" in result.output
    assert "nie ma czego uzupełniać" in result.output
