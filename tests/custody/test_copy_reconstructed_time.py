"""A segment whose time start-up recovery had to rebuild (issue 27 item 6) says so in the copy:
the manifest's media entry lists it with how and from what evidence its time was rebuilt, and
the bundle still verifies. The recovery that writes `meta.time_reconstructed` is tested in
tests/cameras/test_recovery_idempotent.py; here the index row carries what it writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from custody_helpers import people, record, setup_camera
from sqlalchemy import select
from tests.office_day import office_today

from kustosz.custody import copies
from kustosz.custody.bundles import verify_bundle
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import Recording
from kustosz.vault import Vault

TZ = ZoneInfo("Europe/Warsaw")


def _copy(vault: Vault, start: datetime, seconds: int) -> Path:
    spec = RequestSpec(
        kind="internal", material="video", requester="Sekretarz Gminy",
        received_on=office_today(), event_date=start.astimezone(TZ).date(),
        purpose="postępowanie wyjaśniające", description="zdarzenie przy wejściu",
        cameras=["cam-hol"], start=start, end=start + timedelta(seconds=seconds),
        margin_minutes=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "test").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="test", keyed_by="burmistrz")
    return vault.root / copies.make_copy(vault, rid, "informatyk", "test").bundle


def test_the_manifest_names_each_segment_whose_time_was_rebuilt(sqlite_vault: Vault,
                                                                 tmp_path: Path) -> None:
    setup_camera(sqlite_vault)
    people(sqlite_vault)
    day = office_today() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 12, 0, tzinfo=TZ).astimezone(UTC)
    rows = record(sqlite_vault, "cam-hol", start, 4, tmp_path / "segs")
    evidence = {"from": "chained to seg000002.ts",
                "evidence": {"previous_end": "stored end_at", "duration": 2.0}}
    with sqlite_vault.transaction() as s:
        rebuilt = s.execute(select(Recording).where(Recording.id == rows[3].id)).scalar_one()
        rebuilt.meta = {**(rebuilt.meta or {}), "segment": "seg000003.ts", "partial": True,
                        "time_reconstructed": evidence}
    bundle = _copy(sqlite_vault, start, 8)
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    [media] = manifest["media"]
    assert media["time_reconstructed"] == [
        {"recording_id": rows[3].id, "segment": "seg000003.ts", **evidence}]
    assert "odtworzono" in media["time_reconstructed_pl"]
    assert verify_bundle(bundle).ok


def test_a_copy_of_true_times_claims_nothing(sqlite_vault: Vault, tmp_path: Path) -> None:
    setup_camera(sqlite_vault)
    people(sqlite_vault)
    day = office_today() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 12, 0, tzinfo=TZ).astimezone(UTC)
    record(sqlite_vault, "cam-hol", start, 2, tmp_path / "segs")
    manifest = json.loads((_copy(sqlite_vault, start, 4) / "manifest.json").read_text("utf-8"))
    assert all("time_reconstructed" not in m for m in manifest["media"])
