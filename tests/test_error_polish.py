"""Every domain error has Polish words (issue 12 item 7: raw English domain errors appeared
inside the Polish pages; and the CLI, which prints ``błąd: <pl>`` before ``error: <english>``,
is read by the office's IT administrator — so no package keeps English-only errors).

The rule is read from the source: in the whole package, each ``raise`` of a KustoszError —
the four base classes and every class of the package deriving from them (SidecarError,
BadBody, CdrError, …), found in the source, not listed by hand — passes ``pl=``, and so does
each ``return`` of one (a message a helper makes is made there in both languages, and the
helper returns the error: ``raise contradiction(given)``). The few classes whose Polish is
carried another way are named in CARRIED, with how.
"""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from kustosz.errors import ConfigError, FieldError, InputError, NotFound, for_people
from kustosz.ingest.mail.settings import contradiction
from kustosz.ingest.phone.cdr import CdrError
from kustosz.ingest.phone.sidecar import SidecarError, read_sidecar

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# Classes whose constructor gives the Polish itself, so a raise has no ``pl=`` to pass:
CARRIED = {
    "FieldError",  # its message is the form's Polish unless ``pl=`` is given (errors.py)
    "ConfigProblems",  # joins the Polish of each Problem (config_schema/problems.py)
    "EmployeeFormError",  # joins its fields' Polish messages (access/employees.py)
    "ShapeError",  # takes ``pl`` as a required positional argument (policy/schema.py)
    "Tampered",  # words both languages from the key and the hashes (storage/base.py)
    "KeyTaken",  # words both languages from the key (storage/base.py)
}


def _files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _module(path: Path) -> str:
    return ".".join(("kustosz", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(
        ".__init__")


def _trees() -> dict[str, ast.Module]:
    return {_module(f): ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
            for f in _files()}


def _bindings(tree: ast.Module, module: str) -> dict[str, str]:
    """What the file's top-level names stand for: ``mod.Name`` for its own classes and for
    names it imports, a module's dotted name for the modules it imports."""
    out = {n.name: f"{module}.{n.name}" for n in tree.body if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out.setdefault(a.asname or a.name, f"{node.module}.{a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                out.setdefault(a.asname or a.name.split(".")[0],
                               a.name if a.asname else a.name.split(".")[0])
    return out


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _resolve(node: ast.expr, bindings: dict[str, str]) -> str:
    """The dotted name a class reference in a file stands for (``records.Refused`` →
    ``kustosz.access.records.Refused``): two classes of the package share a name."""
    head, _, rest = _dotted(node).partition(".")
    full = bindings.get(head, head)
    return f"{full}.{rest}" if rest else full


def _kustosz_errors(trees: dict[str, ast.Module]) -> set[str]:
    """The dotted names of KustoszError and of every class of the package deriving from it,
    however indirectly (each base resolved in its own file), and the names a package module
    re-exports one under (``kustosz.config_schema.ConfigProblems``)."""
    bases: dict[str, set[str]] = {}
    for module, tree in trees.items():
        bindings = _bindings(tree, module)
        bases.update({f"{module}.{name}": {full} for name, full in bindings.items()})
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases[f"{module}.{node.name}"] = {_resolve(b, bindings) for b in node.bases}
    found = {"kustosz.errors.KustoszError"}
    while grown := {c for c, b in bases.items() if c not in found and b & found}:
        found |= grown
    return found


ERRORS = _kustosz_errors(_trees())


def _missing_polish(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bindings = _bindings(tree, _module(path))
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
        full = _resolve(made.func, bindings)
        name = full.rpartition(".")[2]
        if full in ERRORS and name not in CARRIED and not any(k.arg == "pl"
                                                               for k in made.keywords):
            out.append(f"{path.relative_to(SRC)}:{node.lineno} {verb} {name}(…) without pl=")
    return out


def test_every_error_has_polish_words() -> None:
    missing = [m for f in _files() for m in _missing_polish(f)]
    assert not missing, "errors without Polish words:\n" + "\n".join(missing)


def test_the_rule_sees_the_whole_package() -> None:
    names = {f.relative_to(SRC).as_posix() for f in _files()}
    assert {"cli/phones.py", "ingest/mail/settings.py", "atrest/sealing.py", "db/engine.py",
            "web/app.py", "limits.py"} <= names


def test_the_rule_knows_the_packages_own_errors() -> None:
    short = {e.rpartition(".")[2] for e in ERRORS}
    assert {"KustoszError", "InputError", "NotFound", "ConfigError", "SidecarError", "BadBody",
            "BadOffer", "BadMetadata", "CdrError", "UnsafePathError", "AudioError",
            "Skip"} <= short
    assert "kustosz.storage.base.Refused" in ERRORS  # the store's, a KustoszError
    assert "kustosz.access.records.Refused" not in ERRORS  # access's: a reason code
    assert short >= CARRIED


def test_a_call_record_error_says_where_in_polish_and_keeps_it_when_pickled(
        tmp_path: Path) -> None:
    exc = CdrError("start time is empty", lineno=7, offset=120, source="Master.csv",
                   pl="Czas rozpoczęcia jest pusty.")
    assert str(exc) == "Master.csv line 7 (byte offset 120): start time is empty"
    assert exc.pl == "Master.csv wiersz 7 (bajt 120): Czas rozpoczęcia jest pusty."
    assert pickle.loads(pickle.dumps(exc)).pl == exc.pl
    sidecar = tmp_path / "call.wav.json"
    sidecar.write_text("[]", encoding="utf-8")
    with pytest.raises(SidecarError) as refused:
        read_sidecar(sidecar)
    assert refused.value.pl == ("call.wav.json: JSON musi być obiektem z kluczami opisu "
                                "połączenia.")


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
