"""One phone intake pass is an object that returns what it did (issue 15 item 5): its report
counts what this pass took, left out, skipped (bad call-record lines first, then files) and
left waiting, agrees with what the index noted, and a second pass reports only its own work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from calls_pbx import Pbx, add_line, day_of_calls, state_of
from tests.conftest import make_vault

from kustosz.ingest.phone.intake import IntakePass, load, scan
from kustosz.ingest.phone.report import ScanReport
from kustosz.vault import Vault


def no_sleep(_: float) -> None:
    pass


@pytest.fixture
def walbrzych(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault", "walbrzych", backend_url)
    yield vault
    vault.close()


def test_a_pass_reports_its_own_work(walbrzych: Vault, tmp_path: Path) -> None:
    pbx = Pbx(tmp_path / "pbx")
    day_of_calls(pbx)
    with pbx.master.open("a", encoding="utf-8") as f:
        f.write('"broken,line\n')
    (pbx.spool / "2026/11/20/nagranie rozmowy.wav").write_bytes(b"RIFF")
    add_line(walbrzych, pbx)
    source, cfg = load(walbrzych, "centrala")
    one = IntakePass(walbrzych, source, cfg, datetime.now(UTC))

    report = one.run(None, no_sleep, None)

    assert isinstance(report, ScanReport) and report == one.report()
    assert (report.stored, report.out_of_scope, report.waiting) == (3, 2, 0)
    assert report.cdr_lines == 6  # six good lines; the broken one is skipped
    assert len(report.skipped) == 2
    assert report.skipped[0].startswith("Master.csv line 7")
    assert "nagranie rozmowy.wav" in report.skipped[1]
    state = state_of(walbrzych)
    assert (state.stored, state.out_of_scope, state.skipped) == (3, 2, 2)
    # The report is a copy: changing it changes nothing the pass holds.
    report.skipped.clear()
    assert len(one.report().skipped) == 2

    again = scan(walbrzych, "centrala", sleep=no_sleep)
    assert again == ScanReport("centrala")  # nothing new: nothing taken, nothing skipped
