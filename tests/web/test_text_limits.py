"""Every free-text field has one limit (kustosz.limits), checked by the domain function that
writes it, so the CLI, the web forms and the JSON API all obey it (issue 11, item 8).

Text one character over the limit is refused with a FieldError naming the field and the
limit in Polish, and nothing changes (DESIGN invariant 6) — on SQLite, which would store any
length, and on PostgreSQL, whose `String(200)` columns would otherwise fail with a 500.
Exactly the limit is accepted whole: nothing is ever cut short.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import Cli, snapshot
from web_helpers import Material, authorise

from kustosz.access import authorisations, employees, records
from kustosz.custody import destruction, handover, holds
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Request, User
from kustosz.db.models import Hold
from kustosz.errors import FieldError, InputError, for_people
from kustosz.index.sources import get_source
from kustosz.limits import TEXT_LIMITS
from kustosz.vault import Vault


def over(field: str) -> str:
    return "x" * (TEXT_LIMITS[field][0] + 1)


def _in(m: Material, work: Callable[[Any], Any]) -> Any:
    with m.vault.transaction() as s:
        return work(s)


def _request(m: Material, **fields: str) -> Any:
    tz = m.vault.policy.timezone
    base = dict(kind="authority", material="video", requester="KPP Pleszew",
                received_on=datetime.now(tz).date(), event_date=m.window[0].astimezone(tz).date(),
                purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
                start=m.window[0], end=m.window[1])
    if "who" in fields:  # mail and events requests name whom they concern
        base.update(material="events", cameras=[], sources=["siem"], description=None)
    if "place" in fields:
        base.update(cameras=[])
    if "approx_time" in fields:
        base.update(start=None, end=None)
    return _in(m, lambda s: register_request(s, m.vault.policy, RequestSpec(
        **{**base, **fields}), "test"))


def _viewing(m: Material, **fields: str) -> Any:
    def work(s: Any) -> Any:
        who = s.execute(select(User).where(User.name == "burmistrz")).scalar_one()
        values = {"purpose": "wyjaśnienie", "case_ref": "OR.1", "witness": "zastepca", **fields}
        return records.open_viewing(s, user=who, action="playback", client="127.0.0.1",
                                    source=get_source(s, "cam-hol"), window=m.window, **values)
    return _in(m, work)


def _first(m: Material, model: Any) -> int:
    with m.vault.reading() as s:
        return int(s.execute(select(model.id).order_by(model.id)).scalars().first())


def _today(m: Material) -> Any:
    return datetime.now(m.vault.policy.timezone).date()


# name → (field, what writes it)
CASES: dict[str, tuple[str, Callable[[Material, str], Any]]] = {
    "hold basis": ("basis", lambda m, t: _in(m, lambda s: holds.place_hold(
        s, sources=[get_source(s, "cam-hol")], start=m.window[0], end=m.window[1], basis=t,
        actor="test"))),
    "hold case": ("case_ref", lambda m, t: _in(m, lambda s: holds.place_hold(
        s, sources=[get_source(s, "cam-hol")], start=m.window[0], end=m.window[1], basis="b",
        case_ref=t, actor="test"))),
    "hold release": ("reason", lambda m, t: _in(m, lambda s: holds.release_hold(
        s, _first(m, Hold), t, "test"))),
    "decision reason": ("reason", lambda m, t: _in(m, lambda s: decide(
        s, m.vault.policy, _first(m, Request), by="burmistrz", agree=False, on=_today(m),
        actor="test", keyed_by="burmistrz", reason=t))),
    "decision on paper": ("paper_ref", lambda m, t: _in(m, lambda s: decide(
        s, m.vault.policy, _first(m, Request), by="burmistrz", agree=True, on=_today(m),
        actor="test", keyed_by="informatyk", paper_ref=t))),
    "handover receiver": ("receiver", lambda m, t: handover.hand_over(
        m.vault, m.copy_number, receiver=t, by="informatyk", actor="test")),
    "handover medium": ("medium", lambda m, t: handover.hand_over(
        m.vault, m.copy_number, receiver="KPP", medium=t, by="informatyk", actor="test")),
    "destruction reason": ("reason", lambda m, t: destruction.confirm(
        m.vault, m.copy_number, by="komisja1", actor="test", reason=t)),
    "authorisation basis": ("basis", lambda m, t: _in(m, lambda s: authorisations.issue(
        s, holder="komisja1", actions=["playback"], sources=["cam-hol"], source_kinds=[],
        valid_from=m.window[0], valid_to=m.window[1] + timedelta(days=1), by="burmistrz",
        actor="test", basis=t))),
    "authorisation revoked": ("reason", lambda m, t: _in(m, lambda s: authorisations.revoke(
        s, m.auth_id, "burmistrz", t, "test"))),  # type: ignore[attr-defined]
    **{f"request {f}": (f, lambda m, t, f=f: _request(m, **{f: t}))
       for f in ("requester", "purpose", "contact", "place", "who", "description",
                 "case_ref", "approx_time")},
    **{f"viewing {f}": (f, lambda m, t, f=f: _viewing(m, **{f: t}))
       for f in ("purpose", "case_ref", "witness")},
}


@pytest.fixture
def ready(material: Material) -> Material:
    material.auth_id = authorise(material.vault, "burmistrz", ["playback"],  # type: ignore[attr-defined]
                                 sources=["cam-hol"], by="zastepca")
    return material


def test_every_free_text_field_over_its_limit_is_refused_and_changes_nothing(
        ready: Material) -> None:
    m = ready
    before = snapshot(m.vault)
    for name, (field, write) in CASES.items():
        limit, label = TEXT_LIMITS[field]
        with pytest.raises(FieldError) as refused:
            write(m, over(field))
        assert refused.value.field == field, name
        assert str(refused.value) == (f"Pole „{label}” może mieć najwyżej {limit} znaków "
                                      f"(podano {limit + 1})."), name
        assert snapshot(m.vault) == before, name


def test_a_20_mb_purpose_is_refused_not_stored_for_ever(ready: Material) -> None:
    """The finding: a 20 MB purpose went into the viewing session and the audit log."""
    m = ready
    before = snapshot(m.vault)
    with pytest.raises(FieldError) as refused:
        _viewing(m, purpose="p" * (20 * 1024 * 1024))
    assert refused.value.field == "purpose" and "(podano 20971520)" in str(refused.value)
    assert snapshot(m.vault) == before


def test_exactly_the_limit_is_kept_whole(ready: Material) -> None:
    m = ready
    text = "ż" * TEXT_LIMITS["purpose"][0]
    assert _viewing(m, purpose=text)
    req = _request(m, requester="r" * TEXT_LIMITS["requester"][0],
                   case_ref="c" * TEXT_LIMITS["case_ref"][0])
    with m.vault.reading() as s:
        from kustosz.db.access import ViewingSession

        assert s.execute(select(ViewingSession.purpose)).scalar_one() == text
        assert s.get(Request, req.id).requester == "r" * TEXT_LIMITS["requester"][0]


def test_an_employee_file_with_an_overlong_cell_names_the_line(ready: Material) -> None:
    m = ready
    before = snapshot(m.vault)
    text = ("imie_nazwisko;stanowisko;komorka;data_rozpoczecia;identyfikator\n"
            "Jan Kowalski;referent;OR;2024-01-02;e1\n"
            f"Anna Nowak;{over('position')};OR;2024-01-02;e2\n")
    with pytest.raises(InputError) as refused:
        _in(m, lambda s: employees.import_csv(s, text, "test"))
    assert for_people(refused.value).startswith(
        "Wiersz 3: Pole „stanowisko” może mieć najwyżej 200")
    assert snapshot(m.vault) == before


def test_the_command_line_obeys_the_same_limit(tmp_path: Path, cli: Cli) -> None:
    """`kustosz holds place --basis` over the limit: one error line, exit 2, nothing
    changed."""
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hall", "--kind", "camera")
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    result = cli("holds", "place", "--source", "hall", "--from", "2026-11-01T09:00:00Z",
                 "--to", "2026-11-01T11:00:00Z", "--basis", over("basis"), ok=False)
    assert result.exit_code == 2
    assert "Pole „podstawa prawna” może mieć najwyżej 2000 znaków (podano 2001)" \
        in result.output
    assert snapshot(vault) == before
    vault.close()
