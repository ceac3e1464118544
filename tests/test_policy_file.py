"""An office's regulation as one preset file (issue 51 item 1 and its "Bad input"): `kustosz
policy check FILE` tells every problem at once with its line and key, Polish first;
`kustosz init --preset-file FILE` starts a vault on a sound file and creates nothing for a bad
one; the JSON Schema editors use is published and is the one [policy] has too."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from kustosz.config_schema import json_schema as config_json_schema
from kustosz.config_schema.policy_file import (
    as_policy_tables,
    check_preset_file,
    json_schema,
    json_schema_text,
)
from kustosz.policy import load_policy, preset_names
from tests.conftest import Cli

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLESZEW = (resources.files("kustosz.policy") / "presets" / "pleszew.toml").read_text("utf-8")


def _line(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


def _written(tmp_path: Path, text: str, name: str = "urzad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("name", preset_names())
def test_every_shipped_preset_passes_the_check(name: str, cli: Cli) -> None:
    path = Path(str(resources.files("kustosz.policy") / "presets" / f"{name}.toml"))
    assert check_preset_file(path) == []
    done = cli("policy", "check", str(path))
    assert "plik jest poprawny / the file is valid" in done.output


# Each bad input of the issue: what is changed in Pleszew's file, the key named, the line's
# start in the changed file, a word of the Polish reason and of the English.
BAD = {
    "unknown key": (('timezone = "Europe/Warsaw"', 'timezon = "Europe/Warsaw"'),
                    "office.timezon", "timezon =", "czy chodziło o `timezone`",
                    "did you mean `timezone`"),
    "period past the law's cap": (('camera = "30 days"', 'camera = "4 months"'),
                                  "retention.camera", "camera = ", "ustawowe maksimum 3 miesiące",
                                  "statutory maximum of 3 months"),
    "approver position no one holds": (('approvers = ["head"]',
                                        'approvers = ["head", "sekretarz"]'),
                                       "disclosure.approvers", "approvers =",
                                       "„sekretarz” — stanowisko, którego nikt nie zajmuje",
                                       "a position no one holds"),
    "unknown placeholder": (("{office_gen}", "{urzad}"), "documents.registers.disclosures_title",
                            "disclosures_title", "nieznane pole {urzad}",
                            "unknown placeholder {urzad}"),
    "unknown placeholder in a clause": (
        ("jest {controller} z siedzibą", "jest {kontroler} z siedzibą"),
        "documents.clause.camera", "camera = [", "documents.clause.camera[1]: nieznane pole "
        "{kontroler}", "unknown placeholder {kontroler}"),
    "retention shorter than a person may ask": (
        ('camera = "30 days"', 'camera = "7 days"'), "retention.camera", "camera = ",
        "jest krótszy niż termin na wniosek", "shorter than the request deadline"),
    # issue 66: an annex key misspelled, a call scope no regulation could mean
    "annex key misspelled": (('request-video = "', 'request-wideo = "'),
                             "documents.annexes.request-wideo", "request-wideo",
                             "nieznany klucz — czy chodziło o `request-video`?",
                             "did you mean `request-video`?"),
    "call scope unknown": (('scope = "all"', 'scope = ["external_incoming", "wewnętrzne"]'),
                           "calls.scope", "scope =", "nieznana wartość „wewnętrzne”",
                           "unknown 'wewnętrzne'"),
    "missing grammatical form": (
        ('approver_title_accusative = "Burmistrza Miasta i Gminy Pleszew"\n', ""),
        "office.approver_title_accusative", "[office]", "Brak zasady "
        "office.approver_title_accusative: biernik", "the accusative of office.approver_title"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_input_is_refused_with_its_line_and_reason(case: str, tmp_path: Path,
                                                            cli: Cli) -> None:
    (old, new), key, starts, pl, en = BAD[case]
    assert old in PLESZEW
    text = PLESZEW.replace(old, new, 1)
    path = _written(tmp_path, text)
    [problem] = check_preset_file(path)
    assert (problem.where, problem.line) == (key, _line(text, starts))
    assert pl in problem.pl and en in problem.en
    done = cli("policy", "check", str(path), ok=False)
    assert done.exit_code == 1
    out = done.output
    assert f"wiersz {problem.line}" in out and f"line {problem.line}" in out
    assert out.index(pl) < out.index(en)  # Polish first
    assert not cli.data.exists()  # a check opens no vault and makes no folder


def test_a_deputy_approves_only_where_the_file_names_one(tmp_path: Path) -> None:
    text = "".join(line for line in PLESZEW.splitlines(keepends=True)
                   if not line.startswith("deputy_title"))
    text = text.replace('approvers = ["head"]', 'approvers = ["head", "deputy"]')
    [problem] = check_preset_file(_written(tmp_path, text))
    assert problem.where == "disclosure.approvers"
    assert "plik nie podaje zastępcy (office.deputy_title)" in problem.pl


def test_every_problem_is_told_at_once_in_the_order_of_the_file(tmp_path: Path) -> None:
    text = PLESZEW
    for (old, new), *_ in BAD.values():
        if "7 days" not in new:  # the cap and the shorter period change the same line
            text = text.replace(old, new, 1)
    problems = check_preset_file(_written(tmp_path, text))
    assert {p.where for p in problems} == {k for c, (_, k, *_) in BAD.items()
                                           if "shorter" not in c}
    lines = [p.line or 0 for p in problems]
    assert lines == sorted(lines) and all(lines)


def test_init_starts_a_vault_on_a_preset_file(tmp_path: Path, cli: Cli) -> None:
    text = PLESZEW.replace("[demo]\n", "[demo]\n# own file\n")
    cli("init", "--preset-file", str(_written(tmp_path, text)))
    config = (cli.data / "kustosz.toml").read_text("utf-8")
    assert "[policy.office]" in config and "# own file" in config  # the clauses' notes kept
    assert tomllib.loads(config)["policy"] == tomllib.loads(PLESZEW)
    shown = json.loads(cli("policy", "show", "--json").output)
    assert shown["office"]["name"] == "Urząd Miasta i Gminy Pleszew"
    assert shown["preset"] is None
    assert shown == {**load_policy("pleszew").as_dict(), "preset": None}
    assert "the file is valid" in cli("config", "check").output


@pytest.mark.parametrize("case", sorted(BAD))
def test_init_refuses_a_bad_file_and_creates_nothing(case: str, tmp_path: Path,
                                                     cli: Cli) -> None:
    (old, new), key, starts, pl, en = BAD[case]
    text = PLESZEW.replace(old, new, 1)
    path = _written(tmp_path, text)
    done = cli("init", "--preset-file", str(path), ok=False)
    assert done.exit_code == 1
    out, line = done.output, _line(text, starts)
    # the key, its line and the reason, Polish first — as `policy check` tells them
    assert f"`{key}`" in out
    assert f"wiersz {line}" in out and f"line {line}" in out
    assert pl in out and en in out and out.index(pl) < out.index(en)
    assert not cli.data.exists()  # no folder, no kustosz.toml, no database


def test_init_takes_one_preset(tmp_path: Path, cli: Cli) -> None:
    path = _written(tmp_path, PLESZEW)
    both = cli("init", "--preset", "pleszew", "--preset-file", str(path), ok=False)
    neither = cli("init", ok=False)
    for done in (both, neither):
        assert done.exit_code == 2 and "--preset-file" in done.output
    assert not cli.data.exists()


def test_the_published_schema_is_the_generated_one(cli: Cli) -> None:
    assert (DOCS / "policy.schema.json").read_text("utf-8") == json_schema_text()
    assert cli("policy", "schema").output == json_schema_text()


def test_the_presets_and_policy_overrides_share_one_schema() -> None:
    config = config_json_schema()
    policy = json_schema()
    assert config["properties"]["policy"]["$ref"] == "#/$defs/PolicyFile"
    assert config["$defs"]["PolicyFile"]["properties"] == policy["properties"]
    assert policy["$defs"]["RetentionPeriods"]["additionalProperties"] is False


def test_a_mistyped_override_is_named_with_its_line(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + "\n[policy.retention]\ncamra = \"7 days\"\n",
                      "utf-8")
    done = cli("config", "check", ok=False)
    assert "`policy.retention.camra`: nieznany klucz — czy chodziło o `camera`?" in done.output
    assert f"(wiersz {len(config.read_text('utf-8').splitlines())})" in done.output


def test_a_file_without_table_headers_is_copied_all_the_same() -> None:
    text = 'office.name = "Urząd Gminy Testowo"\n[documents.annexes]\nrequest-video = "Zał. 1"\n'
    tables = as_policy_tables(text)
    assert tomllib.loads(tables)["policy"] == tomllib.loads(text)
    assert tomllib.loads(as_policy_tables(PLESZEW))["policy"] == tomllib.loads(PLESZEW)


def test_the_check_speaks_json_too(tmp_path: Path, cli: Cli) -> None:
    (old, new), key, starts, *_ = BAD["period past the law's cap"]
    text = PLESZEW.replace(old, new, 1)
    done = cli("policy", "check", "--json", str(_written(tmp_path, text)), ok=False)
    said = json.loads(done.output)
    assert done.exit_code == 1 and said["ok"] is False
    assert [(p["key"], p["line"]) for p in said["problems"]] == [(key, _line(text, starts))]
    assert "ustawowe maksimum" in said["problems"][0]["pl"]
