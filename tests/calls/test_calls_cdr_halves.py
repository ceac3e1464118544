"""A long new stretch of Master.csv read in two halves at once, the later one in the side
process ("phone-cdr", issue 68 item 5): the same records, the same bad lines at the same line
numbers and byte offsets, and the same offset to go on from as one reading by the intake's
thread — which reads it whole itself when the side process cannot help (R1.4's scope and the
pairing depend on every record being there)."""

from __future__ import annotations

import marshal
import os
import signal
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from calls_pbx import Pbx, PhoneCall, add_line, asterisk_line
from tests.conftest import make_vault

from kustosz import side_process
from kustosz.db.calls import PhoneIntakeState
from kustosz.index.sources import get_source
from kustosz.ingest.phone import records
from kustosz.ingest.phone.cdr import read_cdr
from kustosz.ingest.phone.cdr_rows import cdr_row, cdr_span, row_of
from kustosz.ingest.phone.dealt import ensure_state
from kustosz.ingest.phone.records import CdrRead, read_new_records
from kustosz.phones.settings import PhoneSettings
from kustosz.vault import Vault

CORPUS = Path(__file__).parents[1] / "corpus" / "cdr"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _write_master(pbx: Pbx) -> None:
    """Third parties' lines (the Asterisk test suite's Master.csv, good and buggy files,
    rsclib's doctest line) among the office's own calls with Polish and emoji caller names;
    a bad line in each half, a stray byte, CRLF, and a last line still being written."""
    corpus = b"".join((CORPUS / name).read_bytes() for name in (
        "asterisk-testsuite/Master.csv", "asterisk-testsuite/good.csv",
        "rsclib/ast_cdr_doctest.csv"))
    buggy = (CORPUS / "asterisk-testsuite/buggy.csv").read_bytes()
    base = datetime(2026, 11, 20, 8, 0)
    parts: list[bytes] = []
    for i in range(120):
        call = PhoneCall("in", "221234567", f"60010{i:04d}", base + timedelta(minutes=i),
                         f"1763625600.{i}", 2.0)
        parts.append(asterisk_line({
            "src": f"60010{i:04d}", "dst": "201", "dcontext": "from-trunk",
            "clid": f'"Józef Żółć 😀 {i}" <60010{i:04d}>', "channel": "PJSIP/trunk-1",
            "dstchannel": "PJSIP/201-2", "lastapp": "Dial", "lastdata": "PJSIP/201,30",
            "start": call.local_start, "answer": call.local_start,
            "end": call.local_start + timedelta(seconds=2), "duration": 2, "billsec": 2,
            "disposition": "ANSWERED", "amaflags": "DOCUMENTATION",
            "uniqueid": call.uniqueid, "userfield": call.name, "linkedid": call.uniqueid,
            "sequence": i}).encode())
        if i % 40 == 7:
            parts.append(corpus)
        if i in (15, 100):  # one in each half
            parts.append(buggy)
        if i == 60:
            parts.append(parts[-1].replace(b"\xc3\xb3", b"\xff", 1).replace(b"\n", b"\r\n"))
    parts.append(b'"","still being written')
    pbx.master.parent.mkdir(parents=True, exist_ok=True)
    pbx.master.write_bytes(b"".join(parts))


@pytest.fixture
def line(tmp_path: Path) -> Iterator[tuple[Vault, int, PhoneSettings]]:
    vault = make_vault(tmp_path / "vault", "walbrzych")
    pbx = Pbx(tmp_path / "pbx")
    _write_master(pbx)
    add_line(vault, pbx)
    with vault.reading() as s:
        source = get_source(s, "centrala")
    ensure_state(vault, source.id)
    yield vault, source.id, PhoneSettings.of(source.settings)
    vault.close()


def _read(line: tuple[Vault, int, PhoneSettings]) -> CdrRead:
    vault, source_id, cfg = line
    return read_new_records(vault, source_id, cfg, NOW)


def test_two_halves_read_as_one(line: tuple[Vault, int, PhoneSettings],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _read(line)
    assert whole.lines == 145 and len(whole.problems) == 2  # the buggy line in each half
    assert any("\ufffd" in r["record"]["caller_name"] for r in whole.rows)  # the stray byte
    monkeypatch.setattr(records, "SPLIT_BYTES", 2_000)
    sent: list[tuple[Any, ...]] = []
    submit = side_process.submit

    def spy(kind: str, *args: Any) -> Future[Any]:
        sent.append((kind, *args))
        return submit(kind, *args)

    monkeypatch.setattr(side_process, "submit", spy)
    halves = _read(line)
    assert [s[0] for s in sent] == ["phone-cdr"]
    assert 0 < sent[0][-1] < whole.new_offset  # the side process read the later half
    assert halves == whole
    assert any("Józef Żółć 😀" in r["record"]["caller_name"] for r in halves.rows[-50:])


def test_the_halves_lines_are_counted_from_the_files_top(
        line: tuple[Vault, int, PhoneSettings], monkeypatch: pytest.MonkeyPatch) -> None:
    """After a kept reading the next starts mid-file: the problems name the file's lines."""
    vault, source_id, _ = line
    with vault.transaction() as s:
        state = s.get_one(PhoneIntakeState, source_id)
        state.cdr_lines = 1000
    whole = _read(line)
    monkeypatch.setattr(records, "SPLIT_BYTES", 2_000)
    assert _read(line).problems == whole.problems
    assert [p.split(" (")[0] for p in whole.problems] == ["Master.csv line 1025",
                                                          "Master.csv line 1128"]


@pytest.mark.parametrize("trouble", ["cannot start", "fails", "killed", "too slow"])
def test_without_the_side_process_the_thread_reads_it_whole(
        line: tuple[Vault, int, PhoneSettings], monkeypatch: pytest.MonkeyPatch,
        trouble: str) -> None:
    whole = _read(line)
    monkeypatch.setattr(records, "SPLIT_BYTES", 2_000)
    submit = side_process.submit

    def failing(kind: str, *args: Any) -> Future[Any]:
        if trouble == "cannot start":
            raise OSError(12, "Cannot allocate memory")
        future: Future[Any] = Future()
        if trouble == "fails":
            future.set_exception(RuntimeError("the phone-cdr task failed: OSError"))
        elif trouble == "killed":
            side_process.start(kind)
            for pid in side_process.pids(kind):
                os.kill(pid, signal.SIGKILL)
            return submit(kind, *args)  # found gone, or fails with SideGone
        return future  # "too slow": never answers

    monkeypatch.setattr(side_process, "submit", failing)
    if trouble == "too slow":
        monkeypatch.setattr(records, "SIDE_SLACK_S", 0.05)
    assert _read(line) == whole


def test_the_side_processes_rows_are_the_threads(tmp_path: Path) -> None:
    """The values that cross by marshal make the very rows the thread makes."""
    pbx = Pbx(tmp_path / "pbx")
    _write_master(pbx)
    recs, errors, end = read_cdr(pbx.master)
    values, span_errors, span_end = cdr_span(str(pbx.master), "Europe/Warsaw", False, 0)
    assert [row_of(7, v, NOW) for v in marshal.loads(values)] == [
        cdr_row(7, r, NOW) for r in recs]
    assert span_end == end
    assert [(e.lineno, e.offset, str(e), e.pl) for e in span_errors] == [
        (e.lineno, e.offset, str(e), e.pl) for e in errors] != []
