"""The stores the conformance module (test_conformance.py) runs against: the local folder, the
memory store, SeaweedFS (`weed mini`, started once per session) and Ceph RGW (the one-monitor,
one-OSD cluster of tests/support/ceph_rgw.py, started once per session, when its binaries are
installed: `apt-get install ceph-mon ceph-osd radosgw ceph-common`).

Each test gets a fresh bucket with Object Lock, seen twice: with the sweep's credentials (the
deleting role, `Backend.store`) and with the app's (`Backend.app`).
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.storage.trickle import TrickleProxy
from tests.support import seaweedfs

from kustosz.storage import LocalStorage, Storage
from kustosz.storage.memory import MemoryStorage
from kustosz.storage.s3 import Credentials, S3Storage

HAVE_CEPH_HARNESS = importlib.util.find_spec("tests.support.ceph_rgw") is not None
SMALL_PARTS = {"multipart_threshold": 6 << 20, "part_size": 5 << 20}

# What the app's credentials may do on Ceph, where the two users are separate accounts and the
# bucket (the sweep's) grants the app this by a bucket policy: no delete, no bypass.
APP_ACTIONS = seaweedfs.APP_POLICY["Statement"][0]["Action"]


@dataclass
class S3Server:
    """One running S3 server as the tests use it, whichever it is."""

    name: str
    endpoint: str
    region: str
    app: Credentials
    sweep: Credentials
    raw: Any = field(repr=False)  # the server's harness object
    grant_app: bool = False  # Ceph: the bucket policy gives the app user its rights
    # the approved shortening's identity (SeaweedFS; the Ceph harness has two users only)
    redate: Credentials | None = None
    # the store's administrator, for changes behind Kustosz's back (Ceph: the bucket's owner)
    admin: Credentials | None = None

    @property
    def owner(self) -> Credentials:
        return self.admin or self.sweep

    def client(self, who: Credentials) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=who.access_key, aws_secret_access_key=who.secret_key,
            config=Config(s3={"addressing_style": "path"},
                          retries={"mode": "standard", "total_max_attempts": 1},
                          request_checksum_calculation="when_required"))

    def make_bucket(self, lock: bool = True, versioning: bool = True) -> str:
        name = f"k-{uuid.uuid4().hex[:16]}"
        sweep = self.client(self.sweep)
        sweep.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
        if not lock and versioning:
            sweep.put_bucket_versioning(Bucket=name,
                                        VersioningConfiguration={"Status": "Enabled"})
        if self.grant_app:
            # Ceph 16.2 lets a user granted s3:PutObjectRetention shorten a GOVERNANCE date
            # with the bypass header though no statement grants s3:BypassGovernanceRetention:
            # the deny must be explicit (README, "Object storage (S3)").
            user = [f"arn:aws:iam:::user/{self.raw.app.uid}"]
            policy = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user}, "Action": APP_ACTIONS,
                 "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]},
                {"Effect": "Deny", "Principal": {"AWS": user},
                 "Action": ["s3:BypassGovernanceRetention", "s3:DeleteObject",
                            "s3:DeleteObjectVersion", "s3:PutObjectLegalHold"],
                 "Resource": [f"arn:aws:s3:::{name}/*"]},
                # the sweep (the bucket's owner) deletes without the bypass (issue 28 item 5)
                {"Effect": "Deny",
                 "Principal": {"AWS": [f"arn:aws:iam:::user/{self.raw.sweep.uid}"]},
                 "Action": ["s3:BypassGovernanceRetention"],
                 "Resource": [f"arn:aws:s3:::{name}/*"]}]}
            sweep.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        return name

    def storage(self, bucket: str, scratch: Path, deleting: bool, **kw: Any) -> S3Storage:
        return S3Storage(self.endpoint, bucket, self.sweep if deleting else self.app, scratch,
                         region=self.region, deleting=deleting, attempts=1,
                         connect_timeout=2, read_timeout=20, **{**SMALL_PARTS, **kw})


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = seaweedfs.start(tmp_path_factory.mktemp("seaweedfs"))
    print(f"\nSeaweedFS weed mini up in {server.started_in:.2f} s")
    try:
        yield S3Server("seaweedfs", server.endpoint, "us-east-1",
                       Credentials(server.app.access_key, server.app.secret_key, "the test"),
                       Credentials(server.sweep.access_key, server.sweep.secret_key,
                                   "the test"), server,
                       redate=Credentials(server.redate.access_key, server.redate.secret_key,
                                          "the test"),
                       admin=Credentials(server.admin.access_key, server.admin.secret_key,
                                         "the test"))
    finally:
        server.stop()


@pytest.fixture
def proxy(seaweed: S3Server) -> Iterator[TrickleProxy]:
    """SeaweedFS behind a proxy a test can stall or slow, one byte at a time."""
    url = urlsplit(seaweed.endpoint)
    found = TrickleProxy((url.hostname or "127.0.0.1", url.port or 80))
    try:
        yield found
    finally:
        found.stop()


if HAVE_CEPH_HARNESS:
    from tests.conftest_ceph import ceph_rgw  # noqa: F401 (a fixture, found by its name)


@pytest.fixture(scope="session")
def ceph(request: pytest.FixtureRequest) -> S3Server:
    """The session's cluster (tests/conftest_ceph.py: started once, stopped at the end)."""
    rgw = request.getfixturevalue("ceph_rgw")
    return S3Server("ceph", rgw.endpoint, rgw.region,
                    Credentials(rgw.app.access_key, rgw.app.secret_key, "the test"),
                    Credentials(rgw.sweep.access_key, rgw.sweep.secret_key, "the test"),
                    rgw, grant_app=True)


SERVERS = ["seaweedfs"] + (
    [pytest.param("ceph", marks=pytest.mark.slow)] if HAVE_CEPH_HARNESS else [])


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> S3Server:
    return request.getfixturevalue("seaweed" if request.param == "seaweedfs" else "ceph")


@dataclass
class Backend:
    """One store under test: ``store`` has the deleting role (the sweep's credentials),
    ``app`` is the same content with the web app's; ``server``/``bucket`` for S3 ones."""

    name: str
    store: Storage
    app: Storage
    server: S3Server | None = None
    bucket: str | None = None

    @property
    def lockable(self) -> bool:
        return self.name != "local"


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "local":
        local = LocalStorage(tmp_path / "data")
        local.prepare()
        return Backend(name, local, local)
    if name == "memory":
        memory = MemoryStorage(tmp_path / "scratch")
        memory.prepare()
        return Backend(name, memory, memory.as_role(deleting=False))
    server: S3Server = request.getfixturevalue("seaweed" if name == "seaweedfs" else "ceph")
    bucket = server.make_bucket()
    store = server.storage(bucket, tmp_path / "scratch-sweep", deleting=True)
    app = server.storage(bucket, tmp_path / "scratch-app", deleting=False)
    store.prepare()
    app.prepare()
    return Backend(name, store, app, server, bucket)


ALL = ["local", "memory", "seaweedfs"] + (
    [pytest.param("ceph", marks=pytest.mark.slow)] if HAVE_CEPH_HARNESS else [])
LOCKABLE = ALL[1:]


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(request.param, request, tmp_path)


@pytest.fixture(params=LOCKABLE)
def locked(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The stores that enforce the object lock themselves."""
    return make_backend(request.param, request, tmp_path)
