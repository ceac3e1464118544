"""A generic PBX (neither FreePBX names nor Master.csv): each recording has a JSON sidecar as
docs/phone-sidecar.md describes, and goes through the same intake end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from calls_pbx import OFFICE_DID, WARSAW, Pbx, add_line, state_of, write_wav
from tests.conftest import make_vault

from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.index.calls import search_calls, window
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

DAY = date(2026, 11, 20)


def generic_call(pbx: Pbx, name: str, sidecar: dict[str, object], pitch: float) -> bytes:
    """An exchange that names files its own way and writes `<file>.json` beside each."""
    audio = pbx.spool / "nagrania" / "2026-11-20" / name
    data = write_wav(audio, 0.5, pitch)
    audio.with_name(audio.name + ".json").write_text(json.dumps(sidecar), encoding="utf-8")
    return data


def generic_day(pbx: Pbx) -> dict[str, bytes]:
    return {
        # Incoming, direction given, numbers in everyday writing.
        "slican-0001": generic_call(pbx, "rozmowa-0001.wav", {
            "call_id": "slican-0001", "start": "2026-11-20T09:15:00+01:00",
            "end": "2026-11-20T09:15:40+01:00", "direction": "incoming",
            "caller": "600 100 200", "callee": f"+48 {OFFICE_DID}", "extension": "201",
            "exported_by": "an extra column, ignored"}, 300.0),
        # Outgoing, direction left out: worked out from the office's numbers.
        "slican-0002": generic_call(pbx, "rozmowa-0002.wav", {
            "call_id": "slican-0002", "start": "2026-11-20T10:02:11Z",
            "caller": "201", "callee": "0048 601 200 300"}, 400.0),
        # Internal.
        "slican-0003": generic_call(pbx, "rozmowa-0003.wav", {
            "call_id": "slican-0003", "start": "2026-11-20T11:00:00+01:00",
            "direction": "internal", "caller": "201", "callee": "305"}, 500.0),
    }


def by_call_id(vault: Vault) -> dict[str, tuple[Call, Recording]]:
    with vault.reading() as s:
        rows = s.query(Call, Recording).join(Recording, Recording.id == Call.recording_id).all()
    return {rec.meta["call_id"]: (call, rec) for call, rec in rows}


def test_sidecar_calls_are_taken_whole_and_findable(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")  # scope: all calls
    pbx = Pbx(tmp_path / "pbx")
    originals = generic_day(pbx)
    # A sidecar without a zone on its time is refused, with a reason, and nothing else stops.
    write_wav(pbx.spool / "nagrania" / "2026-11-20" / "rozmowa-0004.wav", 0.5)
    (pbx.spool / "nagrania" / "2026-11-20" / "rozmowa-0004.wav.json").write_text(
        json.dumps({"call_id": "slican-0004", "start": "2026-11-20 12:00:00"}))
    add_line(vault, pbx)

    report = scan(vault, "centrala", sleep=lambda _: None)

    assert report.stored == 3 and len(report.skipped) == 1
    assert "rozmowa-0004.wav" in report.skipped[0]
    kept = by_call_id(vault)
    assert set(kept) == set(originals)
    for call_id, (_, rec) in kept.items():
        assert vault.storage.path(rec.storage_key).read_bytes() == originals[call_id]
    first, rec = kept["slican-0001"]
    assert (first.caller, first.direction) == ("+48600100200", "incoming")
    assert rec.start_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert rec.end_at == datetime(2026, 11, 20, 8, 15, 40, tzinfo=UTC)
    assert rec.meta["extension"] == "201" and rec.meta["sidecar"] == "rozmowa-0001.wav.json"
    assert kept["slican-0002"][0].direction == "outgoing"
    assert kept["slican-0002"][0].callee == "+48601200300"
    with vault.reading() as s:
        for written in ("600100200", "+48 600 100 200", "0048600100200"):
            hits = search_calls(s, written, None, *window(DAY, WARSAW))
            assert [h.recording_id for h in hits] == [rec.id]
    # A second pass takes nothing twice.
    again = scan(vault, "centrala", sleep=lambda _: None)
    assert again.stored == 0 and state_of(vault).stored == 3
    vault.close()


def test_sidecar_calls_outside_the_scope_are_only_counted(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", "walbrzych")  # scope: external incoming only
    pbx = Pbx(tmp_path / "pbx")
    generic_day(pbx)
    add_line(vault, pbx)

    report = scan(vault, "centrala", sleep=lambda _: None)

    assert (report.stored, report.out_of_scope) == (1, 2)
    assert set(by_call_id(vault)) == {"slican-0001"}
    assert state_of(vault).out_of_scope == 2
    vault.close()
