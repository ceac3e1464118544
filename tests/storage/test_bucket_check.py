"""The bucket-vs-index check (issue 16, hardening): whoever holds the app's S3 credentials can
PUT a new key or a newer version under a recording's key; the check names them (alert
`storage_unknown_objects`, an audit entry per run), leaves what the vault keeps alone (an
intake under way included) and clears the alert once a later run finds none. Real SeaweedFS
on loopback; pages of 2 so that the walk goes through several."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from tests.conftest import Cli
from tests.office_day import office_today
from tests.storage.conftest import S3Server
from tests.storage.test_separate_sweep import s3_vault

from kustosz.alerts.checks import Checks
from kustosz.db.models import Alert, AuditEntry, Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.maintenance.store_check import check_bucket, run_check
from kustosz.vault import Vault

KIND = "storage_unknown_objects"


def _open_alerts(vault) -> list[Alert]:  # type: ignore[no-untyped-def]
    with vault.reading() as s:
        return list(s.execute(sa.select(Alert).where(Alert.kind == KIND,
                                                     Alert.cleared_at.is_(None))).scalars())


def _hall_vault(tmp_path: Path, server: S3Server) -> tuple[Vault, str, datetime]:
    """A vault on a bucket of its own with the camera "hall", and yesterday's midnight (UTC)."""
    bucket = server.make_bucket()
    vault, _file = s3_vault(tmp_path, server, bucket, separate=True)
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    return vault, bucket, datetime.combine(office_today() - timedelta(days=1),
                                           datetime.min.time(), UTC)


def test_forged_objects_and_versions_are_found_and_the_alert_clears(
        tmp_path: Path, server: S3Server) -> None:
    seaweed = server  # SeaweedFS, and Ceph RGW in the slow run
    vault, bucket, day = _hall_vault(tmp_path, seaweed)
    try:
        recs = []
        for hour in (8, 9, 10):
            segment = tmp_path / f"seg{hour}.ts"
            segment.write_bytes(b"\x47" * 188 * (20 + hour))
            recs.append(ingest_file(vault, "hall", segment, day.replace(hour=hour)))
        report = check_bucket(vault, page_size=2)
        assert (report.versions, report.known, report.problems) == (3, 3, 0)

        app = seaweed.client(seaweed.app)  # the attack: the app's own credentials
        newer = app.put_object(Bucket=bucket, Key=recs[1].storage_key, Body=b"FORGED")
        stray = app.put_object(Bucket=bucket, Key="camera/hall/2026/zzz-forged.ts",
                               Body=b"FORGED")
        # an intake under way: its row is pending, without a version id yet
        app.put_object(Bucket=bucket, Key="camera/hall/pending.ts", Body=b"in flight")
        with vault.transaction() as s:
            s.add(Recording(source_id=recs[0].source_id, kind=recs[0].kind,
                            start_at=day.replace(hour=11),
                            end_at=day.replace(hour=11, minute=1), storage_key=
                            "camera/hall/pending.ts", state="pending",
                            expires_at=day + timedelta(days=30),
                            ingested_at=datetime.now(UTC)))
        report = run_check(vault, actor="test")
        assert sorted(report.unknown) == sorted([
            (recs[1].storage_key, newer["VersionId"], False),
            ("camera/hall/2026/zzz-forged.ts", stray["VersionId"], False)])
        assert (report.known, report.unverified) == (3, 1)
        (alert,) = _open_alerts(vault)
        assert "2 obiekty lub wersje" in alert.message
        assert recs[1].storage_key in alert.message and "zzz-forged.ts" in alert.message
        assert newer["VersionId"] in alert.message

        result = Cli(vault.root)("storage", "check", "--json", ok=False)
        assert result.exit_code == 1
        assert json.loads(result.output)["unknown_count"] == 2

        # the store's owner removes the forgeries (the sweep's credentials): all clear
        sweep = seaweed.client(seaweed.sweep)
        sweep.delete_object(Bucket=bucket, Key=recs[1].storage_key,
                            VersionId=newer["VersionId"], BypassGovernanceRetention=True)
        sweep.delete_object(Bucket=bucket, Key="camera/hall/2026/zzz-forged.ts",
                            VersionId=stray["VersionId"], BypassGovernanceRetention=True)
        assert run_check(vault, actor="test").problems == 0
        assert _open_alerts(vault) == []
        with vault.reading() as s:
            runs = list(s.execute(sa.select(AuditEntry).where(
                AuditEntry.action == "storage.check").order_by(AuditEntry.seq)).scalars())
        assert [json.loads(r.details)["unknown"] for r in runs] == [2, 2, 0]
        assert "zzz-forged.ts" in runs[0].details
    finally:
        vault.close()


def test_serves_checks_run_it_when_due_and_not_before(tmp_path: Path,
                                                     seaweed: S3Server) -> None:
    """`[storage] check_hours` (24 by default): the periodic checks run it once, then not
    again within the interval; 0 switches it off."""
    bucket = seaweed.make_bucket()
    vault, _file = s3_vault(tmp_path, seaweed, bucket, separate=False)
    try:
        seaweed.client(seaweed.app).put_object(Bucket=bucket, Key="x/forged.bin", Body=b"x")
        now = datetime.now(UTC)
        checks = Checks(vault)
        checks.storage_if_due(now, in_thread=False)
        assert len(_open_alerts(vault)) == 1
        seaweed.client(seaweed.sweep).delete_object(
            Bucket=bucket, Key="x/forged.bin",
            VersionId=seaweed.client(seaweed.sweep).head_object(
                Bucket=bucket, Key="x/forged.bin")["VersionId"])
        checks.storage_if_due(now + timedelta(hours=23), in_thread=False)
        assert len(_open_alerts(vault)) == 1  # not due yet
        checks.storage_if_due(now + timedelta(hours=25), in_thread=False)
        assert _open_alerts(vault) == []
    finally:
        vault.close()


def test_a_flood_of_forgeries_is_counted_not_kept(tmp_path: Path, seaweed: S3Server,
                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Memory stays bounded whatever an attacker writes: past `KEEP` unknown versions are
    only counted (here KEEP = 2 over pages of 3)."""
    from kustosz.maintenance import store_check as check

    monkeypatch.setattr(check, "KEEP", 2)
    bucket = seaweed.make_bucket()
    vault, _file = s3_vault(tmp_path, seaweed, bucket, separate=True)
    try:
        app = seaweed.client(seaweed.app)
        for i in range(7):
            app.put_object(Bucket=bucket, Key=f"flood/{i}.bin", Body=b"x")
        report = check.check_bucket(vault, page_size=3)
        assert (report.versions, len(report.unknown), report.unknown_count) == (7, 2, 7)
        assert check.alert_text(report).count("flood/") == 2
        assert "7 obiektów lub wersji" in check.alert_text(report)
    finally:
        vault.close()


def test_a_whole_copy_left_by_a_killed_upload_is_known_and_a_foreign_version_is_not(
        tmp_path: Path, seaweed: S3Server) -> None:
    """Issue 68 item 4: killed after the last byte of a PUT, an uploader leaves a version the
    store finishes on its own, beside the one the retry stored. Read back, it is the
    recording's content: counted as a duplicate and named in the run's audit entry, no
    alert. A version with other bytes under the same key stays unknown, and named."""
    vault, bucket, day = _hall_vault(tmp_path, seaweed)
    try:
        segment = tmp_path / "seg.ts"
        segment.write_bytes(b"\x47" * 188 * 40)
        rec = ingest_file(vault, "hall", segment, day.replace(hour=8))
        app = seaweed.client(seaweed.app)
        copy = app.put_object(Bucket=bucket, Key=rec.storage_key, Body=segment.read_bytes())
        other = app.put_object(Bucket=bucket, Key=rec.storage_key, Body=b"OTHER")
        report = run_check(vault, actor="test")
        assert report.duplicates == [(rec.storage_key, copy["VersionId"])]
        assert report.unknown == [(rec.storage_key, other["VersionId"], False)]
        (alert,) = _open_alerts(vault)
        assert other["VersionId"] in alert.message and copy["VersionId"] not in alert.message
        with vault.reading() as s:
            entry = s.execute(sa.select(AuditEntry).where(
                AuditEntry.action == "storage.check")).scalars().one()
        assert copy["VersionId"] in json.loads(entry.details)["duplicates"][0]
    finally:
        vault.close()
