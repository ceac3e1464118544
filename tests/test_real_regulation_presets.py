"""Issue 51 item 2: three real regulations of offices that are not among the five shipped,
each written as a preset file with no change to the code (docs/examples/presets/*.toml, their
sources and what was taken or defaulted in docs/examples/presets/README.md).

Each file is checked as `kustosz policy check` checks it and loaded through the policy
loader's own functions (check_preset_file, read_preset_file, build_policy); a vault is started
on it (kustosz.toml with `preset = ""` and the file's tables under [policy]), and every
document Kustosz prints for an office is rendered from it with the data shapes of
tests/test_documents_per_seed.py: the office's name, its head's title in the case each
sentence needs and the regulation's retention period must be printed.
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
from tests.conftest import make_vault

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
CALL_DOCUMENTS = {"announcement", "request-calls", "listening-protocol"}

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
        "controller": "Powiat Rawicki (adres: ul. Rynek 17, Rawicz",
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
}
PERIODS = {"rawicz": Period(3, "months"), "wloszakowice": Period(3, "months"),
           "wieruszow": Period(30, "days")}
FILES = sorted(EXPECTED)


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
    assert policy.retention == {"camera": PERIODS[name], "phone": None, "mailbox": None,
                                "endpoint": None}
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
        assert vault.policy.retention_for("camera") == PERIODS[name]
        assert vault.policy.forms == load(name).forms
    finally:
        vault.close()


def _render_all(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | InputError]:
    """Every document for this office, built as the per-seed test builds it."""
    policy = load(name)
    monkeypatch.setattr(per_seed, "load_policy", lambda preset: policy)
    monkeypatch.setattr(per_seed, "VIDEO", per_seed.VIDEO | {name})
    out: dict[str, str | InputError] = {}
    for document in sorted(NAMES):
        try:
            out[document] = per_seed._text(render(document, per_seed._data(name, document)))
        except InputError as exc:
            out[document] = exc
    return out


@pytest.mark.parametrize("name", FILES)
def test_every_document_renders_with_the_office_in_the_right_case(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, want = _render_all(name, monkeypatch), EXPECTED[name]
    # Video only: the call documents are refused, naming the office and what it keeps.
    for document in CALL_DOCUMENTS:
        got = docs[document]
        assert isinstance(got, InputError) and want["office"] in str(got), (document, got)
        assert got.pl and got.pl.startswith(f"{want['office']} nie nagrywa rozmów")
    texts = {d: t for d, t in docs.items() if isinstance(t, str)}
    assert set(texts) == set(NAMES) - CALL_DOCUMENTS
    for document, text in texts.items():
        assert len(text) > 200, (document, text)
        for pattern in per_seed._forbidden(name):
            assert re.search(pattern, text) is None, (document, pattern, text)
    # nominative, genitive, locative of the office; the head's genitive and accusative
    assert texts["sign"].startswith(f"OBIEKT MONITOROWANY {want['office']} ")
    assert f"Potwierdzam odbiór od {want['office_gen']} kopii" in texts["receipt"]
    assert f"monitoringu wizyjnego {want['office_gen']}" in texts["request-video"]
    assert f"zastosowania monitoringu {want['office_in']}" in texts["declaration"]
    assert f"Decyzja {want['head_gen']} Wyrażam zgodę" in texts["decision"]
    assert f"wyznaczona przez {want['head_acc']}, w dniu" in texts["destruction-protocol"]
    assert f"{want['head']}, zwany dalej Przekazującym dane" in texts["handover-protocol"]
    # the regulation's facts: retention, controller, purposes, what is monitored
    for document in ("sign", "clause"):
        assert want["period"] in texts[document], document
    assert want["controller"] in texts["sign"]
    assert want["monitored"] in texts["sign"]
    if want["aims"]:
        assert f"w celu {want['aims']}" in texts["clause"]
    else:
        assert "Monitoring stosowany jest w celu ......" in texts["sign"]


# -- what looking at every page found (2026-11-27; docs/examples/presets/README.md) ------------
# Who the clause names as the controller: the file's [documents] controller, else the office.
CONTROLLER = {"rawicz": "Powiat Rawicki", "wloszakowice": "Wójt Gminy Włoszakowice",
              "wieruszow": "Starostwo Powiatowe w Wieruszowie"}
# How the head signs an authorisation: as the controller where the clause names the head, else
# for the controller the clause names (the powiat; the office itself where the file names none).
SIGNS_AS = {"rawicz": "Starosta Rawicki (w imieniu administratora danych)",
            "wloszakowice": "Wójt Gminy Włoszakowice (administrator danych)",
            "wieruszow": "Starosta Wieruszowski (w imieniu administratora danych)"}


@pytest.mark.parametrize("name", FILES)
def test_the_general_clause_closes_the_purposes_before_the_basis(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point 3 of a clause the office does not word itself: "w celu …, na podstawie …". A
    purpose ending in a clause of its own (Rawicz § 3: "…, których ujawnienie mogłoby narazić
    Administratora na szkodę") otherwise runs on into the basis."""
    text = _render_all(name, monkeypatch)["clause"]
    assert isinstance(text, str)
    assert re.search(r"przetwarzane są w celu (\.{5,}|[^.]+?), na podstawie \.{5}", text), text
    assert re.search(r"[^,] na podstawie \.{5}", text) is None, text


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
