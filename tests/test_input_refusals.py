"""Input Kustosz refuses is an alert naming the device and the reason (issue 47 item 5),
folded per device: one row an hour however often the device repeats itself, its count said
in the row and kept for /metrics; outside text cannot break the alert's line; a database
away never turns a refusal into a crash. From addresses anyone can forge, folded by the class
of sender and the reason, however many addresses (issue 64 item 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kustosz.db.models import Alert, AuditEntry, InputRefusal, Source
from kustosz.index.sources import add_source
from kustosz.ingest.refusals import counts, flush, refused
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
    # the device's own words (English, as its log says them) kept apart from the Polish
    # sentence, and worded in English beside it (issue 65)
    assert "no boundary" not in row.message and row.detail == "no boundary #499"
    assert row.message_en is not None and row.message_en.startswith(
        "Data from the device \"SBC 198.51.100.9:5060\" refused: no boundary #499.")
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
    assert row.detail is not None and "\n" not in row.detail and len(row.detail) < 700


def test_a_database_away_is_swallowed(sqlite_vault: Vault,
                                      monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    def away() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(sqlite_vault, "transaction", away)
    refused(sqlite_vault, device="SBC 203.0.113.1", reason_pl="powód", now=T0)  # no raise
    assert "refused input from SBC 203.0.113.1: powód" in caplog.text
    assert "not recorded" in caplog.text


FORGED = "nadawca SIP spoza list linii SIPREC"


def _actions(vault: Vault, like: str) -> list[AuditEntry]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action.like(like))
                              .order_by(AuditEntry.seq)).scalars())


def test_forged_addresses_fold_by_class_and_reason_and_their_hour_ends_in_one_entry(
        vault: Vault) -> None:
    """Issue 64 item 4, SQLite and PostgreSQL: 300 addresses for two reasons and a known
    device are three rows, three alert rows and three audit entries, not 301; the hour's end
    is one audit entry per row saying how many from how many addresses; the next refusal
    after it opens the next hour's row. Outside text keeps its Polish letters and emoji."""
    for n in range(300):
        refused(vault, device=FORGED, address=f"192.0.2.{n % 250}" if n < 250 else
                f"2001:db8::{n}", reason_pl="adres nie należy do żadnej linii SIPREC",
                detail=f"INVITE od „Józef Żółć 🔑” #{n}", now=T0 + timedelta(seconds=n))
        refused(vault, device=FORGED, address="198.51.100.7", reason_pl="nieczytelna wiadomość",
                now=T0 + timedelta(seconds=n))
    refused(vault, device="kamera hol", reason_pl="odpowiedź nie jest XML", now=T0)
    flush(vault, now=T0 + timedelta(minutes=10))
    with vault.reading() as s:
        rows = {(r.device, r.reason): r for r in s.execute(select(InputRefusal)).scalars()}
    assert set(rows) == {(FORGED, "adres nie należy do żadnej linii SIPREC"),
                         (FORGED, "nieczytelna wiadomość"), ("kamera hol", "")}
    many = rows[FORGED, "adres nie należy do żadnej linii SIPREC"]
    assert (many.count, many.addresses, many.last_address) == (300, 300, "2001:db8::299")
    assert many.sample == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
    one = rows[FORGED, "nieczytelna wiadomość"]
    assert (one.count, one.addresses, one.sample) == (300, 1, ["198.51.100.7"])
    texts = {a.message.split(":", 1)[0]: a.message for a in _alerts(vault)}
    assert len(texts) == 3
    text = texts[f"Odrzucono dane z 300 adresów ({FORGED})"]
    assert "INVITE od" not in text and "Powtórzyło się 300 razy" in text
    [forged] = [a for a in _alerts(vault) if a.message.startswith("Odrzucono dane z 300")]
    assert forged.detail == "INVITE od „Józef Żółć 🔑” #299"
    assert "Adresy, m.in.: 192.0.2.0, 192.0.2.1, 192.0.2.2; ostatni: 2001:db8::299." in text
    assert f"Odrzucono dane z adresu 198.51.100.7 ({FORGED})" in texts
    assert len(_actions(vault, "alert.input.refused")) == 3
    flush(vault, now=T0 + timedelta(minutes=59))  # the hour has not ended
    assert _actions(vault, "alert.input.refused.folded") == []
    flush(vault, now=T0 + timedelta(hours=1))
    ended = {d["reason"]: d for d in (json.loads(e.details)
                                      for e in _actions(vault, "alert.input.refused.folded"))}
    assert set(ended) == {"adres nie należy do żadnej linii SIPREC", "nieczytelna wiadomość"}
    assert ended["adres nie należy do żadnej linii SIPREC"]["times"] == 300
    assert ended["adres nie należy do żadnej linii SIPREC"]["addresses"] == 300
    assert ended["nieczytelna wiadomość"]["addresses"] == 1
    flush(vault, now=T0 + timedelta(hours=2))  # closed once
    assert len(_actions(vault, "alert.input.refused.folded")) == 2
    refused(vault, device=FORGED, address="192.0.2.9", now=T0 + timedelta(hours=2),
            reason_pl="adres nie należy do żadnej linii SIPREC")
    flush(vault, now=T0 + timedelta(hours=2))
    assert len(_alerts(vault)) == 4
    assert _alerts(vault)[-1].message.startswith(f"Odrzucono dane z adresu 192.0.2.9 ({FORGED})")
