"""Every document × every preset, rendered once and read back (issue 13 "Documents" and
"Tests"): what each office's seed requires the document to carry, what no document may
print, and which documents an office does not get at all.

The seeds are the authority: 000 Elbląg (Regulamin pracy zał. 2 §1), 001 Bolesławiec
(zarządzenie 259/2019, zał. 1–4), 002 Pleszew (Regulamin pracy zał. 5 and its zał. 2–4),
003 Miedziana Góra (regulamin monitoringu, zał. 1–2), 004 Wałbrzych (regulamin rejestrowania
rozmów, klauzula). Documents bound to a request or a copy are rendered from data shaped as
custody/papers.py builds it (the custody tests render them from real requests and copies).
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from kustosz.custody.papers import blank
from kustosz.custody.registers import Register, pdf_data
from kustosz.documents import NAMES, render
from kustosz.documents.announcements import announcement_data
from kustosz.documents.clauses import clause_data
from kustosz.documents.office import BLANK
from kustosz.documents.sign import sign_data
from kustosz.errors import ConfigError, InputError, KustoszError
from kustosz.policy import Policy, load_policy, preset_names
from tests.conftest import Cli

PRESETS = preset_names()
DOCUMENTS = sorted(NAMES)
# Offices that monitor with cameras / record calls (the presets' [retention]).
VIDEO = {"elblag", "miedziana-gora", "pleszew"}
CALLS = {"boleslawiec", "walbrzych"}


def _text(pdf: bytes) -> str:
    words = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    text = re.sub(r"\s+", " ", words)
    # A line may break after a dot of an address (the PDF then reads "www.mops. walbrzych.pl").
    for _ in range(3):
        text = re.sub(r"(www(?:\.\w+)*\.) (?=\w)", r"\1", text)
    return text


def _handover(policy: Policy) -> dict[str, Any]:
    calls = policy.retention.get("phone") is not None and policy.retention.get("camera") is None
    return {**policy.doc_names(), "title": "Protokół przekazania kopii nr 7/2026",
            "date": "05.03.2026", "number": "7/2026",
            "receiver": "asp. Ewa Łęcka, Komenda Powiatowa Policji", "request_date": "02.03.2026",
            "request_ref": "RSD-1/26", "purpose": "postępowanie",
            "material": "calls" if calls else "video",
            "rows": [["01.03.2026", "+48 600 000 000 → 74 664 08 00" if calls else "kamera hol",
                      "09:29:00 – 09:31:00"]],
            "handed_by": "Piotr Wiśniewski, informatyk", "medium": "pendrive nr 3",
            "manifest_sha256": "ab" * 32}


def _data(preset: str, document: str) -> dict[str, Any]:
    """The document's data for one office (raises the document's own refusal)."""
    policy = load_policy(preset)
    if document == "sign":
        return sign_data(policy)
    if document == "clause":
        return clause_data(policy, "camera" if preset in VIDEO else "phone")
    if document == "announcement":
        return announcement_data(policy)
    if document in ("handover-protocol", "receipt"):
        return _handover(policy)
    if document == "destruction-protocol":
        return {**policy.doc_names(), "title": "Protokół zniszczenia kopii nr 7/2026",
                "date": "10.06.2026", "number": "7/2026",
                "members": ["Zofia Żółtowska, sekretarz", "Łukasz Gęślak, informatyk"],
                "period": "01.03.2026 09:29:00 – 01.03.2026 09:31:00",
                "sources": ["kamera hol"], "made_on": "05.03.2026",
                "reason": "upłynął okres przechowywania", "manifest_sha256": "ab" * 32,
                "early": None, "files": [[f"seg-{i}.mp4", "1 024", "cd" * 32] for i in range(3)]}
    if document == "label":
        return {"office": policy.office_name, "number": "7/2026",
                "from": "01.03.2026 09:29:00", "to": "01.03.2026 09:31:00",
                "sources": ["kamera hol"], "made_on": "05.03.2026 10:00",
                "made_by": "Piotr Wiśniewski", "expires_on": "04.06.2026",
                "key_fingerprint": "SHA256:abc"}
    if document == "register":
        reg = Register("actions", f"Rejestr działań w {policy.doc_names()['system_loc']}",
                       ["Lp.", "Data i godzina", "Działanie", "Wykonał(a) / komisja"],
                       [0.5, 1.5, 6, 2.5],
                       [["1", "10.06.2026 10:00", "Komisyjnie zniszczono kopię nr 7/2026; "
                         "trwale usunięto 3 pliki.", "Zofia Żółtowska"]])
        from datetime import date

        return pdf_data(reg, policy, date(2026, 6, 1), date(2026, 6, 30))
    data = blank(document, policy)
    data.update({
        "request-calls": {"requester": "Komenda Powiatowa Policji", "caller": "+48 600 000 000"},
        "request-video": {"requester": "Jan Kowalski", "description": "kolizja"},
        "decision": {"request_id": 7, "received_on": "01.03.2026", "date": "02.03.2026",
                     "requester": "Policja", "kind_pl": "uprawniony organ",
                     "subject": "nagranie", "purpose": "postępowanie",
                     "decision": {"agree": True, "on": "02.03.2026", "by": "Anna Nowak",
                                  "by_title": policy.deputy_title, "capacity": "deputy",
                                  "reason": None, "paper_ref": None, "entry": None}},
        "authorisation": {"number": "1/2026", "holder": "Jan Kowalski, informatyk"},
        "declaration": {"employee": "Jan Kowalski", "position": "referent", "unit": None,
                        "version": "1"},
    }.get(document, {}))
    return data


@cache
def rendered(preset: str, document: str) -> str | KustoszError:
    """The document's text, rendered once per run; or the refusal it gets."""
    try:
        return _text(render(document, _data(preset, document)))
    except KustoszError as exc:
        return exc


# -- which documents an office does not get ---------------------------------------------------
# Calls only: no camera sign, no video request form; no call recording: no announcements, no
# call request form.
REFUSED = {(p, d) for p in CALLS for d in ("sign", "request-video")} | \
    {(p, d) for p in VIDEO for d in ("announcement", "request-calls", "listening-protocol")}


@pytest.mark.parametrize("preset,document", sorted(REFUSED))
def test_an_office_without_the_material_gets_a_clear_refusal(preset: str, document: str) -> None:
    got = rendered(preset, document)
    assert isinstance(got, InputError), got
    office = load_policy(preset).office_name
    what = ("monitors with no cameras", "nie stosuje monitoringu wizyjnego", "retention.camera") \
        if preset in CALLS else ("records no calls", "nie nagrywa rozmów telefonicznych",
                                 "retention.phone")
    assert office in str(got) and what[0] in str(got) and what[2] in str(got)
    assert got.pl and got.pl.startswith(f"{office} {what[1]}") and "się nie drukuje" in got.pl
    # and what the office does keep, so the reader knows which document to ask for
    kept = ("phone", "rozmowy telefoniczne") if preset in CALLS else ("camera",
                                                                      "monitoring wizyjny")
    assert f"it keeps {kept[0]}" in str(got) and f"Zasady obejmują: {kept[1]}" in got.pl


def test_every_other_document_renders_for_every_office() -> None:
    for preset in PRESETS:
        for document in DOCUMENTS:
            got = rendered(preset, document)
            if (preset, document) in REFUSED:
                continue
            assert isinstance(got, str) and len(got) > 50, (preset, document, got)


# -- what no document may print ----------------------------------------------------------------
def _forbidden(preset: str) -> list[str]:
    office = load_policy(preset).office_name
    patterns = [
        rf"(?<!\w)(od|do|w|we|z) {re.escape(office)}",  # the nominative after a preposition
        r"§\s*4\s*/\s*§?\s*5",  # forbidden rooms are art. 22² §2, not "§4/§5"
        r"22²\s*§\s*[45](?!\d)",
        r"22³\s*§\s*4",  # no "statutory cap" for e-mail exists
        r"\(00[0-4] (zał|§)",  # the seeds' internal numbering, e.g. "(003 zał. 2)"
        r"jednostki: |jednostce: ",  # the fallback for an office without declined forms
        r"\bNone\b|\bnone\b",
    ]
    if preset == "walbrzych":  # a MOPS is not an urząd (the supervisory office excepted)
        patterns += [r"(?i)\burzęd(u|zie|em|owi)\b(?! Ochrony Danych)", r"(?i)\burząd\b"]
    return patterns


@pytest.mark.parametrize("preset", PRESETS)
def test_no_document_prints_a_forbidden_form(preset: str) -> None:
    for document in DOCUMENTS:
        text = rendered(preset, document)
        if not isinstance(text, str):
            continue
        for pattern in _forbidden(preset):
            found = re.search(pattern, text)
            assert found is None, (document, pattern, text[max(0, found.start() - 80):
                                                            found.end() + 80])


# -- what each seed requires ---------------------------------------------------------------------
REQUIRED: dict[tuple[str, str], list[str]] = {
    # 002 zał. 2 is the sign's model (zał.5 §5.3): controller, seat, phone, DPO, basis, area.
    ("pleszew", "sign"): [
        "OBIEKT MONITOROWANY",
        "Administratorem Pani/Pana danych osobowych jest Straż Miejska w Pleszewie oraz Miasto "
        "i Gmina Pleszew z siedzibą przy ul. Rynek 1, 63-300 Pleszew, tel.: 62 742 83 00.",
        "Inspektorem Ochrony Danych pod adresem mail: iod@pleszew.pl",
        "w celu wypełnienia obowiązku prawnego ciążącego na administratorze",
        "na podstawie ustawy o samorządzie gminnym, ustawy o strażach gminnych oraz art. 22² "
        "ustawy Kodeks pracy",
        "Monitoring wizyjny funkcjonuje całodobowo i obejmuje: wejścia do budynku",
        "salę posiedzeń nr 206", "nieprzekraczający 30 dni od dnia nagrania",
        "prawo wniesienia skargi do Prezesa Urzędu Ochrony Danych Osobowych"],
    # 003 §1.3: the controller is the Gmina; §2: its four purposes.
    ("miedziana-gora", "sign"): [
        "OBIEKT MONITOROWANY", "Administrator danych: Gmina Miedziana Góra (adres:",
        "Inspektor ochrony danych: e-mail",
        "w celu zapewnienia porządku publicznego i bezpieczeństwa obywateli oraz ochrony "
        "przeciwpożarowej i przeciwpowodziowej, zapewnienia bezpieczeństwa pracowników, "
        "ochrony mienia Gminy oraz zachowania w tajemnicy informacji",
        "art. 9a ustawy", "nie dłużej niż 3 miesiące od dnia nagrania",
        "na tablicy ogłoszeń oraz na stronie internetowej Urzędu"],
    # 000 §1 pkt 1: employees' safety and the office's property; the employer is the office.
    ("elblag", "sign"): [
        "OBIEKT MONITOROWANY", "Administrator danych: Urząd Miejski w Elblągu (adres:",
        "Inspektor ochrony danych: e-mail",
        "w celu zapewnienia bezpieczeństwa pracowników oraz ochrony mienia urzędu",
        "art. 6 ust. 1 lit. c RODO w związku z art. 22² § 1",
        "nie dłużej niż 30 dni od dnia nagrania"],
    ("pleszew", "clause"): [
        "Straż Miejska w Pleszewie oraz Miasto i Gmina Pleszew z siedzibą przy ul. Rynek 1, "
        "63-300 Pleszew, tel.: 62 742 83 00", "iod@pleszew.pl",
        "na podstawie ustawy o samorządzie gminnym, ustawy o strażach gminnych oraz art. 22²",
        "Monitoring wizyjny funkcjonuje całodobowo i obejmuje:", "Placu Kościelnym 1",
        "ul. Kraszewskiego", "Realizacja powyższych uprawnień musi być zgodna z przepisami"],
    # 001 zał. 1 pkt 1–10, the DPO's phones included.
    ("boleslawiec", "clause"): [
        "Gmina Miejska Bolesławiec z siedzibą przy ul. Rynek 41, 59-700 Bolesławiec, "
        "reprezentowana przez Prezydenta Miasta Bolesławiec",
        "Inspektorem ochrony danych jest Pani Renata Szewczyk (kontakt: Urząd Miasta "
        "Bolesławiec, ul. Rynek 41, 59-700 Bolesławiec, telefon 075 645-64-53, kom. "
        "538 052 480, e-mail iod@um.boleslawiec.pl)",
        "w celu zapewnienia jakości obsługi klientów, ochrony danych osobowych osób "
        "występujących jako rozmówcy oraz bezpieczeństwa informacji Gminy Miejskiej "
        "Bolesławiec na podstawie art. 6 ust. 1 lit. a RODO",
        "Kontynuacja połączenia telefonicznego po wysłuchaniu komunikatu",
        "przez okres 3 miesięcy od nagrania", "cofnięcia zgody w dowolnym momencie",
        "skargi do Prezesa Urzędu Ochrony Danych Osobowych (UODO)",
        "dobrowolne, ale konieczne do przeprowadzenia rozmowy telefonicznej",
        "w formie profilowania"],
    # 004 klauzula with §2 ust. 1–2 and §8 ust. 3–4.
    ("walbrzych", "clause"): [
        "Dyrektor Miejskiego Ośrodka Pomocy Społecznej z siedzibą przy ul. Kilińskiego 1, "
        "58-300 Wałbrzych, tel. 74 664 08 00",
        "w celu zapewnienia bezpieczeństwa osób i mienia, podniesienia standardu usług i "
        "zwiększenia poziomu obsługi klienta oraz skuteczniejszej realizacji celów MOPS",
        "art. 6 ust. 1 lit. a, c, d, e oraz art. 9 ust. 2 lit. b RODO, czyli: zgoda",
        "przez okres do 30 dni", "stanowi dowód w postępowaniu",
        "Po upływie tych okresów nagrania zawierające dane osobowe podlegają zniszczeniu",
        "iod@mops.walbrzych.pl", "prawo do żądania sprostowania danych",
        "skargi do organu nadzorczego, tj. Prezesa Urzędu Ochrony Danych Osobowych",
        "Regulamin rejestracji rozmów telefonicznych dostępny jest na stronie internetowej "
        "MOPS: www.mops.walbrzych.pl (zakładka Ochrona danych osobowych)"],
    # 003 zał. 1 pkt 1–7, its blanks kept as lines to fill in.
    ("miedziana-gora", "clause"): [
        f"jest Gmina Miedziana Góra (adres: {BLANK}, adres e-mail: {BLANK}, numer telefonu: "
        f"{BLANK})",
        f"inspektora ochrony danych (dane kontaktowe: adres e-mail: {BLANK}, numer telefonu: "
        f"{BLANK})",
        "ochrony mienia Gminy oraz zachowania w tajemnicy informacji",
        "przez okres nieprzekraczający 3 miesięcy od dnia nagrania",
        "art. 6 ust. 1 lit. c RODO (wypełnienie obowiązku prawnego ciążącego na "
        "administratorze) w związku z art. 9a ustawy z dnia 8 marca 1990 r. o samorządzie "
        "gminnym oraz art. 22²", "interes realizowany przez stronę trzecią",
        "do wniesienia skargi do organu nadzorczego"],
    # 000 §1: the legal basis, the purposes of pkt 1, pkt 3, 10, 12, 13, 14.
    ("elblag", "clause"): [
        "Podstawą prawną przetwarzania jest art. 6 ust. 1 lit. c RODO w związku z art. 22² § 1 "
        "ustawy z dnia 26 czerwca 1974 r. – Kodeks pracy",
        "w celu zapewnienia bezpieczeństwa pracowników oraz ochrony mienia urzędu",
        "nie jest wykorzystywany do nadzoru nad wykonywaną pracą",
        "nie obejmuje pomieszczeń sanitarnych", "przez okres 30 dni od daty rejestracji",
        "do czasu prawomocnego zakończenia postępowania", "sądom, prokuraturze, policji",
        "mogą wnioskować o zabezpieczenie nagrania"],
    # 003 zał. 2: the model text — the office and its address, the four purposes.
    ("miedziana-gora", "declaration"): [
        "Załącznik nr 2 do Regulaminu funkcjonowania, obsługi i eksploatacji monitoringu wizyjnego",
        "wykonujący(-a) pracę na stanowisku referent w Urzędzie Gminy Miedziana Góra, adres:",
        "przyjmuję do wiadomości, że mój pracodawca stosuje monitoring wizyjny, w celu "
        "zapewnienia porządku publicznego i bezpieczeństwa obywateli oraz ochrony "
        "przeciwpożarowej i przeciwpowodziowej, zapewnienia bezpieczeństwa pracowników, "
        "ochrony mienia Gminy oraz zachowania w tajemnicy informacji, których ujawnienie "
        "mogłoby narazić mojego pracodawcę na szkodę.",
        "imię i nazwisko – czytelny podpis; data złożenia oświadczenia"],
    # 001 §1 ust. 3–4, verbatim.
    ("boleslawiec", "announcement"): [
        "Witamy w Urzędzie Miasta Bolesławiec. Uprzejmie informujemy",
        "po naciśnięciu klawisza * (gwiazdka)", "Informuję, że w trosce o bezpieczeństwo"],
    # 004 §3 ust. 4 (incoming only), §8 ust. 2 (voice messages played by the exchange, their
    # words not given): the text is left to fill in, never made up (issue 66 item 3).
    ("walbrzych", "announcement"): [
        "wyłącznie zewnętrzne połączenia przychodzące", "§ 8 ust. 2 Regulaminu",
        "Komunikat odtwarzany przed każdym połączeniem przychodzącym", BLANK,
        "Plik zasad: uzupełnij [documents.announcement] incoming."],
    # 004 zał. 1: the system the MOPS runs.
    ("walbrzych", "authorisation"): [
        "zarejestrowanych w systemie rejestracji rozmów telefonicznych Miejskiego Ośrodka"],
    # 001 zał. 4: "Urzędu" where the office is an urząd; the MOPS in its own genitive.
    ("boleslawiec", "handover-protocol"): [
        "na nośniku elektronicznym rozmów telefonicznych Urzędu Miasta Bolesławiec",
        "dane z systemu informatycznego Urzędu Miasta Bolesławiec"],
    ("walbrzych", "handover-protocol"): [
        "rozmów telefonicznych Miejskiego Ośrodka Pomocy Społecznej w Wałbrzychu",
        "dane z systemu informatycznego Miejskiego Ośrodka Pomocy Społecznej w Wałbrzychu"],
    ("walbrzych", "receipt"): [
        "odbioru zapisu rozmów telefonicznych",
        "Potwierdzam odbiór od Miejskiego Ośrodka Pomocy Społecznej w Wałbrzychu"],
    ("pleszew", "receipt"): ["odbioru zapisu z monitoringu wizyjnego",
                             "Potwierdzam odbiór od Urzędu Miasta i Gminy Pleszew"],
    ("walbrzych", "destruction-protocol"): [
        "kopii nagrania z systemu rejestracji rozmów telefonicznych",
        "wpisem w Rejestrze działań w systemie rejestracji rozmów telefonicznych"],
    ("pleszew", "destruction-protocol"): [
        "kopii nagrania z systemu monitoringu",
        "wpisem w Rejestrze działań w systemie monitoringu",
        "wyznaczona przez Burmistrza Miasta i Gminy Pleszew"],
}


@pytest.mark.parametrize("preset,document", sorted(REQUIRED))
def test_the_document_carries_what_the_seed_requires(preset: str, document: str) -> None:
    text = rendered(preset, document)
    assert isinstance(text, str), text
    missing = [want for want in REQUIRED[(preset, document)] if want not in text]
    assert not missing, (missing, text)


def test_where_the_seed_gives_a_fact_no_line_is_left_blank() -> None:
    """A dotted line only where the seed itself leaves the blank (003 zał. 1–2; 004 §8 ust. 2
    names voice messages but not their words) or gives nothing (000): Pleszew's and
    Bolesławiec's documents are complete, and Wałbrzych's but for that message."""
    for preset in ("pleszew", "boleslawiec", "walbrzych"):
        for document in ("sign", "clause", "announcement"):
            text = rendered(preset, document)
            if isinstance(text, str) and (preset, document) != ("walbrzych", "announcement"):
                assert BLANK not in text, (preset, document)


def test_the_pleszew_sign_is_its_clause() -> None:
    """002 zał.5 §5.2–5.3: the sign at the entrance informs, its model is zał. 2."""
    sign, clause = rendered("pleszew", "sign"), rendered("pleszew", "clause")
    assert isinstance(sign, str) and isinstance(clause, str)
    body = clause.split("informujemy, że:")[1]
    for sentence in re.split(r"\d+\. ", body):
        assert sentence.strip()[:60] in sign


# -- refusals and the office's own values ----------------------------------------------------
@pytest.mark.parametrize("preset,kind", [("boleslawiec", "camera"), ("walbrzych", "camera"),
                                         ("pleszew", "phone"), ("elblag", "phone")])
def test_a_clause_about_material_the_office_does_not_keep_is_refused(preset: str,
                                                                    kind: str) -> None:
    with pytest.raises(InputError, match=f"retention.{kind}") as caught:
        clause_data(load_policy(preset), kind)
    assert caught.value.pl and "klauzuli informacyjnej" in caught.value.pl


def test_a_clause_for_an_unknown_kind_is_refused_in_polish() -> None:
    with pytest.raises(InputError, match="mailbox") as caught:
        clause_data(load_policy("elblag"), "mailbox")
    assert caught.value.pl and "Nie ma klauzuli" in caught.value.pl


def test_the_office_fills_the_blanks_its_seed_leaves() -> None:
    """003 zał. 1 leaves the contact data blank; kustosz.toml [policy.documents] fills them,
    and the sign, the clause and the declaration print them."""
    policy = load_policy("miedziana-gora", {"documents": {
        "address": "ul. Urzędowa 1, 00-000 Miedziana Góra", "email": "gmina@example.pl",
        "phone": "41 000 00 00", "dpo_email": "iod@example.pl", "dpo_phone": "41 000 00 01"}})
    clause = _text(render("clause", clause_data(policy, "camera")))
    assert ("jest Gmina Miedziana Góra (adres: ul. Urzędowa 1, 00-000 Miedziana Góra, adres "
            "e-mail: gmina@example.pl, numer telefonu: 41 000 00 00)") in clause
    assert "adres e-mail: iod@example.pl, numer telefonu: 41 000 00 01" in clause
    assert BLANK not in clause
    sign = _text(render("sign", sign_data(policy)))
    assert "e-mail iod@example.pl, tel. 41 000 00 01" in sign and BLANK not in sign
    declaration = {**blank("declaration", policy), "employee": "Jan Kowalski",
                   "position": "referent", "unit": None, "version": "1"}
    text = _text(render("declaration", declaration))
    assert "w Urzędzie Gminy Miedziana Góra, ul. Urzędowa 1, 00-000 Miedziana Góra, przyjmuję" \
        in text


def test_an_office_with_its_own_name_does_not_print_the_presets_controller() -> None:
    """A school on Pleszew's preset is not 'Straż Miejska w Pleszewie oraz Miasto i Gmina
    Pleszew': the preset's [documents] go with the preset's name."""
    policy = load_policy("pleszew", {"office": {"name": "Szkoła Podstawowa nr 1 w Pleszewie"}})
    sign = _text(render("sign", sign_data(policy)))
    assert "Administrator danych: Szkoła Podstawowa nr 1 w Pleszewie" in sign
    assert "Straż Miejska" not in sign and "iod@pleszew.pl" not in sign
    clause = _text(render("clause", clause_data(policy, "camera")))
    assert "Straż Miejska" not in clause and "Szkoła Podstawowa nr 1 w Pleszewie" in clause


@pytest.mark.parametrize("documents,key", [
    ({"fax": "1"}, "documents.fax"), ({"phone": 746640800}, "documents.phone"),
    ({"purposes": ["ochrony mienia", " "]}, "documents.purposes"),
    ({"purposes": "ochrony mienia"}, "documents.purposes")])
def test_bad_documents_values_are_refused(documents: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)) as caught:
        load_policy("elblag", {"documents": documents})
    assert caught.value.pl and key in caught.value.pl


def test_the_cli_refuses_a_sign_where_no_camera_records(cli: Cli) -> None:
    cli("init", "--preset", "walbrzych")
    result = cli("documents", "render", "sign", ok=False)
    assert result.exit_code == 2
    assert "monitors with no cameras" in result.output and "retention.camera" in result.output
    assert not list((cli.data).rglob("sign-*.pdf"))


@pytest.mark.parametrize("preset,title", [
    ("pleszew", "Rejestr działań w systemie monitoringu"),  # 002 zał.5 §8.3
    ("walbrzych", "Rejestr działań w systemie rejestracji rozmów telefonicznych")])  # 004 §8.1
def test_the_register_of_actions_names_the_system_the_office_runs(tmp_path: Path, preset: str,
                                                                   title: str) -> None:
    from datetime import date

    from kustosz.custody import registers
    from tests.conftest import make_vault

    vault = make_vault(tmp_path / "vault", preset)
    try:
        with vault.reading() as s:
            reg = registers.build(s, vault.policy, "actions", date(2026, 6, 1),
                                  date(2026, 6, 30))
        assert reg.title == title
        text = _text(render("register", pdf_data(reg, vault.policy, date(2026, 6, 1),
                                                 date(2026, 6, 30))))
        assert f"{title} {vault.policy.office_name}" in text
    finally:
        vault.close()


def test_the_cli_prints_the_sign_the_regulation_gives(cli: Cli, tmp_path: Path) -> None:
    """`documents render sign` in Pleszew: the sign of 002 zał. 2 (zał.5 §5.3)."""
    cli("init", "--preset", "pleszew")
    target = tmp_path / "sign.pdf"
    cli("documents", "render", "sign", "--out", str(target))
    text = _text(target.read_bytes())
    assert "OBIEKT MONITOROWANY" in text
    assert "jest Straż Miejska w Pleszewie oraz Miasto i Gmina Pleszew" in text
    assert "iod@pleszew.pl" in text and BLANK not in text
