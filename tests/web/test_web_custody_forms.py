"""The custody forms (issue 12 item 8): the request register's form, the decision, the handover,
holds and their release, the copies' destruction — every error of a form at once, each at its
field (aria-invalid, the message under it), what was typed kept, required fields marked; a
refused form changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, csrf_of, signed_in, undecided_request

from kustosz.db.custody import Copy


def _invalid(html: str) -> set[str]:
    """The names of the controls marked aria-invalid."""
    return set(re.findall(r'name="([\w-]+)"[^>]*aria-invalid="true"', html))


def test_the_request_form_names_every_error_at_once(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    page = c.get("/requests").text
    assert "pole wymagane" in page and re.search(r'name="requester"[^>]*required', page)
    before = snapshot(m.vault)
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), "kind": "authority",
                                  "material": "video", "contact": "tel. 62 742 00 00",
                                  "purpose": "x" * 1001, "period_from": "25:00"})
    assert r.status_code == 422
    assert {"requester", "purpose", "received_on", "event_date", "description",
            "period_from"} <= _invalid(r.text)
    assert "najwyżej 1000 znaków" in r.text  # the purpose's limit, with the other errors
    assert 'value="tel. 62 742 00 00"' in r.text  # what was typed is kept
    assert snapshot(m.vault) == before


def test_the_decision_form_names_every_error_at_once(sqlite_material: Material) -> None:
    m = sqlite_material
    rid = undecided_request(m)
    c = signed_in(m.vault, "burmistrz")
    before = snapshot(m.vault)
    r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf_of(m.vault, c), "on": "wczoraj",
                                                "paper_ref": "OR" * 101})
    assert r.status_code == 422
    assert "Wybierz decyzję." in r.text and "Nieprawidłowa data" in r.text
    assert {"on", "paper_ref"} <= _invalid(r.text) and 'id="err-agree"' in r.text
    r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf_of(m.vault, c), "agree": "no",
                                                "on": "2026-11-20"})
    assert r.status_code == 422 and "Podaj uzasadnienie odmowy." in r.text
    assert 'value="2026-11-20"' in r.text
    assert snapshot(m.vault) == before


def test_the_handover_form_names_every_error_at_once(sqlite_material: Material) -> None:
    m = sqlite_material
    with m.vault.reading() as s:
        rid = s.execute(select(Copy.request_id)).scalar_one()
    c = signed_in(m.vault, "informatyk")
    assert re.search(r'name="receiver"[^>]*required', c.get(f"/requests/{rid}").text)
    before = snapshot(m.vault)
    r = c.post(f"/requests/{rid}/handover", data={"csrf": csrf_of(m.vault, c), "receiver": " ",
                                                  "medium": "p" * 401})
    assert r.status_code == 422 and {"receiver", "medium"} <= _invalid(r.text)
    assert "Podaj osobę i organ przyjmujący kopię." in r.text and "najwyżej 400" in r.text
    r = c.post(f"/requests/{rid}/handover", data={"csrf": csrf_of(m.vault, c),
                                                  "receiver": "r" * 1001, "medium": "pendrive"})
    assert r.status_code == 422 and _invalid(r.text) == {"receiver"}
    assert 'value="pendrive"' in r.text
    assert snapshot(m.vault) == before


def test_the_hold_forms_name_every_error_at_once(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post("/holds", data={"csrf": csrf_of(m.vault, c), "from": "jutro",
                               "to": "2026-11-20T10:00", "case_ref": "K" * 201})
    assert r.status_code == 422
    assert {"from", "basis", "case_ref"} <= _invalid(r.text)
    assert "Wybierz co najmniej jedno źródło." in r.text and 'id="err-sources"' in r.text
    assert 'value="2026-11-20T10:00"' in r.text
    with m.vault.reading() as s:
        from kustosz.db.models import Hold

        hold = s.execute(select(Hold.id).where(Hold.released_at.is_(None))).scalars().first()
    r = c.post(f"/holds/{hold}/release", data={"csrf": csrf_of(m.vault, c), "reason": " "})
    assert r.status_code == 422 and "Podaj powód zwolnienia." in r.text
    assert f'aria-describedby="err-release-{hold}"' in r.text
    assert snapshot(m.vault) == before
