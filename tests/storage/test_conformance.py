"""The storage interface's promises, one module for every store (issue 16): the local folder,
the memory store, SeaweedFS and Ceph RGW (tests/storage/conftest.py). The interface cases are
those of tests/test_storage_interface.py; the lock cases (GOVERNANCE retention, legal hold,
the app's credentials that cannot delete) run on the stores that enforce a lock, the S3 ones
against the real server's answers (a raw boto3 client shows what the store itself refuses)."""

from __future__ import annotations

import io
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.storage.conftest import Backend, S3Server
from tests.storage.cutting_proxy import CuttingProxy

from kustosz.errors import InputError
from kustosz.storage import Storage, copy_out, read_line
from kustosz.storage.base import (
    Lock,
    Lockable,
    Refused,
    Unavailable,
    legal_hold,
    put_retained,
    retain,
)
from kustosz.storage.s3 import Credentials, S3Storage


def later(**delta: float) -> datetime:
    """A retain-until date; whole seconds, as S3 keeps them."""
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


def s3_error(call: Any) -> str:
    """The error code the S3 server itself answers a raw request with ('' if it did it)."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return ""


# -- the interface ----------------------------------------------------------------------------
def test_put_open_stat_iterate_delete(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    assert isinstance(store, Storage)
    got = store.put("cam/2026/a.ts", io.BytesIO(b"0123456789"))
    assert (got.key, got.size) == ("cam/2026/a.ts", 10)
    assert got.sha256 == "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"
    with store.open("cam/2026/a.ts") as f:
        assert f.read() == b"0123456789"
    with store.open("cam/2026/a.ts", 3, 4) as f:  # a range
        assert f.read() == b"3456"
    with store.open("cam/2026/a.ts", 8) as f:
        assert f.read() == b"89"
    with store.open("cam/2026/a.ts", 10) as f:  # at the end: nothing, not an error
        assert f.read() == b""
    assert store.stat("cam/2026/a.ts").size == 10
    assert store.checksum("cam/2026/a.ts") == got
    assert store.hash_of("cam/2026/a.ts") == got.sha256

    finished = tmp_path / "segment.ts"
    finished.write_bytes(b"whole")
    moved = store.put("cam/2026/b.ts", finished, move=True)
    assert moved.size == 5 and not finished.exists()  # taken over, no second copy
    kept = tmp_path / "kept.ts"
    kept.write_bytes(b"copy me")
    store.put("other/c.ts", kept)
    assert kept.exists()

    assert sorted(store.iterate()) == ["cam/2026/a.ts", "cam/2026/b.ts", "other/c.ts"]
    assert sorted(store.iterate("cam/")) == ["cam/2026/a.ts", "cam/2026/b.ts"]
    with store.local_path("cam/2026/b.ts") as path:
        assert path.read_bytes() == b"whole" and path.suffix == ".ts"
    if backend.name != "local":  # a copy is removed after the block
        assert not path.exists()
    assert copy_out(store, "other/c.ts", tmp_path / "out") == 7
    assert (tmp_path / "out").read_bytes() == b"copy me"

    assert store.delete("cam/2026/a.ts") and not store.delete("cam/2026/a.ts")
    assert not store.exists("cam/2026/a.ts")
    store.delete_many(["cam/2026/b.ts", "missing/x"])
    assert list(store.iterate()) == ["other/c.ts"]


def test_read_line_reads_one_line_of_a_chunk(backend: Backend) -> None:
    backend.store.put("siem/day.jsonl", io.BytesIO(b'{"a": 1}\n{"b": 2}\n'))
    assert read_line(backend.store, "siem/day.jsonl", 2) == b'{"b": 2}'
    assert read_line(backend.store, "siem/day.jsonl", 3) is None


def test_an_open_stream_outlives_a_delete(backend: Backend) -> None:
    """A media route opens the content inside its transaction and sends it afterwards."""
    backend.store.put("k/x", io.BytesIO(b"abc"))
    with backend.store.open("k/x") as f:
        backend.store.delete("k/x")
        assert f.read() == b"abc"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a/.."])
def test_bad_keys_are_refused_and_nothing_is_written(backend: Backend, key: str) -> None:
    with pytest.raises(InputError) as exc:
        backend.store.put(key, io.BytesIO(b"x"))
    assert exc.value.pl
    with pytest.raises(InputError):
        backend.store.open(key)
    assert list(backend.store.iterate()) == []


def test_an_existing_key_is_not_overwritten(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    store.put("k/x", io.BytesIO(b"first"))
    with pytest.raises(InputError):
        store.put("k/x", io.BytesIO(b"second"))
    finished = tmp_path / "f"
    finished.write_bytes(b"second")
    with pytest.raises(InputError):
        store.put("k/x", finished, move=True)
    assert finished.exists()
    with store.open("k/x") as f:
        assert f.read() == b"first"


def test_missing_keys(backend: Backend) -> None:
    store = backend.store
    for call in (lambda: store.open("no/such"), lambda: store.stat("no/such"),
                 lambda: store.checksum("no/such"), lambda: store.open("no/such", 2, 3)):
        with pytest.raises(FileNotFoundError):
            call()
    with pytest.raises(FileNotFoundError), store.local_path("no/such"):
        pass
    assert not store.exists("no/such") and not store.delete("no/such")


def test_a_large_file_goes_up_whole_and_reads_by_ranges(backend: Backend,
                                                        tmp_path: Path) -> None:
    """11 MiB: three parts of a multipart upload on S3 (5 MiB parts in these tests)."""
    data = os.urandom(11 << 20)
    big = tmp_path / "big.ts"
    big.write_bytes(data)
    got = backend.store.put("cam/big.ts", big)
    assert got.size == len(data) and got == backend.store.checksum("cam/big.ts")
    for offset, length in ((0, 10), ((5 << 20) - 3, 7), (len(data) - 5, 100)):
        with backend.store.open("cam/big.ts", offset, length) as f:
            assert f.read() == data[offset:offset + length]


def test_iterate_pages_through_a_long_listing(backend: Backend) -> None:
    if isinstance(backend.store, S3Storage):
        backend.store.page_size = 2  # five keys: three LIST requests
    keys = [f"p/{n:02d}.ts" for n in range(5)]
    for key in keys:
        backend.store.put(key, io.BytesIO(b"x"))
    assert sorted(backend.store.iterate("p/")) == keys


# -- the lock ---------------------------------------------------------------------------------
def test_write_with_governance_retention(locked: Backend) -> None:
    until = later(days=1)
    got = locked.app.put("cam/r.ts", io.BytesIO(b"kept"), retain_until=until)  # type: ignore[call-arg]
    assert isinstance(locked.app, Lockable) and got.version_id
    assert locked.app.lock_of("cam/r.ts") == Lock(until, False)
    if locked.server:
        head = locked.server.client(locked.server.app).head_object(
            Bucket=locked.bucket, Key="cam/r.ts", VersionId=got.version_id)
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] == until


def test_shortening_is_refused_without_bypass(locked: Backend) -> None:
    until = later(days=1)
    got = locked.app.put("cam/s.ts", io.BytesIO(b"x"), retain_until=until)  # type: ignore[call-arg]
    with pytest.raises(Refused) as exc:
        locked.app.retain("cam/s.ts", until - timedelta(hours=1))  # type: ignore[attr-defined]
    assert exc.value.pl
    assert locked.app.lock_of("cam/s.ts").retain_until == until  # type: ignore[attr-defined]
    locked.app.retain("cam/s.ts", until + timedelta(hours=1))  # type: ignore[attr-defined]
    assert locked.app.lock_of("cam/s.ts").retain_until == until + timedelta(hours=1)  # type: ignore[attr-defined]
    with pytest.raises(Refused):  # the sweep's neither (issue 28 item 5), bypass or not
        locked.store.retain("cam/s.ts", until)  # type: ignore[attr-defined]
    with pytest.raises(Refused):
        locked.store.retain("cam/s.ts", until, bypass=True)  # type: ignore[attr-defined]
    if locked.server:
        # The store itself: the app's and the sweep's credentials, asking for the bypass or
        # not, are all refused.
        for who, bypass in ((locked.server.app, True), (locked.server.sweep, False),
                            (locked.server.sweep, True)):
            extra = {"BypassGovernanceRetention": True} if bypass else {}
            assert s3_error(lambda: locked.server.client(who).put_object_retention(  # noqa: B023
                Bucket=locked.bucket, Key="cam/s.ts", VersionId=got.version_id,
                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
                **extra)) == "AccessDenied"  # noqa: B023
    assert locked.app.lock_of("cam/s.ts").retain_until == until + timedelta(hours=1)  # type: ignore[attr-defined]


def test_delete_is_refused_under_retention_and_under_legal_hold(locked: Backend) -> None:
    """Issue 28 item 5: the sweep's credentials delete nothing before its retain-until — the
    store itself refuses them, with the bypass header or without — and nothing under a legal
    hold; once the date has passed and the hold is off, they do."""
    got = locked.app.put("cam/h.ts", io.BytesIO(b"x"), retain_until=later(seconds=3))  # type: ignore[call-arg]
    with pytest.raises(Refused):
        locked.app.delete("cam/h.ts")
    with pytest.raises(Refused) as exc:
        locked.store.delete("cam/h.ts")  # the deleting role, before the date
    assert exc.value.pl
    if locked.server:  # the sweep's credentials asking the store directly
        for bypass in (False, True):
            assert s3_error(lambda: locked.server.client(locked.server.sweep).delete_object(
                Bucket=locked.bucket, Key="cam/h.ts", VersionId=got.version_id,
                BypassGovernanceRetention=bypass)) == "AccessDenied"  # noqa: B023
    locked.store.legal_hold("cam/h.ts", True)  # type: ignore[attr-defined]
    assert locked.app.lock_of("cam/h.ts").legal_hold  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while locked.app.lock_of("cam/h.ts").retain_until > datetime.now(UTC):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(Refused):
        locked.store.delete("cam/h.ts")  # the date has passed; the legal hold keeps it
    with locked.store.open("cam/h.ts") as f:
        assert f.read() == b"x"
    locked.store.legal_hold("cam/h.ts", False)  # type: ignore[attr-defined]
    assert locked.store.delete("cam/h.ts")
    assert not locked.store.exists("cam/h.ts")


def test_the_apps_credentials_cannot_switch_a_legal_hold_off(locked: Backend) -> None:
    """Issue 28 item 5 (attack): the app's keys switched a legal hold off. The store refuses
    them any change of a legal hold (it cannot tell on from off); the sweep's identity sets
    and clears them."""
    got = locked.app.put("cam/lh.ts", io.BytesIO(b"x"))
    locked.store.legal_hold("cam/lh.ts", True)  # type: ignore[attr-defined]
    for on in (False, True):
        with pytest.raises(Refused):
            locked.app.legal_hold("cam/lh.ts", on)  # type: ignore[attr-defined]
    if locked.server:
        raw = locked.server.client(locked.server.app)
        assert s3_error(lambda: raw.put_object_legal_hold(
            Bucket=locked.bucket, Key="cam/lh.ts", VersionId=got.version_id,
            LegalHold={"Status": "OFF"})) == "AccessDenied"
    assert locked.store.lock_of("cam/lh.ts").legal_hold  # type: ignore[attr-defined]
    with pytest.raises(Refused):
        locked.store.delete("cam/lh.ts")
    locked.store.legal_hold("cam/lh.ts", False)  # type: ignore[attr-defined]
    assert locked.store.delete("cam/lh.ts")


def test_a_legal_hold_blocks_deletion_without_any_retention(locked: Backend) -> None:
    locked.app.put("cam/l.ts", io.BytesIO(b"x"))
    locked.store.legal_hold("cam/l.ts", True)  # type: ignore[attr-defined]
    assert locked.app.lock_of("cam/l.ts") == Lock(None, True)  # type: ignore[attr-defined]
    with pytest.raises(Refused):
        locked.store.delete("cam/l.ts")
    locked.store.legal_hold("cam/l.ts", False)  # type: ignore[attr-defined]
    assert locked.store.delete("cam/l.ts")


def test_version_delete_vs_delete_marker(server: S3Server, tmp_path: Path) -> None:
    """A DELETE without a version id hides the object behind a marker and frees nothing;
    `delete` removes every version by its id, markers included."""
    bucket = server.make_bucket()
    store = server.storage(bucket, tmp_path, deleting=True)
    store.prepare()
    got = store.put("cam/v.ts", io.BytesIO(b"bytes"))
    raw = server.client(server.sweep)
    raw.delete_object(Bucket=bucket, Key="cam/v.ts")  # no version id: a marker
    assert not store.exists("cam/v.ts") and list(store.iterate()) == []
    versions = store.versions("cam/v.ts")
    assert (got.version_id, False) in versions and any(m for _v, m in versions)
    body = raw.get_object(Bucket=bucket, Key="cam/v.ts", VersionId=got.version_id)["Body"]
    assert body.read() == b"bytes"  # still there
    assert store.delete("cam/v.ts")
    assert store.versions("cam/v.ts") == []


def test_multipart_upload_carries_the_lock(locked: Backend, tmp_path: Path) -> None:
    big = tmp_path / "big.ts"
    big.write_bytes(os.urandom(11 << 20))
    until = later(days=2)
    got = locked.app.put("cam/big.ts", big, retain_until=until)  # type: ignore[call-arg]
    assert locked.app.lock_of("cam/big.ts") == Lock(until, False)  # type: ignore[attr-defined]
    assert locked.app.checksum("cam/big.ts") == got
    if locked.server:
        raw = locked.server.client(locked.server.sweep)
        head = raw.head_object(Bucket=locked.bucket, Key="cam/big.ts")
        assert head["ETag"].strip('"').endswith("-3")  # it did go up in three parts
        assert s3_error(lambda: raw.delete_object(
            Bucket=locked.bucket, Key="cam/big.ts", VersionId=got.version_id)) == "AccessDenied"


def test_a_past_retain_until_is_rejected(locked: Backend) -> None:
    for until in (later(seconds=-5), datetime(2020, 1, 1, tzinfo=UTC)):
        with pytest.raises(InputError) as exc:
            locked.app.put("cam/p.ts", io.BytesIO(b"x"), retain_until=until)  # type: ignore[call-arg]
        assert exc.value.pl
    with pytest.raises(InputError):  # no zone: not a time at all
        locked.app.put("cam/p.ts", io.BytesIO(b"x"),  # type: ignore[call-arg]
                       retain_until=datetime(2099, 1, 1))
    assert not locked.store.exists("cam/p.ts")
    locked.app.put("cam/q.ts", io.BytesIO(b"x"), retain_until=later(days=1))  # type: ignore[call-arg]
    with pytest.raises(InputError):
        locked.app.retain("cam/q.ts", later(seconds=-5))  # type: ignore[attr-defined]
    if locked.server:  # and the store itself refuses one
        assert s3_error(lambda: locked.server.client(locked.server.app).put_object(
            Bucket=locked.bucket, Key="cam/p.ts", Body=b"x", ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=later(seconds=-60))) != ""
        assert not locked.store.exists("cam/p.ts")


def test_the_apps_credentials_cannot_delete_at_all(locked: Backend) -> None:
    """Not a locked object, not an unlocked one; no delete marker either."""
    got = locked.app.put("cam/free.ts", io.BytesIO(b"x"))  # no retention
    with pytest.raises(Refused) as exc:
        locked.app.delete("cam/free.ts")
    assert exc.value.pl and "secret" not in str(exc.value).lower()
    assert locked.app.exists("cam/free.ts")
    if locked.server:
        raw = locked.server.client(locked.server.app)
        assert s3_error(lambda: raw.delete_object(Bucket=locked.bucket,
                                                  Key="cam/free.ts")) == "AccessDenied"
        for bypass in (False, True):
            assert s3_error(lambda: raw.delete_object(
                Bucket=locked.bucket, Key="cam/free.ts", VersionId=got.version_id,
                BypassGovernanceRetention=bypass)) == "AccessDenied"  # noqa: B023
        from botocore.exceptions import ClientError

        try:  # a batch: refused whole (Ceph) or key by key (SeaweedFS)
            batch = raw.delete_objects(Bucket=locked.bucket, Delete={"Objects": [
                {"Key": "cam/free.ts", "VersionId": got.version_id}]})
            assert not batch.get("Deleted") and batch.get("Errors")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDenied"
        assert locked.store.versions("cam/free.ts") == [(got.version_id, False)]  # type: ignore[attr-defined]
    assert locked.store.delete("cam/free.ts")  # the sweep's may


def test_retention_that_has_passed_no_longer_protects(locked: Backend) -> None:
    locked.app.put("cam/e.ts", io.BytesIO(b"x"), retain_until=later(seconds=2))  # type: ignore[call-arg]
    time.sleep(3)
    assert locked.store.delete("cam/e.ts")


@pytest.mark.parametrize("size", [10, 11 << 20], ids=["single", "multipart"])
def test_a_write_may_carry_a_legal_hold(locked: Backend, tmp_path: Path, size: int) -> None:
    """Written with the sweep's identity, material is held from its first byte; the app's
    write leaves the legal hold out (its identity may not set one: the sweeper does)."""
    source = tmp_path / "held.ts"
    source.write_bytes(os.urandom(size))
    locked.store.put("cam/held.ts", source, legal_hold=True)  # type: ignore[call-arg]
    assert locked.app.lock_of("cam/held.ts") == Lock(None, True)  # type: ignore[attr-defined]
    with pytest.raises(Refused):
        locked.store.delete("cam/held.ts")
    locked.store.legal_hold("cam/held.ts", False)  # type: ignore[attr-defined]
    assert locked.store.delete("cam/held.ts")
    until = later(days=1)
    locked.app.put("cam/app.ts", source, retain_until=until, legal_hold=True)  # type: ignore[call-arg]
    assert locked.app.lock_of("cam/app.ts") == Lock(until, False)  # type: ignore[attr-defined]


def test_the_lock_helpers_work_on_every_store(backend: Backend) -> None:
    """put_retained/retain/legal_hold: applied where the store keeps a lock, a no-op on the
    local folder (the sweep alone keeps its periods); a past date is refused everywhere."""
    until = later(days=1)
    put_retained(backend.app, "cam/any.ts", io.BytesIO(b"x"), retain_until=until)
    with pytest.raises(InputError):
        put_retained(backend.app, "cam/past.ts", io.BytesIO(b"x"),
                     retain_until=later(seconds=-1))
    assert not backend.store.exists("cam/past.ts")
    retain(backend.app, "cam/any.ts", until + timedelta(days=1))
    legal_hold(backend.store, "cam/any.ts", True)
    if backend.lockable:
        assert backend.app.lock_of("cam/any.ts") == Lock(until + timedelta(days=1), True)  # type: ignore[attr-defined]
        with pytest.raises(Refused):
            backend.store.delete("cam/any.ts")
        legal_hold(backend.store, "cam/any.ts", False)
        with pytest.raises(Refused):  # retained a day yet: no one deletes it
            backend.store.delete("cam/any.ts")
    else:
        assert not isinstance(backend.store, Lockable)
        assert backend.store.delete("cam/any.ts")


# -- opening an S3 store: bad buckets, bad credentials, a store that goes away -------------------
def test_a_bucket_without_object_lock_is_refused(server: S3Server, tmp_path: Path) -> None:
    for versioning in (True, False):
        bucket = server.make_bucket(lock=False, versioning=versioning)
        with pytest.raises(InputError) as exc:
            server.storage(bucket, tmp_path, deleting=False).prepare()
        assert ("Object Lock" if versioning else "versioning") in str(exc.value)
        assert "blokad" in exc.value.pl or "wersjonowania" in exc.value.pl  # type: ignore[operator]
    with pytest.raises(InputError) as exc:
        server.storage("no-such-bucket-here", tmp_path, deleting=False).prepare()
    assert "no bucket" in str(exc.value) and exc.value.pl


def test_wrong_credentials_give_a_clear_error_without_the_secret(server: S3Server,
                                                                 tmp_path: Path) -> None:
    bucket = server.make_bucket()
    wrong = Credentials(server.app.access_key, "not-the-secret-Zq81", "/etc/kustosz/s3-app")
    store = S3Storage(server.endpoint, bucket, wrong, tmp_path, region=server.region,
                      attempts=1)
    with pytest.raises(Refused) as exc:
        store.prepare()
    text = f"{exc.value} {exc.value.pl} {exc.value!r}"
    assert "/etc/kustosz/s3-app" in str(exc.value) and "credentials" in str(exc.value)
    assert "not-the-secret-Zq81" not in text and "Zq81" not in repr(store)
    unknown = Credentials("NOSUCHKEY123", "whatever-secret", "the environment")
    with pytest.raises(Refused):
        S3Storage(server.endpoint, bucket, unknown, tmp_path, region=server.region,
                  attempts=1).prepare()


def test_an_unreachable_endpoint_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    store = S3Storage(endpoint, "bucket", Credentials("a", "b"), tmp_path, attempts=1,
                      connect_timeout=1)
    with pytest.raises(Unavailable) as exc:
        store.prepare()
    assert endpoint in str(exc.value) and exc.value.pl


@pytest.mark.parametrize("size", [3 << 20, 11 << 20], ids=["single", "multipart"])
def test_an_endpoint_that_goes_away_mid_upload(server: S3Server, tmp_path: Path,
                                               size: int) -> None:
    """A clear error, the source kept, nothing stored under the key; a multipart upload's
    leftover parts are aborted by clean_tmp once the store is back."""
    bucket = server.make_bucket()
    host, port = server.endpoint.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)), cut_after=size // 2)
    store = S3Storage(proxy.endpoint, bucket, server.app, tmp_path / "scratch",
                      region=server.region, attempts=2, connect_timeout=1, read_timeout=5,
                      multipart_threshold=6 << 20, part_size=5 << 20)
    store.prepare()
    source = tmp_path / "segment.ts"
    source.write_bytes(os.urandom(size))
    with pytest.raises(Unavailable) as exc:
        store.put("cam/cut.ts", source, move=True, retain_until=later(days=1))
    assert proxy.gone.is_set() and exc.value.pl
    assert source.exists()  # the caller's copy stays for the retry
    direct = server.storage(bucket, tmp_path / "scratch2", deleting=True)
    assert direct.versions("cam/cut.ts") == [] and list(direct.iterate()) == []
    assert list((tmp_path / "scratch").glob("*")) == []
    direct.stale_upload = timedelta(0)
    direct.clean_tmp()
    raw = server.client(server.sweep)
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    retried = direct.put("cam/cut.ts", source, move=True, retain_until=later(days=1))
    assert retried.size == size and not source.exists()
