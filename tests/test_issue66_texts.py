"""Issue 66 items 3 and 4: no text the office did not write, and calls as regulations describe
them.

* A calls office whose file gives no announcement got "Witamy. Dodzwonili się Państwo do …
  Kontynuowanie rozmowy oznacza zgodę…" — Bolesławiec's outgoing sentence word for word and a
  consent basis it may not use. Now a missing text prints a dotted line and the key to fill
  in, `kustosz policy check` warns of it, and no preset's words are in the code.
* The sign printed "Monitoring stosowany jest w celu ……" for an office that gives its purposes
  as one phrase (`aims`), while its clause printed them.
* The call scope takes any combination of external incoming, external outgoing and internal
  calls, each external direction's announcement is played or read as the file says, and the
  announcement document prints exactly that.

Every PDF is rendered by typst and read back with poppler's pdftotext.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from kustosz.documents import render
from kustosz.documents.announcements import announcement_data
from kustosz.documents.clauses import clause_data
from kustosz.documents.office import BLANK
from kustosz.documents.sign import sign_data
from kustosz.policy import Policy, load_policy, preset_names
from kustosz.policy.calls import CALL_KINDS, CallScope
from kustosz.policy.model import build_policy
from tests.conftest import Cli

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
BOLESLAWIEC = (resources.files("kustosz.policy") / "presets" / "boleslawiec.toml").read_text(
    "utf-8")

# A MOPS that records its external calls both ways, not the internal ones, and whose file
# words neither announcement (the office).
MOPS = """
[office]
name = "Miejski Ośrodek Pomocy Społecznej w Żółkowie"
name_genitive = "Miejskiego Ośrodka Pomocy Społecznej w Żółkowie"
name_locative = "Miejskim Ośrodku Pomocy Społecznej w Żółkowie"
approver_title = "Dyrektor Miejskiego Ośrodka Pomocy Społecznej w Żółkowie"
approver_title_genitive = "Dyrektora Miejskiego Ośrodka Pomocy Społecznej w Żółkowie"
approver_title_accusative = "Dyrektora Miejskiego Ośrodka Pomocy Społecznej w Żółkowie"

[retention]
phone = "30 days"

[copies]
lifetime = "3 months"
counted_from = "copy_date"

[calls]
scope = ["external_incoming", "external_outgoing"]
"""


def pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "doc.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60)
    return " ".join(done.stdout.split())


def _policy(text: str, **tables: dict[str, Any]) -> Policy:
    data = tomllib.loads(text)
    for table, values in tables.items():
        data[table] = {**data.get(table, {}), **values}
    return build_policy(data)


def _announcement(policy: Policy, tmp: Path) -> str:
    return pdf_text(render("announcement", announcement_data(policy)), tmp)


# What Kustosz once wrote for an office that words no announcement of its own.
INVENTED = ("Witamy", "Dodzwonili się", "Kontynuowanie rozmowy oznacza zgodę",
            "w trosce o bezpieczeństwo i jakość", "Informuję")


@pytest.mark.parametrize("office", ["own file", "a preset under its own name"])
def test_an_office_without_its_announcement_gets_blanks_never_another_offices_words(
        office: str, tmp_path: Path) -> None:
    policy = (_policy(MOPS) if office == "own file" else
              load_policy("boleslawiec", {"office": {"name": "Urząd Gminy Żółkowo"}}))
    text = _announcement(policy, tmp_path)
    for words in INVENTED:
        assert words not in text, (words, text)
    assert BLANK in text
    assert "Plik zasad: uzupełnij [documents.announcement] incoming" in text
    assert "uzupełnij [documents.announcement] outgoing" in text
    if office == "own file":  # nor how it is told: neither played nor read is claimed
        assert "uzupełnij [calls] incoming_announcement" in text
        assert "odtwarzany" not in text and "odczytywany" not in text
        # nor a regulation it has not named
        assert "Podstawa: ...." in text and "uzupełnij [calls] announcement_clause" in text
        assert "regulamin" not in text
        assert "Zakres nagrywania: wyłącznie zewnętrzne połączenia przychodzące i wychodzące" \
            in text and "wewnętrzne" not in text


def _office_texts(data: dict[str, Any]) -> list[str]:
    """Every text of a preset's [documents] tables, and each sentence of it."""
    out: list[str] = []
    for value in data.get("documents", {}).values():
        items = value.values() if isinstance(value, dict) else [value]
        for item in items:
            for text in item if isinstance(item, list) else [item]:
                if isinstance(text, str):
                    out += [text, *re.split(r"(?<=[.!?])\s+", text)]
    return [t for t in out if len(t) >= 40 and "{" not in t]


def test_no_presets_words_are_in_the_code() -> None:
    """Office-specific text is data: no sentence of any preset's (or example's) office texts
    is written in the code or the packaged templates."""
    files = [*SRC.rglob("*.py"), *(SRC / "documents" / "templates").glob("*.typ")]
    code = " ".join(" ".join(f.read_text("utf-8").split()) for f in files)
    presets = [tomllib.loads((resources.files("kustosz.policy") / "presets" / f"{n}.toml")
                             .read_text("utf-8")) for n in preset_names()]
    presets += [tomllib.loads(p.read_text("utf-8")) for p in EXAMPLES.glob("*.toml")]
    found = [t for data in presets for t in _office_texts(data) if t in code]
    assert found == []


def test_policy_check_warns_for_each_document_whose_text_prints_empty(
        tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "mops.toml"
    path.write_text(MOPS, "utf-8")
    done = cli("policy", "check", str(path))
    assert done.exit_code == 0 and "plik jest poprawny / the file is valid" in done.output
    shown = json.loads(cli("policy", "check", str(path), "--json").output)
    assert shown["ok"] is True and shown["problems"] == []
    warned = {w["key"]: w for w in shown["warnings"]}
    assert set(warned) == {"documents.announcement.incoming", "documents.announcement.outgoing",
                           "calls.incoming_announcement", "calls.outgoing_announcement",
                           "calls.announcement_clause", "documents.purposes"}
    scope_line = next(n for n, line in enumerate(MOPS.splitlines(), 1)
                      if line.startswith("scope"))
    calls_line = scope_line - 1
    assert warned["calls.incoming_announcement"]["line"] == calls_line  # its table's line
    incoming = warned["documents.announcement.incoming"]
    assert incoming["pl"].startswith("Dokument „Komunikaty o nagrywaniu rozmów” wydrukuje")
    assert "uzupełnij [documents.announcement] incoming" in incoming["pl"]
    assert "fill in [documents.announcement] incoming" in incoming["en"]
    assert "Klauzula informacyjna" in warned["documents.purposes"]["pl"]
    assert "None" not in done.output
    # the text given, the warning gone
    path.write_text(MOPS + '\n[documents.announcement]\nincoming = "Dzień dobry, Józef Żółć"\n',
                    "utf-8")
    again = json.loads(cli("policy", "check", str(path), "--json").output)
    assert "documents.announcement.incoming" not in {w["key"] for w in again["warnings"]}


@pytest.mark.parametrize("name", preset_names())
def test_the_shipped_presets_warn_only_of_what_their_regulation_does_not_word(
        name: str, cli: Cli) -> None:
    path = Path(str(resources.files("kustosz.policy") / "presets" / f"{name}.toml"))
    shown = json.loads(cli("policy", "check", str(path), "--json").output)
    # 004 §8 ust. 2 names voice messages and does not word them
    expected = ["documents.announcement.incoming"] if name == "walbrzych" else []
    assert [w["key"] for w in shown["warnings"]] == expected


def test_a_text_with_an_unknown_placeholder_is_refused_with_its_line(tmp_path: Path,
                                                                     cli: Cli) -> None:
    text = BOLESLAWIEC.replace('incoming = "Witamy w Urzędzie Miasta Bolesławiec.',
                               'incoming = "Witamy w {urzad_gen}.', 1)
    assert text != BOLESLAWIEC
    path = tmp_path / "urzad.toml"
    path.write_text(text, "utf-8")
    done = cli("policy", "check", str(path), ok=False)
    assert done.exit_code == 1
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if ln.startswith("incoming ="))
    assert ("`documents.announcement.incoming`: Zasada documents.announcement.incoming: "
            "nieznane pole {urzad_gen}") in done.output
    assert f"(wiersz {line})" in done.output and f"(line {line})" in done.output
    assert not cli.data.exists()


@pytest.mark.parametrize(("table", "key", "value"), [
    ("documents.announcement", "incoming", "Dzień dobry, Józef Żółć 📞"),
    ("documents", "aims", "ochrony mienia 🏛"),
    ("documents.annexes", "decision", "Załącznik nr 5 中"),
])
def test_a_character_the_documents_cannot_print_is_refused_with_its_line(
        table: str, key: str, value: str, tmp_path: Path, cli: Cli) -> None:
    """An emoji has no glyph in the documents' font, and typst refuses a PDF/UA document
    holding one: the whole document would be lost. Refused at the file instead, naming the
    character; Polish letters print."""
    text = MOPS + f"\n[{table}]\n{key} = {json.dumps(value, ensure_ascii=False)}\n"
    path = tmp_path / "mops.toml"
    path.write_text(text, "utf-8")
    done = cli("policy", "check", str(path), ok=False)
    assert done.exit_code == 1
    bad = value[-1]
    line = len(text.splitlines())
    assert (f"`{table}.{key}`: Zasada {table}.{key}: znaku „{bad}” (U+{ord(bad):04X}) nie da się "
            "wydrukować czcionką dokumentów") in done.output
    assert f"(wiersz {line})" in done.output and "cannot be printed" in done.output
    assert "Żółć" not in done.output.split("znaku")[1][:20]  # the letters are no fault


# -- the sign's purposes --------------------------------------------------------------------
VIDEO = """
[office]
name = "Starostwo Powiatowe w Żółkowie"
name_genitive = "Starostwa Powiatowego w Żółkowie"
name_locative = "Starostwie Powiatowym w Żółkowie"
approver_title = "Starosta Żółkowski"
approver_title_genitive = "Starosty Żółkowskiego"
approver_title_accusative = "Starostę Żółkowskiego"

[retention]
camera = "3 months"

[copies]
lifetime = "3 months"
counted_from = "copy_date"

[calls]
scope = "all"
"""
AIMS = "zapewnienia bezpieczeństwa osób przebywających w budynku Starostwa i ochrony mienia"


def test_the_sign_prints_the_purposes_given_as_one_phrase(tmp_path: Path) -> None:
    policy = _policy(VIDEO, documents={"aims": AIMS})
    sign = pdf_text(render("sign", sign_data(policy)), tmp_path)
    clause = pdf_text(render("clause", clause_data(policy, "camera")), tmp_path)
    assert f"Monitoring stosowany jest w celu {AIMS}" in sign, sign
    assert f"przetwarzane są w celu {AIMS}" in clause  # one definition, both documents
    assert f"w celu {BLANK}" not in sign and "uzupełnij" not in sign  # its facts stay dotted
    listed = _policy(VIDEO, documents={"aims": AIMS, "purposes": ["ochrony mienia Starostwa"]})
    assert "w celu ochrony mienia Starostwa." in pdf_text(render("sign", sign_data(listed)),
                                                         tmp_path)


def test_a_sign_without_purposes_asks_for_them(tmp_path: Path) -> None:
    sign = pdf_text(render("sign", sign_data(_policy(VIDEO))), tmp_path)
    assert f"Monitoring stosowany jest w celu {BLANK}" in sign
    assert "Plik zasad: uzupełnij [documents] purposes." in sign


# -- calls as regulations describe them -------------------------------------------------------
COMBOS = [list(c) for n in range(1, 4) for c in itertools.combinations(CALL_KINDS, n)]
HEADINGS = {"automatic": "Komunikat odtwarzany przed każdym połączeniem {}",
            "employee": "Komunikat odczytywany przez pracownika przed połączeniem {}",
            None: "Komunikat przed połączeniem {}"}
TEXTS = {"incoming": "Dzień dobry, tu Ośrodek w Żółkowie — rozmowa jest nagrywana.",
         "outgoing": "Informuję, że ta rozmowa z Ośrodkiem jest nagrywana (Józef Żółć)."}


@pytest.mark.parametrize("how", ["automatic", "employee", None])
@pytest.mark.parametrize("scope", COMBOS, ids=lambda c: "+".join(c))
def test_the_announcement_says_what_the_file_says(scope: list[str], how: str | None,
                                                  tmp_path: Path) -> None:
    calls: dict[str, Any] = {"scope": scope, "announcement_clause": "§ 8 regulaminu"}
    if how:
        calls.update(incoming_announcement=how, outgoing_announcement=how)
    policy = _policy(MOPS, calls=calls, documents={"announcement": TEXTS})
    text = _announcement(policy, tmp_path)
    assert f"Zakres nagrywania: {CallScope.of(scope).pl()}. Podstawa: § 8 regulaminu." in text
    for kind, word, adjective in (("external_incoming", "incoming", "przychodzącym"),
                                  ("external_outgoing", "outgoing", "wychodzącym")):
        own = TEXTS[word]
        heading = HEADINGS[how].format(adjective)
        not_recorded = (f"Połączenia {adjective[:-2]}e nie są nagrywane, więc nie poprzedza "
                        "ich komunikat.")
        if kind in scope:
            assert heading in text and f"„{own}”" in text
            assert not_recorded not in text
            assert (f"uzupełnij [calls] {word}_announcement" in text) == (how is None)
        else:
            assert heading not in text and own[-25:] not in text and not_recorded in text
    assert BLANK not in text and "[documents.announcement]" not in text


def test_boleslawiec_reads_as_its_regulation(tmp_path: Path) -> None:
    """001 §1 ust. 3: an automatic message before every incoming call; ust. 4: read by the
    employee before an outgoing one — as the preset now says, and printed as before."""
    policy = load_policy("boleslawiec")
    assert policy.raw["calls"]["incoming_announcement"] == "automatic"
    assert policy.raw["calls"]["outgoing_announcement"] == "employee"
    text = _announcement(policy, tmp_path)
    assert ("Zakres nagrywania: wszystkie połączenia przychodzące, wychodzące i wewnętrzne."
            in text)
    assert "Komunikat odtwarzany przed każdym połączeniem przychodzącym „Witamy w Urzędzie " \
        "Miasta Bolesławiec." in text
    assert "Komunikat odczytywany przez pracownika przed połączeniem wychodzącym " \
        "„Informuję, że w trosce" in text
    assert "uzupełnij" not in text and BLANK not in text
