"""Issue 30 items 6-10: the data subject's request as a right, and its papers.

* item 6 — the answer letter states every art. 15 ust. 1 RODO item (purposes, categories,
  recipients, period, source, automated decisions) as the office's policy and clause state
  them, on all five presets; a request where nothing was found is answered by confirming that
  no data are processed (art. 15 ust. 1), not by a refusal under art. 12 ust. 4;
* item 7 — a data subject gives no purpose and no event's description, prints on a form of
  its own (who, which data, what identifies them, how to receive the copy) and its answer is
  "udzielono dostępu / odmówiono dostępu", not the head's "Wyrażam zgodę";
* item 8 — the receipt, the handover protocol and the label of a data subject's copy bind the
  person to no purpose and speak of no authority;
* item 9 — plain Polish (no detector's settings), one form of address, the extension notice
  signed by a named person (--by), a refused request shown refused in the register;
* item 10 — the documents as their annexes print them.

Every PDF is rendered by typst and read back as text.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from custody_helpers import OFFICE_NUMBER, call, people, record, reviewed, setup_camera, setup_phone
from pypdf import PdfReader
from tests.conftest import Cli, make_vault, snapshot
from tests.office_day import office_today
from tests.test_documents_per_seed import rendered

from kustosz.custody import papers, registers
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Request
from kustosz.documents import render
from kustosz.errors import InputError
from kustosz.policy import load_policy
from kustosz.vault import Vault

VIDEO = ("elblag", "miedziana-gora", "pleszew")
CALLS = ("boleslawiec", "walbrzych")
HERS = "+48600100200"


def text_of(pdf: bytes) -> str:
    words = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(words.split())


def _flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def _subject_spec(preset: str, start: datetime, end: datetime, **kw: object) -> RequestSpec:
    tz = load_policy(preset).timezone
    base: dict[str, object] = dict(
        kind="data_subject", material="calls" if preset in CALLS else "video",
        requester="Jan Żółkiewski, ul. Łąkowa 5", received_on=office_today(),
        event_date=start.astimezone(tz).date(), purpose="", start=start, end=end,
        margin_minutes=0)
    if preset in CALLS:
        base.update(caller=HERS, callee=OFFICE_NUMBER)
    else:
        base.update(cameras=["cam-hol"])
    base.update(kw)
    return RequestSpec(**base)  # type: ignore[arg-type]


def _office(preset: str, tmp: Path) -> tuple[Vault, datetime]:
    vault = make_vault(tmp / preset, preset=preset)
    people(vault)
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    if preset in CALLS:
        setup_phone(vault, tmp / "pbx")
        (tmp / "calls").mkdir(exist_ok=True)
        call(vault, tmp / "calls", start + timedelta(seconds=1), HERS)
    else:
        setup_camera(vault)
        record(vault, "cam-hol", start, 2, tmp / "segs")
    return vault, start


def _answered(vault: Vault, preset: str, start: datetime) -> tuple[int, str]:
    """A data subject's request without purpose or description, approved, copied (masked and
    reviewed where it is video), handed over."""
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, _subject_spec(
            preset, start, start + timedelta(seconds=4)), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    copy = make_copy(vault, rid, "informatyk", "t")
    if preset in VIDEO:
        reviewed(vault, copy.number)
    hand_over(vault, copy.number, receiver="Jan Żółkiewski (osobiście)", by="informatyk",
              actor="t", request_id=rid, medium="płyta CD")
    return rid, copy.number


@pytest.mark.slow
@pytest.mark.parametrize("preset", VIDEO + CALLS)
def test_the_answer_letter_answers_every_item_of_art_15_1(preset: str, tmp_path: Path) -> None:
    vault, start = _office(preset, tmp_path)
    try:
        rid, number = _answered(vault, preset, start)
        with vault.reading() as s:
            name, data = papers.answer_letter_doc(s, vault.policy, rid)
            letter = text_of(render(name, data))
            (tmp_path / "letter.pdf").write_bytes(render(name, data))
        from kustosz.documents.clauses import access_facts

        kind = "phone" if preset in CALLS else "camera"
        facts = access_facts(vault.policy, kind)
        flat = _flat(letter)
        for key in ("purposes", "categories", "recipients", "period", "automated"):
            assert _flat(facts[key]) in flat, (preset, key, flat)
        # lit. a's purposes are the policy's (the clause's) own words: a camera's as the
        # register lists them (issue 66 item 1)
        from kustosz.documents.office import camera_purposes, purposes

        listed = camera_purposes(vault.policy) if kind == "camera" else purposes(vault.policy)
        aim = (listed or ["porządku publicznego"])[0]
        assert _flat(aim) in flat
        assert "Cele i podstawa przetwarzania" in flat and "Kategorie danych" in flat
        assert "Odbiorcy danych" in flat and "Okres przechowywania" in flat
        assert "Zautomatyzowane podejmowanie decyzji" in flat
        # lit. g per source: the camera or the phone line the data came from
        source = "linia centrala" if preset in CALLS else "kamerę cam-hol"
        assert "Źródło danych:" in flat and source in flat, flat
        assert f"kopię nr {number}" in flat and "art. 12 ust. 4" not in flat
        # one form of address, the letter's (item 9)
        assert "Państw" not in flat and "Pani/Pan" not in flat, flat
        # plain Polish: the masking's settings stay in the manifest
        for jargon in ("CenterFace", "próg", "klatce", "wykryć"):
            assert jargon not in flat
    finally:
        vault.close()


@pytest.mark.parametrize("preset", ("pleszew", "walbrzych"))
def test_nothing_found_is_answered_as_no_data_processed(preset: str, tmp_path: Path) -> None:
    vault, start = _office(preset, tmp_path)
    try:
        # an hour in which nothing was recorded
        empty = start - timedelta(hours=5)
        spec = _subject_spec(preset, empty, empty + timedelta(minutes=10))
        if preset in CALLS:
            spec.callee = None
            spec.caller = "+48600999999"
        with vault.transaction() as s:
            rid = register_request(s, vault.policy, spec, "t").id
            decide(s, vault.policy, rid, by="burmistrz", agree=False, on=office_today(),
                   actor="t", keyed_by="burmistrz", reason="brak nagrań z tego okresu")
        with vault.reading() as s:
            letter = _flat(text_of(render(*papers.answer_letter_doc(s, vault.policy, rid))))
        assert "Na podstawie art. 15 ust. 1 RODO informuję, że nie przetwarzamy" in letter
        assert "nie zostało uwzględnione" not in letter and "art. 12 ust. 4" not in letter
        period = load_policy(preset).retention_for("phone" if preset in CALLS else "camera")
        assert f"nie dłużej niż {period.count} dni" in letter
    finally:
        vault.close()


# -- item 7: the request of a data subject ------------------------------------------------------
def test_a_data_subject_needs_no_purpose_nor_description(vault: Vault, tmp_path: Path) -> None:
    """Pleszew: the data subject's request is registered without either; the interested
    person's is refused for each, citing the regulation; nothing else changes."""
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with vault.transaction() as s:
        req = register_request(s, vault.policy, _subject_spec(
            "pleszew", start, start + timedelta(minutes=1)), "t")
        assert req.purpose == "" and req.hold_id is not None
    before = snapshot(vault)
    for missing, words in (({"purpose": " "}, "celu"), ({"description": None}, "opisu")):
        given = {"purpose": "dochodzenie roszczeń", "description": "kolizja", **missing}
        spec = _subject_spec("pleszew", start, start + timedelta(minutes=1), kind="interested",
                             **given)
        with pytest.raises(InputError) as caught, vault.transaction() as s:
            register_request(s, vault.policy, spec, "t")
        assert words in (caught.value.pl or "")
    assert "[002 zał.5 §6.6]" in (caught.value.pl or "")
    assert snapshot(vault) == before


@pytest.mark.parametrize("preset", ("elblag", "miedziana-gora"))
def test_other_offices_are_not_told_pleszews_regulation(preset: str, tmp_path: Path) -> None:
    vault = make_vault(tmp_path / preset, preset=preset)
    try:
        people(vault)
        setup_camera(vault)
        start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
        before = snapshot(vault)
        spec = _subject_spec(preset, start, start, kind="interested", purpose="roszczenie",
                             description=None)
        with pytest.raises(InputError) as caught, vault.transaction() as s:
            register_request(s, vault.policy, spec, "t")
        assert "opisu zdarzenia" in (caught.value.pl or "") and "002" not in str(caught.value)
        assert "002" not in (caught.value.pl or "")
        # a data subject still names what finds the data: the time and the camera or place
        for bad, field in (({"start": None, "end": None}, "godziny"),
                           ({"cameras": []}, "miejsca")):
            spec = _subject_spec(preset, start, start + timedelta(minutes=1))
            for key, value in bad.items():
                setattr(spec, key, value)
            with pytest.raises(InputError) as caught, vault.transaction() as s:
                register_request(s, vault.policy, spec, "t")
            assert field in (caught.value.pl or "") and "002" not in (caught.value.pl or "")
        with pytest.raises(InputError, match="requester"), vault.transaction() as s:
            register_request(s, vault.policy, _subject_spec(
                preset, start, start + timedelta(minutes=1), requester="  "), "t")
        assert snapshot(vault) == before
    finally:
        vault.close()


def test_the_data_subjects_form_and_decision(vault: Vault) -> None:
    """Its own form: who, which data, what identifies them, how to receive the copy; no
    "Cel"/"Uzasadnienie", no head's consent; the answer "udzielono / odmówiono dostępu"."""
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, _subject_spec(
            "pleszew", start, start + timedelta(minutes=1), approx_time=None,
            description="czerwona kurtka"), "t").id
    with vault.reading() as s:
        name, data = papers.request_form(s, vault.policy, rid)
    assert name == "request-subject"
    form = text_of(render(name, data))
    for wanted in ("Żądanie dostępu do danych osobowych", "art. 15 RODO",
                   "Osoba, której dane dotyczą", "Jan Żółkiewski", "monitoring wizyjny",
                   "Sposób otrzymania kopii", "odbiór osobisty", "czerwona kurtka",
                   "udzielono dostępu / odmówiono dostępu", "cam-hol"):
        assert wanted in form, (wanted, form)
    for unwanted in ("Cel", "Uzasadnienie", "Wyrażam zgodę", "opis zdarzenia"):
        assert unwanted not in form, (unwanted, form)
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=False, on=office_today(),
               actor="t", keyed_by="burmistrz", reason="art. 15 ust. 4 RODO — dane innych osób")
    with vault.reading() as s:
        decision = text_of(render(*papers.decision_doc(s, vault.policy, rid)))
        form = text_of(render(*papers.request_form(s, vault.policy, rid)))
    for text in (decision, form):
        assert "odmówiono dostępu" in text and "art. 15 ust. 4 RODO — dane innych osób" in text
        assert "Wyrażam zgodę" not in text and "Cel:" not in text
    assert "Rozstrzygnięcie" in decision and ", ." not in decision


# -- item 8: papers for a citizen ---------------------------------------------------------------
@pytest.mark.slow
def test_a_data_subjects_receipt_protocol_and_label(tmp_path: Path) -> None:
    vault, start = _office("walbrzych", tmp_path)
    try:
        _rid, number = _answered(vault, "walbrzych", start)
        with vault.reading() as s:
            receipt = text_of(render(*papers.receipt_doc(s, vault.policy, number)))
            protocol = text_of(render(*papers.handover_doc(s, vault.policy, number)))
            label = text_of(render(*papers.label_doc(s, vault.policy, number, "SHA256:x")))
        for text in (receipt, protocol):
            assert "celów określonych" not in text and "cele określone" not in text, text
            assert "art. 15 ust. 3 RODO" in text
        assert "osoba, której dane dotyczą (imię, nazwisko, podpis)" in receipt
        assert "organ" not in receipt.split("wydający")[1]
        assert "uprawnionym organom" not in label and "Przechowywać do" not in label
        assert "KOPIA DLA OSOBY, KTÓREJ DANE DOTYCZĄ" in label
    finally:
        vault.close()


# -- item 9 --------------------------------------------------------------------------------------
def test_the_register_shows_a_refused_data_subject_as_refused(vault: Vault) -> None:
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, _subject_spec(
            "pleszew", start, start + timedelta(minutes=1)), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=False, on=office_today(),
               actor="t", keyed_by="burmistrz", reason="żądanie ewidentnie nadmierne")
    with vault.reading() as s:
        reg = registers.build(s, vault.policy, "disclosures", office_today() - timedelta(1),
                              office_today())
    [row] = reg.rows
    assert "odpowiedź do" not in row[-1] and "odpowiedziano" in row[-1], row
    assert "(odmowa)" in row[-1] and "art. 15 RODO" in row[3]


def test_extend_is_signed_by_a_named_person(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    setup_camera(vault)
    people(vault)
    vault.close()
    received = office_today() - timedelta(days=2)
    cli("requests", "add", "--kind", "data_subject", "--material", "video", "--requester",
        "Anna Łęcka, ul. Polna 3", "--received", received.isoformat(), "--date",
        (received - timedelta(days=1)).isoformat(), "--time", "10:00",
        "--place", "Ratusz/hol parter")  # no --purpose, no --description (item 7)
    shown = json.loads(cli("requests", "show", "1", "--json").output)
    assert shown["purpose"] == "" and shown["status"] == "registered"
    before = snapshot_cli(cli)
    for args, words in ((["--reason", "skomplikowany"], "--by"),
                        (["--reason", "skomplikowany", "--by", "nikt"], "nikt")):
        bad = cli("requests", "extend", "1", *args, ok=False)
        assert bad.exit_code != 0 and words in bad.output
    assert snapshot_cli(cli) == before
    bad = cli("requests", "extend", "1", "--reason", "x", "--by", "nikt", ok=False)
    assert "error:" in bad.output and "błąd:" in bad.output and "Nie ma użytkownika" in bad.output
    cli("requests", "extend", "1", "--reason", "skomplikowany charakter żądania",
        "--by", "informatyk")
    out = cli.data / "notice.pdf"
    cli("documents", "render", "extension-notice", "--request", "1", "--out", str(out))
    notice = text_of(out.read_bytes())
    assert "Piotr Wiśniewski" in notice


def snapshot_cli(cli: Cli) -> dict:
    vault = Vault.open(cli.data)
    try:
        return snapshot(vault)
    finally:
        vault.close()


# -- item 10: the documents as their annexes print them ------------------------------------------
def test_the_request_form_prints_the_applicants_time(vault: Vault) -> None:
    """002 zał. 3 "zakres czasowy": the applicant's "about 10:00", not the hold's window; a
    late request's last day in Polish, never ISO."""
    people(vault)
    setup_camera(vault)
    event = office_today() - timedelta(days=20)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="interested", material="video", requester="Jan Kowalski",
            received_on=office_today(), event_date=event, purpose="roszczenie",
            description="kolizja", approx_time="10:00", place="Ratusz/hol parter"), "t").id
    with vault.reading() as s:
        form = text_of(render(*papers.request_form(s, vault.policy, rid)))
    assert "zakres czasowy ok. 10:00" in form, form
    assert "09:30 – 10:30" not in form.split("Adnotacje")[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", form), form
    assert "ostatni dzień: " in form


def test_the_decision_prints_no_empty_place(vault: Vault) -> None:
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP", received_on=office_today(),
            event_date=start.astimezone(vault.policy.timezone).date(), purpose="postępowanie",
            description="kradzież", cameras=["cam-hol"], start=start,
            end=start + timedelta(minutes=1), margin_minutes=0), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    with vault.reading() as s:
        text = text_of(render(*papers.decision_doc(s, vault.policy, rid)))
    assert ", ." not in text and ", , " not in text and "cam-hol" in text, text


def test_registers_as_their_annexes(vault: Vault, tmp_path: Path) -> None:
    """Pleszew's register of disclosures carries zał. 4's title and corner note; the copy
    register of a video-only office has no phone-number columns and one time format."""
    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0, second=0)
    record(vault, "cam-hol", start, 2, tmp_path / "segs")
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP", received_on=office_today(),
            event_date=start.astimezone(vault.policy.timezone).date(), purpose="postępowanie",
            description="kradzież", cameras=["cam-hol"], start=start,
            end=start + timedelta(seconds=3), margin_minutes=0), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    make_copy(vault, rid, "informatyk", "t", playable=False)
    day = office_today()
    with vault.reading() as s:
        texts = {}
        for kind in ("disclosures", "copies"):
            reg = registers.build(s, vault.policy, kind, day - timedelta(days=1), day)
            texts[kind] = text_of(render("register", registers.pdf_data(
                reg, vault.policy, day - timedelta(days=1), day)))
            if kind == "copies":
                assert not any("telefonu" in c for c in reg.columns), reg.columns
                [period] = [row[1] for row in reg.rows]
                assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d – "
                                    r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", period), period
    assert ("Rejestr udostępnionych nagrań z monitoringu wizyjnego Urzędu Miasta i Gminy "
            "Pleszew") in texts["disclosures"]
    assert "Załącznik nr 4 do Regulaminu funkcjonowania monitoringu wizyjnego w Urzędzie " \
           "Miasta i Gminy Pleszew" in texts["disclosures"]
    assert "Nr telefonu" not in texts["copies"]


def test_documents_as_their_annexes() -> None:
    calls = rendered("walbrzych", "request-calls")
    assert isinstance(calls, str)
    assert "o zabezpieczenie nagrań rozmów telefonicznych" in calls, calls
    assert "udostępnienie" not in calls and "na potrzeby przyszłego postępowania" in calls
    boleslawiec = rendered("boleslawiec", "request-calls")
    assert isinstance(boleslawiec, str) and "o udostępnienie nagrań rozmów" in boleslawiec
    listening = rendered("boleslawiec", "listening-protocol")
    assert isinstance(listening, str)
    assert "data, podpis Prezydenta Miasta Bolesławiec" in listening, listening
    for preset in VIDEO:
        assert isinstance(rendered(preset, "listening-protocol"), InputError)
    sign = rendered("miedziana-gora", "sign")
    assert isinstance(sign, str) and "sprostowan" not in sign and "ograniczenia" in sign
    declaration = rendered("walbrzych", "declaration")
    assert isinstance(declaration, str)
    assert "rejestrowania rozmów telefonicznych" in declaration
    assert "monitor" not in declaration.lower(), declaration
    mg = rendered("miedziana-gora", "declaration")
    assert isinstance(mg, str) and ("Załącznik nr 2 do Regulaminu funkcjonowania, obsługi i "
                                    "eksploatacji monitoringu wizyjnego na terenie Urzędu "
                                    "Gminy Miedziana Góra") in mg


def test_a_blank_data_subjects_form_for_every_office() -> None:
    for preset in VIDEO + CALLS:
        form = rendered(preset, "request-subject")
        assert isinstance(form, str), (preset, form)
        assert "Żądanie dostępu do danych osobowych" in form and "Cel" not in form
        assert "Wyrażam zgodę" not in form and "udzielono dostępu / odmówiono dostępu" in form


def test_the_register_marks_an_approved_request_never_copied_as_overdue(vault: Vault) -> None:
    """Issue 30 item 4 in the register: the day it became overdue (holds30's overdue_since)."""
    from kustosz.custody.requests import overdue_since

    people(vault)
    setup_camera(vault)
    today = office_today()
    tz = vault.policy.timezone
    event = today - timedelta(days=60)
    start = datetime(event.year, event.month, event.day, 10, 0, tzinfo=tz)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP", received_on=event,
            event_date=event, purpose="postępowanie", description="kradzież",
            cameras=["cam-hol"], start=start, end=start + timedelta(minutes=1),
            margin_minutes=0), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=event, actor="t",
               keyed_by="burmistrz")
    with vault.reading() as s:
        late = overdue_since(s, vault.policy, s.get(Request, rid))
        reg = registers.build(s, vault.policy, "disclosures", event, today)
    assert late is not None
    [row] = reg.rows
    assert f"po terminie od {late.since.strftime('%d.%m.%Y')}" in row[-1], row


def test_the_destruction_protocol_lists_each_medium_handed_out(vault: Vault,
                                                              tmp_path: Path) -> None:
    """004 §7 ust. 9, 002 zał. 5 §8 ust. 2: besides the files, the media the copy was handed out
    on, each with a place for how the commission destroyed it."""
    from kustosz.custody import destruction

    people(vault)
    setup_camera(vault)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    record(vault, "cam-hol", start, 2, tmp_path / "segs")
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP", received_on=office_today(),
            event_date=start.astimezone(vault.policy.timezone).date(), purpose="postępowanie",
            description="kradzież", cameras=["cam-hol"], start=start,
            end=start + timedelta(seconds=3), margin_minutes=0), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    copy = make_copy(vault, rid, "informatyk", "t", playable=False)
    hand_over(vault, copy.number, receiver="asp. Ewa Łęcka, KPP", by="informatyk", actor="t",
              request_id=rid, medium="pendrive nr 3")
    for member in ("komisja1", "komisja2"):
        destruction.confirm(vault, copy.number, member, "t", reason="sprawa zakończona")
    with vault.reading() as s:
        text = text_of(render(*papers.destruction_doc(s, vault.policy, copy.number)))
    assert "pendrive nr 3" in text and "Sposób zniszczenia nośnika" in text, text
    assert "asp. Ewa Łęcka, KPP" in text
