"""An office's own wording as data (issue 51 item 1): what its regulation words itself — the
clause's points, the recipients it names, the sign, the phone announcements, the employee's
declaration, the corner notes of its forms, a register's title — under `[documents]` in its
preset, not keyed by the office's name in code. A text names the office's facts by placeholder
(`{controller}`, `{office_gen}`, `{period}` …), filled when a document is printed
(documents.office.fill); an unknown placeholder is refused when the policy is loaded, naming
the key. A placeholder is a name and nothing more: a format spec, a conversion, an attribute or
an index (`{office_gen:>99999999}`, `{office!r}`, `{office.__class__}`, `{office[0]}`) would let
a preset file print 30 MB or reach into Kustosz's objects (issue 64 S8), so `pieces` refuses
them, and the check and the rendering both stand on it. Like the rest of [documents], these
tables are the preset's office's: an office that takes a preset under its own name drops them
with its [documents] (policy.model)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from string import Formatter
from typing import Any

from kustosz.errors import ConfigError
from kustosz.glyphs import DOCUMENT_FONT, unprintable
from kustosz.kinds import CLAUSED
from kustosz.policy import office_ids

# The [documents] facts (the dotted line where unset), the office's names in their cases
# (policy.model.Names) and its purposes in one phrase: every office text may name them.
FACTS = ("controller", "representation", "address", "locality", "phone", "email", "dpo",
         "dpo_address", "dpo_phone", "dpo_email", "basis", "monitored", "published", "nip",
         "regon")
NAME_FIELDS = ("office", "office_gen", "office_in", "approver", "approver_gen",
               "approver_acc", "deputy", "deputy_gen", "deputy_acc")
OFFICE_FIELDS = (*FACTS, *NAME_FIELDS, "aims")
# A clause is about one kind of material: its points may name that kind's period too, in the
# nominative ("30 dni") or the genitive ("30 dni", "3 miesięcy"), and (cameras) the sentence
# naming the places excluded from monitoring, "" where none are (documents.office.exclusions).
CLAUSE_FIELDS = (*OFFICE_FIELDS, "period", "period_gen", "exclusions")
CLAUSE_KINDS = tuple(k.name.value for k in CLAUSED)
# The documents and registers whose corner may name the office's own model of them
# ("Załącznik nr 3 do …"); a register's key is "register-" and its kind.
ANNEXED = ("clause", "request-video", "request-calls", "request-subject", "decision",
           "authorisation", "handover-protocol", "receipt", "listening-protocol",
           "destruction-protocol", "declaration", "register-disclosures")

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


def pieces(text: str) -> list[tuple[str, str | None]]:
    """The text as (literal, placeholder name or None) pairs: the one rule of what an office
    text may hold, for the check (`_check_text`) and the rendering (`render`). Braces are
    doubled to be written; a placeholder is a bare name, never more (see the module's doc)."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"{exc} (a brace is written {{{{ or }}}})",
                          pl="niedomknięty nawias klamrowy (sam nawias zapisuje się jako "
                             "{{ lub }})") from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            out.append((literal, None))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") \
            + (f":{spec}" if spec else "") + "}"
        if spec:
            raise ConfigError(f"placeholder {shown} has a format spec; a placeholder is a "
                              "bare name, e.g. {office_gen}",
                              pl=f"pole {shown} ma specyfikację formatu; pole to sama nazwa, "
                                 "np. {office_gen}")
        if conversion:
            raise ConfigError(f"placeholder {shown} has a conversion; a placeholder is a bare "
                              "name, e.g. {office_gen}",
                              pl=f"pole {shown} ma znacznik konwersji; pole to sama nazwa, "
                                 "np. {office_gen}")
        if "." in name or "[" in name:
            what, what_pl = ("an attribute", "odwołanie do atrybutu") if "." in name \
                else ("an index", "odwołanie do indeksu")
            raise ConfigError(f"placeholder {shown} names {what}; a placeholder is a bare "
                              "name, e.g. {office_gen}",
                              pl=f"pole {shown} zawiera {what_pl}; pole to sama nazwa, "
                                 "np. {office_gen}")
        out.append((literal, name))
    return out


def placeholder_names(text: str) -> list[str]:
    """The placeholders ``text`` names (ConfigError: one that is more than a name)."""
    return [name for _literal, name in pieces(text) if name is not None]


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders replaced by ``values``: only what `pieces` allows, so
    nothing is ever expanded beyond the text's own characters and the values."""
    out = []
    for literal, name in pieces(text):
        out.append(literal)
        if name is None:
            continue
        if name not in values:
            raise ConfigError(f"unknown placeholder {{{name}}}; known: {', '.join(values)}",
                              pl=f"nieznane pole {{{name}}}; dostępne: {', '.join(values)}")
        out.append(values[name])
    return "".join(out)


def _check_printable(key: str, text: str) -> None:
    """An office's text holding a character the documents cannot print is refused with its
    key, rather than printed with a marker (glyphs.py: a person's text is)."""
    bad = unprintable(text)
    if bad:  # an invisible one (a bidi control) or a letter with marks by the numbers only
        shown = ", ".join(f"„{c}” (U+{ord(c):04X})" if len(c) == 1 and c.isprintable()
                          else " ".join(f"U+{ord(x):04X}" for x in c) for c in bad)
        raise ConfigError(f"policy {key}: {shown} cannot be printed in the documents' font "
                          f"({DOCUMENT_FONT}); leave it out or write it in words",
                          pl=f"Zasada {key}: znaku {shown} nie da się wydrukować czcionką "
                             f"dokumentów ({DOCUMENT_FONT}); usuń go albo zapisz słowami.")


def _check_text(key: str, text: Any, known: tuple[str, ...]) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"policy {key} must be a non-empty text",
                          pl=f"Zasada {key} musi być niepustym tekstem.")
    try:
        names = placeholder_names(text)
    except ConfigError as exc:
        raise ConfigError(f"policy {key}: {exc}", pl=f"Zasada {key}: {exc.pl}.") from None
    bad = ", ".join("{" + n + "}" for n in names if n not in known)
    if bad:
        raise ConfigError(f"policy {key}: unknown placeholder {bad}; known: {', '.join(known)}",
                          pl=f"Zasada {key}: nieznane pole {bad}; dostępne: "
                             f"{', '.join(known)}.")
    _check_printable(key, text)


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
    for key, value in documents.items():  # the facts and purposes are printed as they are
        for n, item in enumerate(value if isinstance(value, list) else [value], 1):
            if isinstance(item, str):
                where = f"documents.{key}" + (f"[{n}]" if isinstance(value, list) else "")
                out.append(partial(_check_printable, where, item))
    for table, keys in SCHEMA.items():
        for key, value in documents.get(table, {}).items():
            where = f"documents.{table}.{key}"
            if table == "clause" and key in CLAUSE_KINDS:
                out.append(partial(_check_points, where, value))
            elif keys[key] is str:
                out.append(partial(_check_text, where, value, OFFICE_FIELDS))
    return out + office_ids.checks(documents)


_POSTCODE = re.compile(r"\b\d{2}-\d{3}\s+([^,;]+)")


def locality(documents: Mapping[str, Any]) -> str | None:
    """The place a document is dated at ("Nowy Targ, dnia …", issue 66 item 5): the office's
    `[documents] locality`, else the town after the postcode of its address ("ul. Rynek 1,
    34-400 Nowy Targ"), else None (a dotted line) — never the office's name, which is no place."""
    own = str(documents.get("locality") or "").strip()
    if own:
        return own
    found = _POSTCODE.search(str(documents.get("address") or ""))
    return found.group(1).strip() if found else None
