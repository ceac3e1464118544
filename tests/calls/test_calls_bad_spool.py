"""Bad input at the PBX's end: each bad item is skipped with a clear message, counted once,
shown in `phones status`, and disturbs nothing else (DESIGN invariant 6)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, day_of_calls, state_of, stored_calls
from sqlalchemy import select
from tests.conftest import make_vault, snapshot

from kustosz.db.calls import PhoneProblem
from kustosz.db.models import Alert
from kustosz.ingest.phone.intake import scan
from kustosz.ingest.phone.lines import phone_status
from kustosz.states import AlertRow
from kustosz.vault import Vault

# The tables whose whole point is to record that a bad item was seen.
INTAKE_TABLES = ("phone_intake_state", "phone_problems", "phone_spool_items",
                 "phone_cdr_records")
LATE = datetime(2026, 11, 20, 18, 30, 0)


def no_sleep(_: float) -> None:
    pass


def bad_csv_quote(pbx: Pbx, outside: Path) -> None:
    with pbx.master.open("a") as f:
        f.write('"","600100200","201","from-trunk","x <600100200>,"PJSIP/a","PJSIP/b","Dial",'
                '"","2026-11-20 18:30:00","2026-11-20 18:30:05","2026-11-20 18:31:00",60,55,'
                '"ANSWERED","DOCUMENTATION","1763659800.90","","","1763659800.90",1\n')


def bad_csv_date(pbx: Pbx, outside: Path) -> None:
    call = PhoneCall("in", OFFICE_DID, "600100200", LATE, "1763659800.91")
    pbx.log(call, src="600100200", dst="201", clid="600100200", start="20.11.2026 18:29")


def name_without_pattern(pbx: Pbx, outside: Path) -> None:
    (pbx.spool / "2026/11/20/nagranie rozmowy.wav").write_bytes(b"RIFF")


def zero_length(pbx: Pbx, outside: Path) -> None:
    call = PhoneCall("in", OFFICE_DID, "600100200", LATE, "1763659800.92")
    (pbx.spool / call.relpath).write_bytes(b"")
    pbx.log(call, src="600100200", dst="201", clid="600100200")


def not_audio(pbx: Pbx, outside: Path) -> None:
    call = PhoneCall("in", OFFICE_DID, "600100200", LATE, "1763659800.93")
    (pbx.spool / call.relpath).write_text("<html>404 Not Found</html>\n")
    pbx.log(call, src="600100200", dst="201", clid="600100200")


def link_leaving_spool(pbx: Pbx, outside: Path) -> None:
    call = PhoneCall("in", OFFICE_DID, "600100200", LATE, "1763659800.94")
    (pbx.spool / call.relpath).symlink_to(outside)
    pbx.log(call, src="600100200", dst="201", clid="600100200")


def linked_directory(pbx: Pbx, outside: Path) -> None:
    os.symlink(outside.parent, pbx.spool / "2026/11/21")


BAD: dict[str, tuple[Callable[[Pbx, Path], None], str]] = {
    "malformed CSV line": (bad_csv_quote, "Master.csv line 7"),
    "unparseable date": (bad_csv_date, "start time '20.11.2026 18:29' is not YYYY-MM-DD"),
    "name matching no pattern": (name_without_pattern, "not a FreePBX or Asterisk recording name"),
    "zero-length file": (zero_length, "zero-length file"),
    "non-audio file": (not_audio, "not a WAV file"),
    "symlink leaving the spool": (link_leaving_spool, "symbolic link"),
    "symlinked directory": (linked_directory, "symbolic link to a directory"),
}


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    yield v
    v.close()


# ... and those of the alert naming the PBX that each refusal raises (issue 47), checked apart.
REFUSAL_TABLES = ("alerts", "input_refusals", "audit_log")


def without_intake_tables(snap: dict) -> dict:
    return {**snap, "head": "", "tables": {k: v for k, v in snap["tables"].items()
                                           if k not in INTAKE_TABLES + REFUSAL_TABLES}}


def refusal_written(vault: Vault, before: dict) -> None:
    """The refusal is one input.refused alert naming the line's PBX, with its own audit
    entry, and nothing else in those tables changed."""
    after = snapshot(vault)["tables"]
    new_audit = [row for row in after["audit_log"] if row not in before["tables"]["audit_log"]]
    assert [row[3] for row in new_audit] == ["alert.input.refused"]
    assert len(after["alerts"]) == len(before["tables"]["alerts"]) + 1
    with vault.reading() as s:
        (alert,) = s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)).scalars()
    assert alert.message.startswith("Odrzucono dane od urządzenia „centrala linii centrala”: ")


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_item_is_skipped_counted_shown_and_disturbs_nothing(
        case: str, vault: Vault, tmp_path: Path) -> None:
    pbx = Pbx(tmp_path / "pbx")
    day_of_calls(pbx)
    add_line(vault, pbx)
    scan(vault, "centrala", sleep=no_sleep)
    outside = tmp_path / "elsewhere" / "secret.wav"
    outside.parent.mkdir()
    outside.write_bytes(b"RIFF\x24\x00\x00\x00WAVE" + b"\x00" * 32)
    before, stored_before = snapshot(vault), set(stored_calls(vault))
    make, expected = BAD[case]
    make(pbx, outside)

    report = scan(vault, "centrala", sleep=no_sleep)

    assert len(report.skipped) == 1 and expected in report.skipped[0], report.skipped
    assert report.stored == 0 and set(stored_calls(vault)) == stored_before
    assert without_intake_tables(snapshot(vault)) == without_intake_tables(before)
    refusal_written(vault, before)
    assert state_of(vault).skipped == 1
    with vault.reading() as s:
        status = phone_status(s, "centrala")
        messages = list(s.execute(select(PhoneProblem.message)).scalars())
    assert status.skipped == 1 and expected in " ".join(f"{i} {m}" for _, i, m in status.problems)
    assert len(messages) == 1
    assert outside.read_bytes().startswith(b"RIFF")  # a link's target is never touched
    # Counted once: the next pass does not report it again.
    again = scan(vault, "centrala", sleep=no_sleep)
    assert again.skipped == [] and state_of(vault).skipped == 1


def test_bad_items_do_not_hold_up_good_calls(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    calls = day_of_calls(pbx)
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF")
    for make, _ in BAD.values():
        make(pbx, outside)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert set(stored_calls(vault)) == {c.uniqueid for c in calls.values()}
    assert len(report.skipped) == len(BAD) == state_of(vault).skipped
    vault.close()


def test_changed_skipped_file_is_looked_at_again(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    call = PhoneCall("in", OFFICE_DID, "600100200", LATE, "1763659800.95")
    (pbx.spool / call.relpath).parent.mkdir(parents=True)
    (pbx.spool / call.relpath).write_bytes(b"")
    pbx.log(call, src="600100200", dst="201", clid="600100200")
    add_line(vault, pbx)
    assert len(scan(vault, "centrala", sleep=no_sleep).skipped) == 1
    pbx.record(call)  # the PBX wrote the audio after all
    assert scan(vault, "centrala", sleep=no_sleep).stored == 1
    assert set(stored_calls(vault)) == {call.uniqueid}
    vault.close()
