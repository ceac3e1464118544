"""Issue 30 items 1-5: holds that end, copies that can be destroyed, periods that follow the
Civil Code. Scenarios under a shifted clock: every step takes its own ``now``/dates, so a
copy's four months or an original's 30 days pass without waiting.

* item 1 [004 §7.3, §7.4, §7.9]: two persons secure the same call in Wałbrzych; each copy,
  once due, is destroyed — the other request's hold (which ends only with *its* copy) does not
  block it; a request still waiting for its answer does, and says what ends the wait;
* item 2 [004 §7.2; art. 5 ust. 1 lit. c, e RODO]: a data subject answered, the original
  follows its 30 days — not the copy's 4 months;
* item 3 (every preset): a data subject's masked copy sent back at review after the
  original's period is made again from the originals, which the hold kept;
* item 4: an approved request never copied is shown overdue, with the day;
* item 5 [002 zał.5 §6.4, 004 §7.4; art. 115 k.c.]: a 14th day on a Saturday or 11 November
  ends on the next working day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from tests.conftest import make_vault, snapshot
from tests.custody.custody_helpers import (
    call,
    hold_row,
    is_stored,
    people,
    record,
    registered,
    reviewed,
    setup_camera,
    setup_phone,
)

from kustosz.custody import subject_review as sr
from kustosz.custody.copies import list_copies, make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm, other_holds
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import (
    RequestSpec,
    overdue_copies,
    overdue_since,
)
from kustosz.db.custody import Copy, Request
from kustosz.errors import ConfigError, InputError
from kustosz.policy import load_policy
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault

CALLER, SECOND = "+48600100200", "+48600300400"
TZ_NOON = time(12, 0)


def _today(vault: Vault) -> date:
    return datetime.now(UTC).astimezone(vault.policy.timezone).date()


def _at(vault: Vault, day: date, at: time = TZ_NOON) -> datetime:
    return datetime.combine(day, at, tzinfo=vault.policy.timezone)


def _calls(event: datetime, received: date, kind: str, requester: str,
           caller: str = CALLER) -> RequestSpec:
    return RequestSpec(kind=kind, material="calls", requester=requester, received_on=received,
                       event_date=event.date(), purpose="zabezpieczenie na potrzeby sprawy",
                       caller=caller, approx_time=event.strftime("%H:%M"))








def _destroy(vault: Vault, number: str, now: datetime) -> None:
    confirm(vault, number, "komisja1", "test", now=now)
    _d, done = confirm(vault, number, "komisja2", "test", now=now)
    assert done


@pytest.fixture
def walbrzych(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "mops", preset="walbrzych", url=backend_url)
    people(v)
    setup_phone(v, tmp_path / "pbx")
    (tmp_path / "calls").mkdir()
    yield v
    v.close()


# -- item 1 ------------------------------------------------------------------------------------
def test_two_persons_securing_one_call_both_copies_are_destroyed_004_s7_9(
        walbrzych: Vault, tmp_path: Path) -> None:
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    rec = call(vault, tmp_path / "calls", event, CALLER)
    now = event + timedelta(days=1)
    first = registered(vault, _calls(event, now.date(), "interested", "Anna Łęcka"), now)
    second = registered(vault, _calls(event, now.date(), "interested", "Jerzy Żak"), now)
    copies = [make_copy(vault, r.id, "informatyk", "test", now=now + timedelta(hours=1))
              for r in (first, second)]
    # 004 §7.3: both keep the original past its 30 days while their copies are kept.
    run_sweep(vault, now=rec.expires_at + timedelta(hours=1))
    assert is_stored(vault, rec.id)
    due = max(c.expires_at for c in copies) + timedelta(hours=1)
    with vault.reading() as s:
        assert sorted(c.number for c in list_copies(s, due_only=True, now=due)) == sorted(
            c.number for c in copies)
        # Neither request's hold keeps the other's copy: each ends with its own copy.
        for c in copies:
            assert other_holds(s, s.get(Copy, c.id)) == []
    # A third request on the call, still undecided: this copy may be its answer — refused,
    # saying what ends the wait, and nothing changes.
    police = registered(vault, _calls(event, now.date(), "authority", "KMP Wałbrzych"), now,
                       agree=None)
    before = snapshot(vault)
    with pytest.raises(InputError) as caught:
        confirm(vault, copies[0].number, "komisja1", "test", now=due)
    assert f"czeka wniosek nr {police.id}" in (caught.value.pl or "")
    assert "Najpierw rozpatrz wniosek" in (caught.value.pl or "")
    assert f"request(s) {police.id}" in str(caught.value)
    assert "uprawnionego organu" in (caught.value.pl or "")
    assert snapshot(vault) == before
    with vault.transaction() as s:
        decide(s, vault.policy, police.id, by="burmistrz", agree=False, on=now.date(),
               actor="test", keyed_by="burmistrz", now=now)
    _destroy(vault, copies[0].number, due)
    assert hold_row(vault, first.hold_id).released_at is not None
    assert hold_row(vault, second.hold_id).released_at is None
    run_sweep(vault, now=due + timedelta(minutes=5))
    assert is_stored(vault, rec.id)  # the second copy is still kept, and so is the original
    _destroy(vault, copies[1].number, due)
    assert hold_row(vault, second.hold_id).released_at is not None
    run_sweep(vault, now=due + timedelta(minutes=10))
    assert not is_stored(vault, rec.id)


def test_an_evidence_hold_still_keeps_the_copy(walbrzych: Vault, tmp_path: Path) -> None:
    """R2.3: a hold placed as evidence still blocks, with its basis; released, the copy goes."""
    from kustosz.custody.holds import place_hold, release_hold

    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    rec = call(vault, tmp_path / "calls", event, CALLER)
    now = event + timedelta(days=1)
    req = registered(vault, _calls(event, now.date(), "interested", "Anna Łęcka"), now)
    copy = make_copy(vault, req.id, "informatyk", "test", now=now)
    with vault.transaction() as s:
        hold = place_hold(s, sources=[], start=None, end=None, items=[rec.id], actor="test",
                          basis="postępowanie prokuratury PR 1 Ds. 5/26")
        hold_id = hold.id
    due = copy.expires_at + timedelta(hours=1)
    before = snapshot(vault)
    with pytest.raises(InputError, match="another active hold") as caught:
        confirm(vault, copy.number, "komisja1", "test", now=due)
    assert "PR 1 Ds. 5/26" in (caught.value.pl or "")
    assert snapshot(vault) == before
    with vault.transaction() as s:
        release_hold(s, hold_id, "postępowanie zakończone", "test")
    _destroy(vault, copy.number, due)


# -- item 2 ------------------------------------------------------------------------------------
def test_a_data_subject_answered_the_original_keeps_its_30_days_004_s7_2(
        walbrzych: Vault, tmp_path: Path) -> None:
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    rec = call(vault, tmp_path / "calls", event, CALLER)
    now = event + timedelta(days=1)
    req = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
    copy = make_copy(vault, req.id, "informatyk", "test", now=now)
    assert hold_row(vault, req.hold_id).released_at is None  # made, not yet given
    hand_over(vault, copy.number, receiver="Anna Łęcka (osobiście)", by="informatyk",
              actor="test", now=now + timedelta(hours=2))
    hold = hold_row(vault, req.hold_id)
    assert hold.released_at is not None and "wydano kopię" in (hold.release_reason or "")
    # The original follows its own 30 days [004 §7.2], not the copy's 4 months [§7.9].
    assert copy.expires_at > rec.expires_at + timedelta(days=60)
    run_sweep(vault, now=rec.expires_at + timedelta(hours=1))
    assert not is_stored(vault, rec.id)
    assert (vault.root / copy.bundle).exists()


@pytest.mark.parametrize("preset", ["walbrzych", "boleslawiec"])
def test_a_data_subjects_calls_stay_held_until_handed_over(preset: str, tmp_path: Path) -> None:
    """Item 3 for calls (no review): the copy made is not yet the answer; the originals past
    their period stay until the copy is handed over."""
    vault = make_vault(tmp_path / preset, preset=preset)
    try:
        people(vault)
        setup_phone(vault, tmp_path / "pbx")
        (tmp_path / "calls").mkdir()
        event = _at(vault, _today(vault) - timedelta(days=3))
        rec = call(vault, tmp_path / "calls", event, CALLER)
        now = event + timedelta(days=1)
        req = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
        copy = make_copy(vault, req.id, "informatyk", "test", now=now)
        run_sweep(vault, now=rec.expires_at + timedelta(hours=1))
        assert is_stored(vault, rec.id)
        hand_over(vault, copy.number, receiver="Anna Łęcka", by="informatyk", actor="test",
                  now=rec.expires_at + timedelta(hours=2))
        run_sweep(vault, now=rec.expires_at + timedelta(hours=3))
        assert not is_stored(vault, rec.id)
    finally:
        vault.close()


# -- item 3 ------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["pleszew", "elblag", "miedziana-gora"])
def test_a_masked_copy_sent_back_after_the_originals_period_is_made_again(
        preset: str, tmp_path: Path) -> None:
    from tests.web.web_helpers import request_of

    vault = make_vault(tmp_path / preset, preset=preset)
    try:
        people(vault)
        setup_camera(vault, "cam-hol")
        base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
        recs = record(vault, "cam-hol", base, 2, tmp_path / "seg")
        rid = request_of(vault, base, ["cam-hol"], 4)
        copy = make_copy(vault, rid, "informatyk", "test")
        assert copy.review_state == "awaiting"
        with vault.reading() as s:
            hold_id = s.get(Request, rid).hold_id
        assert hold_row(vault, hold_id).released_at is None  # awaiting review: still held
        # The originals' period ends while the copy awaits review: the hold keeps them.
        after = max(r.expires_at for r in recs) + timedelta(hours=1)
        run_sweep(vault, now=after)
        assert all(is_stored(vault, r.id) for r in recs)
        from kustosz.access.users import add_user

        with vault.transaction() as s:
            add_user(s, "przeglad", "Maria Wrona", ["custodian"], "test")
        with vault.transaction() as s:
            _c, bundle = sr.send_back(s, copy.number, "przeglad", "maska nie zakrywa twarzy",
                                      "test")
        sr.remove_bundle(vault.root, bundle)
        with vault.reading() as s:
            assert s.get(Request, rid).status == "approved"
            # counted again from the day it was sent back: not overdue today
            assert overdue_since(s, vault.policy, s.get(Request, rid)) is None
        again = make_copy(vault, rid, "informatyk", "test")
        assert again.number != copy.number and again.items == copy.items
        reviewed(vault, again.number)
        hand_over(vault, again.number, receiver="Jan Nowak", by="informatyk", actor="test")
        assert hold_row(vault, hold_id).released_at is not None
        run_sweep(vault, now=after + timedelta(minutes=5))
        assert not any(is_stored(vault, r.id) for r in recs)
    finally:
        vault.close()


# -- item 4 ------------------------------------------------------------------------------------
def test_an_approved_request_never_copied_is_overdue_from_a_day(vault: Vault,
                                                                tmp_path: Path) -> None:
    """Pleszew, decided Monday 2.11.2026: 14 days end on 16.11; overdue from 17.11. The
    material stays held; past the original's period too."""
    setup_camera(vault)
    people(vault)
    event = _at(vault, date(2026, 11, 1))
    (rec,) = record(vault, "cam-hol", event - timedelta(seconds=1), 1, tmp_path / "segs")
    spec = RequestSpec(kind="interested", material="video", requester="Jan Żółkiewski",
                       received_on=date(2026, 11, 2), event_date=event.date(),
                       purpose="dowód w sprawie", approx_time="12:00",
                       place="Ratusz/hol parter", margin_minutes=1, description="kradzież")
    req = registered(vault, spec, _at(vault, date(2026, 11, 2), time(9)))
    with vault.reading() as s:
        r = s.get(Request, req.id)
        assert overdue_since(s, vault.policy, r, now=_at(vault, date(2026, 11, 16), time(23)))\
            is None
        late = overdue_since(s, vault.policy, r, now=_at(vault, date(2026, 11, 17), time(8)))
        assert late is not None and late.step == "copy"
        assert late.since == date(2026, 11, 17) and late.counted_from == date(2026, 11, 2)
        assert late.pl() == "zatwierdzony, bez kopii — po terminie od 17.11.2026"
        assert [x.id for x, _ in overdue_copies(s, vault.policy,
                                                now=_at(vault, date(2026, 12, 24)))] == [req.id]
    run_sweep(vault, now=rec.expires_at + timedelta(days=40))
    assert is_stored(vault, rec.id)
    assert hold_row(vault, req.hold_id).released_at is None


def test_the_dashboard_shows_the_request_overdue_for_a_copy(vault: Vault,
                                                            tmp_path: Path) -> None:
    from tests.web.web_helpers import client, session_for

    setup_camera(vault)
    people(vault)
    today = _today(vault)
    event = _at(vault, today - timedelta(days=25))
    record(vault, "cam-hol", event - timedelta(seconds=1), 1, tmp_path / "segs")
    spec = RequestSpec(kind="interested", material="video", requester="Jan Żółkiewski",
                       received_on=event.date() + timedelta(days=1), event_date=event.date(),
                       purpose="dowód w sprawie", approx_time="12:00",
                       place="Ratusz/hol parter", margin_minutes=1, description="kradzież")
    req = registered(vault, spec, event + timedelta(days=2))
    since = event.date() + timedelta(days=2 + 15)
    web = client(vault)
    session_for(vault, web, "burmistrz")
    page = web.get("/").text
    assert ('id="overdue-copies"><b>1</b><span>wniosek zatwierdzony bez kopii dłużej niż '
            '14 dni — nagrania pozostają zabezpieczone do sporządzenia kopii') in page
    row = re.search(r'<section class="card" id="overdue-copy-list">.*?</section>', page, re.S)
    assert row is not None
    assert f'<a href="/requests/{req.id}">nr {req.id}</a>' in row.group(0)
    assert f"<td>{since.strftime('%d.%m.%Y')}</td>" in row.group(0)
    # The English switch reads it in English.
    web.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = web.get("/").text
    assert ("approved request without a copy for more than 14 days — its recordings stay "
            "held until the copy is made") in english
    assert "Overdue since" in english and "Po terminie od" not in english


# -- item 5 ------------------------------------------------------------------------------------
def _video(event: date, received: date) -> RequestSpec:
    return RequestSpec(kind="interested", material="video", requester="Jan Żółkiewski",
                       received_on=received, event_date=event, purpose="dowód w sprawie",
                       approx_time="12:00", place="Ratusz/hol parter", margin_minutes=1,
                       description="kradzież roweru")


@pytest.mark.parametrize(("event", "last", "why"), [
    # day 14 is Saturday 21.11.2026: the Monday is the last day
    (date(2026, 11, 7), date(2026, 11, 23), "21.11.2026 to sobota"),
    # day 14 is 11 November, a public holiday: the 12th is the last day
    (date(2026, 10, 28), date(2026, 11, 12),
     "11.11.2026 to dzień ustawowo wolny od pracy (Narodowe Święto Niepodległości)"),
])
def test_pleszew_14_days_end_on_the_next_working_day_art_115_kc(
        vault: Vault, tmp_path: Path, event: date, last: date, why: str) -> None:
    setup_camera(vault)
    people(vault)
    record(vault, "cam-hol", _at(vault, event) - timedelta(seconds=1), 1, tmp_path / "segs")
    kept = registered(vault, _video(event, last), _at(vault, last), agree=None)
    assert kept.status == "registered" and not kept.late and kept.hold_id is not None
    assert hold_row(vault, kept.hold_id).released_at is None
    day_after = last + timedelta(days=1)
    refused = registered(vault, _video(event, day_after), _at(vault, day_after), agree=None)
    assert refused.status == "refused" and refused.late and refused.hold_id is None
    assert (f"(ostatni dzień: {last.strftime('%d.%m.%Y')} — {why}; termin upływa następnego "
            "dnia roboczego (art. 115 k.c.)) — nie podlega rozpatrzeniu") in (
        refused.status_reason or "")


def test_a_working_day_14_is_not_moved(vault: Vault, tmp_path: Path) -> None:
    """Event 2.11.2026: day 14 is Monday 16.11; a request of 17.11 is late, the date plain."""
    setup_camera(vault)
    people(vault)
    refused = registered(vault, _video(date(2026, 11, 2), date(2026, 11, 17)),
                        _at(vault, date(2026, 11, 17)), agree=None)
    assert refused.status == "refused"
    assert "(ostatni dzień: 16.11.2026) — nie podlega" in (refused.status_reason or "")


def test_walbrzych_warns_only_after_the_moved_end_004_s7_4(walbrzych: Vault,
                                                           tmp_path: Path) -> None:
    vault = walbrzych
    event = _at(vault, date(2026, 11, 7))
    call(vault, tmp_path / "calls", event, CALLER)
    monday = registered(vault, _calls(event, date(2026, 11, 23), "interested", "Anna Łęcka"),
                       _at(vault, date(2026, 11, 23)), agree=None)
    assert not monday.late and not (monday.warning or "").startswith("Wniosek złożony po")
    tuesday = registered(vault, _calls(event, date(2026, 11, 24), "interested", "Jerzy Żak"),
                        _at(vault, date(2026, 11, 24)), agree=None)
    assert tuesday.late and tuesday.status == "registered"
    assert "ostatni dzień: 23.11.2026 — 21.11.2026 to sobota" in (tuesday.warning or "")


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "message"), [
    ("two weeks", "copy_overdue_after"), ("0 days", "longer than zero"), (14, "wrong type")])
def test_a_bad_copy_overdue_period_is_refused(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_policy("pleszew", {"requests": {"copy_overdue_after": value}})
    assert caught.value.pl


def test_copy_overdue_period_is_the_offices_to_set() -> None:
    policy = load_policy("walbrzych", {"requests": {"copy_overdue_after": "7 days"}})
    assert str(policy.custody.copy_overdue_after) == "7 days"
    assert policy.as_dict()["requests"]["copy_overdue_after"] == "7 days"
    assert str(load_policy("pleszew").custody.copy_overdue_after) == "14 days"
