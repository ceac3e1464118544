"""Issue 65 item 4: the demo has a month of history, and last month's accountability report is
on its shelf at first open. `kustosz demo` sets its office up on the 1st of last month and
lives that month through with the product's own functions on a clock set back
(kustosz.cli.demo_past): recordings, a police request decided, copied and handed over, a
playback for it, a camera outage, the sweep after each expiry — so the report has something in
it, no departures the demo made up, and the audit log's times rise with its entries. The past
is lived on fixed "todays" too (a 1st just after midnight, 31 March after a leap February, New
Year's Day, after summer time ended), not only on the day the suite runs."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kustosz.cli import demo as demo_cli
from kustosz.cli import demo_past
from kustosz.db.models import AuditEntry
from kustosz.keys import office_key
from kustosz.report import build, store, verify
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.web.web_helpers import client, session_for

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _last_month(now: datetime) -> str:
    first = now.astimezone(WARSAW).date().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def _times_rise(vault: Vault) -> list[tuple[int, datetime, str]]:
    with vault.reading() as s:
        rows = [(e.seq, e.at, e.action) for e in s.execute(
            select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    ats = [at for _seq, at, _a in rows]
    assert ats == sorted(ats), "the audit log's times go back somewhere"
    return rows


def _lived_report(vault: Vault, label: str) -> dict[str, Any]:
    """The month's report as the demo left it: made, signed, verifying, with its story."""
    made = store.one(vault, label)
    assert made is not None and made.verified and made.audit_verified, label
    assert verify.verify(made.folder, office_key(vault.root).public_key()).ok
    report: dict[str, Any] = json.loads((made.folder / build.REPORT_FILE).read_text("utf-8"))
    assert report["findings"] == [], report["findings"]  # the demo plants no departure
    assert report["recorded"]["by_kind"]["camera"]["items"] >= 2 * 14
    assert report["requests"]["received"] == 1 and report["requests"]["decided_in_time"] == 1
    assert len(report["copies"]["made"]) == len(report["copies"]["handed_over"]) == 1
    assert report["access"]["sessions"] == 1 and report["access"]["with_witness"] == 1
    assert report["alerts"]["raised"] == 1
    [held] = report["holds"]["open_at_end"]
    assert held["case_ref"] == "RSD-118/26"
    return report


def test_the_demo_opens_with_last_months_report(here: Path) -> None:
    before = datetime.now(UTC)
    out = Cli(Path("demo-data"))("demo", "--no-serve").output
    after = datetime.now(UTC)
    said = " ".join(out.split())
    assert "last month's accountability report" in said
    assert "WARNING" not in said, "the past's alerts are not news on today's console"
    vault = Vault.open(Path("demo-data"))
    try:
        labels = {m.label for m in store.made(vault)}
        [label] = labels & {_last_month(before), _last_month(after)}
        assert labels == {label}, labels
        _lived_report(vault, label)
        rows = _times_rise(vault)
        assert rows[0][2] == "vault.init"
        assert any(timedelta(0) <= rows[0][1].replace(tzinfo=UTC) - demo_past.began(t, WARSAW)
                   < timedelta(minutes=1) for t in (before, after))  # the clock ticks on
        made_at = [at for _s, at, action in rows if action == "report.made"]
        assert len(made_at) == 1 and made_at[0].replace(tzinfo=UTC) >= before
        # the reports' page: the report listed, the next one announced, nothing contradicting
        c = client(vault)
        session_for(vault, c, "iod")
        page = c.get("/reports")
        text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
        assert page.status_code == 200 and f'href="/reports/{label}.pdf"' in page.text
        assert "Następne sprawozdanie powstanie" in text and "Pierwsze" not in text
        assert "jeszcze nie powstało" not in text and "zweryfikowane" in text
        assert c.get(f"/reports/{label}.pdf").content.startswith(b"%PDF")
    finally:
        vault.close()


@pytest.fixture
def clip() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield demo_cli._sample_clip(Path(tmp))


@pytest.mark.parametrize("today", [
    datetime(2025, 3, 1, 0, 30, tzinfo=WARSAW),  # the 1st just after midnight; February before
    datetime(2024, 3, 31, 12, 0, tzinfo=WARSAW),  # 31 March, after a leap February
    datetime(2026, 1, 1, 0, 20, tzinfo=WARSAW),  # New Year's Day
    datetime(2025, 11, 30, 23, 50, tzinfo=WARSAW),  # a Sunday; October's summer time ended
], ids=lambda d: d.isoformat())
def test_the_demo_past_on_any_day(tmp_path: Path, clip: Path, today: datetime) -> None:
    now = today.astimezone(UTC)
    vault, password = demo_past.live(lambda: demo_cli._set_up(tmp_path / "demo", "pleszew"),
                                     clip, now, WARSAW)
    try:
        assert password
        assert datetime.now(UTC).year >= 2026, "the clock is the real one again"
        rows = _times_rise(vault)
        set_up = rows[0][1].replace(tzinfo=UTC) - demo_past.began(now, WARSAW)
        assert timedelta(0) <= set_up < timedelta(minutes=1)
        assert rows[-1][1].replace(tzinfo=UTC) < now, "the past ends before its today"
        label = _last_month(now)
        assert demo_past.last_months_report(vault, now) == store.folder_of(vault, label)
        report = _lived_report(vault, label)
        assert report["period"]["label"] == label
    finally:
        vault.close()


def test_travel_moves_kustosz_clocks_forward_only_and_gives_them_back() -> None:
    from kustosz.audit import log

    start = datetime(2025, 2, 1, 7, tzinfo=UTC)
    with demo_past.Travel(start) as clock:
        assert abs(log.datetime.now(UTC) - start) < timedelta(seconds=5)
        assert isinstance(datetime.now(UTC), log.datetime)  # still "datetime" to isinstance
        clock.to(start + timedelta(days=3))
        assert log.datetime.now(UTC) >= start + timedelta(days=3)
        with pytest.raises(ValueError, match="runs forward"):
            clock.to(start)
        assert log.datetime.now().tzinfo is None  # naive local, as datetime.now() gives
    assert log.datetime is datetime
    assert abs(log.datetime.now(UTC) - datetime.now(UTC)) < timedelta(seconds=5)
