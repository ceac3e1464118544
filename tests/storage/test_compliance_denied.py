"""The app's credentials and Object Lock's COMPLIANCE mode (issue 16, hardening): an object
written in COMPLIANCE mode can never be deleted by anyone before its date — not by the sweep,
not by the store's administrator through S3 — so whoever steals the app's credentials could
fill the store with data nobody can remove. The README's bucket policy denies the app
s3:PutObject and s3:PutObjectRetention with the condition s3:object-lock-mode = COMPLIANCE.

What each store does with it, checked here and said in the README: neither Ceph RGW 16.2
(Debian 12's) nor SeaweedFS evaluates the condition on PutObject — the app's COMPLIANCE PUT is
stored, in a bucket policy and (SeaweedFS) in the identity's own policy alike — so the Deny is
kept for stores that do (AWS S3 documents the key) and the bucket-vs-index check is what finds
such an object (kustosz.maintenance.store_check). What both do refuse: turning an existing
GOVERNANCE object into COMPLIANCE (s3:PutObjectRetention), since that needs the governance
bypass the app is denied. The test fails the day a store starts to enforce the PUT condition:
then the README should say so.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tests.storage.conftest import APP_ACTIONS, S3Server

COMPLIANCE_DENY = {
    "Effect": "Deny", "Action": ["s3:PutObject", "s3:PutObjectRetention"],
    "Condition": {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}}}


def readme_policy(server: S3Server, bucket: str) -> dict[str, object]:
    """The README's bucket policy for the app's user (Ceph: a user of its own)."""
    user = [f"arn:aws:iam:::user/{server.raw.app.uid}"] if server.name == "ceph" else "*"
    objects = [f"arn:aws:s3:::{bucket}/*"]
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user}, "Action": APP_ACTIONS,
         "Resource": [f"arn:aws:s3:::{bucket}", *objects]},
        {"Effect": "Deny", "Principal": {"AWS": user},
         "Action": ["s3:BypassGovernanceRetention", "s3:DeleteObject",
                    "s3:DeleteObjectVersion"], "Resource": objects},
        {**COMPLIANCE_DENY, "Principal": {"AWS": user}, "Resource": objects}]}


def test_what_the_stores_make_of_the_compliance_deny(
        server: S3Server) -> None:
    bucket = f"k-{uuid.uuid4().hex[:16]}"
    sweep, app = server.client(server.owner), server.client(server.app)
    sweep.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    sweep.put_bucket_policy(Bucket=bucket, Policy=json.dumps(readme_policy(server, bucket)))
    until = datetime.now(UTC) + timedelta(days=1)
    app.put_object(Bucket=bucket, Key="governance", Body=b"x", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until)  # what Kustosz writes: still allowed
    app.put_object_retention(Bucket=bucket, Key="governance", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": until + timedelta(days=1)})  # lengthening
    from botocore.exceptions import ClientError

    def compliance_put() -> None:
        app.put_object(Bucket=bucket, Key="compliance", Body=b"x",
                       ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)

    with pytest.raises(ClientError, match="AccessDenied"):
        app.put_object_retention(Bucket=bucket, Key="governance", Retention={
            "Mode": "COMPLIANCE", "RetainUntilDate": until + timedelta(days=3)})
    assert app.head_object(Bucket=bucket, Key="governance")["ObjectLockMode"] == "GOVERNANCE"
    compliance_put()  # not enforced by either store (the README says so)
    assert app.head_object(Bucket=bucket, Key="compliance")["ObjectLockMode"] == "COMPLIANCE"
