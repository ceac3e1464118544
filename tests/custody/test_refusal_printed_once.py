"""A refused request's form prints the refusal's reason once, under the decision's
"Uzasadnienie" (or the art. 15 answer's "uzasadnienie odmowy"); "Adnotacje" keep only what is
not the reason (issue 51: the reviewer read it twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custody_helpers import people, setup_camera
from tests.custody.test_papers30 import text_of
from tests.office_day import office_today

from kustosz.custody import papers
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.documents import render
from kustosz.vault import Vault

WHY = "nagranie dotyczy wyłącznie osób trzecich — brak interesu prawnego"


def _refused(vault: Vault, kind: str, reason: str | None) -> int:
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind=kind, material="video", requester="Jan Kowalski", received_on=office_today(),
            event_date=start.astimezone(vault.policy.timezone).date(), purpose="roszczenie",
            description="kolizja", cameras=["cam-hol"], start=start,
            end=start + timedelta(minutes=1), margin_minutes=0), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=False, on=office_today(),
               actor="t", keyed_by="burmistrz", reason=reason)
    return rid


def test_the_reason_is_printed_once_under_the_decision(vault: Vault) -> None:
    rid = _refused(vault, "interested", WHY)
    with vault.reading() as s:
        name, data = papers.request_form(s, vault.policy, rid)
    assert WHY not in data["notes"]
    form = text_of(render(name, data))
    assert form.count(WHY) == 1, form
    assert form.index("Uzasadnienie") < form.index(WHY), form
    assert "zarejestrowano" in form.split("Adnotacje")[1]  # the other notes stay


def test_a_refusal_without_reason_adds_no_note(vault: Vault) -> None:
    rid = _refused(vault, "interested", None)
    with vault.reading() as s:
        name, data = papers.request_form(s, vault.policy, rid)
    form = text_of(render(name, data))
    assert "nie wyrażam zgody" in form
    assert "Decyzja: nie wyrażam zgody" not in form.split("Adnotacje")[1], form


def test_a_data_subjects_refusal_is_printed_once(vault: Vault) -> None:
    rid = _refused(vault, "data_subject", "art. 15 ust. 4 RODO — dane innych osób")
    with vault.reading() as s:
        form = text_of(render(*papers.request_form(s, vault.policy, rid)))
    assert form.count("art. 15 ust. 4 RODO — dane innych osób") == 1, form


def test_a_late_request_refused_at_registration_keeps_its_note(vault: Vault) -> None:
    """No decision holds that reason: the annotations are where it is printed."""
    people(vault)
    setup_camera(vault)
    event = office_today() - timedelta(days=400)
    with vault.transaction() as s:
        req = register_request(s, vault.policy, RequestSpec(
            kind="interested", material="video", requester="Jan Kowalski",
            received_on=office_today(), event_date=event, purpose="roszczenie",
            description="kolizja", approx_time="10:00", place="Ratusz/hol parter"), "t")
        rid, status, reason = req.id, req.status, req.status_reason
    with vault.reading() as s:
        form = text_of(render(*papers.request_form(s, vault.policy, rid)))
    assert status == "refused" and reason  # the preset's after_deadline = "reject"
    assert form.count(" ".join(reason.split())[:40]) == 1, form
