"""Issue 17 item 1: a data subject's request is answered within one month of receipt, which
may be extended once by two months with a reason, the person told within the first month
(art. 12 ust. 3 RODO; R6.2). Every bad extension is refused with a clear error and changes
nothing."""

from __future__ import annotations

import calendar
import json
from datetime import date, datetime, time, timedelta

import pytest
from custody_helpers import people, record, setup_camera
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz.custody.answer_deadline import deadline_of, extend, open_deadlines
from kustosz.custody.answer_due import EXTENDED, MONTH
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, get_request, register_request
from kustosz.errors import FieldError, InputError
from kustosz.vault import Vault


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_one_month_is_the_same_day_next_month_or_its_last_day(received: date) -> None:
    due, extended = MONTH.last_day(received), EXTENDED.last_day(received)
    for months, day in ((1, due), (3, extended)):
        y, m = divmod(received.month - 1 + months, 12)
        year, month = received.year + y, m + 1
        assert (day.year, day.month) == (year, month)
        assert day.day == min(received.day, calendar.monthrange(year, month)[1])
    assert 28 <= (due - received).days <= 31
    assert 89 <= (extended - received).days <= 92


def test_known_dates() -> None:
    assert MONTH.last_day(date(2026, 1, 31)) == date(2026, 2, 28)
    assert MONTH.last_day(date(2028, 1, 31)) == date(2028, 2, 29)
    assert MONTH.last_day(date(2026, 11, 23)) == date(2026, 12, 23)
    assert EXTENDED.last_day(date(2026, 11, 30)) == date(2027, 2, 28)


def _subject(vault: Vault, received: date, kind: str = "data_subject") -> int:
    spec = RequestSpec(kind=kind, material="video", requester="Jan Żółkiewski, ul. Łąkowa 5",
                       received_on=received, event_date=received - timedelta(days=1),
                       purpose="dostęp do moich danych (art. 15 RODO)", approx_time="12:00",
                       place="Ratusz/hol parter", margin_minutes=1,
                       description="byłem w holu około południa")
    with vault.transaction() as s:
        return register_request(s, vault.policy, spec, "test").id


@pytest.fixture
def office(vault: Vault) -> Vault:
    people(vault)
    setup_camera(vault)
    return vault


def test_deadline_extension_and_answer(office: Vault) -> None:
    tz = office.policy.timezone
    today = office_today()
    received = today - timedelta(days=10)
    rid = _subject(office, received)
    other = _subject(office, received, kind="interested")
    with office.reading() as s:
        d = deadline_of(s, get_request(s, rid), tz)
        assert deadline_of(s, get_request(s, other), tz) is None
        assert [r.id for r, _d in open_deadlines(s, tz)] == [rid]
    assert d is not None and d.due == MONTH.last_day(received) and d.may_extend(today)
    assert not d.overdue(today) and d.days_left(today) == (d.due - today).days
    with office.transaction() as s:
        new = extend(s, tz, rid, reason="liczba żądań w tym miesiącu", on=today,
                     by="informatyk", actor="informatyk", today=today)
    assert new.due == EXTENDED.last_day(received) and new.extended_on == today
    assert not new.may_extend(today)
    with office.reading() as s:
        req = get_request(s, rid)
        assert (req.extension_reason, req.extended_by) == ("liczba żądań w tym miesiącu",
                                                           "informatyk")
    # Refused: the request stops being open (the refusal is the answer).
    with office.transaction() as s:
        decide(s, office.policy, rid, by="burmistrz", agree=False, on=today, actor="test",
               keyed_by="burmistrz", reason="brak nagrań z tego dnia")
    with office.reading() as s:
        done = deadline_of(s, get_request(s, rid), tz)
        assert done is not None and done.answered_on == today and not done.overdue(today)
        assert open_deadlines(s, tz) == []


def test_an_old_unanswered_request_is_overdue(office: Vault) -> None:
    today = office_today()
    rid = _subject(office, today - timedelta(days=40))
    with office.reading() as s:
        d = deadline_of(s, get_request(s, rid), office.policy.timezone)
    assert d is not None and d.overdue(today) and d.days_left(today) < 0
    assert not d.may_extend(today)


def _bad(office: Vault, rid: int, exc: type[Exception], match: str, **kw: object) -> None:
    today = office_today()
    args: dict[str, object] = {"reason": "skomplikowany charakter żądania", "on": today,
                               "by": "informatyk", "actor": "informatyk", "today": today}
    args.update(kw)
    before = snapshot(office)
    with pytest.raises(exc, match=match), office.transaction() as s:
        extend(s, office.policy.timezone, rid, **args)  # type: ignore[arg-type]
    assert snapshot(office) == before


def test_bad_extensions_are_refused_and_change_nothing(office: Vault) -> None:
    today = office_today()
    rid = _subject(office, today - timedelta(days=3))
    _bad(office, rid, FieldError, "reason", reason="   ")
    _bad(office, rid, FieldError, "told", on=today + timedelta(days=1))
    _bad(office, rid, FieldError, "told", on=today - timedelta(days=4))
    _bad(office, 999_999, Exception, "999999")
    other = _subject(office, today, kind="interested")
    _bad(office, other, InputError, "not a data subject")
    late = _subject(office, today - timedelta(days=45))
    _bad(office, late, FieldError, "within one month")
    with office.transaction() as s:
        extend(s, office.policy.timezone, rid, reason="liczba żądań", on=today,
               by="informatyk", actor="informatyk", today=today)
    _bad(office, rid, InputError, "already extended")


def test_the_cli_shows_the_deadline_and_extends_it(cli: Cli, tmp_path: object) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    setup_camera(vault)
    people(vault)  # the notice is signed by a person of the office (--by, issue 30 item 9)
    vault.close()
    received = office_today() - timedelta(days=2)
    cli("requests", "add", "--kind", "data_subject", "--material", "video", "--requester",
        "Anna Łęcka, ul. Polna 3", "--received", received.isoformat(), "--date",
        (received - timedelta(days=1)).isoformat(), "--time", "10:00",
        "--place", "Ratusz/hol parter", "--purpose", "dostęp do nagrań z moim udziałem",
        "--description", "byłam w holu przy kasie")
    shown = json.loads(cli("requests", "show", "1", "--json").output)
    assert shown["answer_due"] == MONTH.last_day(received).isoformat()
    assert shown["extended_on"] is None
    bad = cli("requests", "extend", "1", "--reason", " ", "--by", "informatyk", ok=False)
    assert bad.exit_code != 0 and "error:" in bad.output and "błąd:" in bad.output
    assert "--reason" in bad.output
    cli("requests", "extend", "1", "--reason", "skomplikowany charakter żądania",
        "--by", "informatyk")
    shown = json.loads(cli("requests", "show", "1", "--json").output)
    assert shown["answer_due"] == EXTENDED.last_day(received).isoformat()
    assert shown["extension_reason"] == "skomplikowany charakter żądania"
    again = cli("requests", "extend", "1", "--reason", "jeszcze raz", "--by", "informatyk",
                ok=False)
    assert again.exit_code != 0 and "już" in again.output


def test_recorded_material_does_not_change_the_deadline(office: Vault, tmp_path: object) -> None:
    """The deadline runs from receipt, whatever the request holds."""
    today = office_today()
    tz = office.policy.timezone
    record(office, "cam-hol", datetime.combine(today - timedelta(days=1), time(12, 0), tzinfo=tz),
           2,
           tmp_path / "seg")  # type: ignore[operator]
    rid = _subject(office, today)
    with office.reading() as s:
        d = deadline_of(s, get_request(s, rid), tz)
    assert d is not None and d.due == MONTH.last_day(today)


def test_the_offices_14_day_rule_does_not_refuse_a_data_subjects_access(cli: Cli) -> None:
    """Pleszew's zał.5 §6.3-6.4 refuses a request to secure material made more than 14 days after
    the event; that binds a request for a future proceeding, not a data subject's access under
    art. 15 RODO, which the regulation cannot shorten. The same late dates: the interested
    party's request is refused, the data subject's registered with its month to answer."""
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    setup_camera(vault)
    vault.close()
    received = office_today() - timedelta(days=1)
    event = received - timedelta(days=20)
    for kind in ("interested", "data_subject"):
        cli("requests", "add", "--kind", kind, "--material", "video", "--requester",
            "Anna Łęcka, ul. Polna 3", "--received", received.isoformat(), "--date",
            event.isoformat(), "--time", "10:00", "--place", "Ratusz/hol parter",
            "--purpose", "dostęp do nagrań z moim udziałem", "--description", "byłam w holu")
    interested = json.loads(cli("requests", "show", "1", "--json").output)
    subject = json.loads(cli("requests", "show", "2", "--json").output)
    assert interested["status"] == "refused" and "po terminie" in interested["reason"]
    assert subject["status"] == "registered" and not subject["late"]
    assert subject["answer_due"] == MONTH.last_day(received).isoformat()
