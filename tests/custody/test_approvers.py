"""Approvers as the office's named positions (issue 51 item 1): a preset declares its own
positions ([positions.<key>]), [disclosure] approvers names them and approval says whether
one agreement ("any") or every listed position's ("all") approves. Decided through the
domain, the command line and the web; printed with each position's title."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from tests.conftest import Cli, snapshot
from tests.custody.custody_helpers import setup_camera
from tests.web.web_helpers import client, session_for, signed_in, user

from kustosz.access.users import add_user
from kustosz.config_schema.policy_file import check_preset_file
from kustosz.custody import papers
from kustosz.custody.decisions import decide, decision_of, decisions_of
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Decision, Request
from kustosz.db.models import Hold
from kustosz.documents import render
from kustosz.errors import InputError
from kustosz.policy import load_policy
from kustosz.vault import Vault

PLESZEW = (resources.files("kustosz.policy") / "presets" / "pleszew.toml").read_text("utf-8")
SEKRETARZ = """
[positions.sekretarz]
title = "Sekretarz Miasta i Gminy Pleszew"
title_genitive = "Sekretarza Miasta i Gminy Pleszew"
title_accusative = "Sekretarza Miasta i Gminy Pleszew"
"""


def office_file(approvers: str, approval: str | None = None) -> str:
    """Pleszew's file with a Sekretarz declared and the approvers given."""
    assert 'approvers = ["head"]' in PLESZEW
    line = f"approvers = {approvers}" + (f'\napproval = "{approval}"' if approval else "")
    return PLESZEW.replace('approvers = ["head"]', line, 1) + SEKRETARZ


def _today(vault: Vault) -> Any:
    return datetime.now(UTC).astimezone(vault.policy.timezone).date()


def _people(vault: Vault) -> None:
    with vault.transaction() as s:
        add_user(s, "burmistrz", "Jan Kowalski", ["approver"], "test")
        add_user(s, "zastepca", "Anna Nowak", ["approver"], "test")
        add_user(s, "sekretarz", "Ewa Sekretarska", ["approver"], "test")
        add_user(s, "sekretarz2", "Olga Druga", ["approver"], "test")
        add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian", "administrator"], "test")


def _request(vault: Vault) -> int:
    day = _today(vault) - timedelta(days=1)
    with vault.transaction() as s:
        return register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="Komenda Powiatowa Policji",
            received_on=day, event_date=day, purpose="postępowanie", approx_time="12:00",
            place="Ratusz/hol parter", margin_minutes=1, description="bójka"), "test").id


def _decide(vault: Vault, rid: int, by: str, capacity: str | None, agree: bool = True,
            **kw: Any) -> Decision:
    with vault.transaction() as s:
        return decide(s, vault.policy, rid, by=by, agree=agree, on=_today(vault), actor="t",
                      keyed_by=by, capacity=capacity,
                      reason=None if agree else "brak podstawy", **kw)


def _status(vault: Vault, rid: int) -> str:
    with vault.reading() as s:
        return str(s.get(Request, rid).status)


@pytest.fixture
def office(sqlite_vault: Vault) -> Vault:
    _people(sqlite_vault)
    setup_camera(sqlite_vault)
    return sqlite_vault


def _with(vault: Vault, approvers: list[str], approval: str) -> Vault:
    vault.policy = load_policy("pleszew", {
        "positions": {"sekretarz": {"title": "Sekretarz Miasta i Gminy Pleszew",
                                    "title_genitive": "Sekretarza Miasta i Gminy Pleszew",
                                    "title_accusative": "Sekretarza Miasta i Gminy Pleszew"}},
        "office": {"deputy_title": "Zastępca Burmistrza"},
        "disclosure": {"approvers": approvers, "approval": approval}})
    return vault


# -- any / all × agree / refuse, every sequence of up to three decisions -------------------------

def _expected(approval: str, listed: list[str], steps: tuple[tuple[str, bool], ...]
              ) -> tuple[list[bool], str]:
    """The model: which steps are accepted and the status at the end."""
    status, agreed, decided, accepted = "registered", set(), set(), []
    for position, agree in steps:
        ok = status == "registered" and position not in decided
        accepted.append(ok)
        if not ok:
            continue
        decided.add(position)
        if not agree:
            status = "refused"
        else:
            agreed.add(position)
            if approval == "any" or agreed >= set(listed):
                status = "approved"
    return accepted, status


SEQUENCES = [seq for n in (1, 2, 3) for seq in itertools.product(
    itertools.product(("head", "sekretarz"), (True, False)), repeat=n)]


@pytest.mark.parametrize("approval", ["any", "all"])
def test_every_sequence_of_decisions_settles_as_the_rule_says(office: Vault,
                                                              approval: str) -> None:
    listed = ["head", "sekretarz"]
    vault = _with(office, listed, approval)
    assert len(SEQUENCES) == 84
    for steps in SEQUENCES:
        rid = _request(vault)
        accepted, status = _expected(approval, listed, steps)
        for i, ((position, agree), ok) in enumerate(zip(steps, accepted, strict=True)):
            by = f"{position}-{rid}-{i}"  # a person of its own per step: that rule apart
            with vault.transaction() as s:
                add_user(s, by, by, ["approver"], "test")
            if ok:
                _decide(vault, rid, by, position, agree)
            else:
                with pytest.raises(InputError):
                    _decide(vault, rid, by, position, agree)
        assert _status(vault, rid) == status, (approval, steps)
        with vault.reading() as s:
            taken = decisions_of(s, rid)
            settled = decision_of(s, rid)
            held = s.get(Hold, s.get(Request, rid).hold_id)
        assert len(taken) == accepted.count(True)
        assert (settled is None) == (status == "registered")
        if status == "refused":
            assert settled is not None and not settled.agree
            assert held is not None and held.released_at is not None  # the refusal frees it
        else:
            assert held is not None and held.released_at is None


def test_all_of_head_and_sekretarz_needs_both_and_prints_both(office: Vault,
                                                                tmp_path: Path) -> None:
    vault = _with(office, ["head", "sekretarz"], "all")
    rid = _request(vault)
    _decide(vault, rid, "sekretarz", "sekretarz")
    assert _status(vault, rid) == "registered"
    with vault.reading() as s, pytest.raises(InputError, match="has not been decided yet"):
        papers.decision_doc(s, vault.policy, rid)
    with vault.reading() as s:
        _name, form = papers.request_form(s, vault.policy, rid)
    assert [b.get("blank", False) for b in form["decisions"]] == [True, False]
    assert form["decisions"][0]["gen"] == "Burmistrza Miasta i Gminy Pleszew"
    _decide(vault, rid, "burmistrz", "head")
    assert _status(vault, rid) == "approved"
    with vault.reading() as s:
        name, data = papers.decision_doc(s, vault.policy, rid)
    blocks = data["decisions"]
    assert [(b["capacity"], b["gen"], b["by_title"]) for b in blocks] == [
        ("head", "Burmistrza Miasta i Gminy Pleszew", "Burmistrz Miasta i Gminy Pleszew"),
        ("sekretarz", "Sekretarza Miasta i Gminy Pleszew", "Sekretarz Miasta i Gminy Pleszew")]
    out = tmp_path / "decyzja.pdf"
    render(name, data, out, vault.root)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert "Sekretarza Miasta i Gminy Pleszew" in text and "Ewa Sekretarska" in text
    assert "Burmistrza Miasta i Gminy Pleszew" in text and "Jan Kowalski" in text


def test_a_blank_form_is_headed_by_the_one_position_listed(office: Vault) -> None:
    vault = _with(office, ["sekretarz"], "any")
    data = papers.blank("request-video", vault.policy)
    assert data["decisions"] == [{"blank": True, "gen": "Sekretarza Miasta i Gminy Pleszew"}]
    assert [b["gen"] for b in papers.blank("request-video", _with(
        office, ["head", "deputy"], "any").policy)["decisions"]] == [
        "Burmistrza Miasta i Gminy Pleszew"]  # as before: the head's heading


# -- bad input ----------------------------------------------------------------------------------

def test_bad_decisions_are_refused_and_change_nothing(office: Vault) -> None:
    vault = _with(office, ["head", "sekretarz"], "all")
    with vault.transaction() as s:
        add_user(s, "portier", "Jan Portier", ["viewer"], "test")
    rid = _request(vault)
    before = snapshot(vault)
    for by, capacity, words in (
            ("sekretarz", "skarbnik", "nie powierzają decyzji stanowisku „skarbnik”"),
            ("zastepca", "deputy", "nie przewidują zastępstwa"),
            ("portier", "sekretarz", "approver")):
        with pytest.raises(InputError) as err:
            _decide(vault, rid, by, capacity)
        assert words in (err.value.pl or "") + str(err.value)
    assert snapshot(vault) == before
    _decide(vault, rid, "sekretarz", "sekretarz")
    after = snapshot(vault)
    for by, capacity in (("sekretarz2", "sekretarz"),  # the same position again
                         ("sekretarz", "head")):  # one person as two positions
        with pytest.raises(InputError, match="decides once") as err:
            _decide(vault, rid, by, capacity)
        assert "każde stanowisko i każda osoba decyduje raz" in (err.value.pl or "")
    assert snapshot(vault) == after and _status(vault, rid) == "registered"


def test_the_deputy_flag_still_means_the_deputy(office: Vault) -> None:
    vault = _with(office, ["head", "deputy"], "any")
    rid = _request(vault)
    with vault.transaction() as s:
        d = decide(s, vault.policy, rid, by="zastepca", agree=True, on=_today(vault),
                   actor="t", keyed_by="zastepca", deputy=True)
        assert d.capacity == "deputy"
    assert _status(vault, rid) == "approved"


# -- the preset file ----------------------------------------------------------------------------

def _line(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


def test_policy_check_takes_a_declared_position_and_refuses_an_undeclared_one(
        tmp_path: Path) -> None:
    good = tmp_path / "dobry.toml"
    good.write_text(office_file('["sekretarz"]'), "utf-8")
    assert check_preset_file(good) == []
    bad_text = office_file('["sekretarz", "skarbnik"]')
    bad = tmp_path / "zly.toml"
    bad.write_text(bad_text, "utf-8")
    [problem] = check_preset_file(bad)
    assert (problem.where, problem.line) == ("disclosure.approvers",
                                             _line(bad_text, "approvers ="))
    assert "„skarbnik” — stanowisko, którego nikt nie zajmuje" in problem.pl
    no_form = office_file('["sekretarz"]').replace(
        'title_accusative = "Sekretarza Miasta i Gminy Pleszew"\n', "")
    bad.write_text(no_form, "utf-8")
    [problem] = check_preset_file(bad)
    assert problem.where == "positions.sekretarz.title_accusative"
    assert problem.line is not None and problem.line >= _line(no_form, "[positions.sekretarz]")
    assert "biernik" in problem.pl and "accusative" in problem.en
    for text, where in ((office_file('["sekretarz"]', "most"), "disclosure.approval"),
                        (office_file('["head"]').replace("positions.sekretarz", "positions.head"),
                         "positions.head")):
        bad.write_text(text, "utf-8")
        assert [p.where for p in check_preset_file(bad)] == [where]


def test_the_shipped_presets_mean_any(tmp_path: Path) -> None:
    from kustosz.policy import preset_names
    for name in preset_names():
        policy = load_policy(name)
        assert policy.approval == "any" and set(policy.approvers) <= {"head", "deputy"}


# -- the command line and the web, on an office's own file ---------------------------------------

def test_the_command_line_decides_as_a_declared_position(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "urzad.toml"
    path.write_text(office_file('["sekretarz"]'), "utf-8")
    cli("init", "--preset-file", str(path))
    vault = Vault.open(cli.data)
    try:
        _people(vault)
        setup_camera(vault)
        rid = _request(vault)
    finally:
        vault.close()
    refused = cli("requests", "decide", str(rid), "--agree", "--by", "burmistrz", "--deputy",
                  "--paper-ref", "SEK.1", ok=False)
    assert refused.exit_code != 0 and "zastępstwa" in refused.output
    clash = cli("requests", "decide", str(rid), "--agree", "--by", "sekretarz", "--deputy",
                "--as", "sekretarz", "--paper-ref", "SEK.1", ok=False)
    assert clash.exit_code != 0 and "--deputy" in clash.output
    done = cli("requests", "decide", str(rid), "--agree", "--by", "sekretarz", "--as",
               "sekretarz", "--paper-ref", "SEK.0012.1.2026")
    assert f"request {rid}: agreed" in done.output
    shown = json.loads(cli("requests", "show", str(rid), "--json").output)
    assert shown["status"] == "approved"
    assert shown["decision"]["capacity"] == "sekretarz"
    assert [d["by"] for d in shown["decisions"]] == ["sekretarz"]


@pytest.fixture
def all_vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = Vault.init(tmp_path / "v", None, backend_url, actor="test",
                   preset_file=office_file('["head", "sekretarz"]', "all"))
    yield v
    v.close()


def test_the_web_form_offers_the_positions_and_needs_every_one(all_vault: Vault) -> None:
    vault = all_vault
    user(vault, "burmistrz", ["approver"], display="Jan Kowalski")
    user(vault, "sekretarz", ["approver"], display="Ewa Sekretarska")
    setup_camera(vault)
    rid = _request(vault)
    c = client(vault)
    csrf = session_for(vault, c, "sekretarz")
    page = c.get(f"/requests/{rid}").text
    form = page.split('id="f-capacity"')[1].split("</select>")[0]
    assert '<option value="head">Burmistrz Miasta i Gminy Pleszew</option>' in form
    assert '<option value="sekretarz">Sekretarz Miasta i Gminy Pleszew</option>' in form
    r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf, "agree": "yes",
                                                "on": _today(vault).isoformat(),
                                                "capacity": "sekretarz"})
    assert r.status_code == 303
    page = c.get(f"/requests/{rid}").text
    awaiting = page.split('id="awaiting"')[1].split("</p>")[0]
    assert "Czekają na decyzję: Burmistrz Miasta i Gminy Pleszew" in awaiting
    assert "Ewa Sekretarska (Sekretarz Miasta i Gminy Pleszew)" in page
    assert 'value="sekretarz"' not in page.split('id="f-capacity"')[1].split("</select>")[0]
    # the same person may not decide again as the head
    r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf, "agree": "yes",
                                                "on": _today(vault).isoformat(),
                                                "capacity": "head"})
    assert r.status_code == 422 and "decyduje raz" in r.text
    c2 = client(vault)
    csrf2 = session_for(vault, c2, "burmistrz")
    r = c2.post(f"/requests/{rid}/decide", data={"csrf": csrf2, "agree": "yes",
                                                 "on": _today(vault).isoformat(),
                                                 "capacity": "head"})
    assert r.status_code == 303
    assert _status(vault, rid) == "approved"
    page = c2.get(f"/requests/{rid}").text
    assert 'id="awaiting"' not in page and 'id="f-capacity"' not in page


def test_a_preset_file_office_decides_through_the_web(tmp_path: Path) -> None:
    vault = Vault.init(tmp_path / "v", None, "", actor="test",
                       preset_file=office_file('["sekretarz"]'))
    try:
        user(vault, "sekretarz", ["approver"], display="Ewa Sekretarska")
        setup_camera(vault)
        rid = _request(vault)
        c = client(vault)
        csrf = session_for(vault, c, "sekretarz")
        r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf, "agree": "no",
                                                    "reason": "brak podstawy",
                                                    "on": _today(vault).isoformat(),
                                                    "capacity": "sekretarz"})
        assert r.status_code == 303 and _status(vault, rid) == "refused"
        with vault.reading() as s:
            assert [d.capacity for d in decisions_of(s, rid)] == ["sekretarz"]
        # the API names the position too; left out, the one position listed decides
        api = signed_in(vault, "sekretarz", api=True)
        other = _request(vault)
        r = api.post(f"/api/requests/{other}/decision",
                     json={"agree": True, "on": _today(vault).isoformat()})
        assert r.status_code == 201 and r.json()["capacity"] == "sekretarz"
        third = _request(vault)
        r = api.post(f"/api/requests/{third}/decision",
                     json={"agree": True, "on": _today(vault).isoformat(), "capacity": "head"})
        assert r.status_code == 422 and _status(vault, third) == "registered"
    finally:
        vault.close()

