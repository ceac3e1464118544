"""/metrics tells nothing of when a phone line is used (issue 64, N6): issue 48 item 11 made
the calls recorded now one number for all lines, but each line's newest call's age
(`kustosz_source_last_segment_age_seconds`), its bytes stored (`kustosz_source_bytes`) and
its counts of calls stored and out of scope (`kustosz_intake_items_total{counter="stored"}`)
still moved, scrape by scrape, when someone on that line hung up. They are now one number
for all lines; each line keeps only whether it delivers, its gaps and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from test_web_metrics import scrape, source_id
from tests.custody.custody_helpers import call, setup_camera, setup_phone
from web_helpers import client

from kustosz.db.calls import PhoneIntakeState
from kustosz.ingest.phone.dealt import ensure_state
from kustosz.ingest.refusals import refused
from kustosz.vault import Vault

PER_CALL = ("kustosz_source_last_segment_age_seconds", "kustosz_source_bytes")


def _line_values(m: dict[str, dict[tuple, float]], name: str) -> dict[tuple, float]:
    return {labels: v for labels, v in m.get(name, {}).items() if ("kind", "phone") in labels}


def test_no_line_tells_when_it_was_last_used(sqlite_web_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_web_vault
    setup_phone(vault, tmp_path / "a", "sekretariat")
    setup_phone(vault, tmp_path / "b", "gabinet")
    now = datetime.now(UTC)
    first = call(vault, tmp_path / "a", now - timedelta(minutes=30), "+48581112233",
                 source="sekretariat")
    second = call(vault, tmp_path / "b", now - timedelta(minutes=2), "+48581112244",
                  source="gabinet", seconds=2.0)
    for name, stored in (("sekretariat", 4), ("gabinet", 7)):
        line = source_id(vault, name)
        ensure_state(vault, line)
        with vault.transaction() as s:
            s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == line)
                      .values(stored=stored, out_of_scope=1))
    refused(vault, device="centrala 192.0.2.9", source="gabinet", reason_pl="plik nieczytelny")
    setup_camera(vault, "hol")
    m = scrape(client(vault))
    for name in PER_CALL:
        assert _line_values(m, name) == {}, f"{name} per line"
    counters = _line_values(m, "kustosz_intake_items_total")
    assert {dict(k)["counter"] for k in counters} == {"input_refused", "skipped"}  # files
    # what the office's monitoring needs stays: each line delivers or not, and its refusals
    assert len(_line_values(m, "kustosz_source_up")) == 2
    assert counters[(("counter", "input_refused"), ("kind", "phone"),
                     ("source", f"phone-{source_id(vault, 'gabinet')}"))] == 1
    # and all lines together, one number each
    assert 100 <= m["kustosz_phone_last_call_age_seconds"][()] < 300  # the newest, any line
    assert m["kustosz_phone_bytes"][()] == first.size + second.size
    assert m["kustosz_phone_calls_total"] == {(("outcome", "stored"),): 11.0,
                                              (("outcome", "out_of_scope"),): 2.0}
    # a camera keeps its own
    assert any(("kind", "camera") in k for k in m["kustosz_source_bytes"])
