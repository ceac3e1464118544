"""The Ceph RGW harness gives a real S3 with Object Lock, and the lock does what Kustosz needs.

Object Lock as the storage design uses it (issue 16): objects under GOVERNANCE retention, a
delete without a version id only adds a delete marker, a version is not deleted under retention
without the governance bypass, never under a legal hold, and the application's credentials
cannot delete at all. Ceph 16 enforces the last part either way shown here: a bucket policy
(the bucket belongs to the sweep's user; the application gets what it needs and an explicit
deny of every delete, the bypass and the policy itself) or an IAM user policy on the
application's user (put by an administrator user with the ``user-policy`` capability).
Ceph 16 does not lock a multipart upload from its CreateMultipartUpload headers: the bucket's
default retention and a PutObjectRetention after completion do (see the test).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest_ceph import ceph_rgw  # noqa: F401 (a fixture, found by its name)
from tests.support.ceph_rgw import CephRgw, ceph_rgw_unavailable, start_ceph_rgw

pytestmark = pytest.mark.slow

DELETES_AND_BYPASS = [
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention",
    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration",
]  # fmt: skip
APP_NEEDS = [
    "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
    "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload",
    "s3:PutObjectRetention", "s3:GetObjectRetention", "s3:PutObjectLegalHold",
    "s3:GetObjectLegalHold", "s3:GetBucketObjectLockConfiguration",
]  # fmt: skip


def app_cannot_delete_policy(bucket: str, app_uid: str, owner_uid: str) -> str:
    """A bucket policy: the owner (sweep) may do anything, the app writes but never deletes.

    The owner needs its statement because the objects the app writes are the app's: without
    it the bucket's owner could not put a legal hold on them (RGW checks the object's ACL).
    """
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{owner_uid}"]},
             "Action": ["s3:*"], "Resource": resources},
            {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{app_uid}"]},
             "Action": APP_NEEDS, "Resource": resources},
            {"Effect": "Deny", "Principal": {"AWS": [f"arn:aws:iam:::user/{app_uid}"]},
             "Action": DELETES_AND_BYPASS, "Resource": resources},
        ],
    })  # fmt: skip


def refused(call: Callable[[], Any]) -> str:
    """The S3 error code of a call that must fail."""
    with pytest.raises(ClientError) as e:
        call()
    return str(e.value.response.get("Error", {}).get("Code"))


def new_bucket(s3: Any) -> str:
    name = f"kt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def put_locked(s3: Any, bucket: str, key: str, days: int = 1) -> str:
    until = datetime.now(UTC) + timedelta(days=days)
    r = s3.put_object(Bucket=bucket, Key=key, Body=b"segment", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=until)  # fmt: skip
    return str(r["VersionId"])


def versions(s3: Any, bucket: str) -> tuple[list[str], list[str]]:
    r = s3.list_object_versions(Bucket=bucket)
    return ([v["VersionId"] for v in r.get("Versions", [])],
            [m["VersionId"] for m in r.get("DeleteMarkers", [])])  # fmt: skip


def test_bucket_has_object_lock_and_versioning(ceph_rgw: CephRgw) -> None:  # noqa: F811
    sweep = ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    lock = sweep.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert sweep.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    # a bucket made without the lock has none (the app refuses such a bucket)
    plain = f"kt-{uuid.uuid4().hex[:12]}"
    sweep.create_bucket(Bucket=plain)
    code = refused(lambda: sweep.get_object_lock_configuration(Bucket=plain))
    assert code == "ObjectLockConfigurationNotFoundError"


def test_governance_retention_delete_marker_and_bypass(ceph_rgw: CephRgw) -> None:  # noqa: F811
    sweep = ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    vid = put_locked(sweep, bucket, "cam1/seg1.mp4")
    ret = sweep.get_object_retention(Bucket=bucket, Key="cam1/seg1.mp4", VersionId=vid)
    assert ret["Retention"]["Mode"] == "GOVERNANCE"

    # without a version id: only a delete marker, the locked version is still there
    r = sweep.delete_object(Bucket=bucket, Key="cam1/seg1.mp4")
    assert r["DeleteMarker"] is True
    kept, markers = versions(sweep, bucket)
    assert kept == [vid] and len(markers) == 1
    body = sweep.get_object(Bucket=bucket, Key="cam1/seg1.mp4", VersionId=vid)["Body"].read()
    assert body == b"segment"

    # the version itself: refused under retention, deleted with the governance bypass
    code = refused(lambda: sweep.delete_object(Bucket=bucket, Key="cam1/seg1.mp4", VersionId=vid))
    assert code == "AccessDenied"
    assert versions(sweep, bucket)[0] == [vid]
    sweep.delete_object(Bucket=bucket, Key="cam1/seg1.mp4", VersionId=vid,
                        BypassGovernanceRetention=True)  # fmt: skip
    assert versions(sweep, bucket)[0] == []


def test_retain_until_in_the_past_rejected(ceph_rgw: CephRgw) -> None:  # noqa: F811
    sweep = ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    code = refused(lambda: put_locked(sweep, bucket, "old.mp4", days=-1))
    assert code == "InvalidArgument"
    assert versions(sweep, bucket) == ([], [])


def test_legal_hold_refuses_delete_even_with_bypass(ceph_rgw: CephRgw) -> None:  # noqa: F811
    sweep = ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    vid = put_locked(sweep, bucket, "held.mp4")
    sweep.put_object_legal_hold(Bucket=bucket, Key="held.mp4", VersionId=vid,
                                LegalHold={"Status": "ON"})  # fmt: skip
    code = refused(lambda: sweep.delete_object(Bucket=bucket, Key="held.mp4", VersionId=vid,
                                               BypassGovernanceRetention=True))  # fmt: skip
    assert code == "AccessDenied"
    assert versions(sweep, bucket)[0] == [vid]
    # released: the bypass deletes it again
    sweep.put_object_legal_hold(Bucket=bucket, Key="held.mp4", VersionId=vid,
                                LegalHold={"Status": "OFF"})  # fmt: skip
    sweep.delete_object(Bucket=bucket, Key="held.mp4", VersionId=vid,
                        BypassGovernanceRetention=True)  # fmt: skip
    assert versions(sweep, bucket)[0] == []


def test_bucket_policy_app_cannot_delete_at_all(ceph_rgw: CephRgw) -> None:  # noqa: F811
    app, sweep = ceph_rgw.client(ceph_rgw.app), ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    sweep.put_bucket_policy(
        Bucket=bucket, Policy=app_cannot_delete_policy(bucket, ceph_rgw.app.uid, ceph_rgw.sweep.uid)
    )
    # what the app needs works: write under retention, read, legal hold on and off
    vid = put_locked(app, bucket, "cam2/seg.mp4")
    assert app.get_object(Bucket=bucket, Key="cam2/seg.mp4")["Body"].read() == b"segment"
    for status in ("ON", "OFF"):
        app.put_object_legal_hold(Bucket=bucket, Key="cam2/seg.mp4", VersionId=vid,
                                  LegalHold={"Status": status})  # fmt: skip

    # no delete of any kind: not even a delete marker, no bypass, no shortening, no policy change
    later = datetime.now(UTC) + timedelta(hours=1)
    attempts = {
        "marker": lambda: app.delete_object(Bucket=bucket, Key="cam2/seg.mp4"),
        "version": lambda: app.delete_object(Bucket=bucket, Key="cam2/seg.mp4", VersionId=vid),
        "bypass": lambda: app.delete_object(Bucket=bucket, Key="cam2/seg.mp4", VersionId=vid,
                                            BypassGovernanceRetention=True),
        "batch": lambda: app.delete_objects(Bucket=bucket, BypassGovernanceRetention=True,
            Delete={"Objects": [{"Key": "cam2/seg.mp4", "VersionId": vid}]}),
        "shorten": lambda: app.put_object_retention(
            Bucket=bucket, Key="cam2/seg.mp4", VersionId=vid, BypassGovernanceRetention=True,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later}),
        "drop policy": lambda: app.delete_bucket_policy(Bucket=bucket),
        "own policy": lambda: app.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*"}]})),
    }  # fmt: skip
    codes = {}
    for name, attempt in attempts.items():
        try:
            r = attempt()
        except ClientError as e:
            codes[name] = e.response.get("Error", {}).get("Code")
        else:  # DeleteObjects answers 200 and lists its per-key failures
            codes[name] = ",".join(err["Code"] for err in r.get("Errors", [])) or "done"
    # (RGW refuses a DeleteObjects as a whole; S3 may answer 200 and list the key's error)
    assert codes == {
        "marker": "AccessDenied", "version": "AccessDenied", "bypass": "AccessDenied",
        "batch": "AccessDenied", "shorten": "AccessDenied", "drop policy": "AccessDenied",
        "own policy": "AccessDenied",
    }  # fmt: skip
    assert versions(sweep, bucket) == ([vid], [])

    # the sweep, holding the bypass, deletes the same version: the deny is the app's alone
    sweep.delete_object(Bucket=bucket, Key="cam2/seg.mp4", VersionId=vid,
                        BypassGovernanceRetention=True)  # fmt: skip
    assert versions(sweep, bucket) == ([], [])


def test_allow_list_alone_is_not_enough(ceph_rgw: CephRgw) -> None:  # noqa: F811
    # Why the policy above has three statements. With only an Allow of what the app needs:
    # the app owns the objects it writes, and RGW answers an action no statement names
    # (s3:BypassGovernanceRetention) from the object's ACL, where the owner may do anything;
    # and the bucket's owner (the sweep) cannot even read those objects, let alone hold them.
    app, sweep = ceph_rgw.client(ceph_rgw.app), ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    sweep.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": [f"arn:aws:iam:::user/{ceph_rgw.app.uid}"]},
            "Action": APP_NEEDS, "Resource": resources}]}))  # fmt: skip
    until = datetime.now(UTC) + timedelta(days=1)
    vid = put_locked(app, bucket, "seg.mp4")
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - timedelta(hours=2)}
    assert refused(lambda: app.put_object_retention(
        Bucket=bucket, Key="seg.mp4", VersionId=vid, Retention=shorter)) == "AccessDenied"
    app.put_object_retention(Bucket=bucket, Key="seg.mp4", VersionId=vid, Retention=shorter,
                             BypassGovernanceRetention=True)  # the app bypassed governance
    for call in (
        lambda: sweep.get_object(Bucket=bucket, Key="seg.mp4", VersionId=vid),
        lambda: sweep.put_object_legal_hold(Bucket=bucket, Key="seg.mp4", VersionId=vid,
                                            LegalHold={"Status": "ON"}),
    ):  # fmt: skip
        assert refused(call) == "AccessDenied"
    # the full policy fixes both
    sweep.put_bucket_policy(
        Bucket=bucket, Policy=app_cannot_delete_policy(bucket, ceph_rgw.app.uid, ceph_rgw.sweep.uid)
    )
    assert refused(lambda: app.put_object_retention(
        Bucket=bucket, Key="seg.mp4", VersionId=vid, BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until - timedelta(hours=3)},
    )) == "AccessDenied"  # fmt: skip
    sweep.put_object_legal_hold(Bucket=bucket, Key="seg.mp4", VersionId=vid,
                                LegalHold={"Status": "ON"})  # fmt: skip
    assert sweep.get_object(Bucket=bucket, Key="seg.mp4", VersionId=vid)["Body"].read()


def test_user_policy_app_cannot_delete_or_bypass(ceph_rgw: CephRgw) -> None:  # noqa: F811
    # own users: the session's app user is shared with other tests and keeps no user policy
    suffix = uuid.uuid4().hex[:8]
    app_keys = ceph_rgw.make_user(f"app-{suffix}")
    admin_keys = ceph_rgw.make_user(f"iam-admin-{suffix}")
    ceph_rgw.radosgw_admin("caps", "add", "--uid", admin_keys.uid, "--caps", "user-policy=*")
    app, iam = ceph_rgw.client(app_keys), ceph_rgw.client(admin_keys, "iam")
    # the app's own bucket: ownership alone would let it bypass governance retention
    bucket = new_bucket(app)
    vid = put_locked(app, bucket, "seg.mp4")

    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": DELETES_AND_BYPASS, "Resource": "*"}]}  # fmt: skip
    iam.put_user_policy(UserName=app_keys.uid, PolicyName="no-delete",
                        PolicyDocument=json.dumps(deny))  # fmt: skip
    # the app cannot lift its own user policy (no user-policy capability)
    app_iam = ceph_rgw.client(app_keys, "iam")
    with pytest.raises(ClientError):
        app_iam.delete_user_policy(UserName=app_keys.uid, PolicyName="no-delete")
    for call in (
        lambda: app.delete_object(Bucket=bucket, Key="seg.mp4"),
        lambda: app.delete_object(Bucket=bucket, Key="seg.mp4", VersionId=vid,
                                  BypassGovernanceRetention=True),
    ):  # fmt: skip
        assert refused(call) == "AccessDenied"
    assert versions(app, bucket) == ([vid], [])

    # without the user policy the owner bypasses: the policy is what refused
    iam.delete_user_policy(UserName=app_keys.uid, PolicyName="no-delete")
    app.delete_object(Bucket=bucket, Key="seg.mp4", VersionId=vid, BypassGovernanceRetention=True)
    assert versions(app, bucket) == ([], [])


def test_multipart_upload_locked_after_completion(ceph_rgw: CephRgw) -> None:  # noqa: F811
    # Ceph 16.2 ignores the Object Lock headers of CreateMultipartUpload (fixed upstream in
    # 2024, ceph/ceph#54767, not in pacific): a multipart object gets its retention from the
    # bucket's default retention, and its exact date from a PutObjectRetention after completion.
    sweep = ceph_rgw.client(ceph_rgw.sweep)
    bucket = new_bucket(sweep)
    until = datetime.now(UTC) + timedelta(days=2)

    def upload(key: str, **lock: Any) -> str:
        mp = sweep.create_multipart_upload(Bucket=bucket, Key=key, **lock)
        parts = []
        for n, body in enumerate((b"x" * (5 * 1024 * 1024), b"tail"), start=1):
            r = sweep.upload_part(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                  PartNumber=n, Body=body)  # fmt: skip
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        done = sweep.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                               MultipartUpload={"Parts": parts})  # fmt: skip
        return str(done["VersionId"])

    def lock_of(key: str, vid: str) -> dict[str, Any]:
        head = sweep.head_object(Bucket=bucket, Key=key, VersionId=vid)
        return {k: v for k, v in head.items() if k.startswith("ObjectLock")}

    vid = upload("headers.mp4", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
                 ObjectLockLegalHoldStatus="ON")  # fmt: skip
    assert lock_of("headers.mp4", vid) == {}, "Ceph now honours the headers: see ceph/ceph#54767"
    sweep.put_object_retention(
        Bucket=bucket, Key="headers.mp4", VersionId=vid,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
    )  # fmt: skip
    assert lock_of("headers.mp4", vid)["ObjectLockMode"] == "GOVERNANCE"
    code = refused(lambda: sweep.delete_object(Bucket=bucket, Key="headers.mp4", VersionId=vid))
    assert code == "AccessDenied"

    sweep.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})  # fmt: skip
    vid = upload("default.mp4")
    assert lock_of("default.mp4", vid)["ObjectLockMode"] == "GOVERNANCE"
    code = refused(lambda: sweep.delete_object(Bucket=bucket, Key="default.mp4", VersionId=vid))
    assert code == "AccessDenied"


def test_fixture_is_one_cluster_per_session(ceph_rgw: CephRgw) -> None:  # noqa: F811
    import tests.conftest_ceph as fixtures

    assert fixtures._shared == [ceph_rgw]


@pytest.mark.skipif(ceph_rgw_unavailable() is not None, reason=str(ceph_rgw_unavailable()))
def test_stop_leaves_no_process_and_no_folder() -> None:
    rgw = start_ceph_rgw()
    pids = [p.pid for p in rgw._procs]
    assert len(pids) == 3
    assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
    rgw.stop()
    assert not rgw.folder.exists()
    left = subprocess.run(["pgrep", "-f", str(rgw.folder)], capture_output=True, text=True)
    assert left.stdout == ""
