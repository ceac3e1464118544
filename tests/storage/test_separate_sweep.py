"""[storage] sweep = "separate" (issue 16, hardening): `kustosz serve` never opens the sweep's
credentials file and cannot delete, `kustosz sweeper` alone deletes expired versions, and on
PostgreSQL exactly one sweeper sweeps (the lease `singleton:sweep`). Real SeaweedFS on
loopback, real PostgreSQL; the file's opening is watched by a Python audit hook (every
`open` of the process, whatever module makes it)."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.cluster.conftest import pg_database  # noqa: F401 (a fixture)
from tests.conftest import Cli
from tests.storage.conftest import S3Server
from tests.storage.test_s3_vault import set_storage, write_credentials

from kustosz.cli.serve import run_serve
from kustosz.config import ConfigError
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.retention.sweeper import SWEEP_LEASE, leave_the_sweep, run_sweeper
from kustosz.storage.base import Refused
from kustosz.vault import Vault

OPENED: list[str] = []
WATCHED: set[str] = set()


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        path = os.fsdecode(args[0])  # type: ignore[arg-type]
        if path in WATCHED:
            OPENED.append(path)


sys.addaudithook(_hook)  # for the whole session: audit hooks cannot be removed


def s3_vault(tmp_path: Path, server: S3Server, bucket: str, separate: bool,
             url: str = "") -> tuple[Vault, Path]:
    vault = Vault.init(tmp_path / "vault", "pleszew", url, actor="test")
    vault.close()
    app = write_credentials(tmp_path / "s3-app.toml", server.app.access_key,
                            server.app.secret_key)
    sweep = write_credentials(tmp_path / "s3-sweep.toml", server.sweep.access_key,
                              server.sweep.secret_key)
    set_storage(vault.root, f'kind = "s3"\nendpoint = "{server.endpoint}"\n'
                            f'bucket = "{bucket}"\nregion = "{server.region}"\n'
                            f'credentials_file = "{app}"\ndelete_credentials_file = "{sweep}"'
                            + ('\nsweep = "separate"' if separate else ""))
    return Vault.open(vault.root, actor="test"), sweep


def expired_material(vault: Vault, tmp_path: Path) -> list[Recording]:
    """Two segments of January 2026: past the preset's period today."""
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    recs = []
    for hour in (8, 12):
        segment = tmp_path / f"seg{hour}.ts"
        segment.write_bytes(b"\x47" * 188 * 20)
        recs.append(ingest_file(vault, "hall", segment, datetime(2026, 1, 1, hour, tzinfo=UTC)))
    return recs


def serve_a_while(vault: Vault) -> None:
    """`run_serve` (recovery, jobs, recorders, listeners, the scheduler, checks) until it is
    ready and its scheduler had its first turn, which sweeps at once when it sweeps."""
    stop, ready = threading.Event(), threading.Event()
    serving = threading.Thread(target=run_serve, args=(vault, stop),
                               kwargs={"on_ready": lambda _pool: ready.set()})
    serving.start()
    try:
        assert ready.wait(60)
        stop.wait(3)
    finally:
        stop.set()
        serving.join(30)
    assert not serving.is_alive()


@pytest.mark.parametrize("separate", [True, False], ids=["separate", "in-serve"])
def test_serve_in_separate_mode_never_opens_the_sweep_credentials(
        tmp_path: Path, seaweed: S3Server, separate: bool) -> None:
    """Separate: serve runs, nothing is deleted and the file is never opened — not at start,
    not by the scheduler, not by recovery. The default (the control, proving the hook sees
    the opening): serve opens it at its first sweep and deletes the expired material."""
    vault, sweep_file = s3_vault(tmp_path, seaweed, seaweed.make_bucket(), separate)
    WATCHED.add(str(sweep_file))
    try:
        recs = expired_material(vault, tmp_path)
        OPENED.clear()
        serve_a_while(vault)
        with vault.reading() as s:
            left = s.execute(sa.select(sa.func.count()).select_from(Recording)).scalar_one()
        if separate:
            assert OPENED == [] and left == 2
            assert sorted(vault.storage.iterate()) == sorted(r.storage_key for r in recs)
        else:
            assert [str(sweep_file)] == OPENED and left == 0
    finally:
        WATCHED.discard(str(sweep_file))
        vault.close()


def test_the_serve_process_cannot_delete_and_the_sweeper_does(tmp_path: Path,
                                                              seaweed: S3Server) -> None:
    """The attack from inside serve: its deleting view is refused (EN+PL) without reading the
    file, its own store is refused by the bucket (with and without the governance bypass),
    the sweep and the pressure sweep delete nothing. Then `kustosz sweeper --once` deletes
    the expired versions (no version or delete marker left) and records them."""
    bucket = seaweed.make_bucket()
    vault, sweep_file = s3_vault(tmp_path, seaweed, bucket, separate=True)
    WATCHED.add(str(sweep_file))
    try:
        recs = expired_material(vault, tmp_path)
        leave_the_sweep(vault)
        OPENED.clear()
        with pytest.raises(ConfigError, match="only `kustosz sweeper`") as exc:
            vault.deleting_storage()
        assert "kustosz sweeper" in (exc.value.pl or "")
        for rec in recs:
            with pytest.raises(Refused):
                vault.storage.delete_version(rec.storage_key, rec.version_id)  # type: ignore[attr-defined]
        app = seaweed.client(seaweed.app)
        with pytest.raises(Exception, match=r"AccessDenied|Forbidden"):
            app.delete_object(Bucket=bucket, Key=recs[0].storage_key,
                              VersionId=recs[0].version_id, BypassGovernanceRetention=True)
        from kustosz.retention import recover, relieve_pressure
        from kustosz.retention.scheduler import run_scheduler

        assert recover(vault) == 0
        assert relieve_pressure(vault, free_space=lambda: (0, 100)).deleted == []
        run_scheduler(vault, threading.Event())  # returns at once: nothing swept
        assert OPENED == []
        assert sorted(vault.storage.iterate()) == sorted(r.storage_key for r in recs)
    finally:
        WATCHED.discard(str(sweep_file))
        vault.close()
    result = Cli(vault.root)("sweeper", "--once")
    assert "sweep done: 2 item(s) deleted" in result.output
    sweeper_view = seaweed.client(seaweed.sweep)
    listed = sweeper_view.list_object_versions(Bucket=bucket)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    again = Vault.open(vault.root, actor="test")
    try:
        with again.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM deletions")).scalar() == 2
    finally:
        again.close()


def test_the_sweeper_refuses_a_vault_where_serve_sweeps(tmp_path: Path,
                                                       seaweed: S3Server) -> None:
    """Without sweep = "separate" (or on the local folder) a sweeper would be a second
    sweep beside serve's: refused, EN then PL, nothing deleted."""
    vault, _file = s3_vault(tmp_path, seaweed, seaweed.make_bucket(), separate=False)
    vault.close()
    result = Cli(vault.root)("sweeper", "--once", ok=False)
    assert result.exit_code == 2
    assert "error:" in result.output and "błąd:" in result.output
    assert 'sweep = "separate"' in result.output


def test_bad_sweep_settings_are_refused(tmp_path: Path) -> None:
    from kustosz.config import read_config

    vault = Vault.init(tmp_path / "vault", "pleszew", "", actor="test")
    vault.close()
    set_storage(vault.root, 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\n'
                            'bucket = "media"\nsweep = "elsewhere"')
    with pytest.raises(ConfigError, match='"serve" or "separate"') as exc:
        read_config(vault.root)
    assert exc.value.pl
    text = (vault.root / "kustosz.toml").read_text().replace('"elsewhere"', '"separate"')
    (vault.root / "kustosz.toml").write_text(text.replace('bucket = "media"',
                                                          'bucket = "media"\ncheck_hours = -1'))
    with pytest.raises(ConfigError, match="check_hours") as exc:
        read_config(vault.root)
    assert exc.value.pl


# Long enough that a renewal late on a loaded machine does not let the lease lapse (3 s did,
# on a fresh clone beside another suite: issue 27); the waits below are for conditions.
LEASE_S = 12.0


def _until(check: Callable[[], bool], what: str, within: float = 180.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out after {within:.0f} s waiting for {what}"
        time.sleep(0.1)


def test_one_sweeper_of_two_holds_the_lease(tmp_path: Path, seaweed: S3Server,
                                            pg_database: str) -> None:  # noqa: F811
    """PostgreSQL: two sweepers (two machines) — one holds `singleton:sweep` and sweeps, the
    other waits; when the first stops, the second takes over within a lease time."""
    vault, _file = s3_vault(tmp_path, seaweed, seaweed.make_bucket(), True, pg_database)
    other = Vault.open(vault.root, actor="test")
    swept: dict[str, int] = {"a": 0, "b": 0}
    stops = {"a": threading.Event(), "b": threading.Event()}

    def start(name: str, v: Vault) -> threading.Thread:
        def counted(_n: int) -> None:
            swept[name] += 1

        thread = threading.Thread(target=run_sweeper, args=(v, stops[name]), kwargs={
            "lease_seconds": LEASE_S, "margin_seconds": LEASE_S / 3,
            "name": f"sweeper-{name}",
            "on_sweep": counted}, daemon=True)
        thread.start()
        return thread

    def holder() -> str | None:
        with vault.engine.connect() as conn:
            return conn.execute(sa.text("SELECT node FROM leases WHERE resource = :r AND "
                                        "until > now() AT TIME ZONE 'UTC'"),
                                {"r": SWEEP_LEASE}).scalar()

    try:
        a = start("a", vault)
        _until(lambda: swept["a"] >= 1, "sweeper-a's first sweep")
        b = start("b", other)
        stops["b"].wait(2.5)
        assert holder() == "sweeper-a" and swept["a"] >= 1 and swept["b"] == 0
        stops["a"].set()
        a.join(15)
        _until(lambda: swept["b"] >= 1, "sweeper-b to take over")
        assert holder() == "sweeper-b" and swept["b"] >= 1
    finally:
        for stop in stops.values():
            stop.set()
        vault.close()
        other.close()
    b.join(15)


def test_the_sweep_file_may_be_readable_by_a_group_serve_is_not_in(tmp_path: Path) -> None:
    """root:kustosz-sweep 0640 (the sweeper unit's SupplementaryGroups) is accepted for the
    sweep's file; for the app's file, group-writable, others' bits, or the process's own
    group it is refused (chmod 600 named)."""
    from kustosz.storage.s3 import read_credentials

    creds = write_credentials(tmp_path / "s3-sweep.toml", "AK", "secret-G1", mode=0o640)
    other = 65534 if os.getgid() != 65534 else 65533
    os.chown(creds, -1, other)
    assert read_credentials(creds, group_ok=True).access_key == "AK"
    with pytest.raises(ConfigError, match="chmod 600"):
        read_credentials(creds)  # the app's file: never shared
    for mode in (0o660, 0o644):
        creds.chmod(mode)
        with pytest.raises(ConfigError, match="chmod 600"):
            read_credentials(creds, group_ok=True)
    creds.chmod(0o640)
    os.chown(creds, -1, os.getgid())
    with pytest.raises(ConfigError, match="chmod 600"):
        read_credentials(creds, group_ok=True)


@pytest.mark.slow  # ~20 s: a node, its jobs worker and a PostgreSQL database of its own
def test_a_node_holding_the_scheduler_never_opens_the_sweep_credentials(
        tmp_path: Path, seaweed: S3Server, pg_database: str) -> None:  # noqa: F811
    """`serve --node` on PostgreSQL with sweep = "separate": the node takes the scheduler
    singleton (checks, notifier, backups) yet never opens the file nor deletes; the sweeper,
    under its own lease, deletes the expired versions."""
    from kustosz.cli.serve import run_node
    from kustosz.cluster.settings import ClusterSettings

    bucket = seaweed.make_bucket()
    vault, sweep_file = s3_vault(tmp_path, seaweed, bucket, True, pg_database)
    WATCHED.add(str(sweep_file))
    stop = threading.Event()
    try:
        recs = expired_material(vault, tmp_path)
        OPENED.clear()
        node = threading.Thread(target=run_node, args=(vault, stop, ClusterSettings(
            "a", lease_seconds=6.0, margin_seconds=2.0)))
        node.start()
        for _ in range(150):
            with vault.engine.connect() as conn:
                if conn.execute(sa.text("SELECT node FROM leases WHERE resource = "
                                        "'singleton:scheduler'")).scalar() == "a":
                    break
            stop.wait(0.2)
        else:
            raise AssertionError("node a took no scheduler")
        stop.wait(3)  # its scheduler's first turn
        assert OPENED == []
        assert sorted(vault.storage.iterate()) == sorted(r.storage_key for r in recs)
        sweeper = Vault.open(vault.root, actor="test")
        done, swept = threading.Event(), []
        try:
            run_sweeper(sweeper, done, lease_seconds=6.0, margin_seconds=2.0, name="s",
                        on_sweep=lambda n: (swept.append(n), done.set()))
        finally:
            sweeper.close()
        assert swept == [2] and list(vault.storage.iterate()) == []
    finally:
        stop.set()
        WATCHED.discard(str(sweep_file))
    node.join(30)
    vault.close()


def test_doctor_says_whether_serve_can_read_the_sweep_credentials(
        tmp_path: Path, seaweed: S3Server) -> None:
    """`kustosz doctor`: WARN while serve sweeps itself; with sweep = "separate", OK — and
    FAIL when the service account can still read the file (run as that account: here a
    non-root uid through os.geteuid/os.access, as root reads everything)."""
    import json

    from kustosz.cli import doctor

    for separate, status in ((False, "WARN"), (True, "OK")):
        folder = tmp_path / str(separate)
        folder.mkdir()
        vault, sweep_file = s3_vault(folder, seaweed, seaweed.make_bucket(), separate)
        vault.close()
        result = Cli(vault.root)("doctor", "--json", ok=False)
        (found,) = [c for c in json.loads(result.output)["checks"]
                    if c["check"] == "object store"]
        assert found["status"] == status, found
    from kustosz.config import read_config

    config = read_config(vault.root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(doctor.os, "geteuid", lambda: 1000)
        mp.setattr(doctor.os, "access", lambda path, mode: True)
        found = doctor.check_object_store(config)
    assert found.status == "FAIL" and str(sweep_file) in found.detail
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(doctor.os, "geteuid", lambda: 1000)
        mp.setattr(doctor.os, "access", lambda path, mode: False)
        assert doctor.check_object_store(config).status == "OK"


SWEEP_GID = 64999  # a group no account here has: the sweeper unit's kustosz-sweep


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run a process as another account")
def test_the_kernel_keeps_the_file_from_a_process_without_the_group(tmp_path: Path) -> None:
    """The unit's promise at the kernel's level: the sweep's file root:kustosz-sweep 0640 is
    read by a process of the service account given the group (SupplementaryGroups=) and
    refused to the same account without it — as serve runs. Both run Kustosz's own
    read_credentials as uid/gid 65534 (setpriv)."""
    import subprocess
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kustosz-sweep-"))
    try:
        folder.chmod(0o711)
        creds = write_credentials(folder / "s3-sweep.toml", "AK-sweep", "secret-K1", 0o640)
        os.chown(creds, 0, SWEEP_GID)
        code = ("import sys; from pathlib import Path; "
                "from kustosz.storage.s3 import read_credentials; "
                "print(read_credentials(Path(sys.argv[1]), group_ok=True).access_key)")

        def as_service(*groups: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", *groups, sys.executable, "-c",
                 code, str(creds)], capture_output=True, text=True, timeout=60,
                cwd="/", env={"PATH": "/usr/bin:/bin"})

        serve = as_service("--clear-groups")
        assert serve.returncode != 0 and "cannot be read" in serve.stderr, serve.stderr
        assert "secret-K1" not in serve.stdout + serve.stderr
        sweeper = as_service(f"--groups={SWEEP_GID}")
        assert sweeper.returncode == 0 and sweeper.stdout.strip() == "AK-sweep", sweeper.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run processes as another account")
def test_another_process_of_the_account_cannot_read_the_sweepers_memory() -> None:
    """`not_dumpable()` (what `kustosz sweeper` does first): a process of the same account —
    serve, if it were taken over — can no longer open the sweeper's /proc/<pid>/mem or
    environ; without it, it can (the control)."""
    import subprocess

    def target(hidden: bool) -> subprocess.Popen[str]:
        code = ("import sys, time; from kustosz.retention.sweeper import not_dumpable; "
                f"ok = not_dumpable() if {hidden} else True; print(ok, flush=True); "
                "time.sleep(30)")
        return subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 sys.executable, "-c", code], stdout=subprocess.PIPE,
                                text=True, cwd="/", env={"PATH": "/usr/bin:/bin"})

    peek = ("import sys\nfor name in ('mem', 'environ'):\n    try:\n"
            "        open(f'/proc/{sys.argv[1]}/{name}', 'rb').close(); print(name, 'open')\n"
            "    except PermissionError:\n        print(name, 'refused')\n")
    for hidden, expected in ((True, "refused"), (False, "open")):
        proc = target(hidden)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "True"
            seen = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups", sys.executable, "-c", peek,
                                   str(proc.pid)], capture_output=True, text=True, timeout=60,
                                  cwd="/", env={"PATH": "/usr/bin:/bin"})
            assert seen.stdout.split() == ["mem", expected, "environ", expected], seen
        finally:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow  # ~20 s: botocore's retries against a store that is away
def test_the_sweepers_outcome_reaches_the_sweep_alerts(tmp_path: Path,
                                                       seaweed: S3Server) -> None:
    """The sweep_failed/sweep_late alerts work with the sweep in its own process: a sweeper
    whose store is away keeps running (no restart loop), each failed sweep raises
    `sweep_failed` and `--once` exits with the error; a good sweep clears it and records the
    last good sweep that serve's `sweep_late` check reads."""
    import socket

    from kustosz.alerts.checks import Checks

    vault, _file = s3_vault(tmp_path, seaweed, seaweed.make_bucket(), separate=True)
    vault.close()
    config = vault.root / "kustosz.toml"
    good = config.read_text()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    config.write_text(good.replace(seaweed.endpoint, dead))
    result = Cli(vault.root)("sweeper", "--once", ok=False)
    assert result.exit_code != 0 and "sweep failed" in result.output

    def open_rows(kind: str) -> int:
        again = Vault.open(vault.root, actor="test")
        try:
            with again.engine.connect() as conn:
                return int(conn.execute(sa.text(
                    "SELECT count(*) FROM alerts WHERE kind = :k AND cleared_at IS NULL"),
                    {"k": kind}).scalar_one())
        finally:
            again.close()

    assert open_rows("sweep_failed") == 1
    config.write_text(good)
    assert "sweep done: 0 item(s) deleted" in Cli(vault.root)("sweeper", "--once").output
    assert open_rows("sweep_failed") == 0
    again = Vault.open(vault.root, actor="test")
    try:  # serve's check: the sweeper's good sweep counts, nothing is late
        Checks(again, started=datetime(2026, 1, 1, tzinfo=UTC)).sweep_late(datetime.now(UTC))
    finally:
        again.close()
    assert open_rows("sweep_late") == 0
