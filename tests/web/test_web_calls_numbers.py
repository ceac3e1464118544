"""Issue 64 item 9 in the call register: a call whose caller's number has no canonical form (an
11-digit number as an exchange's recording name gives it, with the caller ID's Polish name)
is taken in by the line's real intake, shown as the exchange wrote it and found by a search
for it as written, with separators, and by its digits — each answer one access entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from tests.calls.calls_pbx import PhoneCall, write_wav
from web_helpers import Material, authorise, client, csrf_of, session_for, user

from kustosz.db.access import AccessEntry
from kustosz.db.models import Source
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

NUMBER = "09243820431"  # the finding's, as an exchange's recording name gave it


def _entries(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AccessEntry)).scalar_one()


def test_a_number_with_no_canonical_form_is_shown_as_written_and_found(
        material: Material, tmp_path: Path) -> None:
    m = material
    tz = m.vault.policy.timezone
    at = (datetime.now(UTC) - timedelta(minutes=30)).astimezone(tz).replace(tzinfo=None,
                                                                           microsecond=0)
    call = PhoneCall("in", "201", NUMBER, at, f"{int(at.timestamp())}.64")
    write_wav(tmp_path / "pbx" / "spool" / call.relpath, 1.0)
    with m.vault.transaction() as s:
        line = s.execute(select(Source).where(Source.name == "centrala")).scalar_one()
        line.settings = {**line.settings, "no_cdr_wait_s": 0.0, "settle_s": 0.05}
    assert scan(m.vault, "centrala", sleep=lambda _: None).stored == 1
    user(m.vault, "ola", ["viewer"], password=None)
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    now = datetime.now(UTC)
    r = c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "calls", "source": "centrala",
        "from": (now - timedelta(hours=3)).astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "to": now.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "purpose": "skarga", "case_ref": "SK.152.4.2026"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    before = _entries(m.vault)
    page = c.get(f"/media/{token}/calls")
    assert page.status_code == 200 and NUMBER in page.text
    for query in (NUMBER, "0924 382 04 31", "(0924) 382-0431"):
        rows = c.get(f"/media/{token}/calls", params={"number": query,
                                                     "format": "json"}).json()["rows"]
        assert [(r["caller"], r["callee"], r["direction"]) for r in rows] == [
            (NUMBER, "201", "incoming")], query
    assert _entries(m.vault) == before + 4
