"""[storage] kind = "s3" (issue 16 item 1): the settings are checked (bad values: one clear
error in English and Polish, nothing changed), the vault opens its media on the object store
with the app's credentials, refuses a bucket without Object Lock and wrong credentials, and an
intake whose store goes away mid-upload leaves nothing half-indexed."""

from __future__ import annotations

import io
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import Cli, make_vault, snapshot
from tests.storage.conftest import S3Server
from tests.storage.cutting_proxy import CuttingProxy

from kustosz.config import S3Config, read_config
from kustosz.db.models import Recording
from kustosz.errors import ConfigError, InputError
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.storage.base import Refused
from kustosz.storage.s3 import Credentials, S3Storage, object_store
from kustosz.vault import Vault


def write_credentials(path: Path, access: str, secret: str, mode: int = 0o600) -> Path:
    path.write_text(f'access_key = "{access}"\nsecret_key = "{secret}"\n')
    path.chmod(mode)
    return path


def set_storage(root: Path, lines: str) -> None:
    """Put settings into the [storage] table of the vault's kustosz.toml."""
    config = root / "kustosz.toml"
    text = config.read_text()
    assert "\n[storage]\n" in text
    config.write_text(text.replace("\n[storage]\n", f"\n[storage]\n{lines}\n", 1))


def s3_lines(server: S3Server, bucket: str, creds: Path, endpoint: str | None = None) -> str:
    return (f'kind = "s3"\nendpoint = "{endpoint or server.endpoint}"\nbucket = "{bucket}"\n'
            f'region = "{server.region}"\ncredentials_file = "{creds}"')


# A recording of an hour ago: its Object Lock's retain-until lies in the retention period
# ahead (a fixed 2026-11-01 made the lock end on 2026-12-01, and the sweep's delete
# then rightly went through).
RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


# -- the settings ---------------------------------------------------------------------------------
def test_s3_settings_are_read(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "v")
    vault.close()
    assert read_config(vault.root).s3 is None  # the local folder by default
    set_storage(vault.root, 'kind = "s3"\nendpoint = "https://s3.um.example.pl/"\n'
                            'bucket = "kustosz-media"\ncredentials_file = "s3-app.toml"\n'
                            'delete_credentials_file = "/etc/kustosz/s3-sweep.toml"')
    assert read_config(vault.root).s3 == S3Config(
        "https://s3.um.example.pl", "kustosz-media", "us-east-1", vault.root / "s3-app.toml",
        Path("/etc/kustosz/s3-sweep.toml"), None)


BAD = {
    "kind": 'kind = "ftp"',
    "no endpoint": 'kind = "s3"\nbucket = "media"',
    "no bucket": 'kind = "s3"\nendpoint = "http://127.0.0.1:8333"',
    "endpoint scheme": 'kind = "s3"\nendpoint = "ftp://s3.example.pl"\nbucket = "media"',
    "endpoint password": 'kind = "s3"\nendpoint = "https://ak:sk@s3.example.pl"\n'
                         'bucket = "media"',
    "endpoint path": 'kind = "s3"\nendpoint = "https://s3.example.pl/media"\nbucket = "media"',
    "endpoint port": 'kind = "s3"\nendpoint = "http://s3.example.pl:99999"\nbucket = "media"',
    "endpoint number": 'kind = "s3"\nendpoint = 8333\nbucket = "media"',
    "bucket case": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "Media_2026"',
    "bucket short": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "m"',
    "bucket ip": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "10.0.0.5"',
    "region": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "media"\n'
              'region = "eu central"',
    "credentials file": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "media"\n'
                        "credentials_file = 5",
    "same credentials": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "media"\n'
                        'credentials_file = "s3.toml"\ndelete_credentials_file = "./s3.toml"',
    "secret inline": 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "media"\n'
                     'secret_key = "sekret-XYZ"',
    "s3 setting on local": 'endpoint = "http://10.0.0.5:8333"',
}


@pytest.mark.parametrize("lines", list(BAD.values()), ids=list(BAD))
def test_bad_s3_settings_give_a_clear_error_and_change_nothing(tmp_path: Path,
                                                               lines: str) -> None:
    vault = make_vault(tmp_path / "vault")
    set_storage(vault.root, lines)
    before = snapshot(vault)
    with pytest.raises(ConfigError) as exc:
        read_config(vault.root)
    assert exc.value.pl and str(exc.value) != exc.value.pl
    assert "sekret-XYZ" not in f"{exc.value} {exc.value.pl}"
    result = Cli(vault.root)("sources", "list", ok=False)  # the command line: EN then PL
    assert result.exit_code == 2
    assert "error:" in result.output and "błąd:" in result.output
    assert snapshot(vault) == before
    vault.close()


def test_credentials_files_are_checked(tmp_path: Path) -> None:
    settings = S3Config("http://127.0.0.1:1", "media", credentials_file=tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        object_store(settings, tmp_path)
    creds = write_credentials(tmp_path / "c.toml", "AK", "very-secret-1", mode=0o640)
    with pytest.raises(ConfigError, match="chmod 600") as exc:
        object_store(settings, tmp_path)
    assert exc.value.pl
    creds.chmod(0o600)
    assert isinstance(object_store(settings, tmp_path), S3Storage)
    creds.write_text('access_key = "AK"\nsecret_key = very-secret-2\n')  # not TOML
    with pytest.raises(ConfigError) as exc:
        object_store(settings, tmp_path)
    assert "very-secret-2" not in f"{exc.value} {exc.value.pl}"
    with pytest.raises(ConfigError, match="KUSTOSZ_S3_DELETE_ACCESS_KEY"):
        object_store(settings, tmp_path, deleting=True)  # no file, nothing in the environment


def test_credentials_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          seaweed: S3Server) -> None:
    bucket = seaweed.make_bucket()
    monkeypatch.setenv("KUSTOSZ_S3_ACCESS_KEY", seaweed.app.access_key)
    monkeypatch.setenv("KUSTOSZ_S3_SECRET_KEY", seaweed.app.secret_key)
    store = object_store(S3Config(seaweed.endpoint, bucket), tmp_path)
    store.prepare()
    assert not store.deleting and list(store.iterate()) == []


# -- a vault on the object store ------------------------------------------------------------------
def test_a_vault_keeps_its_media_in_the_bucket(tmp_path: Path, seaweed: S3Server) -> None:
    bucket = seaweed.make_bucket()
    vault = make_vault(tmp_path / "vault")
    vault.close()
    creds = write_credentials(tmp_path / "s3-app.toml", seaweed.app.access_key,
                              seaweed.app.secret_key)
    sweep = write_credentials(tmp_path / "s3-sweep.toml", seaweed.sweep.access_key,
                              seaweed.sweep.secret_key)
    set_storage(vault.root, s3_lines(seaweed, bucket, creds)
                + f'\ndelete_credentials_file = "{sweep}"')
    vault = Vault.open(vault.root, actor="test")
    try:
        assert isinstance(vault.storage, S3Storage) and not vault.storage.deleting
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        segment = tmp_path / "seg.ts"
        segment.write_bytes(b"\x47" * 188 * 50)
        rec = ingest_file(vault, "hall", segment, RECENT)
        assert list(vault.storage.iterate()) == [rec.storage_key]
        assert vault.storage.checksum(rec.storage_key).sha256 == rec.sha256
        assert not (vault.root / "media").exists() or \
            not any((vault.root / "media").rglob("*.ts"))
        with pytest.raises(Refused):  # the app's credentials cannot delete what they wrote
            vault.storage.delete(rec.storage_key)
        sweeping = vault.deleting_storage()  # the sweep's, from delete_credentials_file
        assert isinstance(sweeping, S3Storage) and sweeping.deleting
        with pytest.raises(Refused):  # nor the sweep's before its retain-until (issue 28)
            sweeping.delete(rec.storage_key)
        assert list(vault.storage.iterate()) == [rec.storage_key]
    finally:
        vault.close()


@pytest.mark.parametrize("case", ["no object lock", "wrong credentials"])
def test_a_vault_refuses_a_store_it_cannot_trust(tmp_path: Path, seaweed: S3Server,
                                                 case: str) -> None:
    vault = make_vault(tmp_path / "vault")
    before = snapshot(vault)
    vault.close()
    bucket = seaweed.make_bucket(lock=case != "no object lock")
    secret = seaweed.app.secret_key if case != "wrong credentials" else "wrong-secret-Q7"
    creds = write_credentials(tmp_path / "s3-app.toml", seaweed.app.access_key, secret)
    set_storage(vault.root, s3_lines(seaweed, bucket, creds))
    expected = {"no object lock": InputError, "wrong credentials": Refused}[case]
    with pytest.raises(expected) as exc:
        Vault.open(vault.root, actor="test")
    assert exc.value.pl and "wrong-secret-Q7" not in f"{exc.value} {exc.value.pl}"
    result = Cli(vault.root)("sources", "list", ok=False)
    assert result.exit_code == 2 and "błąd:" in result.output
    assert "wrong-secret-Q7" not in result.output
    # what the vault held is untouched (the settings aside, which the test changed)
    (vault.root / "kustosz.toml").write_text(before["config"])
    reopened = Vault.open(vault.root, actor="test")
    assert snapshot(reopened) == before
    reopened.close()


def test_a_vault_opens_while_its_store_is_away_and_checks_the_bucket_before_writing(
        tmp_path: Path, seaweed: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    """An unreachable store is no configuration error: recording goes on into the local spool
    (tests/storage/test_spool_buffer.py); a bucket found without the lock once the store
    answers still gets nothing."""
    vault = make_vault(tmp_path / "vault")
    before = snapshot(vault)
    vault.close()
    bucket = seaweed.make_bucket(lock=False)
    creds = write_credentials(tmp_path / "s3-app.toml", seaweed.app.access_key,
                              seaweed.app.secret_key)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    set_storage(vault.root, s3_lines(seaweed, bucket, creds, endpoint))
    with caplog.at_level(logging.WARNING, "kustosz"):
        opened = Vault.open(vault.root, actor="test")
    try:
        assert any("local spool" in r.getMessage() for r in caplog.records)
        assert Cli(vault.root)("sources", "list").exit_code == 0
        assert isinstance(opened.storage, S3Storage)
        # a store that answers at last, with a bucket without Object Lock: nothing is written
        # (a store never checked by prepare checks before its first put)
        store = seaweed.storage(bucket, tmp_path / "s", deleting=False)
        with pytest.raises(InputError, match="Object Lock"):
            store.put("x/y.ts", io.BytesIO(b"data"))
        assert list(seaweed.storage(bucket, tmp_path / "s", deleting=True).iterate()) == []
        after = snapshot(opened)
        after["config"] = before["config"]
        assert after == before
    finally:
        opened.close()


def test_a_store_that_goes_away_mid_intake_keeps_the_file_in_the_spool(
        tmp_path: Path, seaweed: S3Server) -> None:
    """Bad input of issue 16: the endpoint goes away mid-upload. The intake is not lost and
    not indexed as stored: its row stays `pending`, a copy waits in spool/uploads/, and once
    the store is back the uploader puts it up, verified, once."""
    from kustosz.ingest.upload_queue import QUEUED, queue_of

    bucket = seaweed.make_bucket()
    host, port = seaweed.endpoint.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)))
    vault = make_vault(tmp_path / "vault")
    vault.close()
    creds = write_credentials(tmp_path / "s3-app.toml", seaweed.app.access_key,
                              seaweed.app.secret_key)
    set_storage(vault.root, s3_lines(seaweed, bucket, creds, proxy.endpoint))
    vault = Vault.open(vault.root, actor="test")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        segment = tmp_path / "seg.ts"
        segment.write_bytes(os.urandom(4 << 20))
        proxy.cut_after = proxy.sent + (2 << 20)  # half the segment, then the store is gone
        rec = ingest_file(vault, "hall", segment, RECENT)
        assert proxy.gone.is_set()
        assert segment.exists()  # the original is left where it was
        assert rec.state == "pending" and (rec.meta or {}).get(QUEUED)
        kept = queue_of(vault).path_for(rec.id, rec.storage_key)
        assert kept.read_bytes() == segment.read_bytes()
        with vault.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT state FROM recordings")).scalars().all() \
                == ["pending"]
        direct = seaweed.storage(bucket, tmp_path / "scratch", deleting=True)
        assert list(direct.iterate()) == []
    finally:
        vault.close()
    config = vault.root / "kustosz.toml"
    config.write_text(config.read_text().replace(proxy.endpoint, seaweed.endpoint, 1))
    vault = Vault.open(vault.root, actor="test")
    try:
        drained = queue_of(vault).drain()
        assert drained.error is None and drained.uploaded == 1
        with vault.reading() as s:
            stored = s.get(Recording, rec.id)
        assert stored.state == "stored" and stored.version_id
        assert [v for v, marker in direct.versions(stored.storage_key) if not marker] \
            == [stored.version_id]
        assert direct.checksum(stored.storage_key).sha256 == stored.sha256 == rec.sha256
        assert not kept.exists()
    finally:
        vault.close()


def test_no_secret_in_any_log_even_at_debug(tmp_path: Path, seaweed: S3Server,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """botocore logs requests, canonical requests and signatures at DEBUG: never the secret."""
    caplog.set_level(logging.DEBUG)
    bucket = seaweed.make_bucket()
    store = seaweed.storage(bucket, tmp_path / "a", deleting=False)
    store.prepare()
    store.put("cam/x.ts", io.BytesIO(b"x"), retain_until=datetime(2099, 1, 1, tzinfo=UTC))
    wrong = S3Storage(seaweed.endpoint, bucket,
                      Credentials(seaweed.app.access_key, "wrong-secret-L0g", "the test"),
                      tmp_path / "b", region=seaweed.region, attempts=1)
    with pytest.raises(Refused):
        wrong.prepare()
    assert "Calculating signature" in caplog.text or "signature" in caplog.text.lower()
    assert seaweed.app.secret_key not in caplog.text
    assert "wrong-secret-L0g" not in caplog.text


def s3_vault(tmp_path: Path, server: S3Server, bucket: str, sweep: bool = True) -> Vault:
    vault = make_vault(tmp_path / "vault")
    vault.close()
    lines = s3_lines(server, bucket, write_credentials(
        tmp_path / "s3-app.toml", server.app.access_key, server.app.secret_key))
    if sweep:
        creds = write_credentials(tmp_path / "s3-sweep.toml", server.sweep.access_key,
                                  server.sweep.secret_key)
        lines += f'\ndelete_credentials_file = "{creds}"'
    set_storage(vault.root, lines)
    return Vault.open(vault.root, actor="test")


def test_the_sweep_deletes_from_the_bucket_with_its_own_credentials(
        tmp_path: Path, seaweed: S3Server) -> None:
    """Expired material goes (every version, by its id), held material stays; without the
    sweep's credentials the sweep stops with a clear error, deletes nothing, and finishes
    once they are given."""
    from kustosz.custody.holds import place_hold
    from kustosz.db.models import Source
    from kustosz.retention import run_sweep

    bucket = seaweed.make_bucket()
    vault = s3_vault(tmp_path, seaweed, bucket, sweep=False)
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        recs = []
        for hour in (8, 12):
            segment = tmp_path / f"seg{hour}.ts"
            segment.write_bytes(b"\x47" * 188 * 20)
            recs.append(ingest_file(vault, "hall", segment,
                                    datetime(2026, 1, 1, hour, tzinfo=UTC)))
        with vault.transaction() as s:
            place_hold(s, sources=list(s.execute(sa.select(Source)).scalars()),
                       start=datetime(2026, 1, 1, 11, tzinfo=UTC),
                       end=datetime(2026, 1, 1, 13, tzinfo=UTC), basis="wniosek policji",
                       actor="test")
        with pytest.raises(ConfigError, match="KUSTOSZ_S3_DELETE_ACCESS_KEY") as exc:
            run_sweep(vault, datetime(2026, 6, 1, tzinfo=UTC))
        assert exc.value.pl
        assert sorted(vault.storage.iterate()) == sorted(r.storage_key for r in recs)
    finally:
        vault.close()
    set_storage(vault.root, 'delete_credentials_file = "{}"'.format(write_credentials(
        tmp_path / "s3-sweep.toml", seaweed.sweep.access_key, seaweed.sweep.secret_key)))
    vault = Vault.open(vault.root, actor="test")
    try:
        report = run_sweep(vault, datetime(2026, 6, 1, tzinfo=UTC))
        assert report.recovered == 1  # the stopped sweep, finished
        assert list(vault.storage.iterate()) == [recs[1].storage_key]  # the held one
        assert vault.deleting_storage().versions(recs[0].storage_key) == []  # type: ignore[attr-defined]
        with vault.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM deletions")).scalar() == 1
            assert conn.execute(sa.text(
                "SELECT count(*) FROM sweeps WHERE finished_at IS NULL")).scalar() == 0
    finally:
        vault.close()


def test_holds_set_and_clear_the_legal_hold_and_the_sweep_deletes_by_version(
        tmp_path: Path, seaweed: S3Server) -> None:
    """Issue 16 item 1, checked with the sweep's own boto3 client (not through Kustosz): each
    object carries its legal end and the version id the index keeps; a hold puts every object
    it covers under legal hold (also one taken in while it is active); releasing one of two
    overlapping holds keeps it, releasing both clears it; the app's credentials delete
    nothing; the sweep deletes each version by its id and leaves no version or marker."""
    from botocore.exceptions import ClientError

    from kustosz.custody.holds import place_hold, release_hold
    from kustosz.db.models import Source
    from kustosz.retention import run_sweep

    bucket = seaweed.make_bucket()
    vault = s3_vault(tmp_path, seaweed, bucket)
    s3, app = seaweed.client(seaweed.sweep), seaweed.client(seaweed.app)

    def lock(rec: Recording) -> tuple[str, datetime | None]:
        try:
            hold = s3.get_object_legal_hold(Bucket=bucket, Key=rec.storage_key,
                                            VersionId=rec.version_id)["LegalHold"]["Status"]
        except ClientError as exc:  # SeaweedFS: never set is an error, not "OFF"
            assert exc.response["Error"]["Code"] == "NoSuchObjectLegalHold"
            hold = "OFF"
        head = s3.head_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
        return hold, head.get("ObjectLockRetainUntilDate")

    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        recs = []
        for n in range(2):
            segment = tmp_path / f"seg{n}.ts"
            segment.write_bytes(b"\x47" * 188 * (10 + n))
            recs.append(ingest_file(vault, "hall", segment, t0 + timedelta(minutes=30 * n),
                                    t0 + timedelta(minutes=30 * n + 1)))
        listed = s3.list_object_versions(Bucket=bucket)["Versions"]
        assert sorted((v["Key"], v["VersionId"]) for v in listed) == \
            sorted((r.storage_key, r.version_id) for r in recs)
        for rec in recs:  # retention GOVERNANCE to the legal end, no legal hold yet
            assert lock(rec) == ("OFF", rec.expires_at)
            head = s3.head_object(Bucket=bucket, Key=rec.storage_key)
            assert head["ObjectLockMode"] == "GOVERNANCE"
        with vault.transaction() as s:
            hall = list(s.execute(sa.select(Source)).scalars())
            wide = place_hold(s, sources=hall, start=t0, end=t0 + timedelta(hours=1),
                              basis="wniosek policji", actor="test").id
            narrow = place_hold(s, sources=[], start=None, end=None, basis="wniosek sądu",
                                actor="test", items=[recs[0].id]).id
        assert [lock(r)[0] for r in recs] == ["ON", "ON"]
        for rec in recs:  # the app's credentials delete nothing, bypass or not
            for bypass in (False, True):
                with pytest.raises(ClientError):
                    app.delete_object(Bucket=bucket, Key=rec.storage_key,
                                      VersionId=rec.version_id,
                                      **({"BypassGovernanceRetention": True} if bypass else {}))
        # Taken in while a hold covers its time: the app writes it without the legal hold
        # (its identity may not set one, issue 28); the sweeper's pass sets it.
        late = tmp_path / "late.ts"
        late.write_bytes(b"\x47" * 188 * 12)
        recs.append(ingest_file(vault, "hall", late, t0 + timedelta(minutes=45)))
        from kustosz.holds.object_lock import mirror_legal_holds

        mirror_legal_holds(vault)
        assert lock(recs[2])[0] == "ON"
        with vault.transaction() as s:
            release_hold(s, wide, "sprawa zakończona", "test")
        assert [lock(r)[0] for r in recs] == ["ON", "OFF", "OFF"]  # the item hold still holds
        with vault.transaction() as s:
            release_hold(s, narrow, "sprawa zakończona", "test")
        assert [lock(r)[0] for r in recs] == ["OFF", "OFF", "OFF"]
        for rec in recs[:2]:  # retention alone still refuses the app's credentials
            with pytest.raises(ClientError):
                app.delete_object(Bucket=bucket, Key=rec.storage_key, VersionId=rec.version_id)
        # The sweep, long after by its own clock: no bypass (issue 28), so the store refuses
        # every version before its retain-until and the sweep keeps the rows.
        report = run_sweep(vault, datetime.now(UTC) + timedelta(days=800))
        assert report.deleted == [] and sorted(report.refused) == sorted(r.id for r in recs)
        assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 3
    finally:
        vault.close()


def test_a_longer_period_lengthens_the_lock_and_the_sweep_clears_a_stale_legal_hold(
        tmp_path: Path, seaweed: S3Server) -> None:
    """A policy change that lengthens the period moves each object's retain-until later with
    the app's credentials; a legal hold no hold stands behind (a hold that failed to commit
    after setting it; none in the audit log either) does not stop the sweep of expired
    material: cleared, then the version deleted."""
    from kustosz.retention import run_sweep

    bucket = seaweed.make_bucket()
    vault = s3_vault(tmp_path, seaweed, bucket)
    s3 = seaweed.client(seaweed.sweep)
    config = vault.root / "kustosz.toml"
    try:
        vault.close()
        config.write_text(config.read_text() + '\n[policy.retention]\ncamera = "7 days"\n')
        vault = Vault.open(vault.root, actor="test")
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        segment = tmp_path / "seg.ts"
        segment.write_bytes(b"\x47" * 188 * 10)
        rec = ingest_file(vault, "hall", segment, datetime.now(UTC) - timedelta(hours=1))

        def until() -> datetime:
            return s3.head_object(Bucket=bucket, Key=rec.storage_key,
                                  VersionId=rec.version_id)["ObjectLockRetainUntilDate"]

        assert until() == rec.expires_at
        vault.close()
        config.write_text(config.read_text().replace('camera = "7 days"', 'camera = "1 month"'))
        vault = Vault.open(vault.root, actor="test")
        with vault.engine.connect() as conn:
            longer = conn.execute(sa.select(Recording.expires_at)).scalar_one()
        assert longer > rec.expires_at and until() == longer
        # A legal hold the index knows nothing of, on material past its end (and past its
        # retain-until): the sweep clears it and deletes; the recent one is not yet due.
        old = tmp_path / "old.ts"
        old.write_bytes(b"\x47" * 188 * 10)
        stale = ingest_file(vault, "hall", old, datetime(2026, 1, 1, 8, tzinfo=UTC))
        s3.put_object_legal_hold(Bucket=bucket, Key=stale.storage_key,
                                 VersionId=stale.version_id, LegalHold={"Status": "ON"})
        report = run_sweep(vault)
        assert [d["id"] for d in report.deleted] == [stale.id]
        versions = s3.list_object_versions(Bucket=bucket)
        assert [v["VersionId"] for v in versions.get("Versions", [])] == [rec.version_id]
        assert versions.get("DeleteMarkers", []) == []
    finally:
        vault.close()
