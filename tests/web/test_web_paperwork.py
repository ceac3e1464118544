"""The secretariat's custody paperwork in the browser (issue 12 items 3 and 8): the handover
protocol (001 annex 4, two copies) and the receipt (003 §5.8) of each handover, the destruction
protocol (003 §5.7), as PDFs from the pages and the API; a copy destroyed before its time
needs the commission's reason, which the protocol and the register of actions state. The PDFs
are read back with poppler's pdftotext, as a person would read the paper."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, csrf_of, signed_in, undecided_request, user

from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.db.custody import ActionEntry, Copy, Handover
from kustosz.limits import TEXT_LIMITS

RECEIVER = "asp. Ewa Łęcka, Komenda Powiatowa Policji w Pleszewie"
LATER = "sędzia Adam Wróbel, Sąd Rejonowy w Pleszewie"
REASON = "Komenda Powiatowa Policji cofnęła wniosek; sprawa umorzona"


def pdf_text(body: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed (make test installs it)")
    path = tmp / "doc.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         check=True, text=True).stdout
    return re.sub(r"\s+", " ", out)


def _hand_over(m: Material, receiver: str) -> int:
    """Hand the material's copy over from the request page; the id of the new handover."""
    c = signed_in(m.vault, "informatyk")
    with m.vault.reading() as s:
        rid = s.execute(select(Copy.request_id).where(Copy.number == m.copy_number)).scalar_one()
    r = c.post(f"/requests/{rid}/handover", data={"csrf": csrf_of(m.vault, c),
                                                  "receiver": receiver, "medium": "pendrive"})
    assert r.status_code == 303, r.text
    handed = re.search(r"handed=(\d+)", r.headers["location"])
    assert handed, r.headers["location"]
    return int(handed.group(1))


def test_each_handover_prints_its_protocol_and_receipt(material: Material,
                                                       tmp_path: Path) -> None:
    m = material
    first = _hand_over(m, RECEIVER)
    c = signed_in(m.vault, "informatyk")
    with m.vault.reading() as s:
        rid = s.execute(select(Copy.request_id).where(Copy.number == m.copy_number)).scalar_one()
    # At once after recording: the flash and the links to both papers of this handover.
    page = c.get(f"/requests/{rid}?handed={first}")
    protocol = f"/copies/{m.copy_number}/handovers/{first}/protocol.pdf"
    receipt = f"/copies/{m.copy_number}/handovers/{first}/receipt.pdf"
    assert page.status_code == 200 and "Dokumenty" in page.text
    assert page.text.count(protocol) == 2 and page.text.count(receipt) == 2  # notice + list
    second = _hand_over(m, LATER)  # later to the court: its own protocol and receipt
    page = c.get(f"/requests/{rid}").text
    assert protocol in page and f"/handovers/{second}/receipt.pdf" in page

    r = c.get(protocol)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = pdf_text(r.content, tmp_path)
    assert text.count("Protokół przekazania") == 2  # two copies, one for each party
    assert "Egzemplarz nr 1 z 2" in text and "Egzemplarz nr 2 z 2" in text
    assert m.copy_number in text and RECEIVER in text and LATER not in text
    text = pdf_text(c.get(receipt).content, tmp_path)
    assert "Pokwitowanie" in text and m.copy_number in text and RECEIVER in text
    text = pdf_text(c.get(f"/copies/{m.copy_number}/handovers/{second}/receipt.pdf").content,
                    tmp_path)
    assert LATER in text and RECEIVER not in text
    # An auditor reads the registers and their papers too; a viewer does not.
    user(m.vault, "rewident", ["auditor"])
    user(m.vault, "ola", ["viewer"])
    assert signed_in(m.vault, "rewident").get(protocol).status_code == 200
    assert signed_in(m.vault, "ola").get(protocol).status_code == 403


def test_no_protocol_for_a_copy_never_handed_over(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    r = c.get(f"/copies/{m.copy_number}/handovers/1/protocol.pdf")
    assert r.status_code == 409 and "text/html" in r.headers["content-type"]
    assert f"Kopii nr {m.copy_number} nie przekazano" in r.text
    assert c.get(f"/copies/{m.copy_number}/handovers/1/receipt.pdf").status_code == 409
    api = signed_in(m.vault, "informatyk", api=True)
    r = api.get(f"/api/copies/{m.copy_number}/handovers/1/protocol.pdf")
    assert r.status_code == 409 and "has not been handed over" in r.json()["detail"]
    assert api.get(f"/api/copies/{m.copy_number}/handovers").json() == []


def test_no_destruction_protocol_for_a_copy_not_destroyed(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    r = c.get(f"/copies/{m.copy_number}/destruction.pdf")
    assert r.status_code == 409 and f"Kopia nr {m.copy_number} nie została zniszczona" in r.text
    # half-way (one confirmation) is not destroyed either
    k = signed_in(m.vault, "komisja1")
    assert k.post("/copies/destroy", data={"csrf": csrf_of(m.vault, k), "number": m.copy_number,
                                           "confirm": m.copy_number, "reason": REASON}
                  ).status_code == 303
    assert c.get(f"/copies/{m.copy_number}/destruction.pdf").status_code == 409
    assert signed_in(m.vault, "informatyk", api=True).get(
        f"/api/copies/{m.copy_number}/destruction.pdf").status_code == 409


def test_unknown_copy_or_a_handover_of_another_copy_is_not_found(sqlite_material: Material
                                                                 ) -> None:
    m = sqlite_material
    first = _hand_over(m, RECEIVER)
    rid = undecided_request(m)
    tz = m.vault.policy.timezone
    with m.vault.transaction() as s:
        decide(s, m.vault.policy, rid, by="burmistrz", agree=True,
               on=datetime.now(UTC).astimezone(tz).date(), actor="t", keyed_by="burmistrz")
    other = make_copy(m.vault, rid, by="informatyk", actor="t").number
    c = signed_in(m.vault, "informatyk")
    r = c.get(f"/copies/{other}/handovers/{first}/protocol.pdf")  # not this copy's handover
    assert r.status_code == 409  # the other copy was never handed over at all
    hand_over(m.vault, other, receiver=LATER, by="informatyk", actor="t", request_id=rid)
    r = c.get(f"/copies/{other}/handovers/{first}/protocol.pdf")
    assert r.status_code == 404 and f"Kopia nr {other} nie ma przekazania nr {first}" in r.text
    r = c.get(f"/copies/{other}/handovers/{first}/receipt.pdf")
    assert r.status_code == 404
    r = c.get("/copies/999/2026/handovers/1/protocol.pdf")
    assert r.status_code == 404 and "Nie znaleziono" in r.text and "{" not in r.text[:20]
    assert c.get("/copies/999/2026/destruction.pdf").status_code == 404
    r = c.get(f"/copies/{m.copy_number}/handovers/nie-liczba/protocol.pdf")
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    api = signed_in(m.vault, "informatyk", api=True)
    assert api.get(f"/api/copies/{other}/handovers/{first}/protocol.pdf").status_code == 404
    assert api.get("/api/copies/999/2026/handovers").status_code == 404
    listed = api.get(f"/api/copies/{m.copy_number}/handovers").json()
    assert [h["handover"] for h in listed] == [first] and listed[0]["receiver"] == RECEIVER
    assert api.get(listed[0]["receipt"]).content.startswith(b"%PDF-")


def _destroy(m: Material, c: TestClient, **form: str) -> Response:
    return c.post("/copies/destroy", data={"csrf": csrf_of(m.vault, c),
                                           "number": m.copy_number, **form})


def test_early_destruction_without_a_reason_is_refused_at_the_field(material: Material
                                                                     ) -> None:
    m = material
    page = signed_in(m.vault, "komisja1").get("/copies").text
    assert 'name="reason"' in page and "przed upływem okresu przechowywania" in page
    assert "zanim została wydana" in page and "pole wymagane" in page
    api = signed_in(m.vault, "komisja1", api=True)
    k1 = signed_in(m.vault, "komisja1")  # its session, before the snapshot
    before = snapshot(m.vault)
    # both errors of the form at once, each at its field, what was typed kept
    r = _destroy(m, k1, confirm="1/20", reason="  ")
    assert r.status_code == 422
    assert r.text.count('aria-invalid="true"') == 2
    assert "przepisz numer kopii" in r.text and 'value="1/20"' in r.text
    assert "podaj przyczynę zniszczenia przed terminem" in r.text
    r = _destroy(m, k1, confirm=m.copy_number)
    assert r.status_code == 422 and 'id="err-reason-1"' in r.text
    assert snapshot(m.vault) == before
    # the API and the domain give the same rule: the reason is named as the field
    r = api.post(f"/api/copies/{m.copy_number}/destroy", json={"confirm": m.copy_number})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    assert snapshot(m.vault) == before


def test_a_reason_over_the_limit_is_refused(sqlite_material: Material) -> None:
    m = sqlite_material
    limit = TEXT_LIMITS["reason"][0]
    api = signed_in(m.vault, "komisja1", api=True)
    k1 = signed_in(m.vault, "komisja1")  # its session, before the snapshot
    before = snapshot(m.vault)
    r = _destroy(m, k1, confirm=m.copy_number, reason="x" * (limit + 1))
    assert r.status_code == 422 and f"najwyżej {limit} znaków" in r.text
    assert 'aria-invalid="true"' in r.text
    r = api.post(
        f"/api/copies/{m.copy_number}/destroy",
        json={"confirm": m.copy_number, "reason": "x" * (limit + 1)})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    assert snapshot(m.vault) == before


def test_early_destruction_states_its_reason_in_the_protocol(material: Material,
                                                             tmp_path: Path) -> None:
    m = material
    k1, k2 = signed_in(m.vault, "komisja1"), signed_in(m.vault, "komisja2")
    assert _destroy(m, k1, confirm=m.copy_number, reason=REASON).status_code == 303
    page = k2.get("/copies").text
    assert REASON in page and 'name="reason"' not in page  # the second completes the first
    r = _destroy(m, k2, confirm=m.copy_number)
    assert r.status_code == 303
    c = signed_in(m.vault, "informatyk")
    link = f"/copies/{m.copy_number}/destruction.pdf"
    assert link in c.get("/copies").text
    with m.vault.reading() as s:
        copy = s.execute(select(Copy).where(Copy.number == m.copy_number)).scalar_one()
        assert copy.state == "destroyed"
        actions = [a.description for a in s.execute(select(ActionEntry).where(
            ActionEntry.copy_id == copy.id).order_by(ActionEntry.id)).scalars()]
    assert link in c.get(f"/requests/{copy.request_id}").text
    assert any(REASON in a and "przed upływem okresu przechowywania" in a for a in actions)
    assert REASON in actions[-1] and "zanim została wydana" in actions[-1]
    r = c.get(link)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content, tmp_path)
    assert "Protokół zniszczenia" in text and m.copy_number in text
    assert "Zniszczenie przed terminem" in text and REASON in text
    assert "przed upływem okresu przechowywania" in text
    assert "zanim została wydana uprawnionemu organowi" in text
    assert "Zofia Żółtowska" in text and "Łukasz Gęślak" in text


def test_a_due_copy_keeps_the_automatic_reason(sqlite_material: Material,
                                               tmp_path: Path) -> None:
    m = sqlite_material
    _hand_over(m, RECEIVER)
    with m.vault.transaction() as s:
        copy = s.execute(select(Copy)).scalar_one()
        copy.expires_at = datetime.now(UTC) - timedelta(days=1)
        assert s.execute(select(Handover)).scalars().first() is not None
    k1, k2 = signed_in(m.vault, "komisja1"), signed_in(m.vault, "komisja2")
    assert 'name="reason"' not in k1.get("/copies").text
    assert _destroy(m, k1, confirm=m.copy_number).status_code == 303
    assert _destroy(m, k2, confirm=m.copy_number).status_code == 303
    text = pdf_text(signed_in(m.vault, "informatyk").get(
        f"/copies/{m.copy_number}/destruction.pdf").content, tmp_path)
    assert "upływ okresu przechowywania kopii" in text
    assert "przed terminem" not in text
