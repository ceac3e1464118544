"""Input Kustosz refuses is an alert naming the device and the reason (issue 47 item 5),
folded per device: one row an hour however often the device repeats itself, its count said
in the row and kept for /metrics; outside text cannot break the alert's line; a database
away never turns a refusal into a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kustosz.db.models import Alert, InputRefusal, Source
from kustosz.index.sources import add_source
from kustosz.ingest.refusals import counts, refused
from kustosz.states import AlertRow
from kustosz.vault import Vault

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)
                              .order_by(Alert.id)).scalars())


def test_one_row_per_device_and_hour_with_its_count(vault: Vault) -> None:
    """SQLite and PostgreSQL: 500 refusals in an hour are one alert row saying 500 times;
    the next hour opens a row of its own; another device has its own row."""
    for i in range(500):
        refused(vault, device="SBC 198.51.100.9:5060",
                reason_pl="treść zaproszenia INVITE nie jest poprawnym multipart/mixed",
                detail=f"no boundary #{i}", now=T0 + timedelta(seconds=i))
    [row] = _alerts(vault)
    assert row.message.startswith("Odrzucono dane od urządzenia „SBC 198.51.100.9:5060”: "
                                  "treść zaproszenia INVITE")
    assert "(no boundary #499)" in row.message
    assert "Powtórzyło się 500 razy od 2026-11-26 10:00" in row.message  # Warsaw time
    refused(vault, device="SBC 198.51.100.9:5060", reason_pl="znowu", now=T0 + timedelta(hours=2))
    refused(vault, device="kamera 192.0.2.7", reason_pl="odpowiedź nie jest XML",
            now=T0 + timedelta(hours=2))
    rows = _alerts(vault)
    assert len(rows) == 3
    assert "Powtórzyło" not in rows[1].message and rows[1].raised_at == T0 + timedelta(hours=2)
    with vault.reading() as s:
        assert counts(s) == {None: 502}
        sbc = s.execute(select(InputRefusal).where(
            InputRefusal.device == "SBC 198.51.100.9:5060")).scalar_one()
        assert (sbc.count, sbc.alert_count, sbc.last_reason) == (501, 1, "znowu")


def test_a_source_is_named_on_the_alert_row(vault: Vault) -> None:
    with vault.transaction() as s:
        line = add_source(s, vault.policy, "sekretariat", "camera", "test")
        line_id = line.id
    refused(vault, device="centrala linii sekretariat", source="sekretariat",
            reason_pl="wiersz CDR ma 9 kolumn zamiast 16", now=T0)
    refused(vault, device="centrala linii sekretariat", source="no-such-source",
            reason_pl="x", now=T0 + timedelta(minutes=1))  # an unknown name keeps the known one
    [row] = _alerts(vault)
    assert row.source_id == line_id
    with vault.reading() as s:
        assert counts(s) == {line_id: 2}
        assert s.get(Source, line_id) is not None


def test_outside_text_cannot_break_the_line(sqlite_vault: Vault) -> None:
    """A device's CR/LF, escape codes and a megabyte of detail: one line, cut."""
    refused(sqlite_vault, device="SBC\r\nX-Injected: 1\x1b[31m", reason_pl="powód",
            detail="A" * 1_000_000 + "\nB", now=T0)
    [row] = _alerts(sqlite_vault)
    assert "\n" not in row.message and "\r" not in row.message and "\x1b" not in row.message
    assert len(row.message) < 700


def test_a_database_away_is_swallowed(sqlite_vault: Vault,
                                      monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    def away() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(sqlite_vault, "transaction", away)
    refused(sqlite_vault, device="SBC 203.0.113.1", reason_pl="powód", now=T0)  # no raise
    assert "refused input from SBC 203.0.113.1: powód" in caplog.text
    assert "not recorded" in caplog.text
