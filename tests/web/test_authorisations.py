"""Issuing individual authorisations (R3.2): each bad field is named and nothing is saved;
an authorisation must be able to open what it names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import snapshot
from tests.custody.custody_helpers import people, setup_camera
from tests.monitoring.monitoring_helpers import endpoint, mailbox
from web_helpers import user

from kustosz.access.authorisations import FieldError, covers, issue
from kustosz.db.models import Source
from kustosz.vault import Vault

NOW = datetime.now(UTC)
GOOD: dict[str, Any] = {"holder": "iod", "actions": ["mail"], "sources": ["dziennik"],
                        "source_kinds": [], "valid_from": NOW - timedelta(days=1),
                        "valid_to": NOW + timedelta(days=30), "by": "burmistrz"}


@pytest.fixture
def office(web_vault: Vault) -> Vault:
    people(web_vault)
    setup_camera(web_vault, "cam-hol")
    mailbox(web_vault, "dziennik", office_domains=["pleszew.pl"])
    endpoint(web_vault, "siem")
    user(web_vault, "iod", ["dpo"], password=None)
    user(web_vault, "ochrona", ["operator"], password=None)
    return web_vault


@pytest.mark.parametrize("change, field, message", [
    ({"holder": "nikt"}, "holder", "Nie ma takiego użytkownika"),
    ({"actions": []}, "actions", "co najmniej jedną"),
    ({"actions": ["czytanie"]}, "actions", "Nieznana czynność"),
    ({"holder": "ochrona"}, "actions", "nie pozwala"),
    ({"sources": [], "source_kinds": []}, "sources", "Wskaż źródła"),
    ({"sources": [], "source_kinds": ["drukarki"]}, "source_kinds", "Nieznany rodzaj"),
    ({"sources": ["brak"]}, "sources", "Nie ma źródła"),
    ({"sources": ["cam-hol"]}, "sources", "nie dotyczy źródła cam-hol"),
    ({"sources": [], "source_kinds": ["endpoint"]}, "source_kinds", "nie dotyczy rodzaju"),
    ({"actions": ["events"]}, "sources", "nie dotyczy źródła dziennik"),
    ({"valid_from": None}, "valid_from", "początku"),
    ({"valid_to": NOW - timedelta(days=2)}, "valid_to", "po jego początku"),
    ({"by": "iod"}, "issued_by", "kierownik jednostki"),
])
def test_a_bad_field_is_named_and_nothing_is_saved(
        office: Vault, change: dict[str, Any], field: str, message: str) -> None:
    before = snapshot(office)
    with pytest.raises(FieldError, match=message) as err, office.transaction() as s:
        issue(s, **{**GOOD, **change}, actor="test")
    assert err.value.field == field
    assert snapshot(office) == before


def test_mail_and_events_are_separate_actions_over_their_own_kinds(office: Vault) -> None:
    with office.transaction() as s:
        a = issue(s, **{**GOOD, "actions": ["mail", "events"],
                        "sources": ["dziennik", "siem"]}, actor="test")
        sources = {x.name: x for x in s.query(Source)}
        assert covers(a, "mail", sources["dziennik"])
        assert not covers(a, "mail", sources["siem"])
        assert covers(a, "events", sources["siem"])
        assert not covers(a, "events", sources["dziennik"])
        assert not covers(a, "playback", sources["cam-hol"])
        # copies of mail and event material are exported like any other (custodian's role)
        b = issue(s, **{**GOOD, "holder": "informatyk", "actions": ["export"],
                        "sources": [], "source_kinds": ["mailbox", "endpoint"]}, actor="test")
        assert covers(b, "export", sources["siem"]) and covers(b, "export", sources["dziennik"])
        assert not covers(b, "export", sources["cam-hol"])
