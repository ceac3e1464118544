"""Every domain error a web page can show has Polish words for the office worker (issue 12
item 7: raw English domain errors appeared inside the Polish pages).

The rule is read from the source: in the packages whose errors reach a page, each
``raise InputError/NotFound/ConfigError/KustoszError(...)`` passes ``pl=``; a ``FieldError`` is
written for its form field and is Polish by construction (its English, if any, goes first with
the Polish in ``pl=``). The CLI-only packages (ingest, audit, atrest, cli, db) keep English.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kustosz.errors import FieldError, InputError, NotFound, for_people

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# The packages a page reaches: custody and access (forms, requests, copies), the camera and
# source registers and the index (search pages), the web itself, and the shared limits.
PAGE_PACKAGES = ("custody", "access", "cameras", "index", "web", "policy")
PAGE_MODULES = ("limits.py",)
NEEDS_PL = {"KustoszError", "InputError", "NotFound", "ConfigError"}


def _files() -> list[Path]:
    out = [SRC / m for m in PAGE_MODULES]
    for pkg in PAGE_PACKAGES:
        out += sorted((SRC / pkg).rglob("*.py"))
    return out


def _missing_polish(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name in NEEDS_PL and not any(k.arg == "pl" for k in node.exc.keywords):
            out.append(f"{path.relative_to(SRC)}:{node.lineno} raise {name}(…) without pl=")
    return out


def test_every_error_a_page_can_show_has_polish_words() -> None:
    missing = [m for f in _files() for m in _missing_polish(f)]
    assert not missing, "errors without Polish words:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang,expected", [("pl", "Kopia nr 1/2026 została zniszczona."),
                                           ("en", "copy 1/2026 was destroyed")])
def test_pages_show_the_readers_language(lang: str, expected: str) -> None:
    exc = InputError("copy 1/2026 was destroyed", pl="Kopia nr 1/2026 została zniszczona.")
    assert for_people(exc, lang) == expected


def test_field_errors_are_polish_and_an_error_without_polish_shows_its_message() -> None:
    assert for_people(FieldError("on", "Podaj datę.")) == "Podaj datę."
    assert FieldError("on", "bad date", pl="Podaj datę.").pl == "Podaj datę."
    assert for_people(NotFound("no request 7")) == "no request 7"
