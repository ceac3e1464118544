"""Issue 28 item 5: whoever can write the database cannot make the sweep delete early, and the
app's S3 keys cannot switch a legal hold off. Real SeaweedFS (three identities: the app's, the
sweep's without the governance bypass, the re-dating one), real `kustosz sweeper --once`,
SQLite and PostgreSQL.

The attack as measured: two rows' expiry edited, `kustosz sweeper --once` deleted both versions
a month early, `audit verify` intact. Now the sweep checks each victim against the audit log's
record of its retention (kustosz.holds.record) and the store refuses the sweep's keys
every version before its retain-until; shortening a period is a two-person step that alone
re-dates the objects with the bypass (kustosz.retention.shorten)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.cluster.conftest import pg_database  # noqa: F401 (a fixture)
from tests.conftest import Cli
from tests.storage.conftest import S3Server
from tests.storage.test_s3_vault import write_credentials
from tests.storage.test_separate_sweep import s3_vault

from kustosz.access.users import add_user
from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.models import Alert, AuditEntry, Recording
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.files import ingest_file
from kustosz.retention import run_sweep
from kustosz.storage.base import Refused
from kustosz.vault import Vault


def _segment(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.ts"
    path.write_bytes(b"\x47" * 188 * 20)
    return path


def recent_material(vault: Vault, tmp_path: Path, ago: timedelta = timedelta(hours=2),
                    count: int = 2) -> list[Recording]:
    """Segments recorded ``ago``: kept 30 days (the preset), their objects locked as long."""
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    start = datetime.now(UTC) - ago
    return [ingest_file(vault, "hall", _segment(tmp_path, f"r{i}"),
                        start + timedelta(minutes=i)) for i in range(count)]


def edit_expiry(vault: Vault, when: str = "2026-01-02 00:00:00") -> None:
    """The attacker's UPDATE: straight into the table, nothing else touched."""
    with vault.engine.begin() as conn:
        conn.execute(sa.text("UPDATE recordings SET expires_at = :t"), {"t": when})


def versions(server: S3Server, bucket: str) -> list[str]:
    listed = server.client(server.sweep).list_object_versions(Bucket=bucket)
    return sorted(v["VersionId"] for v in listed.get("Versions", []))


def open_alerts(vault: Vault, kind: str = "retention_disagrees") -> list[str]:
    with vault.reading() as s:
        return list(s.execute(sa.select(Alert.message).where(
            Alert.kind == kind, Alert.cleared_at.is_(None))).scalars())


def audit_actions(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def states(vault: Vault) -> dict[int, str]:
    with vault.reading() as s:
        return {rid: state for rid, state in s.execute(
            sa.select(Recording.id, Recording.state))}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("pg_database"))


def test_a_database_edit_of_expiry_makes_the_sweeper_delete_nothing_early(
        tmp_path: Path, seaweed: S3Server, url: str) -> None:
    """The attack of the issue: both rows edited to have expired in January; `kustosz sweeper
    --once` deletes nothing, keeps both versions, raises the alert (Polish, then English) and
    records the refusal; `audit verify` still passes (the log was not touched)."""
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True, url=url)
    try:
        recs = recent_material(vault, tmp_path)
        before = versions(seaweed, bucket)
        assert len(before) == 2
        edit_expiry(vault)
    finally:
        vault.close()
    cli = Cli(vault.root)
    result = cli("sweeper", "--once")
    assert "sweep done: 0 item(s) deleted" in result.output
    assert versions(seaweed, bucket) == before
    again = Vault.open(vault.root, actor="test")
    try:
        assert states(again) == {r.id: "stored" for r in recs}
        (message,) = open_alerts(again)
        assert message.startswith("Usuwanie po terminie wstrzymało usunięcie nagrań (2;")
        assert " / The sweep kept 2 recording(s)" in message
        assert "sweep.refused" in audit_actions(again)
    finally:
        again.close()
    assert cli("audit", "verify").exit_code == 0


def test_the_store_alone_refuses_the_sweepers_keys_before_retain_until(
        tmp_path: Path, seaweed: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the audit check: with it switched off, the sweep's own credentials — which hold
    no bypass — are refused by the store, with the bypass header or without; the sweep keeps
    the rows and tells."""
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    try:
        recs = recent_material(vault, tmp_path)
        edit_expiry(vault)
        store = vault.deleting_storage()
        for rec in recs:
            with pytest.raises(Refused):
                store.delete_version(rec.storage_key, rec.version_id)  # type: ignore[attr-defined]
            raw = seaweed.client(seaweed.sweep)
            with pytest.raises(Exception, match="AccessDenied"):
                raw.delete_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id,
                                  BypassGovernanceRetention=True)
        import kustosz.retention.sweep as sweep_mod

        monkeypatch.setattr(sweep_mod, "disagreements", lambda *_a, **_k: [])
        report = run_sweep(vault)
        assert report.deleted == [] and sorted(report.refused) == sorted(r.id for r in recs)
        assert len(versions(seaweed, bucket)) == 2
        assert states(vault) == {r.id: "stored" for r in recs}
        assert open_alerts(vault)
    finally:
        vault.close()


def test_a_normal_sweep_at_expiry_still_deletes(tmp_path: Path, seaweed: S3Server) -> None:
    """Material of January (past its 30 days, and past its objects' retain-until) goes; the
    alert a refusal raised is cleared by a sweep that found nothing against the database."""
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        for hour in (8, 12):
            ingest_file(vault, "hall", _segment(tmp_path, f"j{hour}"),
                        datetime(2026, 1, 1, hour, tzinfo=UTC))
        with vault.transaction() as s:
            from kustosz.alert_rows import raise_row

            raise_row(s, "retention_disagrees", "earlier", datetime.now(UTC))
    finally:
        vault.close()
    result = Cli(vault.root)("sweeper", "--once")
    assert "sweep done: 2 item(s) deleted" in result.output
    assert versions(seaweed, bucket) == []
    again = Vault.open(vault.root, actor="test")
    try:
        assert states(again) == {}
        assert open_alerts(again) == []
    finally:
        again.close()


def test_a_hold_the_database_lost_still_keeps_the_material(tmp_path: Path,
                                                          seaweed: S3Server) -> None:
    """Expired material under a hold; the attacker deletes the hold's rows. The audit log
    still has the hold open: nothing is deleted, and the alert names the hold."""
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    try:
        with vault.transaction() as s:
            hall = add_source(s, vault.policy, "hall", "camera", "test")
        rec = ingest_file(vault, "hall", _segment(tmp_path, "h"),
                          datetime(2026, 1, 1, 8, tzinfo=UTC))
        with vault.transaction() as s:
            hold = place_hold(s, sources=[get_source(s, "hall")],
                              start=datetime(2026, 1, 1, 7, tzinfo=UTC),
                              end=datetime(2026, 1, 1, 9, tzinfo=UTC), basis="sprawa 1",
                              actor="test")
        with vault.engine.begin() as conn:
            for table in ("hold_sources", "hold_items"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
            conn.execute(sa.text("DELETE FROM holds"))
        assert hall.id and hold.id
    finally:
        vault.close()
    result = Cli(vault.root)("sweeper", "--once")
    assert "sweep done: 0 item(s) deleted" in result.output
    assert len(versions(seaweed, bucket)) == 1
    again = Vault.open(vault.root, actor="test")
    try:
        assert states(again) == {rec.id: "stored"}
        (message,) = open_alerts(again)
        assert f"zabezpieczenia nr {hold.id}" in message and f"holds {hold.id} open" in message
    finally:
        again.close()


def test_legal_holds_are_the_sweepers_and_the_apps_keys_cannot_switch_one_off(
        tmp_path: Path, seaweed: S3Server) -> None:
    """A hold placed by serve (which has no sweep credentials): the sweeper sets the legal
    hold; the app's keys cannot switch it off (the store refuses); after the audited release
    the sweeper clears it, and the material, expired, goes."""
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    from kustosz.retention.sweeper import leave_the_sweep

    leave_the_sweep(vault)  # as serve: no legal holds, no deletes
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        rec = ingest_file(vault, "hall", _segment(tmp_path, "l"),
                          datetime(2026, 1, 1, 8, tzinfo=UTC))
        with vault.transaction() as s:
            hold = place_hold(s, items=[rec.id], sources=[], start=None, end=None,
                              basis="sprawa 2", actor="test")
    finally:
        vault.close()
    cli = Cli(vault.root)
    assert "sweep done: 0 item(s) deleted" in cli("sweeper", "--once").output
    app = seaweed.client(seaweed.app)
    head = app.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(Exception, match="AccessDenied"):
        app.put_object_legal_hold(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id,
                                  LegalHold={"Status": "OFF"})
    head = app.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    again = Vault.open(vault.root, actor="test")
    try:
        with again.transaction() as s:
            release_hold(s, hold.id, "sprawa zamknięta", "test")
    finally:
        again.close()
    assert "sweep done: 1 item(s) deleted" in cli("sweeper", "--once").output
    assert versions(seaweed, bucket) == []
    again = Vault.open(vault.root, actor="test")
    try:
        actions = audit_actions(again)
        assert actions.count("hold.legal_holds") == 2  # set, then cleared after the release
        assert actions.index("hold.release") < len(actions) - 1 - actions[::-1].index(
            "hold.legal_holds")
    finally:
        again.close()


# -- shortening a period: two people, audited, re-dating the objects ----------------------------
def _people(vault: Vault) -> None:
    with vault.transaction() as s:
        add_user(s, "anna", "Anna Nowak", ["administrator"], "test")
        add_user(s, "jan", "Jan Kowalski", ["approver"], "test")
        add_user(s, "ewa", "Ewa Lis", ["administrator", "approver"], "test")


def _shorten_policy(root: Path, period: str = "1 day") -> None:
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + f'\n[policy.retention]\ncamera = "{period}"\n')


def test_shortening_a_period_needs_two_people_and_redates_the_objects(
        tmp_path: Path, seaweed: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    import kustosz.retention.shorten as shorten_mod

    monkeypatch.setattr(shorten_mod, "GRACE", timedelta(seconds=2))
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    try:
        (rec,) = recent_material(vault, tmp_path, ago=timedelta(days=3), count=1)
        _people(vault)
    finally:
        vault.close()
    _shorten_policy(vault.root)
    cli = Cli(vault.root)
    # kustosz.toml alone shortens nothing: the sweep keeps it and says a second person must
    # approve (the index was re-dated by the policy change; the record and the store were not)
    assert "sweep done: 0 item(s) deleted" in cli("sweeper", "--once").output
    app = seaweed.client(seaweed.app)
    locked = app.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
    assert locked["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=20)

    out = cli("retention", "shorten", "propose", "--kind", "camera", "--period", "1 day",
              "--reason", "uchwała nr 5/2026", "--by", "anna").output
    assert "proposal " in out
    (proposal,) = [int(w) for w in out.split() if w.isdigit()][:1]
    # the same person cannot approve; nor can it be approved without the re-dating identity
    same = cli("retention", "shorten", "approve", str(proposal), "--by", "anna", ok=False)
    assert same.exit_code != 0
    duplicate = cli("retention", "shorten", "propose", "--kind", "camera", "--period",
                    "1 day", "--reason", "x", "--by", "anna", ok=False)
    assert duplicate.exit_code != 0  # one proposal waits already
    no_creds = cli("retention", "shorten", "approve", str(proposal), "--by", "jan", ok=False)
    assert no_creds.exit_code != 0 and "--credentials" in no_creds.output
    # the sweep's keys hold no bypass: they cannot be used to re-date
    sweep_file = write_credentials(tmp_path / "as-redate.toml", seaweed.sweep.access_key,
                                   seaweed.sweep.secret_key)
    refused = cli("retention", "shorten", "approve", str(proposal), "--by", "jan",
                  "--credentials", str(sweep_file), ok=False)
    assert refused.exit_code != 0
    assert seaweed.redate is not None
    redate_file = write_credentials(tmp_path / "s3-redate.toml", seaweed.redate.access_key,
                                    seaweed.redate.secret_key)
    done = cli("retention", "shorten", "approve", str(proposal), "--by", "jan",
               "--credentials", str(redate_file), "--json").output
    assert '"objects": 1' in done
    head = app.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
    assert head["ObjectLockRetainUntilDate"] < datetime.now(UTC) + timedelta(seconds=30)
    twice = cli("retention", "shorten", "approve", str(proposal), "--by", "jan",
                "--credentials", str(redate_file), ok=False)
    assert twice.exit_code != 0
    deadline = time.monotonic() + 30
    while app.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)[
            "ObjectLockRetainUntilDate"] > datetime.now(UTC):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "sweep done: 1 item(s) deleted" in cli("sweeper", "--once").output
    assert versions(seaweed, bucket) == []
    again = Vault.open(vault.root, actor="test")
    try:
        with again.reading() as s:
            entries = {a: d for a, d in s.execute(sa.select(
                AuditEntry.action, AuditEntry.details))}
        assert '"by":"anna"' in entries["retention.shorten.propose"]
        approved = entries["retention.shorten.approve"]
        assert '"by":"jan"' in approved and '"proposed_by":"anna"' in approved
        assert open_alerts(again) == []
    finally:
        again.close()
    assert cli("audit", "verify").exit_code == 0


@pytest.mark.parametrize(("args", "words"), [
    (["--kind", "camera", "--period", "1 day", "--reason", "", "--by", "anna"], "przyczyn"),
    (["--kind", "camera", "--period", "soon", "--reason", "r", "--by", "anna"], "okres"),
    (["--kind", "camera", "--period", "0 days", "--reason", "r", "--by", "anna"], "zero"),
    (["--kind", "camera", "--period", "2 days", "--reason", "r", "--by", "anna"], "1 day"),
    (["--kind", "phone", "--period", "1 day", "--reason", "r", "--by", "anna"], "phone"),
    (["--kind", "camera", "--period", "1 day", "--reason", "r", "--by", "jan"], "rol"),
    (["--kind", "camera", "--period", "1 day", "--reason", "r", "--by", "nobody"], "nobody"),
])
def test_bad_proposals_are_refused_and_change_nothing(tmp_path: Path, args: list[str],
                                                      words: str) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data, actor="test")
    try:
        _people(vault)
    finally:
        vault.close()
    _shorten_policy(cli.data)
    cli("audit", "verify")  # the policy change is noticed (and audited) before the count
    before = _audit_count(cli.data)
    result = cli("retention", "shorten", "propose", *args, ok=False)
    assert result.exit_code != 0
    assert words.lower() in result.output.lower()
    assert _audit_count(cli.data) == before


def _audit_count(root: Path) -> int:
    vault = Vault.open(root, actor="test")
    try:
        with vault.reading() as s:
            return int(s.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar())
    finally:
        vault.close()


@pytest.mark.parametrize("case", ["unknown", "same_person", "not_approver", "policy_moved",
                                  "no_period_change"])
def test_bad_approvals_are_refused_and_change_nothing(tmp_path: Path, case: str) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data, actor="test")
    try:
        _people(vault)
    finally:
        vault.close()
    if case == "no_period_change":  # nothing shorter in kustosz.toml: nothing to propose
        result = cli("retention", "shorten", "propose", "--kind", "camera", "--period",
                     "30 days", "--reason", "r", "--by", "anna", ok=False)
        assert result.exit_code != 0 and "nie ma czego skracać" in result.output
        return
    _shorten_policy(cli.data)
    out = cli("retention", "shorten", "propose", "--kind", "camera", "--period", "1 day",
              "--reason", "r", "--by", "ewa").output
    proposal = int(out.split("proposal ")[1].split()[0])
    by, number = "jan", proposal
    if case == "unknown":
        number = proposal + 1000
    elif case == "same_person":
        by = "ewa"
    elif case == "not_approver":
        by = "anna"
    elif case == "policy_moved":
        config = cli.data / "kustosz.toml"
        config.write_text(config.read_text().replace('camera = "1 day"', 'camera = "2 days"'))
    before = _audit_count(cli.data)
    result = cli("retention", "shorten", "approve", str(number), "--by", by, ok=False)
    assert result.exit_code != 0, result.output
    assert _audit_count(cli.data) == before
    assert f"{proposal}: camera" in cli("retention", "shorten", "list").output  # still waits


def test_the_local_folder_is_kept_by_the_audit_log_alone(vault: Vault, tmp_path: Path) -> None:
    """No object lock on a local folder: the audit check is what keeps an edited row; a
    shortening approved by two people makes the same sweep delete it (no store to re-date)."""
    (rec,) = recent_material(vault, tmp_path, ago=timedelta(days=3), count=1)
    edit_expiry(vault)
    report = run_sweep(vault)
    assert report.deleted == [] and report.refused == [rec.id]
    assert vault.storage.exists(rec.storage_key)
    assert open_alerts(vault)
    # back to its true date, the sweep finds nothing against the database: the alert clears
    with vault.engine.begin() as conn:
        conn.execute(sa.text("UPDATE recordings SET expires_at = :t"),
                     {"t": (datetime.now(UTC) + timedelta(days=27)).replace(tzinfo=None)})
    assert run_sweep(vault).refused == []
    assert open_alerts(vault) == []
