"""Issue 30 item 7 on the web: a data subject's request is registered without a purpose or an
event's description (art. 15 RODO needs neither); an interested person's is refused at both
fields; the data subject's bad inputs are named at their fields and change nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tests.conftest import snapshot
from web_helpers import Material, csrf_of, signed_in

from kustosz.db.custody import Request


def _form(m: Material, kind: str, **kw: str) -> dict[str, str]:
    tz = m.vault.policy.timezone
    base = m.old[0].start_at.astimezone(tz)
    today = datetime.now(tz).date().isoformat()
    data = {"kind": kind, "material": "video", "requester": "Jan Żółkiewski, ul. Łąkowa 5",
            "received_on": today, "event_date": base.date().isoformat(), "camera": "cam-hol",
            "period_from": base.strftime("%H:%M:%S"),
            "period_to": (base + timedelta(seconds=20)).strftime("%H:%M:%S")}
    data.update(kw)
    return data


def _invalid(html: str) -> set[str]:
    return set(re.findall(r'name="([\w-]+)"[^>]*aria-invalid="true"', html))


def test_a_data_subject_gives_no_purpose(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    page = c.get("/requests").text
    # the purpose is no longer marked required for everyone
    assert not re.search(r'name="purpose"[^>]*required', page)
    assert "art. 15 RODO nie wymaga podania celu" in page
    before = snapshot(m.vault)
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), **_form(m, "interested")})
    assert r.status_code == 422 and {"purpose", "description"} <= _invalid(r.text), r.text
    assert snapshot(m.vault) == before
    # a data subject's bad inputs: no requester, no time, no camera — each at its field
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), **_form(
        m, "data_subject", requester=" ", period_from="", period_to="", camera="")})
    assert r.status_code == 422
    assert {"requester", "approx_time", "camera"} <= _invalid(r.text), _invalid(r.text)
    assert "purpose" not in _invalid(r.text) and "description" not in _invalid(r.text)
    assert snapshot(m.vault) == before
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), **_form(m, "data_subject")})
    assert r.status_code == 303, r.text[:2000]
    rid = int(re.search(r"/requests/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    with m.vault.reading() as s:
        req = s.get(Request, rid)
        assert req is not None and req.purpose == "" and req.kind == "data_subject"
        assert req.hold_id is not None
