"""Issue 30 leftovers (the data subject's right and the custody around it), each a scenario
under a shifted clock, on SQLite and PostgreSQL:

1. a data subject whose calls are gone: approved, nothing to copy, no refusal possible — the
   answer "nie przetwarzamy Pana/Pani danych" (art. 15 ust. 1 RODO) closes the request and
   releases its hold; refused while any of the person's data is stored;
2. a copy made for another request is never handed to a data subject (R6.2), nor a data
   subject's copy to anyone on another request;
3. destroying a copy keeps the hold of a request to extend it that still waits;
4. Pleszew: a copy reaches its "nie dłuższy niż 3 miesiące od dnia nagrania" [002 zał.5 §7.4]
   and is destroyed even while an authority's request waits.
"""

from __future__ import annotations

import json
import subprocess
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
    setup_camera,
    setup_phone,
)

from kustosz.custody import papers
from kustosz.custody.answer_deadline import deadline_of
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.no_data import answer_no_data
from kustosz.custody.requests import RequestSpec, overdue_since
from kustosz.db.custody import Request
from kustosz.documents import render
from kustosz.errors import FieldError, InputError, KustoszError
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault

HERS, OTHER = "+48600100200", "+48600300400"
NOON = time(12, 0)


def _today(vault: Vault) -> date:
    return datetime.now(UTC).astimezone(vault.policy.timezone).date()


def _at(vault: Vault, day: date, at: time = NOON) -> datetime:
    return datetime.combine(day, at, tzinfo=vault.policy.timezone)


def _calls(
    event: datetime, received: date, kind: str, requester: str, caller: str = HERS
) -> RequestSpec:
    return RequestSpec(
        kind=kind,
        material="calls",
        requester=requester,
        received_on=received,
        event_date=event.date(),
        purpose="zabezpieczenie na potrzeby sprawy",
        caller=caller,
        approx_time=event.strftime("%H:%M"),
    )








def _destroy(vault: Vault, number: str, now: datetime, reason: str | None = None) -> None:
    confirm(vault, number, "komisja1", "test", now=now, reason=reason)
    _d, done = confirm(vault, number, "komisja2", "test", now=now)
    assert done


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    (tmp / "a.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(tmp / "a.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return " ".join(out.split())


@pytest.fixture
def walbrzych(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "mops", preset="walbrzych", url=backend_url)
    people(v)
    setup_phone(v, tmp_path / "pbx")
    (tmp_path / "calls").mkdir()
    yield v
    v.close()


# -- 1 -----------------------------------------------------------------------------------------
def test_a_data_subject_with_nothing_left_is_answered_no_data(
    walbrzych: Vault, tmp_path: Path
) -> None:
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    # Someone else's call in the period: the lines are held, nothing of hers is there.
    theirs = call(vault, tmp_path / "calls", event, OTHER)
    now = event + timedelta(days=1)
    req = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
    # Stuck before: nothing to copy, and a decided request cannot be refused.
    with pytest.raises(KustoszError, match="no stored material"):
        make_copy(vault, req.id, "informatyk", "test", now=now)
    with vault.transaction() as s, pytest.raises(InputError, match="already decided"):
        decide(
            s,
            vault.policy,
            req.id,
            by="burmistrz",
            agree=False,
            on=now.date(),
            actor="test",
            keyed_by="burmistrz",
            reason="brak danych",
            now=now,
        )
    with vault.reading() as s:
        assert (
            overdue_since(s, vault.policy, s.get(Request, req.id), now + timedelta(days=60))
            is not None
        )
    # Bad inputs change nothing: a signer without the role, a day before the request.
    before = snapshot(vault)
    with vault.transaction() as s, pytest.raises(FieldError) as caught:
        answer_no_data(s, vault.policy, req.id, by="komisja1", on=now.date(), actor="test", now=now)
    assert "nie może podpisać odpowiedzi" in (caught.value.pl or "")
    with vault.transaction() as s, pytest.raises(FieldError) as caught:
        answer_no_data(
            s,
            vault.policy,
            req.id,
            by="informatyk",
            on=now.date() - timedelta(days=5),
            actor="test",
            now=now,
        )
    assert "między dniem otrzymania żądania" in (caught.value.pl or "")
    assert snapshot(vault) == before

    with vault.transaction() as s:
        answer_no_data(
            s, vault.policy, req.id, by="informatyk", on=now.date(), actor="test", now=now
        )
    hold = hold_row(vault, req.hold_id)
    assert hold.released_at is not None and "nie przetwarzamy" in (hold.release_reason or "")
    with vault.reading() as s:
        fresh = s.get(Request, req.id)
        d = deadline_of(s, fresh, vault.policy.timezone)
        assert d is not None and d.answered_on == now.date()
        assert overdue_since(s, vault.policy, fresh, now + timedelta(days=60)) is None
        text = _pdf_text(render(*papers.answer_letter_doc(s, vault.policy, req.id)), tmp_path)
    assert "nie przetwarzamy Pana/Pani danych osobowych" in text
    assert "art. 15 ust. 1 RODO" in text and "Piotr Wiśniewski" in text
    assert "nie zostało uwzględnione" not in text and "art. 12 ust. 4" not in text
    from kustosz.custody import registers

    with vault.reading() as s:
        reg = registers.disclosures(s, vault.policy, date(2000, 1, 1), _today(vault))
    row = " ".join(" ".join(r) for r in reg.rows)
    assert "nie przetwarzamy danych tej osoby (art. 15 ust. 1 RODO)" in row
    assert f"odpowiedziano {now:%d.%m.%Y} (nie przetwarzamy danych tej osoby)" in row
    # Answered: no copy, no second answer, no decision; the other call follows its period.
    with pytest.raises(InputError, match="no data of the person"):
        make_copy(vault, req.id, "informatyk", "test", now=now)
    with vault.transaction() as s, pytest.raises(InputError, match="no data of the person"):
        answer_no_data(
            s, vault.policy, req.id, by="informatyk", on=now.date(), actor="test", now=now
        )
    run_sweep(vault, now=theirs.expires_at + timedelta(hours=1))
    assert not is_stored(vault, theirs.id)


def test_no_data_is_refused_while_her_calls_are_stored(walbrzych: Vault, tmp_path: Path) -> None:
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    call(vault, tmp_path / "calls", event, HERS)
    now = event + timedelta(days=1)
    req = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
    police = registered(vault, _calls(event, now.date(), "authority", "KMP Wałbrzych"), now)
    before = snapshot(vault)
    with vault.transaction() as s, pytest.raises(InputError) as caught:
        answer_no_data(
            s, vault.policy, req.id, by="informatyk", on=now.date(), actor="test", now=now
        )
    assert "nadal są nagrania tej osoby" in (caught.value.pl or "")
    with vault.transaction() as s, pytest.raises(InputError) as caught:
        answer_no_data(
            s, vault.policy, police.id, by="informatyk", on=now.date(), actor="test", now=now
        )
    assert "nie jest żądaniem osoby, której dane dotyczą" in (caught.value.pl or "")
    assert snapshot(vault) == before


def test_no_data_from_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import Cli

    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "walbrzych")
    vault = Vault.open(cli.data)
    try:
        people(vault)
        setup_phone(vault, tmp_path / "pbx")
        (tmp_path / "calls").mkdir()
        event = _at(vault, _today(vault) - timedelta(days=3))
        call(vault, tmp_path / "calls", event, OTHER)
        now = event + timedelta(days=1)
        req = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
    finally:
        vault.close()
    bad = cli("requests", "no-data", str(req.id), "--by", "nikt", ok=False)
    assert bad.exit_code != 0 and "--by" in bad.output
    out = cli("requests", "no-data", str(req.id), "--by", "informatyk").output
    assert "nie przetwarzamy danych tej osoby" in out
    letter = tmp_path / "answer.pdf"
    cli("documents", "render", "answer-letter", "--request", str(req.id), "--out", str(letter))
    assert "nie przetwarzamy Pana/Pani danych" in _pdf_text(letter.read_bytes(), tmp_path)
    shown = json.loads(cli("requests", "show", str(req.id), "--json").output)
    assert shown["no_data_on"] == _today(vault).isoformat()  # the day it was run


# -- 9 -----------------------------------------------------------------------------------------
def test_the_delivery_choice_from_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import Cli

    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "walbrzych")
    vault = Vault.open(cli.data)
    try:
        people(vault)
        setup_phone(vault, tmp_path / "pbx")
        (tmp_path / "calls").mkdir()
        event = _at(vault, _today(vault) - timedelta(days=3))
        call(vault, tmp_path / "calls", event, HERS)
        before = snapshot(vault)
    finally:
        vault.close()
    common = [
        "requests",
        "add",
        "--material",
        "calls",
        "--requester",
        "Anna Łęcka",
        "--date",
        event.date().isoformat(),
        "--time",
        event.strftime("%H:%M"),
        "--caller",
        HERS,
    ]
    for kind, way, said in (
        ("data_subject", "gołąb", "Nieznany sposób otrzymania kopii"),
        ("data_subject", "electronic", "wymaga adresu"),
        ("authority", "post", "wybiera osoba, której dane dotyczą"),
    ):
        bad = cli(*common, "--kind", kind, "--delivery", way, "--purpose", "sprawa", ok=False)
        assert bad.exit_code != 0 and said in " ".join(bad.output.split()), bad.output
    vault = Vault.open(cli.data)
    try:
        assert snapshot(vault) == before
    finally:
        vault.close()
    out = json.loads(
        cli(
            *common,
            "--kind",
            "data_subject",
            "--delivery",
            "electronic",
            "--contact",
            "anna@example.pl",
            "--json",
        ).output
    )
    assert out["delivery"] == "electronic"
    form = tmp_path / "form.pdf"
    cli("documents", "render", "request-subject", "--request", str(out["id"]), "--out", str(form))
    # the chosen box is ticked and the address filled in
    assert "X w postaci elektronicznej" in _pdf_text(form.read_bytes(), tmp_path)
    assert "anna@example.pl" in _pdf_text(form.read_bytes(), tmp_path)


# -- 2 -----------------------------------------------------------------------------------------
def test_a_data_subject_is_never_handed_another_requests_copy(
    walbrzych: Vault, tmp_path: Path
) -> None:
    """The attack: a data subject's request is approved, and the custodian (or someone
    posing as her) picks another person's calls copy to hand over on it."""
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    call(vault, tmp_path / "calls", event, HERS)
    call(vault, tmp_path / "calls", event + timedelta(minutes=3), OTHER)
    now = event + timedelta(days=1)
    his = registered(
        vault, _calls(event, now.date(), "data_subject", "Jerzy Żak", caller=OTHER), now
    )
    hers = registered(vault, _calls(event, now.date(), "data_subject", "Anna Łęcka"), now)
    police = registered(vault, _calls(event, now.date(), "authority", "KMP Wałbrzych"), now)
    his_copy = make_copy(vault, his.id, "informatyk", "test", now=now)
    police_copy = make_copy(vault, police.id, "informatyk", "test", now=now)
    before = snapshot(vault)
    for number in (his_copy.number, police_copy.number):
        with pytest.raises(InputError) as caught:
            hand_over(
                vault,
                number,
                receiver="Anna Łęcka",
                by="informatyk",
                actor="test",
                request_id=hers.id,
                now=now,
            )
        assert f"nie do żądania nr {hers.id}" in (caught.value.pl or "")
        assert "wyłącznie kopię sporządzoną na jej własne żądanie" in (caught.value.pl or "")
    # ... and his copy is not handed to the police on their request either: it is his.
    with pytest.raises(InputError) as caught:
        hand_over(
            vault,
            his_copy.number,
            receiver="asp. Ewa Łęcka, KMP",
            by="informatyk",
            actor="test",
            request_id=police.id,
            now=now,
        )
    assert "wydaje się ją tylko tej osobie" in (caught.value.pl or "")
    assert snapshot(vault) == before
    # His own copy goes to him on his own request.
    h, _pw = hand_over(
        vault,
        his_copy.number,
        receiver="Jerzy Żak",
        by="informatyk",
        actor="test",
        request_id=his.id,
        now=now,
    )
    assert h.request_id == his.id


# -- 3 -----------------------------------------------------------------------------------------
def test_destroying_a_copy_keeps_a_waiting_extension_requests_hold(
    walbrzych: Vault, tmp_path: Path
) -> None:
    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    rec = call(vault, tmp_path / "calls", event, HERS)
    now = event + timedelta(days=1)
    first = registered(vault, _calls(event, now.date(), "interested", "Anna Łęcka"), now)
    copy = make_copy(vault, first.id, "informatyk", "test", now=now)
    later = now + timedelta(days=2)
    spec = _calls(event, later.date(), "authority", "KMP Wałbrzych")
    spec.extends_copy = copy.number  # asks for the copy to be kept longer [004 §7.9]
    extension = registered(vault, spec, later, agree=None)
    _destroy(vault, copy.number, later + timedelta(hours=1), reason="nośnik uszkodzony")
    assert hold_row(vault, first.hold_id).released_at is not None
    # The extension still waits for its decision: the material stays secured for it.
    assert hold_row(vault, extension.hold_id).released_at is None
    run_sweep(vault, now=rec.expires_at + timedelta(hours=1))
    assert is_stored(vault, rec.id)


# -- 4 -----------------------------------------------------------------------------------------
def _video(kind: str, event: datetime, received: date, requester: str) -> RequestSpec:
    return RequestSpec(
        kind=kind,
        material="video",
        requester=requester,
        received_on=received,
        event_date=event.date(),
        purpose="dowód w sprawie",
        approx_time=event.strftime("%H:%M"),
        place="Ratusz/hol parter",
        margin_minutes=1,
        description="kradzież roweru",
    )


def test_pleszew_a_waiting_authority_does_not_keep_a_copy_past_3_months(
    tmp_path: Path, backend_url: str
) -> None:
    vault = make_vault(tmp_path / "umig", preset="pleszew", url=backend_url)
    try:
        people(vault)
        setup_camera(vault)
        event = _at(vault, _today(vault) - timedelta(days=3))
        record(vault, "cam-hol", event - timedelta(seconds=2), 2, tmp_path / "segs")
        now = event + timedelta(days=1)
        person = registered(vault, _video("interested", event, now.date(), "Jan Żółkiewski"), now)
        copy = make_copy(vault, person.id, "informatyk", "test", now=now)
        police = registered(
            vault, _video("authority", event, now.date(), "KPP Pleszew"), now, agree=None
        )
        due = copy.expires_at + timedelta(hours=1)
        # "nie dłuższy niż 3 miesiące od dnia nagrania" [002 zał.5 §7.4]
        assert copy.expires_at <= _at(vault, event.date() + timedelta(days=93))
        _destroy(vault, copy.number, due)
        # The authority's request keeps its own hold on the originals, for its own copy.
        assert hold_row(vault, police.hold_id).released_at is None
    finally:
        vault.close()


def test_pleszew_before_the_ceiling_the_waiting_authority_still_keeps_it(
    tmp_path: Path, backend_url: str
) -> None:
    vault = make_vault(tmp_path / "umig", preset="pleszew", url=backend_url)
    try:
        people(vault)
        setup_camera(vault)
        event = _at(vault, _today(vault) - timedelta(days=3))
        record(vault, "cam-hol", event - timedelta(seconds=2), 2, tmp_path / "segs")
        now = event + timedelta(days=1)
        person = registered(vault, _video("interested", event, now.date(), "Jan Żółkiewski"), now)
        copy = make_copy(vault, person.id, "informatyk", "test", now=now)
        police = registered(
            vault, _video("authority", event, now.date(), "KPP Pleszew"), now, agree=None
        )
        before = snapshot(vault)
        with pytest.raises(InputError) as caught:
            confirm(
                vault,
                copy.number,
                "komisja1",
                "test",
                now=now + timedelta(days=1),
                reason="decyzja komisji",
            )
        assert f"czeka wniosek nr {police.id}" in (caught.value.pl or "")
        assert snapshot(vault) == before
    finally:
        vault.close()


# -- 5 -----------------------------------------------------------------------------------------
def test_the_digest_names_approved_requests_overdue_for_a_copy(
    walbrzych: Vault, tmp_path: Path
) -> None:
    from kustosz.alerts.digest import compose_digest

    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    call(vault, tmp_path / "calls", event, HERS)
    now = event + timedelta(days=1)
    req = registered(vault, _calls(event, now.date(), "authority", "KMP Wałbrzych"), now)
    fresh = compose_digest(vault, now, now + timedelta(hours=1)).body
    assert "bez kopii — po terminie" not in fresh  # not late yet
    later = now + timedelta(days=60)
    with vault.reading() as s:
        late = overdue_since(s, vault.policy, s.get(Request, req.id), later)
    assert late is not None
    body = compose_digest(vault, later - timedelta(days=1), later).body
    assert "Wnioski zatwierdzone bez kopii — po terminie: 1" in body
    assert (
        f"wniosek nr {req.id} z {now:%d.%m.%Y}: kopia nie została sporządzona, po terminie "
        f"od {late.since:%d.%m.%Y}"
    ) in body


# -- 8 -----------------------------------------------------------------------------------------
def test_how_each_medium_was_destroyed_is_recorded_and_printed(
    walbrzych: Vault, tmp_path: Path
) -> None:
    from kustosz.custody.copies import get_copy
    from kustosz.custody.destruction import record_medium

    vault = walbrzych
    event = _at(vault, _today(vault) - timedelta(days=3))
    call(vault, tmp_path / "calls", event, HERS)
    now = event + timedelta(days=1)
    police = registered(vault, _calls(event, now.date(), "authority", "KMP Wałbrzych"), now)
    copy = make_copy(vault, police.id, "informatyk", "test", now=now)
    h, _pw = hand_over(
        vault,
        copy.number,
        receiver="asp. Ewa Łęcka, KMP Wałbrzych",
        by="informatyk",
        actor="test",
        medium="płyta CD-R",
        now=now,
    )
    later = copy.expires_at + timedelta(hours=1)

    def medium(handover: int, how: str, by: str = "komisja1") -> None:
        with vault.transaction() as s:
            record_medium(s, copy.number, handover, how, by, "test", now=later)

    # Issue 49 item 16: the police return the medium while the copy is still kept; the
    # commission destroys it then, and records it then — the copy's own destruction follows.
    before = snapshot(vault)
    for bad, text, said in (
        (h.id + 99, "pocięto", "nie wydano w przekazaniu"),
        (h.id, "   ", "Podaj sposób zniszczenia nośnika"),
    ):
        with pytest.raises(FieldError) as caught:
            medium(bad, text)
        assert said in (caught.value.pl or "")
    with pytest.raises(KustoszError):
        medium(h.id, "pocięto", by="informatyk")  # not of the commission
    assert snapshot(vault) == before
    medium(h.id, "płytę CD-R pocięto w niszczarce kategorii P-4")
    with pytest.raises(InputError) as caught:  # recorded once
        medium(h.id, "inaczej")
    assert "jest już zapisany" in (caught.value.pl or "")
    with vault.reading() as s:
        assert get_copy(s, copy.number).state == "kept"  # recorded before the copy's end
    _destroy(vault, copy.number, later)
    with vault.reading() as s:
        text = _pdf_text(render(*papers.destruction_doc(s, vault.policy, copy.number)), tmp_path)
    # the table cell wraps: its words, in order
    assert "płytę CD-R pocięto w niszczarce" in text and "kategorii P-4" in text
    assert "płyta CD-R" in text and "asp. Ewa Łęcka" in text
