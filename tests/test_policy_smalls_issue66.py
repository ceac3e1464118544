"""Issue 66 item 5, the policy file's smaller faults: defaults where the law allows one and
required keys only for what the office uses; every message Polish first, with no "None" and
no English inside the Polish, each fault told once; a key no document prints is warned of."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from kustosz.config_schema import parse
from kustosz.config_schema.policy_file import check_preset_file
from kustosz.config_schema.problems import ConfigProblems
from kustosz.custody import papers
from kustosz.documents import render
from kustosz.documents.clauses import clause_points
from kustosz.documents.office import BLANK
from kustosz.documents.sign import sign_data
from kustosz.policy import load_policy
from kustosz.policy.model import build_policy
from kustosz.policy.periods import Period
from kustosz.policy.video_law import LAWS
from tests.conftest import Cli

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
RAWICZ = (EXAMPLES / "rawicz.toml").read_text("utf-8")


def _without(text: str, table: str) -> str:
    """``text`` without the table ``[table]`` (its header, keys and comments)."""
    return re.sub(rf"^\[{re.escape(table)}\]\n(?:(?!\[).*\n)*", "", text, flags=re.M)


def _written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "starostwo.toml"
    path.write_text(text, "utf-8")
    return path


VIDEO_ONLY = RAWICZ  # no [calls] and no [copies]: what the part of the regulation read says


def test_a_video_only_office_says_neither_call_scope_nor_copy_rules(tmp_path: Path,
                                                                    cli: Cli) -> None:
    assert not re.search(r"^\[(calls|copies)\]", VIDEO_ONLY, re.M)
    path = _written(tmp_path, VIDEO_ONLY)
    assert check_preset_file(path) == []
    policy = build_policy(parse(path))
    # the Code's own rule for images (art. 22² § 3 k.p.): 3 months from the day of recording
    assert (policy.copy_lifetime, policy.copy_counted_from) == (Period(3, "months"),
                                                                "recording_date")
    assert not policy.call_scope.kinds  # it records no calls
    cli("init", "--preset-file", str(path))
    shown = json.loads(cli("policy", "show", "--json").output)
    assert shown["calls"]["scope"] is None
    assert shown["copies"]["lifetime"] == "3 months"


def test_an_office_that_records_calls_still_says_which(tmp_path: Path, cli: Cli) -> None:
    text = VIDEO_ONLY.replace('camera = "3 months"', 'camera = "3 months"\nphone = "3 months"')
    path = _written(tmp_path, text)
    [problem] = check_preset_file(path)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("phone = "))
    assert (problem.where, problem.line) == ("retention.phone", line)
    assert "urząd nagrywa rozmowy, więc brak zasady calls.scope" in problem.pl
    done = cli("init", "--preset-file", str(path), ok=False)
    assert done.exit_code == 1 and "brak zasady calls.scope" in done.output
    assert f"wiersz {line}" in done.output
    assert not cli.data.exists()


BAD_TOML = {
    "a line break inside a string": ('[office]\nname = "Urząd\n"\n', "wiersz 2",
                                     "koniec wiersza", "Illegal character"),
    "an unquoted text": ("[office]\nname = Urząd Gminy\n", "wiersz 2",
                         "tekst ujmij w cudzysłów", "Invalid value"),
    "a lone backslash": ('[office]\nname = "Urząd\\q"\n', "wiersz 2", "ukośnik wsteczny",
                         "Unescaped"),
    "a table twice": ("[office]\nname = \"U\"\n[office]\n", "wiersz 3", "podana dwa razy",
                      "Cannot declare"),
    "an unclosed list": ('[video]\npurposes = ["property"\n', "na końcu pliku",
                         "niezamknięta lista", "Unclosed array"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOML))
def test_a_file_that_is_no_toml_is_told_in_polish(case: str, tmp_path: Path,
                                                  cli: Cli) -> None:
    text, at, pl, en = BAD_TOML[case]
    path = _written(tmp_path, text)
    [problem] = check_preset_file(path)
    assert pl in problem.pl and f"({at})" in problem.pl
    assert en in problem.en and en not in problem.pl  # no English inside the Polish
    assert "None" not in problem.pl + problem.en
    done = cli("init", "--preset-file", str(path), ok=False)
    assert done.exit_code == 1 and done.output.index(pl) < done.output.index(en)
    assert not cli.data.exists()


def test_a_value_outside_the_list_is_told_once_without_none(tmp_path: Path, cli: Cli) -> None:
    text = RAWICZ + '\n[copies]\ncounted_from = "data_kopii"\n'
    text = text.replace("[requests]\n", '[requests]\ndeadline = "14 days"\n'
                                        'after_deadline = "odrzuć"\n')
    path = _written(tmp_path, text)
    problems = check_preset_file(path)
    assert sorted(p.where for p in problems) == ["copies.counted_from",
                                                 "requests.after_deadline"]
    done = cli("policy", "check", str(path), ok=False)
    assert "None" not in done.output
    assert "„data_kopii”" in done.output and "„odrzuć”" in done.output


def test_a_missing_choice_says_it_is_missing(tmp_path: Path) -> None:
    text = RAWICZ.replace("[requests]\n", '[requests]\ndeadline = "14 days"\n')
    [problem] = check_preset_file(_written(tmp_path, text))
    assert problem.where == "requests.after_deadline"
    assert "None" not in problem.pl + problem.en
    assert problem.pl.startswith("Brak zasady requests.after_deadline")


def test_polish_first_in_every_message_of_a_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigProblems) as caught:
        parse(_written(tmp_path, BAD_TOML["a line break inside a string"][0]))
    assert "Illegal" not in str(caught.value.pl) and "Illegal" in str(caught.value)


def test_documents_purposes_no_document_prints_are_warned_of(tmp_path: Path, cli: Cli) -> None:
    text = RAWICZ.replace("[documents]\n", '[documents]\npurposes = ["ochrony mienia"]\n')
    done = cli("policy", "check", str(_written(tmp_path, text)))
    assert "`documents.purposes`: Zasada [documents] purposes nie trafi do żadnego" in done.output
    assert "printed by no document" in done.output
    # without [video] purposes the documents print [documents] purposes: no warning
    alone = _without(text, "video.own_purposes.employee_safety")
    alone = _without(alone, "video.own_purposes.secrecy").replace(
        'purposes = ["employee_safety", "property", "secrecy"]\n', "")
    said = cli("policy", "check", "--json", str(_written(tmp_path, alone))).output
    assert "documents.purposes" not in [w["key"] for w in json.loads(said)["warnings"]]


@pytest.mark.parametrize("preset,said", [
    ("boleslawiec", ["supervisor of monitoring", "Sekretarz Miasta"]),
    ("pleszew", ["supervisor of monitoring", "inspektor ochrony danych"]),
    ("elblag", ["zapewnienie bezpieczeństwa pracowników (art. 22² § 1 Kodeksu pracy)",
                "ochrona mienia", "places excluded outright", "pomieszczeń sanitarnych"]),
])
def test_policy_show_prints_every_rule_in_force(preset: str, said: list[str], cli: Cli) -> None:
    cli("init", "--preset", preset)
    out = cli("policy", "show").output
    for words in said:
        assert words in out
    shown = json.loads(cli("policy", "show", "--json").output)
    access = shown["access"]
    assert (access["supervisor"], access["supervisor_is_dpo"]) == {
        "boleslawiec": ("Sekretarz Miasta", False), "pleszew": ("", True)}.get(
            preset, ("", False))
    # every text of the rules in force is on the page, not only in --json
    def texts(value: object) -> list[str]:
        if isinstance(value, dict):
            return [t for k, v in value.items() if k not in ("forms", "genitive")
                    for t in texts(v)]
        if isinstance(value, list):
            return [t for v in value for t in texts(v)]
        return [value] if isinstance(value, str) and value else []
    flat = " ".join(out.translate(str.maketrans("│┃━─┏┓┗┛┡┩└┘╇", " " * 13)).split())
    missing = [t for t in texts({k: v for k, v in shown.items() if k != "office"})
               if " ".join(t.split()) not in flat and t not in LAWS]
    assert missing == []


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60)
    return " ".join(done.stdout.split())


@pytest.mark.parametrize("preset,place", [("pleszew", "Pleszew"), ("elblag", "Elbląg"),
                                          ("walbrzych", "Wałbrzych")])
def test_the_place_line_is_the_locality_not_the_office(preset: str, place: str,
                                                       tmp_path: Path) -> None:
    policy = load_policy(preset)
    data = papers.blank("declaration" if preset != "walbrzych" else "authorisation", policy)
    said = _pdf_text(render("declaration" if preset != "walbrzych" else "authorisation",
                            data), tmp_path)
    assert f"{place}, dnia" in said
    assert f"{policy.office_name}, dnia" not in said


def test_an_office_without_a_place_gets_a_dotted_place(tmp_path: Path) -> None:
    text = RAWICZ.replace('locality = "Rawicz"\n', "")
    policy = build_policy(parse(_written(tmp_path, text)))
    assert policy.doc_names()["locality"] is None  # "ul. Rynek 17, Rawicz" has no postcode
    said = _pdf_text(render("authorisation", papers.blank("authorisation", policy)), tmp_path)
    assert "Starostwo Powiatowe w Rawiczu, dnia" not in said and "...., dnia" in said


def test_the_controller_is_named_with_its_representation(tmp_path: Path) -> None:
    policy = build_policy(parse(_written(tmp_path, RAWICZ)))
    words = "Powiat Rawicki, reprezentowany przez Starostę Rawickiego"
    assert words in clause_points(policy, "camera")[0]
    assert any(words in line for line in sign_data(policy)["lines"])
    assert papers.blank("request-subject", policy)["controller"] == words
    # as the regulation words it: 001 zał. 1 pkt 1
    point = clause_points(load_policy("boleslawiec"), "phone")[0]
    assert point.endswith("ul.\u00a0Rynek 41, 59-700 Bolesławiec, reprezentowana przez "
                          "Prezydenta Miasta Bolesławiec.")


@pytest.mark.parametrize("preset,who", [("boleslawiec", "Sekretarz Miasta"),
                                        ("pleszew", "Inspektor Ochrony Danych")])
def test_the_authorisation_names_the_supervisor(preset: str, who: str, tmp_path: Path) -> None:
    policy = load_policy(preset)
    said = _pdf_text(render("authorisation", papers.blank("authorisation", policy)), tmp_path)
    assert f"Nadzór nad właściwym wykorzystaniem danych zarejestrowanych w {policy.doc_names()['system_loc']} sprawuje: {who}." in said  # noqa: E501
    plain = _pdf_text(render("authorisation", papers.blank("authorisation",
                                                           load_policy("elblag"))), tmp_path)
    assert "Nadzór nad" not in plain  # its regulation names no one


def test_the_phone_clause_says_where_the_regulation_is_published(tmp_path: Path) -> None:
    text = VIDEO_ONLY.replace('camera = "3 months"', 'camera = "3 months"\nphone = "3 months"')
    text += '\n[calls]\nscope = "all"\n'
    where = "na stronie internetowej Starostwa (zakładka Ochrona danych)"
    policy = build_policy(parse(_written(tmp_path, text)))
    assert clause_points(policy, "phone")[-1] == ("Regulamin rejestrowania rozmów "
                                                  f"telefonicznych dostępny jest {BLANK}.")
    text = text.replace("[documents]\n", f'[documents]\npublished = "{where}"\n')
    policy = build_policy(parse(_written(tmp_path, text)))
    assert clause_points(policy, "phone")[-1] == (
        f"Regulamin rejestrowania rozmów telefonicznych dostępny jest {where}.")


DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_one_way_to_use_a_preset_file_documented_once() -> None:
    """`kustosz init --preset-file` is the one way, described in policies.md; no page tells
    another (`preset = ""` with the tables copied by hand under [policy.…]), and the pages
    that speak of an office's own file link to that section."""
    pages = [*DOCS.rglob("*.md"), DOCS.parent / "README.md"]
    other = [p.name for p in pages if 'preset = ""' in p.read_text("utf-8")
             or "[policy.…]" in p.read_text("utf-8")]
    assert other == []
    policies = (DOCS / "policies.md").read_text("utf-8")
    assert "### Własny plik zasad / An office's own preset file {#preset-file}" in policies
    for page in (DOCS / "examples" / "presets" / "README.md",
                 DOCS / "guides" / "administrator.md"):
        assert "policies.md#preset-file" in page.read_text("utf-8"), page
