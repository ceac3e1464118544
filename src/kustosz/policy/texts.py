"""An office's own wording as data (issue 51 item 1): what its regulation words itself — the
clause's points, the recipients it names, the sign, the phone announcements, the employee's
declaration, the corner notes of its forms, a register's title — under `[documents]` in its
preset, not keyed by the office's name in code. A text names the office's facts by placeholder
(`{controller}`, `{office_gen}`, `{period}` …), filled when a document is printed
(documents.office.fill); an unknown placeholder is refused when the policy is loaded, naming
the key. Like the rest of [documents], these tables are the preset's office's: an office that
takes a preset under its own name drops them with its [documents] (policy.model)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from string import Formatter
from typing import Any

from kustosz.errors import ConfigError
from kustosz.kinds import CLAUSED

# The [documents] facts (the dotted line where unset), the office's names in their cases
# (policy.model.Names) and its purposes in one phrase: every office text may name them.
FACTS = ("controller", "address", "phone", "email", "dpo", "dpo_address", "dpo_phone",
         "dpo_email", "basis", "monitored", "published")
NAME_FIELDS = ("office", "office_gen", "office_in", "approver", "approver_gen",
               "approver_acc", "deputy", "deputy_gen", "deputy_acc")
OFFICE_FIELDS = (*FACTS, *NAME_FIELDS, "aims")
# A clause is about one kind of material: its points may name that kind's period too, in the
# nominative ("30 dni") or the genitive ("30 dni", "3 miesięcy").
CLAUSE_FIELDS = (*OFFICE_FIELDS, "period", "period_gen")
CLAUSE_KINDS = tuple(k.name.value for k in CLAUSED)
# The documents and registers whose corner may name the office's own model of them
# ("Załącznik nr 3 do …"); a register's key is "register-" and its kind.
ANNEXED = ("request-video", "request-calls", "request-subject", "decision", "authorisation",
           "handover-protocol", "receipt", "listening-protocol", "destruction-protocol",
           "declaration", "register-disclosures")

# The [documents] subtables and their keys' types (policy.schema.Documents is their shape;
# this says which keys are texts to check).
SCHEMA: dict[str, dict[str, Any]] = {
    # The office's own clause per kind of material (a list of points) and the recipients its
    # clause names (also what a data subject is told, art. 15 ust. 1 lit. c RODO).
    "clause": {**dict.fromkeys(CLAUSE_KINDS, list), "recipients": str},
    # `full_clause`: the regulation's model of the camera sign is its clause, printed whole;
    # `rights`: the rights sentence of the short sign, as the office's clause names them.
    "sign": {"full_clause": bool, "rights": str},
    # The message played before incoming calls and the sentence read before outgoing ones.
    "announcement": {"incoming": str, "outgoing": str},
    # The purposes the employee's declaration names, as its model words them.
    "declaration": {"purposes": str},
    "annexes": dict.fromkeys(ANNEXED, str),
    # A register's title as the office's model of it names it.
    "registers": {"disclosures_title": str},
}


def _check_text(key: str, text: Any, known: tuple[str, ...]) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"policy {key} must be a non-empty text",
                          pl=f"Zasada {key} musi być niepustym tekstem.")
    try:
        names = [name for _lit, name, _spec, _conv in Formatter().parse(text)
                 if name is not None]
    except ValueError as exc:
        raise ConfigError(f"policy {key}: {exc} (a brace is written {{{{ or }}}})",
                          pl=f"Zasada {key}: niedomknięty nawias klamrowy (sam nawias "
                             "zapisuje się jako {{ lub }}).") from None
    bad = ", ".join("{" + n + "}" for n in names if n not in known)
    if bad:
        raise ConfigError(f"policy {key}: unknown placeholder {bad}; known: {', '.join(known)}",
                          pl=f"Zasada {key}: nieznane pole {bad}; dostępne: "
                             f"{', '.join(known)}.")


def _check_points(where: str, value: Any) -> None:
    if not value:
        raise ConfigError(f"policy {where} lists no points",
                          pl=f"Zasada {where} nie wymienia żadnego punktu.")
    for n, point in enumerate(value, 1):
        _check_text(f"{where}[{n}]", point, CLAUSE_FIELDS)


def checks(documents: dict[str, Any]) -> list[Callable[[], None]]:
    """One check of its placeholders per office text, each apart, so every fault is told (the
    shape is checked with the rest)."""
    out: list[Callable[[], None]] = []
    for table, keys in SCHEMA.items():
        for key, value in documents.get(table, {}).items():
            where = f"documents.{table}.{key}"
            if table == "clause" and key in CLAUSE_KINDS:
                out.append(partial(_check_points, where, value))
            elif keys[key] is str:
                out.append(partial(_check_text, where, value, OFFICE_FIELDS))
    return out
