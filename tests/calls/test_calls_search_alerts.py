"""Search on both databases, and the fail-open alerts (R1.5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, day_of_calls
from sqlalchemy import select
from tests.conftest import make_vault

from kustosz.db.models import Alert
from kustosz.index.calls import search_calls, window
from kustosz.index.sources import get_source
from kustosz.ingest.phone.alerts import check_alerts
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    yield v
    v.close()


def test_search_by_any_writing_date_and_hour(vault: Vault, tmp_path: Path) -> None:
    pbx = Pbx(tmp_path / "pbx")
    calls = day_of_calls(pbx)
    add_line(vault, pbx)
    scan(vault, "centrala", sleep=lambda _: None)
    tz = vault.policy.timezone
    day = date(2026, 11, 20)
    with vault.reading() as s:
        for writing in ("600 100 200", "+48600100200", "0600100200", "48 600 100 200"):
            hits = search_calls(s, writing, None, *window(day, tz, hour=14))
            assert [h.caller for h in hits] == ["+48600100200"], writing
        # The outgoing call, by the number dialled, written with the trunk prefix.
        out = search_calls(s, "0048 22 123 45 67", None, *window(day, tz))
        assert [h.direction for h in out] == ["outgoing"]
        # An extension finds every call it took part in that day.
        ext = search_calls(s, "201", None, *window(day, tz))
        assert len(ext) == 4
        # Caller and callee together, around a time.
        both = search_calls(s, "201", "202", *window(day, tz, around=time(14, 45), minutes=5))
        assert [h.direction for h in both] == ["internal"]
        assert search_calls(s, "201", "202", *window(day, tz, around=time(15, 0),
                                                     minutes=5)) == []
    assert calls["internal"].uniqueid


def open_alerts(vault: Vault) -> dict[str, str]:
    with vault.reading() as s:
        return {a.kind: a.message for a in s.execute(
            select(Alert).where(Alert.cleared_at.is_(None))).scalars()}


def test_silent_spool_in_working_hours_raises_and_clears(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    add_line(vault, pbx)
    # Friday 20 November 2026, 11:00 in Warsaw; nothing recorded all morning.
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    created = friday - timedelta(hours=5)
    with vault.transaction() as s:
        get_source(s, "centrala").created_at = created
    assert check_alerts(vault, "centrala", now=friday) == ["phone.silent"]
    assert "godziny pracy" in open_alerts(vault)["phone.silent"]
    # Saturday: nobody works, no alert is raised; the open one clears once calls come in.
    assert check_alerts(vault, "centrala", now=friday + timedelta(days=1)) == []
    assert open_alerts(vault) == {}
    call = PhoneCall("in", OFFICE_DID, "600100200", datetime(2026, 11, 20, 11, 0), "1.1")
    pbx.record(call)
    pbx.log(call, src="600100200", dst="201", clid="600100200")
    scan(vault, "centrala", sleep=lambda _: None)
    # Friday noon, in working hours, the 11:00 call taken in: not silent. (The machine's own
    # now read silence since that Friday on any later working day's office hours.)
    assert check_alerts(vault, "centrala", now=friday + timedelta(hours=1)) == []
    vault.close()


def test_spool_growing_without_intake_raises_backlog(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    day_of_calls(pbx)
    add_line(vault, pbx)
    later = datetime.now(UTC) + timedelta(hours=1)  # an hour with no intake running
    kinds = check_alerts(vault, "centrala", now=later)
    assert "phone.backlog" in kinds
    text = open_alerts(vault)["phone.backlog"]
    assert "5 nagrań czeka w katalogu centrali" in text and "nie zostało przyjętych" in text
    scan(vault, "centrala", sleep=lambda _: None)
    assert "phone.backlog" not in check_alerts(vault, "centrala", now=later)
    vault.close()
