"""The local spool is the buffer while the object store is away (issue 16 item 1, and the bad
input "an endpoint that goes away mid-upload"): a vault opens with the store down, camera
segments (adopted by rename, as the recorder does) and intakes through `ingest_batch` wait in
spool/uploads/ with their rows `pending`, `storage_unreachable` is raised; when the store is
back (the same SeaweedFS restarted on its data folder and port) the backlog goes up oldest
first, each object verified and locked as a normal intake's, the alert cleared, nothing lost
or uploaded twice, also after a kill -9 in the middle of the draining."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import Cli, make_vault, snapshot
from tests.opaque import opaque_bytes
from tests.storage.conftest import S3Server
from tests.support import seaweedfs

from kustosz.cli.doctor import OK, WARN, check_space
from kustosz.config import read_config
from kustosz.db.models import Alert, Recording
from kustosz.errors import ConfigError
from kustosz.index.sources import add_source
from kustosz.ingest import upload_queue
from kustosz.ingest.files import adopt_file, ingest_file, recover_pending
from kustosz.ingest.upload_queue import QUEUED, Uploader, note_alerts, queue_of
from kustosz.sizes import size_said
from kustosz.states import AlertRow, RecordingState
from kustosz.storage.s3 import Credentials, S3Storage
from kustosz.vault import Vault


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweedfs.SeaweedFS]:
    server = seaweedfs.start(tmp_path_factory.mktemp("weed-buffer"))
    try:
        yield server
    finally:
        server.stop()


def stop_store(server: seaweedfs.SeaweedFS) -> None:
    server.stop()


def start_store(server: seaweedfs.SeaweedFS) -> None:
    """The same weed mini again: same data folder, ports and identities."""
    if server.process.poll() is None:
        return
    folder = server.log.parent
    with server.log.open("ab") as out:
        server.process = subprocess.Popen(server.process.args, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=folder, start_new_session=True)
    seaweedfs._wait_for_s3(server, 60)


def s3_vault(root: Path, server: seaweedfs.SeaweedFS, bucket: str, extra: str = "",
             url: str = "", preset: str = "pleszew") -> Path:
    vault = make_vault(root, preset=preset, url=url)
    vault.close()
    creds = root.parent / f"{root.name}-app.toml"
    creds.write_text(f'access_key = "{server.app.access_key}"\n'
                     f'secret_key = "{server.app.secret_key}"\n')
    creds.chmod(0o600)
    config = root / "kustosz.toml"
    config.write_text(config.read_text().replace(
        "\n[storage]\n", f'\n[storage]\nkind = "s3"\nendpoint = "{server.endpoint}"\n'
        f'bucket = "{bucket}"\ncredentials_file = "{creds}"\n{extra}\n', 1))
    return root

def store_away(root: Path, endpoint: str) -> str:
    """The vault at ``root`` pointed at a port nobody listens on instead of ``endpoint``: its
    store away from the start; the address it points at (a test may give ``endpoint`` back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        away = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = root / "kustosz.toml"
    config.write_text(config.read_text().replace(endpoint, away, 1))
    return away


def sweep_view(server: seaweedfs.SeaweedFS, bucket: str, scratch: Path) -> S3Storage:
    return S3Storage(server.endpoint, bucket, Credentials(server.sweep.access_key,
                                                          server.sweep.secret_key, "test"),
                     scratch, deleting=True, attempts=1)


def segment(folder: Path, n: int, size: int = 60_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"seg{n:05d}.ts"
    path.write_bytes(opaque_bytes(str(path), size))
    return path


def open_alerts(vault: Vault) -> set[str]:
    with vault.reading() as s:
        return {a.kind for a in s.execute(sa.select(Alert).where(
            Alert.cleared_at.is_(None))).scalars()}


def rows(vault: Vault) -> list[Recording]:
    with vault.reading() as s:
        return list(s.execute(sa.select(Recording).order_by(Recording.id)).scalars())


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def take_segments(vault: Vault, source_id: int, count: int, first: int = 0) -> list[Path]:
    """What the recorder does with each closed segment: adopt it from its session folder."""
    folder = vault.root / "spool" / "cameras" / str(source_id) / "s1"
    made = []
    for n in range(first, first + count):
        path = segment(folder, n)
        made.append(path)
        start = T0 + timedelta(seconds=4 * n)
        adopt_file(vault, source_id, path, start, start + timedelta(seconds=4),
                   {"segment": path.name})
    return made


def assert_all_stored(vault: Vault, server: seaweedfs.SeaweedFS, bucket: str,
                      expected: int, scratch: Path) -> None:
    found = rows(vault)
    assert len(found) == expected
    assert {r.state for r in found} == {RecordingState.STORED}
    assert not any(QUEUED in (r.meta or {}) for r in found)
    view = sweep_view(server, bucket, scratch)
    listing = view._s3.list_object_versions(Bucket=bucket)
    versions = [(v["Key"], v["VersionId"]) for v in listing.get("Versions", [])]
    assert not listing.get("DeleteMarkers")
    # every row's object once, at the index's version, with its hash and its lock
    assert sorted(versions) == sorted((r.storage_key, r.version_id) for r in found)
    for r in found:
        assert view.checksum(r.storage_key, version=r.version_id).sha256 == r.sha256
        lock = view.lock_of(r.storage_key, r.version_id)
        assert lock.retain_until is not None
        assert abs(lock.retain_until - r.expires_at) < timedelta(seconds=1)
    assert queue_of(vault).backlog() == (0, 0)


@pytest.mark.slow  # a SeaweedFS of its own, stopped and started again
def test_the_spool_keeps_what_the_store_cannot_take_and_uploads_it_when_it_is_back(
        tmp_path: Path, store: seaweedfs.SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> None:
    start_store(store)
    bucket = store.make_bucket(f"buf-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket, extra="uploads_in_flight = 2")
    stop_store(store)
    vault = Vault.open(root, actor="test")  # the store away is no reason not to start
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
            add_source(s, vault.policy, "desk", "camera", "test")
        made = take_segments(vault, cam, 5)
        clip = tmp_path / "clip.ts"
        clip.write_bytes(opaque_bytes(str(clip), 50_000))
        added = ingest_file(vault, "desk", clip, T0 + timedelta(minutes=1))
        assert clip.exists()  # the original is not the spool's to take
        found = rows(vault)
        assert [r.state for r in found] == [RecordingState.PENDING] * 6
        assert added.id == found[-1].id and added.sha256
        assert not any(p.exists() for p in made)  # moved, not copied: one copy on disk
        queue = queue_of(vault)
        assert queue.backlog()[0] == 6
        # nothing indexed as stored; each file kept under its row's id with the row's hash
        for r in found:
            kept = queue.path_for(r.id, r.storage_key)
            assert upload_queue._hash(kept) == (r.size, r.sha256)

        drained = queue.drain()
        assert drained.error is not None and drained.uploaded == 0
        note_alerts(vault, queue, drained)
        assert AlertRow.STORAGE_UNREACHABLE in open_alerts(vault)
        # doctor: the local disk's space, and what waits on it (not "unlimited")
        space = check_space(vault, datetime.now(UTC))
        assert space.status == WARN and "6 files" in space.detail, space
        assert "local disk" in space.detail
        # a restart meanwhile (recovery as serve runs it) keeps the queue as it is
        assert recover_pending(vault) == 0 and queue.clean() == 0
        assert queue.backlog()[0] == 6

        start_store(store)
        monkeypatch.setattr(upload_queue, "BACKOFF_MIN_S", 0.2)
        stop = threading.Event()
        runner = threading.Thread(target=Uploader(vault).run, args=(stop,), daemon=True)
        runner.start()
        deadline = time.monotonic() + 60
        while queue.backlog()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the pass's alert note
        stop.set()
        runner.join(10)
        assert_all_stored(vault, store, bucket, 6, tmp_path / "scratch")
        assert AlertRow.STORAGE_UNREACHABLE not in open_alerts(vault)
        assert check_space(vault, datetime.now(UTC)).status == OK
        # oldest first, two at once (uploads_in_flight): a file goes up only once all but
        # one of the older ones went up before it (the store's times are whole seconds)
        stored = sorted(rows(vault), key=lambda r: (r.start_at, r.id))
        view = sweep_view(store, bucket, tmp_path / "scratch")
        times = [view.stat(r.storage_key, version=r.version_id).modified for r in stored]
        assert all(sorted(times[:i])[i - 2] <= times[i] for i in range(2, len(times)))
        # the store back: the next segment goes straight up
        take_segments(vault, cam, 1, first=5)
        assert rows(vault)[-1].state == RecordingState.STORED
    finally:
        vault.close()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kustosz.ingest import upload_queue
    from kustosz.vault import Vault

    done = []
    upload = upload_queue.UploadQueue._upload

    def dying(self, rec, path):
        stored = upload(self, rec, path)
        done.append(rec.id)
        if len(done) == int(sys.argv[2]):  # uploaded, not yet marked stored
            os.kill(os.getpid(), signal.SIGKILL)
        return stored

    upload_queue.UploadQueue._upload = dying
    vault = Vault.open(Path(sys.argv[1]), actor="test")
    upload_queue.queue_of(vault).drain()
""")


@pytest.mark.slow  # a SeaweedFS of its own, stopped and started again
def test_a_kill_while_the_backlog_drains_loses_nothing_and_uploads_nothing_twice(
        tmp_path: Path, store: seaweedfs.SeaweedFS, backend_url: str) -> None:
    start_store(store)
    bucket = store.make_bucket(f"kill-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket, url=backend_url)
    stop_store(store)
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
        take_segments(vault, cam, 6)
    finally:
        vault.close()
    start_store(store)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    done = subprocess.run([sys.executable, str(script), str(root), "3"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -9, done.stderr[-2000:]
    vault = Vault.open(root, actor="test")
    try:
        states = [r.state for r in rows(vault)]
        # several uploads at once: those that ended before the third may have been marked,
        # the third was up and not marked, others were under way
        marked = states.count(RecordingState.STORED)
        assert marked <= 2, states
        # start-up recovery as serve runs it, then the uploader
        recover_pending(vault)
        queue_of(vault).clean()
        drained = queue_of(vault).drain()
        assert drained.error is None and drained.uploaded == 6 - marked
        assert_all_stored(vault, store, bucket, 6, tmp_path / "scratch")
    finally:
        vault.close()


@pytest.mark.slow  # a SeaweedFS of its own, stopped and started again
def alert_texts(vault: Vault) -> dict[str, str]:
    with vault.reading() as s:
        return {a.kind: a.message for a in s.execute(sa.select(Alert).where(
            Alert.cleared_at.is_(None))).scalars()}


def test_size_said_in_polish_and_english() -> None:
    assert size_said(1_234_567) == "1,2 MB" and size_said(1_234_567, "en") == "1.2 MB"
    assert size_said(3_500_000_000) == "3,50 GB" and size_said(640_000) == "640 kB"
    assert size_said(12) == "12 B"


def test_a_backlog_over_the_limit_raises_an_alert_and_recording_goes_on(
        tmp_path: Path, store: seaweedfs.SeaweedFS) -> None:
    start_store(store)
    bucket = store.make_bucket(f"lim-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket, 'spool_limit = "1 MiB"')
    stop_store(store)
    vault = Vault.open(root, actor="test")
    try:
        assert vault.config.s3 is not None and vault.config.s3.spool_limit == 1 << 20
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
        take_segments(vault, cam, 10)  # 10 x 60 kB: under the limit
        queue = queue_of(vault)
        note_alerts(vault, queue, queue.drain())
        assert open_alerts(vault) == {AlertRow.STORAGE_UNREACHABLE}
        take_segments(vault, cam, 10, first=10)  # 1.2 MB: over, and still taken
        assert queue.backlog()[0] == 20
        note_alerts(vault, queue, queue.drain())
        assert open_alerts(vault) == {AlertRow.STORAGE_UNREACHABLE, AlertRow.SPOOL_OVER_LIMIT}
        said = alert_texts(vault)  # sizes as a person reads them, in Polish forms
        assert "(20 plików)" in said[AlertRow.SPOOL_OVER_LIMIT], said
        assert "ponad limit 1,0 MB" in said[AlertRow.SPOOL_OVER_LIMIT], said
        assert "20 plików (1,2 MB) czeka" in said[AlertRow.STORAGE_UNREACHABLE], said
        start_store(store)
        note_alerts(vault, queue, queue.drain())
        assert open_alerts(vault) == set()
        assert_all_stored(vault, store, bucket, 20, tmp_path / "scratch")
    finally:
        vault.close()


def test_free_space_is_the_local_disks_not_unlimited(tmp_path: Path, seaweed: S3Server) -> None:
    bucket = seaweed.make_bucket()
    vault = Vault.open(s3_vault(tmp_path / "vault", seaweed, bucket),  # type: ignore[arg-type]
                       actor="test")
    try:
        usage = os.statvfs(tmp_path)
        assert vault.storage.total_bytes() == usage.f_blocks * usage.f_frsize
        assert 0 < vault.storage.free_bytes() <= vault.storage.total_bytes()
    finally:
        vault.close()


BAD_LIMITS = {"bare number": "spool_limit = 20", "no unit": 'spool_limit = "20"',
              "unknown unit": 'spool_limit = "20 GBs"', "negative": 'spool_limit = "-5 GB"',
              "too small": 'spool_limit = "10 kB"', "words": 'spool_limit = "a lot"'}


@pytest.mark.parametrize("line", list(BAD_LIMITS.values()), ids=list(BAD_LIMITS))
def test_a_spool_limit_that_is_no_size_is_refused_clearly_and_nothing_starts(
        tmp_path: Path, line: str) -> None:
    vault = make_vault(tmp_path / "vault")
    before = snapshot(vault)
    vault.close()
    config = vault.root / "kustosz.toml"
    config.write_text(config.read_text().replace(
        "\n[storage]\n", '\n[storage]\nkind = "s3"\nendpoint = "http://127.0.0.1:9"\n'
        f'bucket = "media"\n{line}\n', 1))
    with pytest.raises(ConfigError, match="spool_limit") as exc:
        read_config(vault.root)
    assert exc.value.pl and "spool_limit" in exc.value.pl and str(exc.value) != exc.value.pl
    # serve itself no longer stops on a refused file: it starts on the last good copy, or
    # with the refused table at its defaults (issue 64 item 6, tests/test_config_fallback.py)
    result = Cli(vault.root)("config", "check", ok=False)
    assert result.exit_code == 1
    assert "spool_limit" in result.output and "wiersz" in result.output
    assert not (vault.root / "spool" / "uploads").exists()
    config.write_text(before["config"])
    reopened = Vault.open(vault.root, actor="test")
    assert snapshot(reopened) == before
    reopened.close()


def test_spool_limit_sizes_read_as_people_write_them(tmp_path: Path) -> None:
    from kustosz.sizes import parse_size

    assert parse_size("20 GB", "x") == 20 * 10**9
    assert parse_size("500 MiB", "x") == 500 << 20
    assert parse_size("1,5 TB", "x") == 1_500_000_000_000
    assert parse_size("2gib", "x") == 2 << 30
    vault = make_vault(tmp_path / "v")
    vault.close()
    assert read_config(vault.root).s3 is None


@pytest.mark.slow  # a real camera recorded by ffmpeg under serve, the store stopped and started
def test_serve_records_with_the_store_down_and_uploads_the_backlog_when_it_is_back(
        tmp_path: Path, store: seaweedfs.SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cameras.camera_helpers import register_camera, wait_for
    from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

    from kustosz.cameras.register import add_site, add_zone
    from kustosz.cli.serve import run_serve
    from kustosz.ingest.camera.recorder import RecorderOptions

    if not gst_available():
        pytest.skip(gst_skip_reason())
    monkeypatch.setattr(upload_queue, "BACKOFF_MIN_S", 0.5)
    monkeypatch.setattr(upload_queue, "BACKOFF_MAX_S", 2.0)
    start_store(store)
    bucket = store.make_bucket(f"serve-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket)
    stop_store(store)
    vault = Vault.open(root, actor="test")
    stop, ready = threading.Event(), threading.Event()
    with RtspServer(mounts=1, audio=False) as cam_server:
        with vault.transaction() as s:
            add_site(s, "Ratusz", "test", "Rynek 1")
            add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        cam = register_camera(vault, "wejscie", cam_server.url(1))
        serve = threading.Thread(target=run_serve, args=(vault, stop), kwargs={
            "options": RecorderOptions(down_alert_after_s=600, measure_clock=False),
            "web": None, "on_ready": lambda _pool: ready.set()})
        serve.start()
        try:
            assert ready.wait(60), "serve did not start with the store down"
            wait_for(lambda: len(rows(vault)) >= 3, 30, "three segments kept locally")
            assert {r.state for r in rows(vault)} == {RecordingState.PENDING}
            wait_for(lambda: AlertRow.STORAGE_UNREACHABLE in open_alerts(vault), 20,
                     "the storage_unreachable alert")
            start_store(store)
            wait_for(lambda: queue_of(vault).backlog()[0] == 0 and AlertRow.STORAGE_UNREACHABLE
                     not in open_alerts(vault), 40, "the backlog uploaded, the alert cleared")
            wait_for(lambda: sum(r.state == RecordingState.STORED for r in rows(vault)) >= 6,
                     30, "segments going straight up again")
        finally:
            stop.set()
            serve.join(30)
    assert not serve.is_alive()
    found = [r for r in rows(vault) if r.source_id == cam.source_id]
    assert {r.state for r in found} == {RecordingState.STORED}
    # no segment lost or twice: one after the other, no overlap, no hole beyond a segment
    spans = sorted((r.start_at, r.end_at) for r in found)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 >= e1 - timedelta(milliseconds=50)
        assert (s2 - e1).total_seconds() < 3
    assert_all_stored(vault, store, bucket, len(found), tmp_path / "scratch")
    vault.close()


@pytest.mark.disk_margin
def test_a_full_local_disk_deletes_nothing_from_the_object_store(
        tmp_path: Path, seaweed: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    """The full-disk handling applies to the local disk (the spool); deleting the oldest
    material from the bucket would free nothing there, and would go on deleting all of it."""
    from tests.full_disk_helpers import fill, tmpfs

    from kustosz.retention.pressure import relieve_pressure

    with tmpfs(tmp_path / "disk", 32) as disk:
        bucket = seaweed.make_bucket()
        sweep = tmp_path / "sweep.toml"  # the sweep's credentials: it could delete
        sweep.write_text(f'access_key = "{seaweed.sweep.access_key}"\n'
                         f'secret_key = "{seaweed.sweep.secret_key}"\n')
        sweep.chmod(0o600)
        root = s3_vault(disk / "vault", seaweed, bucket,  # type: ignore[arg-type]
                        f'delete_credentials_file = "{sweep}"')
        vault = Vault.open(root, actor="test")
        try:
            with vault.transaction() as s:
                add_source(s, vault.policy, "desk", "camera", "test")
            clip = tmp_path / "clip.ts"
            clip.write_bytes(opaque_bytes(str(clip), 50_000))
            rec = ingest_file(vault, "desk", clip, T0)
            assert rec.state == RecordingState.STORED
            fill(disk / "ballast")
            with caplog.at_level(logging.WARNING, "kustosz"):
                relieve_pressure(vault)
            # the person is told (the alert row, or with no room for it, the channels)
            assert any("nothing to delete on this disk" in r.getMessage()
                       for r in caplog.records)
            with vault.reading() as s:
                assert s.get(Recording, rec.id).state == RecordingState.STORED
            view = seaweed.storage(bucket, tmp_path / "s", deleting=True)
            assert view.checksum(rec.storage_key).sha256 == rec.sha256
        finally:
            vault.close()


def test_a_batch_intake_keeps_its_files_and_commits_what_its_kind_keeps_beside_them(
        tmp_path: Path, seaweed: S3Server) -> None:
    """The phone and mail intakes' path (`ingest_batch` with an `on_stored` hook): with the
    store unreachable every item is copied into the spool, the hook gets them all in step 3
    (so a call row or a chunk's index commits with its recording), the originals stay."""

    from kustosz.ingest.files import Item, ingest_batch

    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed, bucket)  # type: ignore[arg-type]
    away = store_away(root, seaweed.endpoint)
    config = root / "kustosz.toml"
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "centrala", "camera", "test")  # any kind: one path
        files = []
        for n in range(3):
            path = tmp_path / f"call{n}.ts"
            path.write_bytes(os.urandom(20_000))
            files.append(path)
        seen: list[int] = []
        results = ingest_batch(vault, "centrala", [
            Item(p, T0 + timedelta(minutes=n)) for n, p in enumerate(files)],
            on_stored=lambda _s, done: seen.extend(d.index for d in done))
        assert seen == [0, 1, 2]
        assert all(p.exists() for p in files)
        found = rows(vault)
        assert [r.state for r in found] == [RecordingState.PENDING] * 3
        assert [r.sha256 for r in found] == [upload_queue._hash(p)[1] for p in files]
        assert [r.id for r in found] == [getattr(x, "id", None) for x in results]
    finally:
        vault.close()
    # the command line says where the file is (Polish first)
    extra = tmp_path / "extra.ts"
    extra.write_bytes(os.urandom(10_000))
    said = Cli(root)("ingest", "file", "centrala", str(extra), "--start",
                     (T0 + timedelta(minutes=9)).isoformat(), "--end",
                     (T0 + timedelta(minutes=10)).isoformat())
    assert said.exit_code == 0
    assert "czeka w buforze lokalnym" in said.output and "local spool" in said.output
    config.write_text(config.read_text().replace(away, seaweed.endpoint, 1))
    vault = Vault.open(root, actor="test")
    try:
        drained = queue_of(vault).drain()
        assert drained.error is None and drained.uploaded == 4
        found = rows(vault)
        assert {r.state for r in found} == {RecordingState.STORED}
        view = seaweed.storage(bucket, tmp_path / "s", deleting=True)
        assert sorted(view.iterate()) == sorted(r.storage_key for r in found)
    finally:
        vault.close()


CRASHER = textwrap.dedent("""
    import os, signal, sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from kustosz.ingest import files, upload_queue
    from kustosz.vault import Vault

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    root, where, path = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    vault = Vault.open(root, actor="test")
    # an hour ago: a fixed date's recording expires (and its lock ends) 30 days on
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    if where == "adopt":  # flagged, not yet moved into the queue
        upload_queue.UploadQueue.move_in = die
        files.adopt_file(vault, 1, path, t0, t0)
    else:  # copied into the queue, its step 3 (the flag) not committed
        files._mark_queued = die
        files.ingest_file(vault, "hall", path, t0)
""")


@pytest.mark.parametrize("where", ["adopt", "batch"])
def test_a_kill_while_a_file_is_being_queued_leaves_it_to_be_taken_in_again(
        tmp_path: Path, seaweed: S3Server, where: str) -> None:

    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed, bucket)  # type: ignore[arg-type]
    away = store_away(root, seaweed.endpoint)
    config = root / "kustosz.toml"
    vault = Vault.open(root, actor="test")
    with vault.transaction() as s:
        assert add_source(s, vault.policy, "hall", "camera", "test").id == 1
    vault.close()
    original = segment(root / "spool" / "cameras" / "1" / "s1", 0)
    content = original.read_bytes()
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    done = subprocess.run([sys.executable, str(script), str(root), where, str(original)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr[-2000:]
    config.write_text(config.read_text().replace(away, seaweed.endpoint, 1))
    vault = Vault.open(root, actor="test")
    try:
        assert [r.state for r in rows(vault)] == [RecordingState.PENDING]
        if where == "adopt":  # flagged for the queue, the file not yet in it
            assert QUEUED in (rows(vault)[0].meta or {}) and queue_of(vault).files() == []
        else:  # the copy in the queue, the row not flagged
            assert QUEUED not in (rows(vault)[0].meta or {})
            assert len(queue_of(vault).files()) == 1
        recover_pending(vault)  # start-up recovery, as serve runs it
        queue_of(vault).clean()
        assert rows(vault) == []  # undone: never stored, nothing half-indexed
        assert queue_of(vault).files() == []
        # the segment is still where the recorder's settling (or the next pass) takes it
        assert original.read_bytes() == content
    finally:
        vault.close()


def test_a_chunk_queued_before_a_crash_is_not_taken_in_twice(
        tmp_path: Path, seaweed: S3Server) -> None:
    """The mail/event chunk spool on an object store that is away: a chunk whose intake
    committed (its row pending, queued) before a crash kept its folder is not stored twice."""
    import json
    import shutil

    from kustosz.db.events import MonitoringEvent
    from kustosz.ingest.chunks.spool import CHUNK_FILE, close_folder, spool_root
    from kustosz.ingest.events.search import index_events
    from kustosz.ingest.events.settings import EndpointSettings, add_endpoint_source

    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed, bucket,  # type: ignore[arg-type]
                    preset="elblag")
    store_away(root, seaweed.endpoint)
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            add_endpoint_source(s, vault.policy, "siem", "test", EndpointSettings(
                syslog_udp="127.0.0.1:0", syslog_tcp="127.0.0.1:0", http="127.0.0.1:0"))
        now = datetime.now(UTC) - timedelta(minutes=5)
        line = json.dumps({"received": now.isoformat(), "at": now.isoformat(), "host": "pc-1",
                           "user": "", "app": "t", "category": "device_security",
                           "message": "event", "problems": []}).encode() + b"\n"
        folder = spool_root(vault, "siem") / "20261121T090000Z-queued00"
        folder.mkdir(parents=True)
        (folder / CHUNK_FILE).write_bytes(line * 2)
        keep = folder.with_name("copy")
        shutil.copytree(folder, keep)
        first = close_folder(vault, "siem", folder, "events", index_events)
        assert [r.state for r in rows(vault)] == [RecordingState.PENDING]
        keep.rename(folder)  # the crash hit after the commit, before the folder went
        again = close_folder(vault, "siem", folder, "events", index_events)
        assert again.recording_id == first.recording_id and not folder.exists()
        assert len(rows(vault)) == 1 and queue_of(vault).backlog()[0] == 1
        with vault.reading() as s:
            assert len(s.execute(sa.select(MonitoringEvent)).scalars().all()) == 2
    finally:
        vault.close()


def test_a_damaged_spool_file_is_never_uploaded_and_does_not_hold_up_the_rest(
        tmp_path: Path, seaweed: S3Server) -> None:

    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed, bucket)  # type: ignore[arg-type]
    away = store_away(root, seaweed.endpoint)
    config = root / "kustosz.toml"
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
        take_segments(vault, cam, 2)
    finally:
        vault.close()
    config.write_text(config.read_text().replace(away, seaweed.endpoint, 1))
    vault = Vault.open(root, actor="test")
    try:
        first, second = rows(vault)
        damaged = queue_of(vault).path_for(first.id, first.storage_key)
        with damaged.open("r+b") as f:  # one flipped byte on the local disk
            byte = f.read(1)
            f.seek(0)
            f.write(bytes([byte[0] ^ 1]))
        drained = queue_of(vault).drain()
        assert (drained.uploaded, drained.damaged, drained.error) == (1, 1, None)
        first, second = rows(vault)
        assert first.state == RecordingState.PENDING and damaged.exists()
        assert second.state == RecordingState.STORED
        view = seaweed.storage(bucket, tmp_path / "s", deleting=True)
        assert list(view.iterate()) == [second.storage_key]
    finally:
        vault.close()


def test_a_nodes_backlog_counts_what_waits_for_the_object_store(tmp_path: Path) -> None:
    """`kustosz nodes` and the dashboard's nodes section show each node's spool backlog:
    camera segments not yet taken in, and now files waiting for the object store."""
    from kustosz.cli.serve import node_backlog
    from kustosz.ingest.upload_queue import UploadQueue

    vault = make_vault(tmp_path / "vault")
    try:
        spool = vault.root / "spool" / "nodes" / "a" / "cameras"
        segment(spool / "1" / "s1", 0, size=1000)
        uploads = UploadQueue(vault, spool.parent / "uploads")
        assert node_backlog(spool, uploads) == (1, 1000)
        waiting = tmp_path / "w.ts"
        waiting.write_bytes(b"x" * 500)
        uploads.copy_in(7, "cam/2026/11/20/x.ts", waiting)
        assert node_backlog(spool, uploads) == (2, 1500)
    finally:
        vault.close()


@pytest.mark.slow  # a SeaweedFS of its own, stopped and started again
def test_a_key_holding_its_file_among_other_versions_is_adopted_not_uploaded_again(
        tmp_path: Path, store: seaweedfs.SeaweedFS, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 68 item 4: what a killed pass left under a key is looked for among all the key's
    versions, not only its latest. A whole copy of the spooled file is marked, nothing
    uploaded again; a key holding only other bytes gets the file under a key of its own,
    the other version named in the log (and by the store check's alert)."""
    start_store(store)
    bucket = store.make_bucket(f"ver-{os.urandom(4).hex()}")
    root = s3_vault(tmp_path / "vault", store, bucket)
    stop_store(store)
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
        take_segments(vault, cam, 2)
        first, second = rows(vault)
        queue = queue_of(vault)
        start_store(store)
        app = store.client(store.app)
        whole = app.put_object(Bucket=bucket, Key=first.storage_key,
                               Body=queue.path_for(first.id, first.storage_key).read_bytes())
        app.put_object(Bucket=bucket, Key=first.storage_key, Body=b"a later try, cut")
        foreign = app.put_object(Bucket=bucket, Key=second.storage_key, Body=b"other")
        taken = second.storage_key
        with caplog.at_level("ERROR", logger="kustosz.ingest.upload_queue"):
            drained = queue.drain()
        assert drained.error is None and drained.uploaded == 2
        first, second = rows(vault)
        assert (first.state, first.version_id) == (RecordingState.STORED, whole["VersionId"])
        assert second.state == RecordingState.STORED
        assert second.storage_key != taken  # a key of its own; the other version stays
        assert foreign["VersionId"] in caplog.text
        assert queue.backlog() == (0, 0)
    finally:
        vault.close()

