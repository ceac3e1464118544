"""Every domain error has Polish words (issue 12 item 7: raw English domain errors appeared
inside the Polish pages; and the CLI, which prints ``błąd: <pl>`` before ``error: <english>``,
is read by the office's IT administrator — so no package keeps English-only errors).

The rule is read from the source: in the whole package, each
``raise InputError/NotFound/ConfigError/KustoszError(...)`` passes ``pl=``, and so does each
``return`` of one (a message a helper makes is made there in both languages, and the helper
returns the error: ``raise contradiction(given)``). A ``FieldError`` is written for its form
field and is Polish by construction (its English, if any, goes first with the Polish in
``pl=``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kustosz.errors import ConfigError, FieldError, InputError, NotFound, for_people
from kustosz.ingest.mail.settings import contradiction

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
NEEDS_PL = {"KustoszError", "InputError", "NotFound", "ConfigError"}


def _files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _missing_polish(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        # raised, or made by a helper that returns it (`raise contradiction(given)`)
        if isinstance(node, ast.Raise):
            made, verb = node.exc, "raise"
        elif isinstance(node, ast.Return):
            made, verb = node.value, "return"
        else:
            continue
        if not isinstance(made, ast.Call):
            continue
        func = made.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name in NEEDS_PL and not any(k.arg == "pl" for k in made.keywords):
            out.append(f"{path.relative_to(SRC)}:{node.lineno} {verb} {name}(…) without pl=")
    return out


def test_every_error_has_polish_words() -> None:
    missing = [m for f in _files() for m in _missing_polish(f)]
    assert not missing, "errors without Polish words:\n" + "\n".join(missing)


def test_the_rule_sees_the_whole_package() -> None:
    names = {f.relative_to(SRC).as_posix() for f in _files()}
    assert {"cli/phones.py", "ingest/mail/settings.py", "atrest/sealing.py", "db/engine.py",
            "web/app.py", "limits.py"} <= names


@pytest.mark.parametrize("options,pl", [
    (["--listen"], "Opcja --listen dotyczy odbioru poczty przez SMTP;"),
    (["--listen", "--tls-cert"], "Opcje --listen, --tls-cert dotyczą odbioru poczty przez SMTP;"),
])
def test_a_helper_gives_both_languages(options: list[str], pl: str) -> None:
    exc = contradiction(options)
    assert isinstance(exc, ConfigError) and "for the SMTP listener" in str(exc)
    assert exc.pl is not None and exc.pl.startswith(pl) and exc.pl.endswith(".")
    assert isinstance(contradiction(options, InputError), InputError)


@pytest.mark.parametrize("lang,expected", [("pl", "Kopia nr 1/2026 została zniszczona."),
                                           ("en", "copy 1/2026 was destroyed")])
def test_pages_show_the_readers_language(lang: str, expected: str) -> None:
    exc = InputError("copy 1/2026 was destroyed", pl="Kopia nr 1/2026 została zniszczona.")
    assert for_people(exc, lang) == expected


def test_field_errors_are_polish_and_an_error_without_polish_shows_its_message() -> None:
    assert for_people(FieldError("on", "Podaj datę.")) == "Podaj datę."
    assert FieldError("on", "bad date", pl="Podaj datę.").pl == "Podaj datę."
    assert for_people(NotFound("no request 7")) == "no request 7"
