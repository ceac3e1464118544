"""Issue 51 item 2 and issue 66 item 6: real regulations of offices that are not among the five
shipped — three starostwa and gminy (issue 51), then a school under art. 108a Prawa
oświatowego, a powiat's care home (DPS), a government office and a MOPS that records calls
(issue 66) — each written as a preset file with no change to the code (docs/examples/presets/
*.toml, their sources and what was taken or defaulted in docs/examples/presets/README.md).

Each file is checked as `kustosz policy check` checks it and loaded through the policy
loader's own functions (check_preset_file, read_preset_file, build_policy); a vault is started
on it (kustosz.toml with `preset = ""` and the file's tables under [policy]), and every
document Kustosz prints for an office is rendered from it with the data shapes of
tests/test_documents_per_seed.py: the office's name, its head's title in the case each
sentence needs and the regulation's retention period must be printed. A camera in a kind of
place a file excludes is refused by the CLI, and nothing changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tests.test_documents_per_seed as per_seed
from kustosz.config_schema.policy_file import check_preset_file, read_preset_file
from kustosz.documents import NAMES, render
from kustosz.errors import InputError
from kustosz.policy import Policy
from kustosz.policy.model import build_policy
from kustosz.policy.periods import Period
from kustosz.vault import Vault
from tests.conftest import Cli, make_vault, snapshot

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
CALL_DOCUMENTS = {"announcement", "request-calls", "listening-protocol"}
VIDEO_DOCUMENTS = {"sign", "request-video"}
# The offices whose regulation read covers calls only (issue 66: MOPS w Lublińcu).
CALLS_ONLY = {"lubliniec"}
# Offices that are no urząd: their documents must not call them one (as for MOPS Wałbrzych).
NOT_AN_URZAD = {"rogalin", "katy", "lubliniec"}

# What each regulation's text gives, as the documents must print it. The period is the
# regulation's own ("do trzech miesięcy" Rawicz § 4 ust. 6, "nie dłużej … niż przez
# 3 miesiące" Włoszakowice § 1 ust. 5, "nie przekracza 30 dni" Wieruszów pkt 4 lit. c).
EXPECTED: dict[str, dict[str, str]] = {
    "rawicz": {
        "office": "Starostwo Powiatowe w Rawiczu",
        "office_gen": "Starostwa Powiatowego w Rawiczu",
        "office_in": "w Starostwie Powiatowym w Rawiczu",
        "head": "Starosta Rawicki", "head_gen": "Starosty Rawickiego",
        "head_acc": "Starostę Rawickiego",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        # § 2: "Powiat Rawicki reprezentowany przez Starostę Rawickiego" (issue 66 item 5)
        "controller": "Powiat Rawicki, reprezentowany przez Starostę Rawickiego (adres: "
                      "ul. Rynek 17, Rawicz",
        "aims": "zapewnienia bezpieczeństwa zakładu pracy, ochrony mienia oraz zachowania w "
                "tajemnicy informacji",
        "monitored": "ul. Wały J. Dąbrowskiego 2 (korytarz i klatka schodowa na parterze)",
    },
    "wloszakowice": {
        "office": "Urząd Gminy Włoszakowice", "office_gen": "Urzędu Gminy Włoszakowice",
        "office_in": "w Urzędzie Gminy Włoszakowice",
        "head": "Wójt Gminy Włoszakowice", "head_gen": "Wójta Gminy Włoszakowice",
        "head_acc": "Wójta Gminy Włoszakowice",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        "controller": "Administrator danych: Wójt Gminy Włoszakowice",
        "aims": "",  # not stated in the part of the source read: a line to fill in
        "monitored": "oraz miejsca objęte fotopułapkami Urzędu Gminy Włoszakowice",
    },
    "wieruszow": {
        "office": "Starostwo Powiatowe w Wieruszowie",
        "office_gen": "Starostwa Powiatowego w Wieruszowie",
        "office_in": "w Starostwie Powiatowym w Wieruszowie",
        # the head is not named in the part of the source read: a starostwo's starosta
        "head": "Starosta Wieruszowski", "head_gen": "Starosty Wieruszowskiego",
        "head_acc": "Starostę Wieruszowskiego",
        "period": "nie dłużej niż 30 dni od dnia nagrania",
        "controller": "Administrator danych: Starostwo Powiatowe w Wieruszowie",
        "aims": "zwiększenia bezpieczeństwa pracowników i interesantów oraz ochrony mienia",
        "monitored": "budynek administracyjno-biurowy przy ul. Waryńskiego 14, 98-400 Wieruszów",
    },
    # Issue 66 item 6. Rogalin: the page's "przechowywane do 3 miesięcy" (Zasady, dalsze
    # pkt 1). Kąty, OUM Wrocław, Lubliniec: the part read gives no period — 3 months assumed.
    "rogalin": {
        "office": "Szkoła Podstawowa im. Prezydenta RP Edwarda Raczyńskiego w Rogalinie",
        "office_gen": "Szkoły Podstawowej im. Prezydenta RP Edwarda Raczyńskiego w Rogalinie",
        "office_in": "w Szkole Podstawowej im. Prezydenta RP Edwarda Raczyńskiego w Rogalinie",
        "head": "Dyrektor Szkoły Podstawowej im. Prezydenta RP Edwarda Raczyńskiego w Rogalinie",
        "head_gen": "Dyrektora Szkoły Podstawowej im. Prezydenta RP Edwarda Raczyńskiego w "
                    "Rogalinie",
        "head_acc": "Dyrektora Szkoły Podstawowej im. Prezydenta RP Edwarda Raczyńskiego w "
                    "Rogalinie",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        "controller": "Administrator danych: Szkoła Podstawowa im. Prezydenta RP Edwarda "
                      "Raczyńskiego w Rogalinie (adres: ....",
        "aims": "zwiększenia bezpieczeństwa społeczności szkolnej oraz osób przebywających na "
                "terenie szkoły, wyjaśniania sytuacji konfliktowych, ustalania sprawców czynów "
                "nagannych oraz ograniczania dostępu do szkoły osób nieuprawnionych i "
                "niepożądanych",
        "monitored": "budynek szkoły (monitoring wewnętrzny) i teren wokół niego",
        "basis": "na podstawie art. 108a ustawy z dnia 14 grudnia 2016 r. – Prawo oświatowe",
    },
    "katy": {
        "office": "Dom Pomocy Społecznej w Kątach",
        "office_gen": "Domu Pomocy Społecznej w Kątach",
        "office_in": "w Domu Pomocy Społecznej w Kątach",
        "head": "Dyrektor Domu Pomocy Społecznej w Kątach",
        "head_gen": "Dyrektora Domu Pomocy Społecznej w Kątach",
        "head_acc": "Dyrektora Domu Pomocy Społecznej w Kątach",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        # § 3: "… reprezentowany przez Dyrektora Domu"
        "controller": "Administrator danych: Dom Pomocy Społecznej w Kątach, reprezentowany "
                      "przez Dyrektora Domu (adres: Kąty 22, 05-332 Siennica, tel. 25 799 19 07",
        "aims": "zapewnienia bezpieczeństwa pracowników i mieszkańców, zapewnienia porządku "
                "publicznego i bezpieczeństwa obywateli, ochrony przeciwpożarowej i "
                "przeciwpowodziowej oraz ochrony mienia",
        "monitored": "korytarze budynków, hol oddziału Terapeutyczno",
        "basis": "na podstawie art. 4b ust. 1 ustawy z dnia 5 czerwca 1998 r. o samorządzie "
                 "powiatowym",
    },
    "oum-wroclaw": {
        "office": "Okręgowy Urząd Miar we Wrocławiu",
        "office_gen": "Okręgowego Urzędu Miar we Wrocławiu",
        "office_in": "w Okręgowym Urzędzie Miar we Wrocławiu",
        # the head is not named in the part of the source read: the office's director
        "head": "Dyrektor Okręgowego Urzędu Miar we Wrocławiu",
        "head_gen": "Dyrektora Okręgowego Urzędu Miar we Wrocławiu",
        "head_acc": "Dyrektora Okręgowego Urzędu Miar we Wrocławiu",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        "controller": "Administrator danych: Okręgowy Urząd Miar we Wrocławiu (adres: ul. "
                      "Młodych Techników 61-63, Wrocław",
        "aims": "zapewnienia bezpieczeństwa i porządku publicznego oraz ochrony osób i mienia "
                "na terenie Urzędu",
        "monitored": "korytarz przy Punkcie Obsługi Klienta Wydziału Legalizacji",
        "published": "dostępna jest na tablicy ogłoszeń na parterze Urzędu oraz na stronie "
                     "internetowej wroclaw.gum.gov.pl",
    },
    "lubliniec": {
        "office": "Miejski Ośrodek Pomocy Społecznej w Lublińcu",
        "office_gen": "Miejskiego Ośrodka Pomocy Społecznej w Lublińcu",
        "office_in": "w Miejskim Ośrodku Pomocy Społecznej w Lublińcu",
        "head": "Dyrektor Miejskiego Ośrodka Pomocy Społecznej w Lublińcu",
        "head_gen": "Dyrektora Miejskiego Ośrodka Pomocy Społecznej w Lublińcu",
        "head_acc": "Dyrektora Miejskiego Ośrodka Pomocy Społecznej w Lublińcu",
        "period": "nie dłużej niż 3 miesiące od dnia nagrania",
        "controller": "Administratorem Pani/Pana danych osobowych jest Miejski Ośrodek Pomocy "
                      "Społecznej w Lublińcu (adres: ....",
        "aims": "podnoszenia standardów obsługi oraz bezpieczeństwa osób prowadzących rozmowę "
                "telefoniczną",
        "monitored": "",
    },
}
PERIODS = {"rawicz": Period(3, "months"), "wloszakowice": Period(3, "months"),
           "wieruszow": Period(30, "days"), "rogalin": Period(3, "months"),
           "katy": Period(3, "months"), "oum-wroclaw": Period(3, "months"),
           "lubliniec": Period(3, "months")}
FILES = sorted(EXPECTED)


def kind_kept(name: str) -> str:
    return "phone" if name in CALLS_ONLY else "camera"


def load(name: str) -> Policy:
    path = FOLDER / f"{name}.toml"
    assert check_preset_file(path) == [], f"kustosz policy check {path.name}"
    return build_policy(read_preset_file(path))


def test_the_examples_are_exactly_the_files_in_the_folder() -> None:
    assert sorted(p.stem for p in FOLDER.glob("*.toml")) == FILES


@pytest.mark.parametrize("name", FILES)
def test_the_file_loads_with_the_regulations_values(name: str) -> None:
    policy, want = load(name), EXPECTED[name]
    assert policy.office_name == want["office"]
    assert policy.approver_title == want["head"]
    kept = {"camera": None, "phone": None, "mailbox": None, "endpoint": None}
    assert policy.retention == {**kept, kind_kept(name): PERIODS[name]}
    # No regulation read sets a deadline for an interested person's request.
    assert policy.request_deadline is None and policy.after_deadline is None
    assert policy.approvers == ("head",)


@pytest.mark.parametrize("name", FILES)
def test_a_vault_starts_on_the_file(tmp_path: Path, name: str) -> None:
    """A vault made with a shipped preset, its kustosz.toml then naming no preset and carrying
    the file's tables under [policy]: the office's rules come from the file alone."""
    root = tmp_path / name
    make_vault(root).close()
    config = root / "kustosz.toml"
    text = config.read_text("utf-8").replace('preset = "pleszew"', 'preset = ""')
    tables = re.sub(r"(?m)^\[(?!\[)", "[policy.",
                    (FOLDER / f"{name}.toml").read_text("utf-8"))
    config.write_text(f"{text}\n{tables}", "utf-8")
    vault = Vault.open(root, actor="test")
    try:
        assert vault.policy.preset is None
        assert vault.policy.office_name == EXPECTED[name]["office"]
        assert vault.policy.retention_for(kind_kept(name)) == PERIODS[name]
        assert vault.policy.forms == load(name).forms
    finally:
        vault.close()


def _render_all(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | InputError]:
    """Every document for this office, built as the per-seed test builds it."""
    policy = load(name)
    monkeypatch.setattr(per_seed, "load_policy", lambda preset: policy)
    if name not in CALLS_ONLY:
        monkeypatch.setattr(per_seed, "VIDEO", per_seed.VIDEO | {name})
    out: dict[str, str | InputError] = {}
    for document in sorted(NAMES):
        try:
            out[document] = per_seed._text(render(document, per_seed._data(name, document)))
        except InputError as exc:
            out[document] = exc
    return out


def _forbidden(name: str) -> list[str]:
    patterns = per_seed._forbidden(name)
    if name in NOT_AN_URZAD:  # a school, a care home, a MOPS: no "Urząd" but the UODO's
        patterns += [r"(?i)\burzęd(u|zie|em|owi)\b(?! Ochrony Danych)", r"(?i)\burząd\b"]
    return patterns


@pytest.mark.parametrize("name", FILES)
def test_every_document_renders_with_the_office_in_the_right_case(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, want = _render_all(name, monkeypatch), EXPECTED[name]
    calls = name in CALLS_ONLY
    # Video only: the call documents are refused, naming the office and what it keeps; calls
    # only: the camera sign and the video request form.
    refused, said = ((VIDEO_DOCUMENTS, "nie stosuje monitoringu wizyjnego") if calls else
                     (CALL_DOCUMENTS, "nie nagrywa rozmów"))
    for document in refused:
        got = docs[document]
        assert isinstance(got, InputError) and want["office"] in str(got), (document, got)
        assert got.pl and got.pl.startswith(f"{want['office']} {said}")
    texts = {d: t for d, t in docs.items() if isinstance(t, str)}
    assert set(texts) == set(NAMES) - refused
    for document, text in texts.items():
        assert len(text) > 200, (document, text)
        for pattern in _forbidden(name):
            assert re.search(pattern, text) is None, (document, pattern, text)
    # nominative, genitive, locative of the office; the head's genitive and accusative
    what = ("rozmów telefonicznych", "rejestrowania rozmów telefonicznych") if calls else (
        "monitoringu wizyjnego", "zastosowania monitoringu")
    request = "request-calls" if calls else "request-video"
    assert f"Potwierdzam odbiór od {want['office_gen']} kopii" in texts["receipt"]
    assert f"{what[0]} {want['office_gen']}" in texts[request]
    assert f"{what[1]} {want['office_in']}" in texts["declaration"]
    assert f"Decyzja {want['head_gen']} Wyrażam zgodę" in texts["decision"]
    assert f"Decyzja {want['head_gen']} Wyrażam zgodę" in texts[request]
    assert f"wyznaczona przez {want['head_acc']}, w dniu" in texts["destruction-protocol"]
    assert f"{want['head']}, zwany dalej Przekazującym dane" in texts["handover-protocol"]
    # the regulation's facts: retention, controller, purposes, what is monitored
    assert want["period"] in texts["clause"]
    if calls:
        return
    assert texts["sign"].startswith(f"OBIEKT MONITOROWANY {want['office']} ")
    assert want["period"] in texts["sign"]
    assert want["controller"] in texts["sign"]
    assert want["monitored"] in texts["sign"]
    if want["aims"]:
        assert f"w celu {want['aims']}" in texts["clause"]
        assert f"Monitoring stosowany jest w celu {want['aims']}" in texts["sign"]
    else:
        assert "Monitoring stosowany jest w celu ......" in texts["sign"]
    if want.get("basis"):
        assert f"Dane przetwarzane są {want['basis']}" in texts["sign"]
    if want.get("published"):
        assert want["published"] in texts["sign"]


def test_the_mops_announcement_is_its_regulations_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lubliniec § 3: the incoming message played automatically, word for word; the outgoing
    one's words, where the regulation does not say who speaks them — the document says
    neither and names the key to fill in; the scope as recorded, internal calls not."""
    text = _render_all("lubliniec", monkeypatch)["announcement"]
    assert isinstance(text, str)
    assert "Zakres nagrywania: wyłącznie zewnętrzne połączenia przychodzące i wychodzące." in text
    assert ("Podstawa: § 3 Regulaminu nagrywania rozmów telefonicznych w Miejskim Ośrodku "
            "Pomocy Społecznej w Lublińcu.") in text
    assert ("Komunikat odtwarzany przed każdym połączeniem przychodzącym „Dzień dobry, Miejski "
            "Ośrodek Pomocy Społecznej w Lublińcu. W trosce o najwyższe standardy obsługi") in text
    assert "na stronie internetowej: http://mops.lubliniec.pl/.”" in text
    assert ("Komunikat przed połączeniem wychodzącym „połączenie jest nagrywane” Plik zasad: "
            "uzupełnij [calls] outgoing_announcement.") in text
    assert "odczytywany" not in text and "wewnętrzne" not in text


# -- what looking at every page found (2026-11-27; docs/examples/presets/README.md) ------------
# Who the clause names as the controller: the file's [documents] controller, else the office.
CONTROLLER = {"rawicz": "Powiat Rawicki, reprezentowany przez Starostę Rawickiego",
              "wloszakowice": "Wójt Gminy Włoszakowice",
              "wieruszow": "Starostwo Powiatowe w Wieruszowie",
              "rogalin": "Szkoła Podstawowa im. Prezydenta RP Edwarda Raczyńskiego w Rogalinie",
              "katy": "Dom Pomocy Społecznej w Kątach, reprezentowany przez Dyrektora Domu",
              "oum-wroclaw": "Okręgowy Urząd Miar we Wrocławiu",
              "lubliniec": "Miejski Ośrodek Pomocy Społecznej w Lublińcu"}
# How the head signs an authorisation: as the controller where the clause names the head, else
# for the controller the clause names (the powiat; the office itself where the file names none).
SIGNS_AS = {"rawicz": "Starosta Rawicki (w imieniu administratora danych)",
            "wloszakowice": "Wójt Gminy Włoszakowice (administrator danych)",
            "wieruszow": "Starosta Wieruszowski (w imieniu administratora danych)",
            **{name: f"{EXPECTED[name]['head']} (w imieniu administratora danych)"
               for name in ("rogalin", "katy", "oum-wroclaw", "lubliniec")}}


@pytest.mark.parametrize("name", FILES)
def test_the_general_clause_closes_the_purposes_before_the_basis(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point 3 of a clause the office does not word itself: "w celu …, na podstawie …". A
    purpose ending in a clause of its own (Rawicz § 3: "…, których ujawnienie mogłoby narazić
    Administratora na szkodę") otherwise runs on into the basis."""
    text = _render_all(name, monkeypatch)["clause"]
    assert isinstance(text, str)
    point = re.search(r" 3\. (.*?) 4\. ", text)
    assert point, text
    # the basis is the file's (Rogalin, Kąty) or a dotted line to fill in
    assert re.fullmatch(r".* przetwarzane są w celu (\.{5,}|[^.]+?), na podstawie "
                        r"(\.{5}|art\. )\S.*", point[1]), point[1]
    assert re.search(r"[^,] na podstawie ", point[1]) is None, point[1]


@pytest.mark.parametrize("name", FILES)
def test_a_data_subject_asks_the_controller_the_clause_names(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The art. 15 request form is addressed to the controller, as the clause and the sign
    name it — not to the office where the regulation names the powiat or the wójt — at the
    address the file gives (Rawicz § 4 ust. 1)."""
    docs, controller = _render_all(name, monkeypatch), CONTROLLER[name]
    assert f"Administratorem Pani/Pana danych osobowych jest {controller} (" in str(
        docs["clause"])
    address = load(name).documents.get("address")
    addressee = f"{controller} {address}" if address else controller
    assert f"Administrator danych {addressee} Żądanie dostępu" in str(docs["request-subject"])


@pytest.mark.parametrize("name", FILES)
def test_the_head_signs_as_the_controller_or_for_the_one_the_clause_names(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SIGNS_AS[name] in str(_render_all(name, monkeypatch)["authorisation"])


@pytest.mark.parametrize("name", FILES)
def test_the_blank_refusal_line_is_not_torn_apart(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """"Podstawa prawna i uzasadnienie odmowy:" before a dotted line to fill in: justified,
    its five words flew across the page (the blank art. 15 request, its page 2)."""
    import io

    from pypdf import PdfReader

    monkeypatch.setattr(per_seed, "load_policy", lambda preset: load(name))
    pdf = render("request-subject", per_seed._data(name, "request-subject"))
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages
             for line in page.extract_text(extraction_mode="layout").splitlines()]
    assert any(line.startswith("Podstawa prawna i uzasadnienie odmowy:") for line in lines), [
        line for line in lines if line.startswith("Podstawa")]


# -- places a file excludes (issue 66 item 6: "a camera in each file's forbidden zone kind is
# refused") ------------------------------------------------------------------------------------
# The kinds each file excludes outright, as its part read says (Kąty § 4 ust. 1); the others
# exclude none, and the statutes' floor applies to them (below, Rogalin's classroom).
EXCLUDED = {"katy": {"resident_room", "medical_room", "sanitary"}}
PASSWORD = "Józef-Żółć-1"


def _office_with_a_site(cli: Cli, name: str) -> Vault:
    cli("init", "--preset-file", str(FOLDER / f"{name}.toml"))
    cli("sites", "add", "Budynek główny 🏢")
    (cli.data.parent / "haslo.txt").write_text(f"{PASSWORD}\n")
    return Vault.open(cli.data)


def _camera_refused(cli: Cli, vault: Vault, zone: str, purpose: str, *extra: str) -> str:
    before = snapshot(vault)
    result = cli("cameras", "add", "kamera-x", "--site", "Budynek główny 🏢", "--zone", zone,
                 "--url", "rtsp://operator@10.1.1.20/s", "--purpose", purpose,
                 "--password-file", str(cli.data.parent / "haslo.txt"), *extra, ok=False)
    assert result.exit_code == 2, result.output
    assert snapshot(vault) == before
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines[0].startswith("błąd:") and lines[1].startswith("error:"), result.output
    assert PASSWORD not in result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("name", FILES)
def test_a_camera_in_a_kind_the_file_excludes_is_refused(cli: Cli, name: str) -> None:
    policy = load(name)
    video = policy.video
    excluded = {k.code for k in video.kinds.values() if k.offered and video.excluded(k.code)}
    assert excluded == EXCLUDED.get(name, set())
    if not excluded:
        return
    vault = _office_with_a_site(cli, name)
    try:
        purpose = video.purposes[-1]
        for code in sorted(excluded):
            zone = f"strefa {code} 🚫"
            cli("zones", "add", zone, "--site", "Budynek główny 🏢", "--kind", code)
            said = _camera_refused(cli, vault, zone, purpose, "--unrecognisable-reason",
                                   "maska prywatności na całym kadrze 🔒",
                                   "--representatives-consent", "porozumienie z 10.01.2026")
            assert f"„{video.kind(code).name}”" in said, said
        # and a camera where the regulation puts them (Kąty § 4: a corridor) is accepted
        cli("zones", "add", "korytarz parter", "--site", "Budynek główny 🏢", "--kind",
            "corridor")
        cli("cameras", "add", "korytarz-1", "--site", "Budynek główny 🏢", "--zone",
            "korytarz parter", "--url", "rtsp://operator@10.1.1.20/s", "--purpose", purpose,
            "--password-file", str(cli.data.parent / "haslo.txt"))
    finally:
        vault.close()


def test_a_school_camera_in_a_classroom_needs_what_art_108a_ust_3_requires(cli: Cli) -> None:
    """Rogalin's file excludes no room; art. 108a ust. 3 Prawa oświatowego still closes a
    classroom to a camera serving the school's purposes unless people there are
    unrecognisable — the law's floor, whatever the file says."""
    vault = _office_with_a_site(cli, "rogalin")
    try:
        cli("zones", "add", "sala lekcyjna 12 📚", "--site", "Budynek główny 🏢", "--kind",
            "classroom")
        said = _camera_refused(cli, vault, "sala lekcyjna 12 📚", "school_safety")
        assert "art. 108a ust. 3 ustawy – Prawo oświatowe" in said, said
    finally:
        vault.close()


def test_a_long_office_name_on_the_sign_is_centred_not_stretched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Looking at Rogalin's sign (2026-11-29): a school's name that takes two lines under
    "OBIEKT MONITOROWANY" was justified — its words flew across the first line."""
    import io

    from pypdf import PdfReader

    monkeypatch.setattr(per_seed, "load_policy", lambda preset: load("rogalin"))
    monkeypatch.setattr(per_seed, "VIDEO", per_seed.VIDEO | {"rogalin"})
    pdf = render("sign", per_seed._data("rogalin", "sign"))
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages
             for line in page.extract_text(extraction_mode="layout").splitlines()]
    name = [line for line in lines if line.startswith("Szkoła")]
    assert name and all("  " not in line for line in name), name


# What docs/examples/presets/README.md listed as not expressible, now in the files and printed:
# a purpose on two acts, the rooms excluded and the NIP and REGON (Kąty § 2 pkt 1, § 4 ust. 1,
# § 3), the clause's annex (OUM § 1 ust. 4).
PRINTED = {
    "katy": {
        "clause": ("NIP: 822-10-46-016, REGON: 711656530",
                   "Monitoring nie obejmuje: pokoi mieszkalnych, gabinetu doraźnej pomocy "
                   "medycznej oraz pomieszczeń sanitarnych."),
        "sign": ("Monitoring nie obejmuje: pokoi mieszkalnych, gabinetu doraźnej pomocy "
                 "medycznej oraz pomieszczeń sanitarnych.",),
    },
    "oum-wroclaw": {
        "clause": ("Załącznik nr 3 do Regulaminu monitoringu w Okręgowym Urzędzie Miar we "
                   "Wrocławiu z dnia 4 kwietnia 2023 r.",),
    },
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_what_the_files_could_not_say_is_printed(name: str, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    docs = _render_all(name, monkeypatch)
    for document, texts in PRINTED[name].items():
        for text in texts:
            assert text in str(docs[document]), (document, text)


def test_the_care_homes_purpose_rests_on_both_acts() -> None:
    assert load("katy").video.purpose("bezpieczenstwo_pracownikow_mieszkancow").cited == (
        "zapewnienie bezpieczeństwa pracowników i mieszkańców (art. 4b ustawy o samorządzie "
        "powiatowym oraz art. 22² § 1 Kodeksu pracy)")
