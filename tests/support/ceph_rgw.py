"""A throw-away Ceph cluster with a RADOS Gateway (S3 with Object Lock) for the tests.

Debian's packages (bookworm: Ceph 16.2 "pacific": ``ceph-mon ceph-osd radosgw ceph-common``)
run as plain processes out of one temporary folder: one monitor, one OSD on ``memstore``
(objects in RAM, nothing on a disk image), no manager (nothing the gateway needs: pools are
created with their final placement-group count and the autoscaler is off), cephx off (the
cluster listens on 127.0.0.1 only and lives for one test session), every pool of size 1.
``radosgw`` serves S3 with the beast frontend on a free 127.0.0.1 port; ``radosgw-admin``
makes two users, the application's and the sweep's, with generated keys (read from its JSON
output: secrets never appear on a command line)::

    rgw = start_ceph_rgw()
    boto3.client("s3", endpoint_url=rgw.endpoint, region_name=rgw.region,
                 aws_access_key_id=rgw.app.access_key, aws_secret_access_key=rgw.app.secret_key)
    rgw.stop()

Every daemon runs in its own process group with a parent-death signal and ``stop`` is also
registered with ``atexit``: a crashed or interrupted test run leaves no daemon behind.
Tests skip with ``ceph_rgw_unavailable()`` as the reason when the packages are missing.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEBIAN_PACKAGES = "ceph-mon ceph-osd radosgw ceph-common"
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "osdmaptool",
            "ceph-authtool")
READY_TIMEOUT = 90.0
# RGW's default zonegroup: SigV4 requests name it as their region (any name is accepted).
REGION = "default"
FOLDER_PREFIX = "kustosz-ceph-"

# Why each setting, where it is not obvious:
# - ms mon client mode = crc: daemons default to "secure" towards the monitor, which needs
#   cephx; with auth "none" radosgw would retry forever (get_initial_auth_request -13).
# - paxos propose interval: the monitor batches map changes for 1 s by default; each pool
#   radosgw creates and the OSD's boot wait for one commit: 12-13 s to start with the default,
#   1.5-3.5 s with 10 ms.
# - mon data avail crit/warn = 0: the monitor shuts itself down when the disk under its folder
#   is 95 % full; the tests' machine may be, and the cluster holds nothing worth protecting.
# - objecter tick interval: a client whose first write reached a placement group that was still
#   being created retries on the next tick, 5 s by default: half of the starts took 5 s longer.
# - rgw lc/quota/sync threads off: they only cost CPU here, and no lifecycle rule may expire
#   anything behind the tests' backs (garbage collection stays: deleted data frees the RAM).
_CONF = """\
[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms bind ipv6 = false
ms mon client mode = crc
public addr = 127.0.0.1
run dir = {dir}/run
admin socket = {dir}/run/$name.asok
log file = {dir}/log/$name.log
log to stderr = false
err to stderr = true
keyring = {dir}/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 0
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
paxos propose interval = 0.01
paxos min wait = 0.001

[mon]
mon data = {dir}/mon

[osd]
osd data = {dir}/osd
osd objectstore = memstore
memstore device bytes = 2147483648
osd op num shards = 1
osd op num threads per shard = 2

[client]
rgw data = {dir}/rgw
objecter tick interval = 0.5
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw thread pool size = 16
rgw enable lc threads = false
rgw enable quota threads = false
rgw run sync thread = false
rgw dynamic resharding = false
"""


class CephRgwError(RuntimeError):
    pass


@dataclass(frozen=True)
class S3Keys:
    uid: str
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # the secret stays out of pytest's failure reports
        return f"S3Keys(uid={self.uid!r}, access_key={self.access_key!r})"


@dataclass
class CephRgw:
    """A running cluster: S3 at ``endpoint``; ``stop()`` kills it and removes its folder."""

    endpoint: str
    region: str
    app: S3Keys
    sweep: S3Keys
    folder: Path
    started_in: float  # seconds from nothing to both users able to sign requests
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def client(self, keys: S3Keys, service: str = "s3") -> Any:
        """A boto3 client for ``service`` ("s3" or "iam") signed with ``keys``."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )  # fmt: skip

    def make_user(self, uid: str, display_name: str | None = None) -> S3Keys:
        """Another RGW user with generated keys."""
        return _make_user(self.folder, uid, display_name or uid, time.monotonic() + 60)

    def radosgw_admin(self, *args: str) -> Any:
        """Run ``radosgw-admin`` on this cluster; its JSON output parsed (None if empty)."""
        return _radosgw_admin(self.folder, *args)

    def stop(self) -> None:
        _stop(self._procs, self.folder)
        atexit.unregister(self.stop)


def ceph_rgw_unavailable() -> str | None:
    """Why the cluster cannot run here, or None when it can."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return (
            f"Ceph binaries missing ({', '.join(missing)}); as root: "
            f"apt-get install {DEBIAN_PACKAGES}"
        )
    return None


def start_ceph_rgw(timeout: float = READY_TIMEOUT) -> CephRgw:
    """Make and start the cluster and its gateway; raises CephRgwError with the logs' tails."""
    why = ceph_rgw_unavailable()
    if why:
        raise CephRgwError(why)
    t0 = time.monotonic()
    deadline = t0 + timeout
    _remove_stale_folders()
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (folder / "owner.pid").write_text(str(os.getpid()))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mon_port, rgw_port = _free_ports(2)
        _write_config(folder, mon_port, rgw_port)
        _mkfs_mon(folder, mon_port)
        procs.append(_daemon(folder, "mon", ["ceph-mon", "-i", "a"]))
        _wait(lambda: _port_open(mon_port), deadline, "the monitor to listen", folder, procs)
        _run(folder, ["ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", str(uuid.uuid4())], deadline)
        procs.append(_daemon(folder, "osd", ["ceph-osd", "-i", "0"]))
        # radosgw waits for the OSD by itself while it creates its pools and its zone; the
        # users are made once it answers (a radosgw-admin started earlier races it for them).
        procs.append(_daemon(folder, "rgw", ["radosgw", "-n", "client.rgw"]))
        endpoint = f"http://127.0.0.1:{rgw_port}"
        _wait(lambda: _http_up(endpoint), deadline, "radosgw to answer", folder, procs)
        app = _make_user(folder, "kustosz-app", "Kustosz application", deadline)
        sweep = _make_user(folder, "kustosz-sweep", "Kustosz sweep and destruction", deadline)
    except BaseException:
        _stop(procs, folder)
        raise
    rgw = CephRgw(
        endpoint=endpoint, region=REGION, app=app, sweep=sweep, folder=folder,
        started_in=time.monotonic() - t0, _procs=procs,
    )  # fmt: skip
    atexit.register(rgw.stop)
    return rgw


# -- pieces -------------------------------------------------------------------------------------


def _remove_stale_folders() -> None:
    # A run killed with SIGKILL takes its daemons along (parent-death signal) but leaves its
    # folder (the monitor's store, logs): the next start removes those whose owner is gone.
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        try:
            pid = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _write_config(folder: Path, mon_port: int, rgw_port: int) -> None:
    for sub in ("run", "log", "mon", "osd", "rgw"):
        (folder / sub).mkdir()
    text = _CONF.format(fsid=uuid.uuid4(), mon_port=mon_port, rgw_port=rgw_port, dir=folder)
    (folder / "ceph.conf").write_text(text)


def _mkfs_mon(folder: Path, mon_port: int) -> None:
    # ceph-mon --mkfs wants a keyring even with auth none; a generated mon. key serves.
    conf = folder / "ceph.conf"
    keyring = folder / "keyring"
    steps = [
        ["ceph-authtool", "--create-keyring", str(keyring), "--gen-key", "-n", "mon.",
         "--cap", "mon", "allow *"],
        ["monmaptool", "--create", "--fsid", _conf_value(conf, "fsid"),
         "--addv", "a", f"[v2:127.0.0.1:{mon_port}]", str(folder / "monmap")],
        # The first OSD map already has osd.0 (its uuid blank: the OSD's own is taken when
        # it boots), so no `ceph osd new` once the monitor runs: the ceph CLI took 0.7-1.5 s.
        ["osdmaptool", "-c", str(conf), "--createsimple", "1", "--clobber",
         str(folder / "osdmap")],
        ["ceph-mon", "-c", str(conf), "-i", "a", "--mkfs", "--monmap", str(folder / "monmap"),
         "--osdmap", str(folder / "osdmap"), "--keyring", str(keyring)],
    ]  # fmt: skip
    for argv in steps:
        r = subprocess.run(argv, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise CephRgwError(f"{argv[0]} failed ({r.returncode}): {_text(r.stderr)}")


def _conf_value(conf: Path, key: str) -> str:
    for line in conf.read_text().splitlines():
        k, _, v = line.partition("=")
        if k.strip() == key:
            return v.strip()
    raise KeyError(key)


def _set_pdeathsig() -> None:
    # The daemons die with the test process even when it is killed with SIGKILL (atexit and
    # fixtures' finalizers do not run then). PR_SET_PDEATHSIG = 1.
    with contextlib.suppress(OSError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def _daemon(folder: Path, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    out = open(folder / "log" / f"{name}.out", "wb")  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen(
            [argv[0], "-c", str(folder / "ceph.conf"), "-f", *argv[1:]],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_set_pdeathsig,
        )  # fmt: skip
    finally:
        out.close()


def _run(folder: Path, argv: list[str], deadline: float) -> str:
    left = max(1.0, deadline - time.monotonic())
    r = subprocess.run(
        [argv[0], "-c", str(folder / "ceph.conf"), *argv[1:]],
        capture_output=True, timeout=left, start_new_session=True,
    )  # fmt: skip
    if r.returncode != 0:
        raise CephRgwError(
            f"{' '.join(argv)} failed ({r.returncode}): {_text(r.stderr)}\n{_logs(folder)}"
        )
    return _text(r.stdout)


def _radosgw_admin(folder: Path, *args: str, timeout: float = 60.0) -> Any:
    out = _run(folder, ["radosgw-admin", *args], time.monotonic() + timeout)
    return json.loads(out) if out.strip() else None


def _make_user(folder: Path, uid: str, name: str, deadline: float) -> S3Keys:
    left = max(1.0, deadline - time.monotonic())
    info = _radosgw_admin(folder, "user", "create", "--uid", uid, "--display-name", name,
                          timeout=left)  # fmt: skip
    key = next(k for k in info["keys"] if k["user"] == uid)
    return S3Keys(uid=uid, access_key=key["access_key"], secret_key=key["secret_key"])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _http_up(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any S3 answer (403 for an anonymous listing) means it serves
    except OSError:
        return False


def _wait(
    ready: Any, deadline: float, what: str, folder: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    while not ready():
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            names = ", ".join(f"{p.args[0]} (exit {p.returncode})" for p in dead)  # type: ignore[index]
            raise CephRgwError(f"waiting for {what}: {names} died\n{_logs(folder)}")
        if time.monotonic() > deadline:
            raise CephRgwError(f"timed out waiting for {what}\n{_logs(folder)}")
        time.sleep(0.05)


def _logs(folder: Path, lines: int = 15) -> str:
    parts = []
    for f in sorted((folder / "log").glob("*")):
        with contextlib.suppress(OSError):
            tail = f.read_text(errors="replace").splitlines()[-lines:]
            if tail:
                parts.append(f"--- {f.name}\n" + "\n".join(tail))
    return "\n".join(parts)


def _stop(procs: list[subprocess.Popen[bytes]], folder: Path) -> None:
    # SIGKILL at once: the cluster is thrown away, and an OSD on memstore takes seconds to
    # write its RAM out on SIGTERM. The whole group: nothing a daemon started survives it.
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)
    procs.clear()
    shutil.rmtree(folder, ignore_errors=True)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace").strip()
