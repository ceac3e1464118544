"""Bad input to the custody paperwork: a clear error, nothing changed; and the calls flow of
Wałbrzych (late request accepted with a warning, calls copied byte for byte)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from custody_helpers import (
    OFFICE_NUMBER,
    call,
    late_event,
    people,
    record,
    setup_camera,
    setup_phone,
)
from tests.conftest import make_vault, snapshot
from tests.office_day import office_today

from kustosz.custody.bundles import verify_bundle
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.holds import place_hold
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import KustoszError
from kustosz.index.sources import get_source
from kustosz.vault import Vault


def _event(vault: Vault, days_ago: int) -> datetime:
    day = datetime.now(UTC).astimezone(vault.policy.timezone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12, 0), tzinfo=vault.policy.timezone)


def _spec(event: datetime, **kw: object) -> RequestSpec:
    base = dict(kind="interested", material="video", requester="Jan Kowalski",
                received_on=event.date() + timedelta(days=1), event_date=event.date(),
                purpose="dowód", approx_time="12:00", place="Ratusz/hol parter",
                description="zdarzenie", margin_minutes=1)
    base.update(kw)
    return RequestSpec(**base)  # type: ignore[arg-type]


def test_bad_requests_change_nothing(vault: Vault, tmp_path: Path) -> None:
    setup_camera(vault)
    people(vault)
    event = _event(vault, 3)
    record(vault, "cam-hol", event, 2, tmp_path / "segs")
    tomorrow = office_today() + timedelta(days=2)
    bad = {
        "purpose": _spec(event, purpose=" "),
        "requester": _spec(event, requester=""),
        "description": _spec(event, description=None),
        "in the future": _spec(event, event_date=tomorrow, received_on=tomorrow),
        "before it starts": _spec(event, approx_time=None, start=event,
                                  end=event - timedelta(minutes=5)),
        "not HH:MM": _spec(event, approx_time="25:61"),
        "no camera is registered": _spec(event, place="Ratusz/piwnica"),
        "calling number": _spec(event, material="calls", place=None, caller="12ab34",
                                description=None),
    }
    before = snapshot(vault)
    for needle, spec in bad.items():
        with pytest.raises(KustoszError, match=needle), vault.transaction() as s:
            register_request(s, vault.policy, spec, "test")
    assert snapshot(vault) == before

    with vault.transaction() as s:
        rid = register_request(s, vault.policy, _spec(event), "test").id
    before = snapshot(vault)
    with pytest.raises(KustoszError, match="approver role"), vault.transaction() as s:
        decide(s, vault.policy, rid, by="komisja1", agree=False, on=office_today(), actor="t",
               keyed_by="komisja1")
    with pytest.raises(KustoszError, match="not been decided"):
        make_copy(vault, rid, "informatyk", "t")
    assert snapshot(vault) == before
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(), actor="t",
               keyed_by="burmistrz")
    before = snapshot(vault)
    with pytest.raises(KustoszError, match="already decided"), vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=False, on=office_today(), actor="t",
               keyed_by="burmistrz")
    with pytest.raises(KustoszError, match="no user"):
        make_copy(vault, rid, "nikt", "t")
    assert snapshot(vault) == before

    # A copy whose material another hold keeps as evidence is not destroyed.
    copy = make_copy(vault, rid, "informatyk", "t")
    with vault.transaction() as s:
        place_hold(s, sources=[get_source(s, "cam-hol")], start=event - timedelta(hours=1),
                   end=event + timedelta(hours=1), basis="postępowanie prokuratury PR 1 Ds. 5/26",
                   actor="t")
    before = snapshot(vault)
    with pytest.raises(KustoszError, match="another active hold"):
        confirm(vault, copy.number, "komisja1", "t")
    assert snapshot(vault) == before
    assert verify_bundle(vault.root / copy.bundle).ok


def test_calls_request_walbrzych(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", preset="walbrzych")
    try:
        setup_phone(vault, tmp_path)
        people(vault)
        event = late_event(vault)
        wanted = call(vault, tmp_path, event, "+48600100200")
        call(vault, tmp_path, event + timedelta(minutes=3), "+48600999888")
        # Day 15 in Wałbrzych: accepted, with the warning the seed prescribes [004 §7.4].
        with vault.transaction() as s:
            req = register_request(s, vault.policy, RequestSpec(
                kind="interested", material="calls", requester="Maria Dąbrowska",
                received_on=event.date() + timedelta(days=15), event_date=event.date(),
                purpose="skarga", approx_time="12:00", caller="600 100 200",
                callee="74 664 08 00"), "test")
            assert req.status == "registered" and req.late
            assert "nie jest gwarantowane" in (req.warning or "")
            assert req.items == [wanted.id] and req.callee == OFFICE_NUMBER
            decide(s, vault.policy, req.id, by="burmistrz", agree=True, on=office_today(),
                   actor="t", keyed_by="burmistrz")
            rid = req.id
        copy = make_copy(vault, rid, "informatyk", "t")
        bundle = vault.root / copy.bundle
        (media,) = (bundle / "media").iterdir()
        assert media.read_bytes() == vault.storage.path(wanted.storage_key).read_bytes()
        assert copy.sources[0]["caller"] == "+48600100200"
        # 4 months from the day the copy was made [004 §7.9].
        made = copy.made_at.astimezone(vault.policy.timezone).date()
        assert copy.expires_at == vault.policy.copy_lifetime.end(made, vault.policy.timezone)
        assert verify_bundle(bundle).ok
    finally:
        vault.close()
