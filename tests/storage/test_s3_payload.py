"""Issue 68 item 4: an upload's body is hashed once — the SHA-256 the upload has signs its
request — and a taken key is refused by the PUT's own condition where the store keeps
conditional writes (SeaweedFS), by a HEAD first where it does not (Ceph RGW 16). Each store
still checks the bytes it receives against the digest the index keeps: a file that changed
after it was hashed is refused, not stored. Real stores on loopback."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.auth
import pytest
from tests.storage.conftest import S3Server

from kustosz.errors import InputError
from kustosz.storage.base import KeyTaken

UNTIL = datetime.now(UTC) + timedelta(days=2)


def test_the_body_is_hashed_once_and_a_changed_file_is_refused(
        tmp_path: Path, server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    store = server.storage(server.make_bucket(), tmp_path / "scratch", deleting=False)
    small, large = tmp_path / "small.ts", tmp_path / "large.ts"
    small.write_bytes(b"\x47" * 188 * 1000)
    large.write_bytes(bytes(range(256)) * (12 << 12))  # 12 MiB: parts of 5 MiB (SMALL_PARTS)
    hashed: list[int] = []  # content bodies botocore read to sign them
    payload = botocore.auth.SigV4Auth.payload

    def counted(self, request):  # type: ignore[no-untyped-def]
        body = request.body
        size = 0 if not body else len(body) if isinstance(body, bytes | bytearray) \
            else 1 << 30  # a file: content
        if size > 64 << 10:  # not a request's small XML (a part list, a retention)
            hashed.append(size)
        return payload(self, request)

    monkeypatch.setattr(botocore.auth.SigV4Auth, "payload", counted)
    for path in (small, large):
        got = store.put(f"cam/{path.name}", path, retain_until=UNTIL)
        assert got.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and got.version_id
    assert hashed == []
    assert store.checksum("cam/large.ts").sha256 == hashlib.sha256(large.read_bytes()).hexdigest()

    # hashed, then changed before the upload: the store refuses what it receives
    stale = hashlib.sha256(b"what the file held when it was hashed").hexdigest()
    with pytest.raises(InputError, match=r"BadDigest|XAmzContentSHA256Mismatch"):
        store.put("cam/changed.ts", small, retain_until=UNTIL, sha256=stale)
    assert not store.exists("cam/changed.ts")


def test_a_taken_key_is_refused_with_or_without_the_stores_conditions(
        tmp_path: Path, server: S3Server) -> None:
    bucket = server.make_bucket()
    store = server.storage(bucket, tmp_path / "scratch", deleting=False)
    path = tmp_path / "seg.ts"
    path.write_bytes(b"\x47" * 188 * 100)
    first = store.put("cam/seg.ts", path, retain_until=UNTIL)
    # SeaweedFS keeps If-None-Match; Ceph RGW 16 ignores it (then a HEAD comes first)
    assert store.conditional is (server.raw.__class__.__name__ == "SeaweedFS")
    with pytest.raises(KeyTaken, match="already holds a file"):
        store.put("cam/seg.ts", path, retain_until=UNTIL)
    assert store.versions("cam/seg.ts") == [(first.version_id, False)]
    # the probe that asked wrote nothing
    listed = server.client(server.app).list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in listed.get("Versions", [])] == ["cam/seg.ts"]


def test_a_single_put_proves_itself_once_the_store_was_seen_to_keep_its_lock(
        tmp_path: Path, server: S3Server) -> None:
    """No HEAD reads back a single PUT on a store that checks a body against its signed
    SHA-256 (the probe found it), once the first locked upload showed the store keeps a
    PUT's lock; a multipart upload is always read back (Ceph 16 drops its lock headers)."""
    store = server.storage(server.make_bucket(), tmp_path / "scratch", deleting=False)
    verifying: list[str] = []  # the HEADs that read an upload back (checksum mode)

    def seen(params: dict[str, object], **_kwargs: object) -> None:
        if params.get("ChecksumMode") == "ENABLED":
            verifying.append(str(params["Key"]))

    store._s3.meta.events.register("before-parameter-build.s3.HeadObject", seen)  # type: ignore[attr-defined]
    files = []
    for n in range(3):
        path = tmp_path / f"seg{n}.ts"
        path.write_bytes(bytes([n]) * 188 * 500)
        files.append(path)
    got = [store.put(f"cam/{p.name}", p, retain_until=UNTIL) for p in files]
    assert store.body_checked is True and store.lock_kept is True
    assert verifying == ["cam/seg0.ts"]
    raw = server.client(server.app)
    for path, stored in zip(files, got, strict=True):
        head = raw.head_object(Bucket=store.bucket, Key=f"cam/{path.name}",
                               VersionId=stored.version_id)
        assert head["ContentLength"] == path.stat().st_size
        assert head["Metadata"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert head["ObjectLockRetainUntilDate"] >= UNTIL.replace(microsecond=0)
    large = tmp_path / "large.ts"
    large.write_bytes(bytes(range(256)) * (12 << 12))
    store.put("cam/large.ts", large, retain_until=UNTIL)
    assert verifying == ["cam/seg0.ts", "cam/large.ts"]


def test_a_store_not_known_to_check_bodies_reads_every_upload_back(
        tmp_path: Path, server: S3Server) -> None:
    """Where the probe did not show a body check (a store that takes any body, or one
    whose answer was not recognised), every upload is read back as before."""
    store = server.storage(server.make_bucket(), tmp_path / "scratch", deleting=False)
    store.conditional_writes()
    store.body_checked = False
    heads: list[object] = []
    store._s3.meta.events.register(  # type: ignore[attr-defined]
        "before-parameter-build.s3.HeadObject",
        lambda params, **_k: heads.append(params.get("ChecksumMode")))
    for n in range(3):
        path = tmp_path / f"seg{n}.ts"
        path.write_bytes(bytes([n + 1]) * 188 * 500)
        store.put(f"cam/{path.name}", path, retain_until=UNTIL)
    assert heads.count("ENABLED") == 3
