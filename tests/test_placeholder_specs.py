"""Issue 64 S8: an office text's placeholders are names, nothing more. A format spec, a
conversion, an attribute or an index (`{office_gen:>99999999}`, `{office!r}`,
`{office.__class__}`, `{office[0]}`, a nested `{office:{aims}}`) is refused by `kustosz policy
check` with its line and a Polish reason, and a document is never rendered from one: one rule
(policy.texts) for the check and for the rendering (documents.office.fill). Before, the check
passed them and a printed register title grew to 30 MB."""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kustosz.config_schema.policy_file import check_preset_file
from kustosz.documents.office import fill
from kustosz.errors import ConfigError
from kustosz.policy import load_policy
from kustosz.policy.texts import OFFICE_FIELDS, placeholder_names, render
from tests.conftest import Cli

PLESZEW = (resources.files("kustosz.policy") / "presets" / "pleszew.toml").read_text("utf-8")
TITLE = "Rejestr udostępnionych nagrań z monitoringu wizyjnego {office_gen}"
HOSTILE = {
    "format spec": ("{office_gen:>99999999}", "formatu", "format spec"),
    "conversion": ("{office_gen!r}", "konwersji", "conversion"),
    "attribute": ("{office_gen.__class__}", "atrybutu", "attribute"),
    "index": ("{office_gen[0]}", "indeksu", "index"),
    "nested braces": ("{office_gen:{aims}}", "formatu", "format spec"),
    "attribute of an attribute": ("{office.__class__.__init__.__globals__}", "atrybutu",
                                  "attribute"),
    "positional": ("{}", "nieznane pole", "unknown placeholder"),
    "number": ("{0}", "nieznane pole", "unknown placeholder"),
}


def _line(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_policy_check_refuses_a_placeholder_that_is_more_than_a_name(
        case: str, tmp_path: Path, cli: Cli) -> None:
    placeholder, said_pl, said_en = HOSTILE[case]
    assert TITLE in PLESZEW
    text = PLESZEW.replace(TITLE, f"Rejestr Józefa Żółcia 🎥 {placeholder} — koniec", 1)
    path = tmp_path / "urzad.toml"
    path.write_text(text, "utf-8")
    [problem] = check_preset_file(path)
    assert problem.where == "documents.registers.disclosures_title"
    assert problem.line == _line(text, "disclosures_title")
    assert said_pl in problem.pl and said_en in problem.en, problem
    done = cli("policy", "check", str(path), ok=False)
    assert done.exit_code == 1
    assert f"wiersz {problem.line}" in done.output and f"line {problem.line}" in done.output
    assert done.output.index(said_pl) < done.output.index(said_en)  # Polish first


def test_a_clause_point_with_a_format_spec_is_refused_with_its_line(tmp_path: Path) -> None:
    old = "jest {controller} z siedzibą"
    assert old in PLESZEW
    text = PLESZEW.replace(old, "jest {controller:*^4000000} z siedzibą", 1)
    path = tmp_path / "urzad.toml"
    path.write_text(text, "utf-8")
    [problem] = check_preset_file(path)
    assert problem.where.startswith("documents.clause.camera")
    assert problem.line == _line(text, "camera = [")
    assert "formatu" in problem.pl and "format spec" in problem.en


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_rendering_never_expands_what_the_check_refuses(case: str) -> None:
    placeholder, said_pl, _ = HOSTILE[case]
    policy = load_policy("pleszew")
    with pytest.raises(ConfigError) as refused:
        fill(policy, f"Tytuł {placeholder}")
    assert said_pl in (refused.value.pl or "")
    with pytest.raises(ConfigError):
        render(f"Tytuł {placeholder}", {"office_gen": "Urzędu", "office": "Urząd",
                                        "aims": "ochrony"})


def test_polish_text_and_emoji_around_placeholders_are_kept() -> None:
    policy = load_policy("pleszew")
    out = fill(policy, "Józef Żółć 🎥 {{dosłownie}} {office_gen}: ą ć ę ł ń ó ś ź ż")
    assert out == ("Józef Żółć 🎥 {dosłownie} Urzędu Miasta i Gminy Pleszew: "
                   "ą ć ę ł ń ó ś ź ż")


NAMES = st.sampled_from(OFFICE_FIELDS)
PIECES = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    NAMES.map(lambda n: "{" + n + "}"),
    st.tuples(NAMES, st.sampled_from([":>99999", "!r", "!s", ".__class__", "[0]", ":{aims}",
                                      ":", "!", ".", "[", "]"])).map(
        lambda p: "{" + p[0] + p[1] + "}"),
    st.sampled_from(["{", "}", "{{", "}}", "{}", "{0}", "{ office }"]))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join))
def test_a_text_is_either_refused_or_rendered_no_longer_than_its_pieces(text: str) -> None:
    """Whatever an office writes: the check and the rendering agree, and what renders is the
    text's own characters and the values, never more."""
    values = {name: "Wartość żółta 🎥" for name in OFFICE_FIELDS}
    try:
        names = placeholder_names(text)
    except ConfigError:
        with pytest.raises(ConfigError):
            render(text, values)
        return
    if any(n not in values for n in names):
        with pytest.raises(ConfigError):
            render(text, values)
        return
    out = render(text, values)
    assert len(out) <= len(text) + len(names) * len("Wartość żółta 🎥")
    # the same as Python's own formatting of plain names, which is what the office means
    assert out == string.Formatter().vformat(text, (), values)
