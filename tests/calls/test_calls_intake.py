"""Intake from a FreePBX-shaped spool with a real Master.csv: scope per office, bytes kept as
the PBX wrote them, call records arriving late or never, files still being written."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from calls_pbx import (
    OFFICE_DID,
    Pbx,
    PhoneCall,
    add_line,
    day_of_calls,
    state_of,
    stored_calls,
    utc,
    write_wav,
)
from sqlalchemy import func, select
from tests.conftest import make_vault

from kustosz.db.calls import PhoneCdrRecord
from kustosz.db.models import Recording
from kustosz.ingest.phone.intake import Observer, scan
from kustosz.vault import Vault


def no_sleep(_: float) -> None:
    pass


@pytest.fixture
def pbx(tmp_path: Path) -> Pbx:
    return Pbx(tmp_path / "pbx")


def open_vault(tmp_path: Path, preset: str, url: str) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault", preset, url)
    yield vault
    vault.close()


@pytest.fixture
def walbrzych(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    yield from open_vault(tmp_path, "walbrzych", backend_url)


@pytest.fixture
def boleslawiec(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    yield from open_vault(tmp_path, "boleslawiec", backend_url)


@pytest.fixture
def bvault(tmp_path: Path) -> Iterator[Vault]:
    """Bolesławiec on SQLite, for the tests about timing rather than the database."""
    yield from open_vault(tmp_path, "boleslawiec", "")


def test_walbrzych_keeps_only_external_incoming(walbrzych: Vault, pbx: Pbx) -> None:
    calls = day_of_calls(pbx)
    add_line(walbrzych, pbx)
    report = scan(walbrzych, "centrala", sleep=no_sleep)
    kept = stored_calls(walbrzych)
    assert set(kept) == {calls[k].uniqueid for k in ("incoming", "withheld", "ringgroup")}
    assert report.stored == 3 and report.out_of_scope == 2 and report.skipped == []
    state = state_of(walbrzych)
    assert (state.stored, state.out_of_scope, state.skipped) == (3, 2, 0)
    # Out-of-scope calls leave no trace but the count: no recording, no file, no numbers.
    assert len(list(walbrzych.storage.keys())) == 3
    with walbrzych.reading() as s:
        leftover = [r.record for r in s.execute(select(PhoneCdrRecord)).scalars()]
    assert [r["disposition"] for r in leftover] == ["NO ANSWER"]  # waits for a file, then ages out
    # What the call record said, in canonical numbers; the quoted caller-ID name intact.
    call, rec = kept[calls["incoming"].uniqueid]
    assert (call.caller, call.callee, call.direction) == ("+48600100200", "201", "incoming")
    assert (call.disposition, call.no_cdr) == ("ANSWERED", False)
    assert rec.meta["caller_name"] == 'Kowalski, Jan "Janek"'
    assert rec.start_at == utc(calls["incoming"].local_start)
    assert rec.end_at - rec.start_at == timedelta(seconds=3)
    # 30 days from the day of recording [004 §7.2].
    assert rec.expires_at == datetime(2026, 12, 20, 23, 0, tzinfo=UTC)
    withheld, _ = kept[calls["withheld"].uniqueid]
    assert withheld.caller == "" and withheld.direction == "incoming"
    ring, _ = kept[calls["ringgroup"].uniqueid]
    assert (ring.caller, ring.callee, ring.direction) == ("+48601200300", "600", "incoming")


def test_boleslawiec_keeps_all_byte_for_byte(boleslawiec: Vault, pbx: Pbx) -> None:
    calls = day_of_calls(pbx)
    add_line(boleslawiec, pbx)
    report = scan(boleslawiec, "centrala", sleep=no_sleep)
    kept = stored_calls(boleslawiec)
    assert set(kept) == {c.uniqueid for c in calls.values()}
    assert report.out_of_scope == 0
    for c in calls.values():
        _, rec = kept[c.uniqueid]
        original = (pbx.spool / c.relpath).read_bytes()
        assert boleslawiec.storage.path(rec.storage_key).read_bytes() == original
        assert rec.sha256 == hashlib.sha256(original).hexdigest() and rec.size == len(original)
    out, _ = kept[calls["outgoing"].uniqueid]
    assert (out.caller, out.callee, out.direction) == ("201", "+48221234567", "outgoing")
    internal, _ = kept[calls["internal"].uniqueid]
    assert internal.direction == "internal"
    # Nothing Kustosz does writes to the spool unless asked to remove.
    assert all((pbx.spool / c.relpath).exists() for c in calls.values())


def test_rescan_neither_retakes_nor_recounts(walbrzych: Vault, pbx: Pbx) -> None:
    day_of_calls(pbx)
    add_line(walbrzych, pbx)
    scan(walbrzych, "centrala", sleep=no_sleep)
    again = scan(walbrzych, "centrala", sleep=no_sleep)
    assert (again.stored, again.out_of_scope, again.waiting, again.cdr_lines) == (0, 0, 0, 0)
    state = state_of(walbrzych)
    assert (state.stored, state.out_of_scope) == (3, 2)
    with walbrzych.reading() as s:
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 3


def test_record_arriving_after_its_file(bvault: Vault, pbx: Pbx) -> None:
    call = PhoneCall("in", OFFICE_DID, "0600100200", datetime(2026, 11, 20, 9, 0, 0),
                     "1763625600.1")
    pbx.record(call)
    pbx.master.write_text("")  # the PBX has logged nothing yet
    add_line(bvault, pbx)
    first = scan(bvault, "centrala", sleep=no_sleep)
    assert first.stored == 0 and first.waiting == 1 and stored_calls(bvault) == {}
    pbx.log(call, src="0600100200", dst="201", clid='"" <0600100200>')
    second = scan(bvault, "centrala", sleep=no_sleep)
    assert second.stored == 1
    stored, _ = stored_calls(bvault)[call.uniqueid]
    assert (stored.caller, stored.disposition, stored.no_cdr) == ("+48600100200", "ANSWERED",
                                                                   False)


def test_recording_without_record_is_taken_after_the_wait_and_flagged(
        bvault: Vault, pbx: Pbx) -> None:
    call = PhoneCall("in", OFFICE_DID, "+48 600-100-200", datetime(2026, 11, 20, 9, 0, 0),
                     "1763625600.2")
    pbx.record(call)
    add_line(bvault, pbx, no_cdr_wait_s=600)
    now = datetime.now(UTC)
    assert scan(bvault, "centrala", sleep=no_sleep, now=now).waiting == 1
    later = scan(bvault, "centrala", sleep=no_sleep, now=now + timedelta(minutes=11))
    assert later.stored == 1
    stored, rec = stored_calls(bvault)[call.uniqueid]
    # Only what the file name tells: numbers, direction, start; no disposition.
    assert (stored.caller, stored.callee, stored.direction) == ("+48600100200", "+48746640800",
                                                                "incoming")
    assert stored.no_cdr is True and stored.disposition == "" and rec.meta["no_cdr"] is True


def test_file_still_being_written_is_left_until_it_stops_growing(bvault: Vault,
                                                                 pbx: Pbx) -> None:
    call = PhoneCall("in", OFFICE_DID, "600100200", datetime(2026, 11, 20, 9, 0, 0),
                     "1763625600.3", seconds=1.0)
    pbx.record(call)
    pbx.log(call, src="600100200", dst="201", clid="600100200")
    add_line(bvault, pbx)
    path = pbx.spool / call.relpath

    def pbx_keeps_writing(_: float) -> None:
        with path.open("ab") as f:
            f.write(b"\x00\x01" * 800)  # another 100 ms of audio between the two looks

    assert scan(bvault, "centrala", sleep=pbx_keeps_writing).waiting == 1
    assert stored_calls(bvault) == {}
    # The watcher's way: one look per pass, taken when two passes agree.
    watcher = Observer()
    assert scan(bvault, "centrala", observer=watcher).stored == 0
    pbx_keeps_writing(0)
    assert scan(bvault, "centrala", observer=watcher).stored == 0
    final = write_wav(path, 4.0)  # the call ends; MixMonitor rewrites the header sizes
    assert scan(bvault, "centrala", observer=watcher).stored == 0
    assert scan(bvault, "centrala", observer=watcher).stored == 1
    _, rec = stored_calls(bvault)[call.uniqueid]
    assert bvault.storage.path(rec.storage_key).read_bytes() == final


def test_remove_after_intake_removes_only_what_was_stored(walbrzych: Vault, pbx: Pbx) -> None:
    calls = day_of_calls(pbx)
    add_line(walbrzych, pbx, remove_after_intake=True)
    originals = {k: (pbx.spool / c.relpath).read_bytes() for k, c in calls.items()}
    scan(walbrzych, "centrala", sleep=no_sleep)
    kept = stored_calls(walbrzych)
    for key, c in calls.items():
        if c.uniqueid in kept:
            assert not (pbx.spool / c.relpath).exists()
            rec = kept[c.uniqueid][1]
            assert walbrzych.storage.path(rec.storage_key).read_bytes() == originals[key]
        else:  # out of scope: not the vault's to take, nor to delete
            assert (pbx.spool / c.relpath).read_bytes() == originals[key]
