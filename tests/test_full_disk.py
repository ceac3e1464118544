"""Issue 14 item 10 at the unit level: on a filesystem filled to the last byte (a small tmpfs,
root only) the disk-pressure sweep still deletes, records and audits, thanks to the reserve
it releases first — with the database on that disk (SQLite) and elsewhere (PostgreSQL, where
the audit head file is the write that would fail). When even the alert row cannot be written,
the alert goes straight to the channels, once, and the row follows once it fits."""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.alerts.notifier import Notifier, load_state
from kustosz.audit.verifier import check
from kustosz.custody.holds import place_hold
from kustosz.db.models import Alert, Deletion, Recording, Source, Sweep
from kustosz.db.outage import is_disk_full
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.retention.pressure import relieve_pressure, watch_of
from kustosz.retention.scheduler import run_scheduler
from kustosz.storage.reserve import RESERVE_NAME, reserve_size
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, wait_until, write_alerts
from tests.conftest import make_vault
from tests.full_disk_helpers import fill, tmpfs, truncate_wal

# Tiny tmpfs disks of their own, with the default margin (tests/conftest.py).
pytestmark = pytest.mark.disk_margin

ITEM = 512 << 10


def _material(vault: Vault, tmp: Path, n: int = 8) -> list[Recording]:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hol", "camera", "test")
    base = datetime.now(UTC) - timedelta(hours=3)
    recs = []
    for i in range(n):
        sample = tmp / f"seg{i}.ts"
        line = f"segment {i}\n".encode()  # no media a probe recognises: stored as it is
        sample.write_bytes(line * (ITEM // len(line)))
        start = base + timedelta(minutes=10 * i)
        recs.append(ingest_file(vault, "hol", sample, start, start + timedelta(minutes=1)))
    return recs


def _full_write_fails(vault: Vault) -> None:
    """The premise: on this disk a plain write of the vault fails now."""
    # Exception: whichever layer reports it (sqlite3 through SQLAlchemy, or the head file)
    with pytest.raises(Exception) as failed, vault.transaction() as s:
        s.add(Alert(raised_at=datetime.now(UTC), kind="disk_pressure", message="x" * 20000))
    assert is_disk_full(failed.value), failed.value


def test_reserve_size_stays_inside_the_margin() -> None:
    assert reserve_size(1 << 40, 5.0) == 64 << 20  # a real disk: the full 64 MiB
    assert reserve_size(24 << 20, 5.0) == (24 << 20) * 5 // 200 // 4096 * 4096
    assert reserve_size(24 << 20, 0.0) > 0  # even without a margin a little is kept


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_disk_pressure_sweep_succeeds_on_a_full_disk_thanks_to_the_reserve(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else ""
    with tmpfs(tmp_path / "disk", 24) as disk:
        vault = make_vault(disk / "vault", url=url)
        try:
            recs = _material(vault, tmp_path)
            with vault.transaction() as s:
                place_hold(s, sources=[], start=None, end=None, basis="wniosek policji",
                           actor="test", items=[recs[0].id])
            held_hash = vault.storage.hash_of(recs[0].storage_key)
            watch = watch_of(vault)
            assert watch.reserve.ensure()
            assert (vault.root / RESERVE_NAME).stat().st_size == watch.reserve.size() > 0
            if not url:
                truncate_wal(vault.root / "kustosz.db")
            fill(disk / "ballast")  # another program's file took the rest of the disk
            assert shutil.disk_usage(disk).free < 4096
            if not url:
                _full_write_fails(vault)

            report = relieve_pressure(vault, actor="test", batch=1)

            deleted = [d["id"] for d in report.deleted]
            # The oldest unheld, oldest first, and only as many as the margin and the
            # reserve need (0.6 MiB free after the reserve, 1.8 MiB wanted: 3 of 0.5 MiB).
            assert deleted == [r.id for r in recs[1:4]]
            assert vault.storage.hash_of(recs[0].storage_key) == held_hash  # held: untouched
            with vault.reading() as s:
                left = set(s.execute(select(Recording.id)).scalars())
                gone = list(s.execute(select(Deletion)).scalars())
                sweeps = list(s.execute(select(Sweep)).scalars())
                alerts = {a.kind: a for a in s.execute(select(Alert)).scalars()}
                audit = check(s, vault.head_file)
            assert left == {r.id for r in recs} - set(deleted)
            assert sorted(d.recording_id for d in gone) == deleted
            assert all(d.rule.startswith("disk pressure") for d in gone)
            assert sweeps and all(sw.finished_at is not None for sw in sweeps)
            assert "disk_pressure" in alerts
            assert alerts["disk_full"].cleared_at is not None  # raised, and cleared: room again
            assert audit.ok, audit.problems
            # The room is back, and the reserve with it (counted as free: still not short).
            assert (vault.root / RESERVE_NAME).stat().st_size == watch.reserve.size()
            assert not watch.short()
        finally:
            vault.close()


def test_alert_goes_straight_to_the_channels_when_its_row_cannot_be_written(
        tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", 16) as disk, SmtpSink() as smtp:
        vault = make_vault(disk / "vault")
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                 'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n')
        vault.close()
        vault = Vault.open(vault.root)
        try:
            watch = watch_of(vault)
            assert watch.reserve.held() == 0  # no reserve made yet: nothing to give back
            truncate_wal(vault.root / "kustosz.db")
            fill(disk / "ballast")
            _full_write_fails(vault)

            assert watch.after_write(failed=True)
            wait_until(lambda: smtp.mails, 20, "the disk-full mail")
            assert smtp.subjects()[0].startswith("[Kustosz] Dysk pełny")
            assert "usuwając najstarsze nagrania" in smtp.mails[0].get_content()
            with vault.reading() as s:
                assert s.execute(select(Alert)).scalars().all() == []  # no row fitted
            watch.after_write(failed=True)  # still full: not a second message
            time.sleep(1.0)
            assert len(smtp.mails) == 1
            # The sweeps those writes started end while the disk is still full (on a busy
            # machine one may still be running): one that measured a full disk and wrote
            # its alert after the room below was made would be a true row, but not this one.
            wait_until(lambda: not any(t.name == "disk-pressure" for t in threading.enumerate()),
                       30, "the disk-pressure sweeps to end")

            (disk / "ballast").unlink()  # the administrator made room
            assert not watch.after_write()
            with vault.reading() as s:
                rows = list(s.execute(select(Alert)).scalars())
            # The normal row follows once it fits: the record of what happened, over.
            assert [(a.kind, a.cleared_at is not None) for a in rows] == [("disk_full", True)]
            assert watch.reserve.held() == watch.reserve.size() > 0
            assert len(smtp.mails) == 1
        finally:
            vault.close()


def test_an_alert_row_written_before_the_disk_filled_is_told_once_while_it_is_full(
        tmp_path: Path) -> None:
    """A fresh clone's run (issue 48): the disk-full row was written with the reserve's
    room, the cameras took the rest, and no pass of the notifier could save its decision:
    the mail never went while the disk stayed full (everything held)."""
    with tmpfs(tmp_path / "disk", 16) as disk, SmtpSink() as smtp:
        vault = make_vault(disk / "vault")
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                 'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n')
        vault.close()
        vault = Vault.open(vault.root)
        try:
            notifier = Notifier(vault)
            notifier.tick()  # its state row exists, as in a running serve
            with vault.transaction() as s:
                s.add(Alert(raised_at=datetime.now(UTC), kind="disk_full",
                            message="dysk pełny"))
            truncate_wal(vault.root / "kustosz.db")
            fill(disk / "ballast")
            _full_write_fails(vault)

            notifier.tick()
            assert [t.split(" — ")[0] for t in smtp.subjects()] == ["[Kustosz] Dysk pełny"]
            for _ in range(3):  # passes while the disk stays full: not a mail each
                notifier.tick()
            assert len(smtp.mails) == 1
            with vault.reading() as s:  # nothing of it could be written yet
                assert str(_open_alert_id(s)) not in load_state(s)["open"]

            (disk / "ballast").unlink()  # the administrator made room
            notifier.tick()
            with vault.reading() as s:
                state = load_state(s)
                assert str(_open_alert_id(s)) in state["open"]  # written from memory
            assert state["queues"]["email"] == []
            assert notifier.held.memory is None
            notifier.tick()
            assert len(smtp.mails) == 1
        finally:
            vault.close()


def _open_alert_id(s: Session) -> int:
    return int(s.execute(select(Alert.id).where(Alert.kind == "disk_full")).scalar_one())


def test_a_sweep_whose_record_the_full_disk_refuses_is_finished_once_there_is_room(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27 (a fresh clone's full-disk run): the disk-pressure sweep unlinked its victims,
    and before it could write their record another writer took the room they freed, so
    SQLite refused the sweep's last transaction and its rows stayed `deleting` until the next
    start. Now the sweep keeps it as unfinished, tries again at once, and — the disk still
    full — finishes it on the next closing segment once there is room: every victim
    recorded, no row left `deleting`, the audit chain whole. (The other writer is the test's
    file, written right after the unlinks: a recorder's timing cannot be forced.)"""
    from kustosz.retention import sweep as sweep_module

    with tmpfs(tmp_path / "disk", 24) as disk:
        vault = make_vault(disk / "vault")
        try:
            recs = _material(vault, tmp_path)
            watch = watch_of(vault)
            assert watch.reserve.ensure()
            truncate_wal(vault.root / "kustosz.db")
            fill(disk / "ballast")
            unlink_all = sweep_module._unlink_all
            refilled: list[int] = []

            def unlink_then_refill(*args, **kwargs):  # type: ignore[no-untyped-def]
                kept = unlink_all(*args, **kwargs)
                if not refilled:  # the room the unlinks made, taken at once
                    refilled.append(fill(disk / "another-writer"))
                return kept

            monkeypatch.setattr(sweep_module, "_unlink_all", unlink_then_refill)
            relieve_pressure(vault, actor="test", batch=1)
            assert refilled and watch.unfinished
            with vault.reading() as s:
                deleting = list(s.execute(select(Recording.id).where(
                    Recording.state == "deleting")).scalars())
            assert deleting  # the record could not be written: what the fix finishes
            for rid in deleting:
                assert not vault.storage.exists(next(r.storage_key for r in recs
                                                     if r.id == rid))

            (disk / "another-writer").unlink()  # the other writer's file went
            watch.after_write()  # a segment closed: the unfinished sweep is run again
            wait_until(lambda: not watch.unfinished, 20, "the unfinished sweep finished")
            with watch.running():  # the background run over (it may sweep on after it)
                pass
            with vault.reading() as s:
                states = set(s.execute(select(Recording.state)).scalars())
                gone = set(s.execute(select(Deletion.recording_id)).scalars())
                sweeps = list(s.execute(select(Sweep)).scalars())
                audit = check(s, vault.head_file)
            assert "deleting" not in states
            assert set(deleting) <= gone
            assert sweeps and all(sw.finished_at is not None for sw in sweeps)
            assert audit.ok, audit.problems
        finally:
            vault.close()


def test_a_closing_segment_on_a_short_disk_wakes_the_sweep_at_once(tmp_path: Path) -> None:
    """The schedule says every 15 minutes; a segment that closes on a disk below the margin
    has the disk-pressure sweep run within a second, in the scheduler's thread."""
    with tmpfs(tmp_path / "disk", 24) as disk:
        vault = make_vault(disk / "vault")
        stop = threading.Event()
        thread = threading.Thread(target=run_scheduler, args=(vault, stop))
        try:
            recs = _material(vault, tmp_path)
            thread.start()
            wait_until(lambda: watch_of(vault).listener, 10, "the scheduler")
            wait_until(lambda: watch_of(vault).reserve.held() > 0, 10, "the reserve")
            free = shutil.disk_usage(disk).free
            with (disk / "ballast").open("wb") as f:  # below 5 % free, not full
                f.write(b"\0" * (free - (512 << 10)))
            assert watch_of(vault).after_write()
            wait_until(lambda: len(_left(vault)) < len(recs), 5, "the disk-pressure sweep")
            assert recs[0].id not in _left(vault)  # the oldest went (a batch of 200 went)
            assert not watch_of(vault).short()
        finally:
            stop.set()
            thread.join(10)
            vault.close()


def _left(vault: Vault) -> list[int]:
    with vault.reading() as s:
        return list(s.execute(select(Recording.id)).scalars())


def test_recorder_status_says_disk_full_in_polish_where_people_read_it(
        sqlite_vault: Vault) -> None:
    """ffmpeg's "No space left on device" is a full disk, not "the stream ended"; the
    dashboard says so in Polish and that recording resumes by itself."""
    from kustosz.cameras.register import add_site, add_zone, recorder_notes
    from kustosz.ingest.camera import health
    from tests.cameras.camera_helpers import register_camera

    failure = health.classify(["[segment @ 0x55] Failure occurred when ending segment",
                               "av_interleaved_write_frame(): No space left on device"],
                              1, True, "rtsp://127.0.0.1/cam1")
    assert failure.cause == "disk_full"
    assert health.CAUSES_PL["disk_full"] == "dysk pełny"
    with sqlite_vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    cam = register_camera(sqlite_vault, "hol", "rtsp://127.0.0.1:8554/cam1")
    health.set_status(sqlite_vault, cam.source_id, "disk_full", failure.message)
    with sqlite_vault.reading() as s:
        note = recorder_notes(s, sqlite_vault.policy)[cam.source_id]
    assert note.startswith("brak miejsca na dysku; nagrywanie wznowi się samo")


@pytest.mark.parametrize("value", ["-1", '"64 MB"', "true", "100000"])
def test_a_bad_reserve_setting_is_refused_clearly(tmp_path: Path, value: str) -> None:
    from kustosz.config import read_config
    from kustosz.errors import ConfigError

    vault = make_vault(tmp_path / "vault")
    vault.close()
    toml = vault.root / "kustosz.toml"
    before = toml.read_text("utf-8")
    toml.write_text(before.replace("min_free_percent = 5.0\n",
                                   f"min_free_percent = 5.0\nreserve_mib = {value}\n"), "utf-8")
    with pytest.raises(ConfigError) as refused:
        read_config(vault.root)
    assert "`storage.reserve_mib`: must be a number from 0 to 65536" in str(refused.value)
    assert "`storage.reserve_mib`: musi być liczbą od 0 do 65536" in (refused.value.pl or "")
    assert not (vault.root / RESERVE_NAME).exists()


def test_reserve_setting_sets_its_size_and_zero_means_none(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    toml = vault.root / "kustosz.toml"
    toml.write_text(toml.read_text("utf-8").replace(
        "min_free_percent = 5.0\n", "min_free_percent = 5.0\nreserve_mib = 2\n"), "utf-8")
    vault.close()
    vault = Vault.open(vault.root)
    try:
        watch = watch_of(vault)
        assert watch.reserve.ensure()
        assert (vault.root / RESERVE_NAME).stat().st_size == 2 << 20
        assert (vault.root / RESERVE_NAME).stat().st_mode & 0o077 == 0
    finally:
        vault.close()
    toml.write_text(toml.read_text("utf-8").replace("reserve_mib = 2", "reserve_mib = 0"),
                    "utf-8")
    vault = Vault.open(vault.root)
    try:
        assert not watch_of(vault).reserve.ensure()
        assert not (vault.root / RESERVE_NAME).exists()  # the old one given back
    finally:
        vault.close()


def test_disk_alert_words() -> None:
    from kustosz.alerts.messages import compose

    item = {"alert": 3, "kind": "disk_full", "row_kind": "disk_full_held", "source": None,
            "since": "2026-11-22T19:00:00+00:00", "at": "2026-11-22T19:20:00+00:00",
            "text": "Nadal brakuje miejsca na dysku…", "event": "start", "n": 1}
    assert compose(item).subject == ("[Kustosz] Brak miejsca na dysku, a pozostały tylko "
                                     "nagrania objęte zabezpieczeniem (od 22.11.2026 20:00)")
    assert compose(item).severity == "error"
    full = dict(item, row_kind="disk_full", event="clear")
    assert compose(full).subject == ("[Kustosz] Dysk znów ma wolne miejsce — nagrywanie "
                                     "wznowione (przerwa 20 min)")


def test_a_closing_chunk_on_a_short_disk_runs_the_sweep_without_a_scheduler(
        tmp_path: Path) -> None:
    """Event chunks check the disk as they close too; with no scheduler listening (e.g.
    `kustosz events listen`) the disk-pressure sweep runs in a thread of its own."""
    from kustosz.ingest.chunks.spool import CHUNK_FILE, close_folder, spool_root
    from kustosz.ingest.events.search import index_events
    from tests.monitoring.monitoring_helpers import endpoint
    from tests.monitoring.pending_helpers import event

    with tmpfs(tmp_path / "disk", 24) as disk:
        vault = make_vault(disk / "vault", preset="elblag")
        try:
            endpoint(vault)
            base = datetime.now(UTC) - timedelta(days=2)
            old = []
            for i in range(6):
                sample = tmp_path / f"old{i}.jsonl"
                sample.write_bytes(b'{"received": "x"}\n' * (ITEM // 18))
                start = base + timedelta(hours=i)
                old.append(ingest_file(vault, "siem", sample, start, start).id)
            watch = watch_of(vault)
            assert watch.reserve.ensure()
            usage = shutil.disk_usage(disk)
            with (disk / "ballast").open("wb") as f:  # short of the margin, not yet full
                f.write(b"\0" * (usage.free - watch.floor(usage.total) * 3 // 2))
            assert watch.short() and not watch.critical(watch.space())
            assert not watch.listener
            folder = spool_root(vault, "siem") / "20261122T090000Z-short000"
            folder.mkdir(parents=True)
            now = datetime.now(UTC)
            (folder / CHUNK_FILE).write_text(json.dumps(event(now)) + "\n")
            closed = close_folder(vault, "siem", folder, "events", index_events)
            assert closed.recording_id is not None
            wait_until(lambda: old[0] not in _left(vault), 10, "the disk-pressure sweep")
            wait_until(lambda: not watch.short(), 10, "the margin back")
            assert closed.recording_id in _left(vault)  # the newest stays
        finally:
            vault.close()


def test_a_hold_placed_after_the_unlinks_does_not_make_the_finished_sweep_say_kept(
        tmp_path: Path) -> None:
    """A loaded run of test_full_disk_cameras: the disk-pressure sweep unlinked its victims
    and the full disk refused their record; before it was finished a wide hold (an
    inspection's request) was placed over their time. Finishing the sweep raised
    `retention_disagrees`, "the recordings were kept", for files gone before the hold
    existed. They are recorded deleted by the sweep that checked them, no alert; what is
    still there and held now goes back to stored, as always."""
    from kustosz.retention import sweep as sweep_module
    from kustosz.retention.pressure import _mark
    from kustosz.states import AlertRow, SweepMode

    vault = make_vault(tmp_path / "vault")
    try:
        recs = _material(vault, tmp_path, n=3)
        sweep_id, marked = _mark(vault, [r.id for r in recs])
        assert marked == 3
        for rec in recs[:2]:  # unlinked; the record of it refused (the disk was full)
            assert vault.storage.delete(rec.storage_key)
        with vault.transaction() as s:
            source = s.get(Source, recs[0].source_id)
            assert source is not None
            place_hold(s, sources=[source], start=recs[0].start_at - timedelta(hours=1),
                       end=datetime.now(UTC), basis="kontrola NIK", actor="test")
        sweep_module.finish_open(vault, sweep_id, SweepMode.DISK_PRESSURE, "test")
        with vault.reading() as s:
            alerts = list(s.execute(select(Alert.kind)).scalars())
            gone = set(s.execute(select(Deletion.recording_id)).scalars())
            states = {r.id: r.state for r in s.execute(select(Recording)).scalars()}
            audit = check(s, vault.head_file)
        assert AlertRow.RETENTION_DISAGREES not in alerts
        assert gone == {recs[0].id, recs[1].id}
        assert states == {recs[2].id: "stored"}  # the two moved to deletions; the third held
        assert audit.ok, audit.problems
    finally:
        vault.close()
