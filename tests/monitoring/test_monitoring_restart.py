"""Crash safety of chunks (DESIGN invariant 5): an open chunk is a spool folder; after a
crash the next start takes it in as what it holds, a torn last line is cut off and counted,
and a chunk already stored before the crash is not stored twice."""

from __future__ import annotations

import json
import shutil
import socket
from datetime import UTC, datetime, timedelta

from monitoring_helpers import endpoint, events_listener, wait_for
from sqlalchemy import func, select

from kustosz.db.events import IntakeCounter, MonitoringEvent
from kustosz.db.models import Recording, Source
from kustosz.ingest.chunks.counters import Counters
from kustosz.ingest.chunks.spool import CHUNK_FILE, close_folder, spool_root
from kustosz.ingest.events.search import index_events
from kustosz.vault import Vault


def _line(i: int, when: datetime) -> bytes:
    return json.dumps({"received": when.isoformat(), "at": when.isoformat(), "host": "pc-1",
                       "user": "", "app": "t", "category": "device_security",
                       "message": f"event {i}", "problems": []}).encode() + b"\n"


def test_left_open_chunk_is_taken_in_on_restart(elblag: Vault) -> None:
    endpoint(elblag)
    now = datetime.now(UTC)
    folder = spool_root(elblag, "siem") / "20261121T090000Z-crashed0"
    folder.mkdir(parents=True)
    # What a killed listener leaves: whole lines and a last one cut in the middle.
    (folder / CHUNK_FILE).write_bytes(_line(1, now) + _line(2, now) + _line(3, now)[:25])
    bg = events_listener(elblag)
    try:
        with socket.create_connection(bg.service.addresses["syslog_tcp"], timeout=5) as sock:
            sock.sendall(b"<13>1 - pc-2 app - - - after the restart\n")
        wait_for(lambda: bg.service.counters.totals["events"] == 1)
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        messages = sorted(s.execute(select(MonitoringEvent.message)).scalars())
        chunks = s.execute(select(func.count()).select_from(Recording)).scalar_one()
        torn = s.execute(select(IntakeCounter.value).where(
            IntakeCounter.name == "torn_lines")).scalar_one()
    assert messages == ["after the restart", "event 1", "event 2"]
    assert chunks == 2 and torn == 1
    assert not folder.exists()


def test_a_chunk_stored_before_the_crash_is_not_stored_twice(elblag_sqlite: Vault) -> None:
    vault = elblag_sqlite
    endpoint(vault)
    with vault.reading() as s:
        source_id = s.execute(select(Source.id).where(Source.name == "siem")).scalar_one()
    now = datetime.now(UTC) - timedelta(minutes=5)
    folder = spool_root(vault, "siem") / "20261121T090000Z-twice000"
    folder.mkdir(parents=True)
    (folder / CHUNK_FILE).write_bytes(_line(1, now) + _line(2, now))
    keep = folder.with_name("copy")
    shutil.copytree(folder, keep)
    counters = Counters(source_id)
    first = close_folder(vault, "siem", folder, "events", index_events, counters)
    # The crash hit after the commit and before the spool folder was removed:
    keep.rename(folder)
    again = close_folder(vault, "siem", folder, "events", index_events, counters)
    assert again.recording_id == first.recording_id and not folder.exists()
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(MonitoringEvent)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 1
