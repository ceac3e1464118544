"""Issue 47: the call records and recording names real Asterisk-family exchanges write
(tests/corpus/cdr, see its README) through the real spool intake (`scan`). Master.csv lines are
the corpus's bytes; only the recording a test must create is named and timed for its line (the
WAV itself is the test's), which each test says. What Kustosz cannot read is an alert row
naming the line's PBX and the reason, and nothing of it is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from calls_pbx import Pbx, add_line, stored_calls, write_wav
from sqlalchemy import func, select
from tests.conftest import make_vault

from kustosz.db.calls import Call, PhoneCdrRecord
from kustosz.db.models import Alert, Recording
from kustosz.ingest.phone.intake import scan
from kustosz.states import AlertRow
from kustosz.vault import Vault

CORPUS = Path(__file__).parents[1] / "corpus" / "cdr"


def no_sleep(_: float) -> None:
    pass


@pytest.fixture
def pbx(tmp_path: Path) -> Pbx:
    return Pbx(tmp_path / "pbx")


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", "boleslawiec", backend_url)  # every call in scope
    yield v
    v.close()


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def refusals(vault: Vault) -> list[str]:
    """Each refusal alert's Polish message with its detail (the reader's words, kept apart
    from the Polish since issue 65)."""
    with vault.reading() as s:
        return [f"{message} ({detail})" if detail else message
                for message, detail in s.execute(select(Alert.message, Alert.detail).where(
                    Alert.kind == AlertRow.INPUT_REFUSED).order_by(Alert.id))]


def test_asterisk_loguniqueid_pairs_a_recording_named_by_its_uniqueid(vault: Vault,
                                                                     pbx: Pbx) -> None:
    """Asterisk's test suite's Master.csv (18 columns: loguniqueid, loguserfield), as written;
    the recording is named as `MixMonitor(${UNIQUEID}.wav)` names it (the name is the test's)."""
    pbx.master.write_bytes(corpus("asterisk-testsuite/good.csv"))
    write_wav(pbx.spool / "1231977075.0.wav", 2.0)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped, report.cdr_lines) == (1, [], 5)
    call, rec = stored_calls(vault)["1231977075.0"]
    assert (call.callee, call.disposition, call.no_cdr) == ("100", "ANSWERED", False)
    assert rec.meta["src"] == "test" and rec.meta["caller_name"] == "Test User"
    # No time in the name: the call starts at its uniqueid's epoch (1231977075), a moment
    # that needs no time zone.
    assert call.start_at.astimezone(UTC) == datetime(2009, 1, 14, 23, 51, 15, tzinfo=UTC)
    assert refusals(vault) == []


def test_asterisk_systemname_prefixed_uniqueid_pairs(vault: Vault, pbx: Pbx) -> None:
    """rsclib's Master.csv line of an Asterisk with `systemname` set (uniqueid
    `asterisk-1240499812.774`), as written; the recording named by that uniqueid (the test's)."""
    pbx.master.write_bytes(corpus("rsclib/ast_cdr_doctest.csv"))
    write_wav(pbx.spool / "asterisk-1240499812.774.wav", 2.0)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped) == (1, [])
    call, rec = stored_calls(vault)["asterisk-1240499812.774"]
    assert (call.callee, call.no_cdr, call.disposition) == ("11", False, "ANSWERED")
    assert rec.meta["channel"] == "lcr/439" and rec.meta["dstchannel"] == "IAX2/pbx-14597"


def test_freepbx_names_with_and_without_systemname_are_taken(vault: Vault, pbx: Pbx) -> None:
    """The two FreePBX names of a real monitor/2024/11/17 listing, one as written and one with
    a `systemname` ("pbx1") in its uniqueid, as FreePBX's ${UNIQUEID} then carries it (that
    name is adapted, the test's). No call record: each is taken after the wait from its name
    alone, and that is an alert naming the PBX and the file."""
    real, second = corpus("freepbx/monitor-2024-11-17.txt").decode().split()
    named = second.replace("-1731862119.0.", "-pbx1-1731862119.0.")
    for name in (real, named):
        write_wav(pbx.spool / "2024" / "11" / "17" / name, 2.0)
    add_line(vault, pbx, no_cdr_wait_s=0)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped) == (2, [])
    kept = stored_calls(vault)
    assert set(kept) == {"1731861697.2", "pbx1-1731862119.0"}
    for call, _ in kept.values():
        assert (call.caller, call.callee, call.direction, call.no_cdr) == (
            "1101", "1100", "internal", True)
    alerts = refusals(vault)
    assert len(alerts) == 1  # folded per PBX
    assert "centrala linii centrala" in alerts[0] and "rekordu połączenia" in alerts[0]
    assert alerts[0].startswith("Przyjęto niepełne dane od urządzenia")  # taken, not refused
    assert "z katalogu 2024/11/17" in alerts[0] and "2 razy" in alerts[0]
    assert "1101" not in alerts[0]  # the numbers stay with the call, out of the dashboard


def _default_form(line: bytes) -> bytes:
    """What cdr_csv writes for the same call without loguniqueid and loguserfield: the first
    sixteen columns (asterisk/asterisk cdr/cdr_csv.c) — the corpus has no verbatim 16-column
    Master.csv with a provenance (see its README)."""
    fields = line.rstrip(b"\n").split(b",")
    return b",".join(fields[:16]) + b"\n"


def test_default_sixteen_columns_pair_by_time_and_number(vault: Vault, pbx: Pbx) -> None:
    """Asterisk's default Master.csv has no uniqueid: a FreePBX-named recording pairs with the
    line whose start, end and number fit its name. Two calls to the same number six minutes
    apart each get their own line. The names are made from each line's dst, src and start (the
    test's); the lines are the test suite's Master.csv cut to the default sixteen columns."""
    lines = corpus("asterisk-testsuite/Master.csv").splitlines(keepends=True)
    pbx.master.write_bytes(b"".join(_default_form(line) for line in lines))
    names = {"1270167992.0": "in-1-unknown-20100402-002632-1270167992.0.wav",
             "1270168442.0": "in-1-unknown-20100402-003402-1270168442.0.wav"}
    for name in names.values():
        write_wav(pbx.spool / "2010" / "04" / "02" / name, 2.0)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped, report.cdr_lines) == (2, [], 2)
    kept = stored_calls(vault)
    assert set(kept) == set(names)
    for uid, local_start in (("1270167992.0", "2010-04-02 00:26:32"),
                             ("1270168442.0", "2010-04-02 00:34:02")):
        call, rec = kept[uid]
        assert (call.no_cdr, call.disposition, call.callee) == (False, "ANSWERED", "1")
        assert rec.meta["channel"] == "Console/dsp"
        assert datetime.fromisoformat(rec.meta["start"]) == datetime.fromisoformat(
            local_start).replace(tzinfo=vault.policy.timezone)
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(PhoneCdrRecord)).scalar_one() == 0
    assert refusals(vault) == []


def test_unreadable_lines_are_alerts_and_nothing_of_them_is_written(vault: Vault,
                                                                  pbx: Pbx) -> None:
    """The test suite's buggy.csv (a line cut inside its last quoted field), as written, and a
    line of two columns (the test's hostile neighbour), then a good line: the bad two are
    refused by line number with an alert naming the PBX; the good one is still read."""
    good = corpus("asterisk-testsuite/good.csv").splitlines(keepends=True)[0]
    pbx.master.write_bytes(corpus("asterisk-testsuite/buggy.csv") + b'"","short"\n' + good)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert report.cdr_lines == 1 and len(report.skipped) == 2
    assert "Master.csv line 1" in report.skipped[0] and "quoting" in report.skipped[0]
    assert "Master.csv line 2" in report.skipped[1] and "got 2" in report.skipped[1]
    alerts = refusals(vault)
    assert len(alerts) == 1  # both folded into the PBX's row, with their count
    assert alerts[0].startswith("Odrzucono dane od urządzenia „centrala linii centrala”: ")
    assert "Master.csv" in alerts[0] and "wiersza 2" in alerts[0] and "2 razy" in alerts[0]
    with vault.reading() as s:
        rows = [r.record["disposition"] for r in s.execute(select(PhoneCdrRecord)).scalars()]
        assert rows == ["ANSWERED"]  # only the good line
        assert s.execute(select(func.count()).select_from(Call)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
    # Read once: a second pass refuses nothing again.
    assert scan(vault, "centrala", sleep=no_sleep).skipped == []
    assert len(refusals(vault)) == 1


def test_default_form_pairs_nothing_whose_time_or_numbers_do_not_fit(vault: Vault,
                                                                    pbx: Pbx) -> None:
    """The same 16-column lines; a recording of another number at the first call's time, and
    one of the right number an hour later, are not paired with them (the names are the test's).
    Both are taken after the wait from their names alone, with the alert."""
    lines = corpus("asterisk-testsuite/Master.csv").splitlines(keepends=True)
    pbx.master.write_bytes(b"".join(_default_form(line) for line in lines))
    for name in ("in-2-unknown-20100402-002632-1270167992.5.wav",
                 "in-1-unknown-20100402-012632-1270171592.0.wav"):
        write_wav(pbx.spool / "2010" / "04" / "02" / name, 2.0)
    add_line(vault, pbx, no_cdr_wait_s=0)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert report.stored == 2
    assert all(call.no_cdr for call, _ in stored_calls(vault).values())
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(PhoneCdrRecord)).scalar_one() == 2
    assert len(refusals(vault)) == 1


def test_issabel_name_with_a_masked_number_is_taken_from_its_name(vault: Vault,
                                                                  pbx: Pbx) -> None:
    """The Issabel name quoted on a documentation page, as written (its number partly masked
    by the page's author), filed under its day; no call record, so after the wait it is taken
    with what the name tells, the masked number kept as written, and the alert raised."""
    name = corpus("issabel/recording-name.txt").decode().strip()
    write_wav(pbx.spool / "2025" / "03" / "27" / name, 2.0)
    add_line(vault, pbx, no_cdr_wait_s=0)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped) == (1, [])
    call, rec = stored_calls(vault)["1743042317.12206"]
    # kept as written, searched by its digits (issue 64 item 9)
    assert (call.callee, call.callee_written, call.no_cdr) == ("08218663", "0821XXXX8663", True)
    assert (rec.meta["type"], rec.meta["callee_raw"], rec.meta["caller_raw"]) == (
        "force", "0821XXXX8663", "3201")
    assert len(refusals(vault)) == 1


def test_a_file_of_any_name_is_taken_when_its_call_record_names_it(vault: Vault,
                                                                   pbx: Pbx) -> None:
    """A plain Asterisk whose dialplan names recordings its own way and logs the name with
    `Set(CDR(userfield)=${MIXMONITOR_FILENAME})`: the test suite's first good.csv line with
    its (empty) userfield set to such a name (the adaptation is the test's). The record gives
    the call's facts; a file of another unknown name, named by no record, is skipped after the
    wait with the alert."""
    line = corpus("asterisk-testsuite/good.csv").splitlines(keepends=True)[0]
    path = b"/var/spool/asterisk/monitor/20090114-235115-test-100.wav"
    assert line.endswith(b',""\n')
    pbx.master.write_bytes(line[:-4] + b',"' + path + b'"\n')
    write_wav(pbx.spool / "20090114-235115-test-100.wav", 2.0)
    write_wav(pbx.spool / "20090114-235116-test-101.wav", 2.0)
    add_line(vault, pbx, no_cdr_wait_s=0)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert report.stored == 1 and len(report.skipped) == 1
    assert "20090114-235116-test-101.wav" in report.skipped[0]
    assert "no line of Master.csv names the file" in report.skipped[0]
    call, rec = stored_calls(vault)["1231977075.0"]
    assert (call.callee, call.disposition, call.no_cdr) == ("100", "ANSWERED", False)
    assert rec.meta["file"] == "20090114-235115-test-100.wav"
    assert call.start_at == datetime(2009, 1, 14, 23, 51, 15, tzinfo=vault.policy.timezone)
    (alert,) = refusals(vault)
    assert "pominięto plik" in alert and "<file>" in alert and "test-101" not in alert


def test_a_whole_file_of_unreadable_lines_is_a_few_alerts(vault: Vault, pbx: Pbx) -> None:
    """A Master.csv in a layout Kustosz does not read (the test's: 300 lines of two columns):
    every line is in `phones status`, the alert row counts the first lines one by one and the
    rest in one refusal."""
    pbx.master.write_bytes(b'"","short"\n' * 300)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert len(report.skipped) == 300
    (alert,) = refusals(vault)
    assert "kolejnych 280 wierszy" in alert and "21 razy" in alert


def test_iopsys_router_lines_pair_and_keep_the_unanswered(vault: Vault, pbx: Pbx) -> None:
    """Four Master.csv lines of an iopsys home gateway's Asterisk (TELCHAN phone ports, a SIP
    account as the line), as bbfdm's TR-104 reader quotes them: 18 columns, a busy call whose
    unset answer is written as nothing at all (`,,`), and an incoming call whose caller ID has
    an empty name (written `"" <7001>` with its quotes doubled). Two recordings named by their
    uniqueids, as `MixMonitor(${UNIQUEID}.wav)` names them (the names are the test's), pair
    with their lines; the other two lines are kept as records of calls without a recording."""
    pbx.master.write_bytes(corpus("iopsys/bbfdm-tr104-call-log.csv"))
    for uid in ("1598519380.114", "1598518936.86"):
        write_wav(pbx.spool / f"{uid}.wav", 2.0)
    add_line(vault, pbx)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped, report.cdr_lines) == (2, [], 4)
    kept = stored_calls(vault)
    incoming, rec = kept["1598519380.114"]
    assert (incoming.callee, incoming.disposition, incoming.no_cdr) == ("8001", "ANSWERED", False)
    assert (rec.meta["src"], rec.meta["caller_name"]) == ("7001", "")
    assert rec.meta["channel"] == "SIP/sip0-00000015" and rec.meta["dstchannel"] == "TELCHAN/5/25"
    assert incoming.start_at == datetime(2020, 8, 27, 11, 9, 40, tzinfo=vault.policy.timezone)
    internal, _ = kept["1598518936.86"]
    assert (internal.callee, internal.disposition) == ("8002", "ANSWERED")
    with vault.reading() as s:
        rows = {r.record["disposition"]: r.record for r in s.execute(
            select(PhoneCdrRecord)).scalars()}
    assert set(rows) == {"BUSY", "ANSWERED"}
    assert rows["BUSY"]["answer"] in (None, "")
    assert refusals(vault) == []
