"""Separation of duties (issue 11, item 4; R3.2, R4.1, R2.6): nobody authorises himself; the
approver records his own decision, anyone else only a decision taken on paper with its
reference (both names kept and printed); the maker of a copy does not give the confirmation
that destroys it. Each rule lives in one function, so the command line, the pages and the API
obey it alike; every refusal names its field and changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from custody_helpers import appoint_commission, people, record, setup_camera
from pypdf import PdfReader
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz.access.authorisations import issue
from kustosz.access.users import add_user
from kustosz.custody import papers, registers
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy, Decision
from kustosz.documents import render
from kustosz.errors import FieldError
from kustosz.policy import load_policy
from kustosz.vault import Vault

NOW = datetime.now(UTC)


def _text(pdf: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())


@pytest.fixture
def office(vault: Vault) -> Vault:
    """burmistrz, zastepca (approvers), informatyk (custodian), komisja1/2 (commission), and
    'wozny', who both makes copies and sits on the destruction commission."""
    people(vault)
    setup_camera(vault)
    with vault.transaction() as s:
        add_user(s, "sekretarz", "Ewa Sekretarska", ["approver", "viewer"], "test")
        add_user(s, "wozny", "Adam Woźny", ["custodian", "commission"], "test")
    appoint_commission(vault, "wozny")
    return vault


def _request(vault: Vault, tmp: Path) -> int:
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() - timedelta(days=2)
    event = datetime.combine(day, time(12, 0), tzinfo=tz)
    record(vault, "cam-hol", event - timedelta(seconds=4), 3, tmp / "segs")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="Komenda Powiatowa Policji",
            received_on=day, event_date=day, purpose="postępowanie", approx_time="12:00",
            place="Ratusz/hol parter", margin_minutes=1, description="bójka"), "test")
        return req.id


def _decide(vault: Vault, rid: int, **kw: Any) -> Decision:
    args: dict[str, Any] = {"by": "burmistrz", "agree": True, "on": office_today(),
                            "actor": "t", "keyed_by": "burmistrz", **kw}
    with vault.transaction() as s:
        return decide(s, vault.policy, rid, **args)


# -- authorisations ----------------------------------------------------------------------------
def _authorise(vault: Vault, holder: str, by: str, policy: Any = None) -> None:
    with vault.transaction() as s:
        issue(s, holder=holder, actions=["playback"], sources=["cam-hol"], source_kinds=[],
              valid_from=NOW, valid_to=NOW + timedelta(days=365), by=by, actor=by,
              policy=policy or vault.policy)


def test_nobody_issues_an_authorisation_to_himself(office: Vault) -> None:
    """The finding: an approver who is also a viewer authorised himself for a year."""
    before = snapshot(office)
    with pytest.raises(FieldError, match="samemu sobie") as err:
        _authorise(office, "sekretarz", "sekretarz")
    assert err.value.field == "holder"
    assert snapshot(office) == before
    _authorise(office, "sekretarz", "burmistrz")  # another approver may


def test_an_office_may_turn_the_self_authorisation_rule_off(office: Vault) -> None:
    lax = load_policy("pleszew", {"duties": {"no_self_authorisation": False}})
    assert lax.duties.decision_by_own_account and lax.duties.copier_not_destroyer
    _authorise(office, "sekretarz", "sekretarz", policy=lax)


def test_duties_are_on_by_default_and_shown_by_policy_show(office: Vault) -> None:
    assert office.policy.as_dict()["duties"] == {
        "no_self_authorisation": True, "decision_by_own_account": True,
        "copier_not_destroyer": True}
    from kustosz.errors import ConfigError

    with pytest.raises(ConfigError, match=r"duties\.copier_not_destroyer"):
        load_policy("pleszew", {"duties": {"copier_not_destroyer": "no"}})


# -- decisions ---------------------------------------------------------------------------------
def test_a_decision_keyed_for_someone_else_needs_the_paper_reference(
        office: Vault, tmp_path: Path) -> None:
    """The finding: a custodian recorded the head's decision 'by' the head."""
    rid = _request(office, tmp_path)
    before = snapshot(office)
    with pytest.raises(FieldError, match="na papierze") as err:
        _decide(office, rid, keyed_by="informatyk")
    assert err.value.field == "paper_ref"
    assert snapshot(office) == before


def test_an_empty_paper_reference_is_refused(office: Vault, tmp_path: Path) -> None:
    rid = _request(office, tmp_path)
    before = snapshot(office)
    for blank in ("", "   "):
        with pytest.raises(FieldError, match="znak") as err:
            _decide(office, rid, keyed_by="informatyk", paper_ref=blank)
        assert err.value.field == "paper_ref"
    assert snapshot(office) == before


def test_the_approver_records_his_own_decision(office: Vault, tmp_path: Path) -> None:
    rid = _request(office, tmp_path)
    d = _decide(office, rid)
    assert (d.keyed_by, d.paper_ref, d.recorded_by) == ("burmistrz", None, "t")
    with office.reading() as s:
        _name, data = papers.decision_doc(s, office.policy, rid)
    assert "z własnego konta: Jan Kowalski" in data["decision"]["entry"]


def test_a_paper_decision_keeps_and_prints_both_names(office: Vault, tmp_path: Path) -> None:
    rid = _request(office, tmp_path)
    d = _decide(office, rid, keyed_by="informatyk", paper_ref="  OR.0012.5.2026 ")
    assert (d.decided_by, d.keyed_by, d.paper_ref) == ("burmistrz", "informatyk",
                                                        "OR.0012.5.2026")
    with office.reading() as s:
        name, data = papers.decision_doc(s, office.policy, rid)
        reg = registers.build(s, office.policy, "disclosures", office_today() - timedelta(days=9),
                              office_today())
    out = tmp_path / "decyzja.pdf"
    render(name, data, out, office.root)
    text = _text(out)
    assert "Jan Kowalski" in text and "Piotr Wiśniewski" in text
    assert "na piśmie (znak dokumentu: OR.0012.5.2026)" in text
    resolution = reg.rows[0][4]
    assert "Jan Kowalski" in resolution and "znak OR.0012.5.2026" in resolution
    assert "wprowadził(a): Piotr Wiśniewski, informatyk" in resolution
    pdf = tmp_path / "rejestr.pdf"
    render("register", registers.pdf_data(reg, office.policy, office_today() - timedelta(days=9),
                                          office_today()), pdf, office.root)
    assert "OR.0012.5.2026" in _text(pdf)


def test_the_command_line_enters_decisions_only_as_taken_on_paper(
        office: Vault, tmp_path: Path) -> None:
    rid = str(_request(office, tmp_path))
    cli = Cli(office.root)
    before = snapshot(office)
    for extra in ([], ["--paper-ref", " "]):
        bad = cli("requests", "decide", rid, "--agree", "--by", "burmistrz", *extra, ok=False)
        assert bad.exit_code == 2 and "--paper-ref" in bad.output
        assert len(bad.output.strip().splitlines()) == 1
    assert snapshot(office) == before
    cli("requests", "decide", rid, "--agree", "--by", "burmistrz", "--paper-ref", "OR.1/2026")
    with office.reading() as s:
        d = s.query(Decision).one()
    assert (d.keyed_by, d.paper_ref, d.recorded_by) == (None, "OR.1/2026", "tester")


def test_an_office_may_let_others_key_decisions(office: Vault, tmp_path: Path) -> None:
    rid = _request(office, tmp_path)
    lax = load_policy("pleszew", {"duties": {"decision_by_own_account": False}})
    with office.transaction() as s:
        d = decide(s, lax, rid, by="burmistrz", agree=True, on=office_today(), actor="t",
                   keyed_by="informatyk")
    assert d.keyed_by == "informatyk"  # still kept, and printed on the register
    with office.reading() as s:
        reg = registers.build(s, office.policy, "disclosures", office_today() - timedelta(days=9),
                              office_today())
    assert "wprowadził(a): Piotr Wiśniewski" in reg.rows[0][4]


# -- destruction -------------------------------------------------------------------------------
def _copy_by_wozny(vault: Vault, tmp: Path) -> str:
    rid = _request(vault, tmp)
    _decide(vault, rid)
    return make_copy(vault, rid, by="wozny", actor="t").number


def test_the_copier_is_not_the_second_commission_member(office: Vault, tmp_path: Path) -> None:
    number = _copy_by_wozny(office, tmp_path)
    confirm(office, number, "komisja1", "t", reason="kopia zbędna: sprawa zakończona")
    before = snapshot(office)
    with pytest.raises(FieldError, match="inny członek komisji") as err:
        confirm(office, number, "wozny", "t")
    assert err.value.field == "by"
    assert snapshot(office) == before
    _d, done = confirm(office, number, "komisja2", "t")
    assert done


def test_who_recorded_the_copy_counts_as_its_maker(office: Vault, tmp_path: Path) -> None:
    """A copy recorded 'by' a colleague does not let its recorder destroy it either."""
    rid = _request(office, tmp_path)
    _decide(office, rid)
    number = make_copy(office, rid, by="informatyk", actor="wozny").number
    confirm(office, number, "komisja1", "t", reason="kopia zbędna: sprawa zakończona")
    before = snapshot(office)
    with pytest.raises(FieldError, match="inny członek komisji"):
        confirm(office, number, "wozny", "t")
    assert snapshot(office) == before


def test_the_copier_may_start_a_destruction_another_member_completes(
        office: Vault, tmp_path: Path) -> None:
    number = _copy_by_wozny(office, tmp_path)
    _d, done = confirm(office, number, "wozny", "t", reason="kopia zbędna: sprawa zakończona")
    assert not done
    _d, done = confirm(office, number, "komisja1", "t")
    with office.reading() as s:
        assert done and s.query(Copy).one().state == "destroyed"


def test_the_command_line_refuses_the_copier_as_second_destroyer(
        office: Vault, tmp_path: Path) -> None:
    number = _copy_by_wozny(office, tmp_path)
    cli = Cli(office.root)
    cli("copies", "destroy", number, "--by", "komisja1", "--reason", "sprawa zakończona")
    before = snapshot(office)
    bad = cli("copies", "destroy", number, "--by", "wozny", ok=False)
    assert bad.exit_code == 2 and "inny członek komisji" in bad.output
    assert snapshot(office) == before
