"""A preset file an office writes (issue 51 item 1): what `kustosz policy check FILE` and
`kustosz init --preset-file FILE` ask of it beyond what a policy with overrides must be.

An override may rely on the policy's fallbacks (a sentence that names the office in the
nominative when no declined form is given, policy.model.Names); a whole regulation may not:
it names its office and its head with every form the documents decline them in, names a
deputy when the deputy approves, and each position of its own (`[positions.<key>]`) with its
forms, and keeps each kind of material at least as long as a
person may ask for it.
"""

from __future__ import annotations

from typing import Any

from kustosz.errors import ConfigError
from kustosz.policy.model import SOURCE_KINDS, check_policy
from kustosz.policy.periods import Period, never_longer
from kustosz.policy.positions import declared
from kustosz.words import period_pl

# Each title a preset must give and the forms the documents decline it in, in Polish words.
_FORMS = {
    "name": (("name_genitive", "dopełniacz", "genitive", "(od) Urzędu Miasta …"),
             ("name_locative", "miejscownik", "locative", "(w) Urzędzie Miasta …")),
    "approver_title": (("approver_title_genitive", "dopełniacz", "genitive",
                        "(decyzja) Burmistrza …"),
                       ("approver_title_accusative", "biernik", "accusative",
                        "(przez) Burmistrza …")),
    "deputy_title": (("deputy_title_genitive", "dopełniacz", "genitive",
                      "(nieobecność) Zastępcy Burmistrza"),
                     ("deputy_title_accusative", "biernik", "accusative",
                      "(przez) Zastępcę Burmistrza")),
}


def _forms(office: dict[str, Any], approvers: list[Any]) -> list[ConfigError]:
    out = []
    needed = ["name", "approver_title"]
    if "deputy" in approvers or office.get("deputy_title"):
        needed.append("deputy_title")
    for title in needed:
        if not office.get(title):
            if title == "deputy_title":
                out.append(ConfigError(
                    "policy disclosure.approvers names 'deputy', a position no one holds: "
                    "the file names no deputy (office.deputy_title)",
                    pl="Zasada disclosure.approvers wymienia „deputy” — stanowisko, którego "
                       "nikt nie zajmuje: plik nie podaje zastępcy (office.deputy_title)."))
            elif title == "approver_title":
                out.append(ConfigError(
                    "policy office.approver_title is missing: the head who approves a "
                    "disclosure, e.g. \"Burmistrz Miasta …\"",
                    pl="Brak zasady office.approver_title: kierownik, który zatwierdza "
                       "udostępnienie, np. „Burmistrz Miasta …”."))
            continue  # office.name missing: the policy's own rule says so
        for key, case_pl, case_en, example in _FORMS[title]:
            if not office.get(key):
                out.append(ConfigError(
                    f"policy office.{key} is missing: the {case_en} of office.{title}, "
                    f"which the documents print, e.g. {example}",
                    pl=f"Brak zasady office.{key}: {case_pl} od office.{title}, którego "
                       f"potrzebują dokumenty, np. {example}."))
    return out


def _position_forms(data: dict[str, Any]) -> list[ConfigError]:
    """Each declared position's forms, as the head's: "Decyzja Sekretarza …", "przez …"."""
    out = []
    for key, table in declared(data).items():
        for form, case_pl, case_en, example in (
                ("title_genitive", "dopełniacz", "genitive", "(decyzja) Sekretarza Miasta …"),
                ("title_accusative", "biernik", "accusative", "(przez) Sekretarza Miasta …")):
            if table.get("title") and not table.get(form):
                out.append(ConfigError(
                    f"policy positions.{key}.{form} is missing: the {case_en} of "
                    f"positions.{key}.title, which the documents print, e.g. {example}",
                    pl=f"Brak zasady positions.{key}.{form}: {case_pl} od positions.{key}."
                       f"title, którego potrzebują dokumenty, np. {example}."))
    return out


def _kept_for_requests(data: dict[str, Any]) -> list[ConfigError]:
    """A kind kept shorter than a person may ask for it: a request lodged in time would find
    the material gone (the office must keep it at least until the deadline has run)."""
    try:
        deadline = Period.parse(data["requests"]["deadline"])
    except (KeyError, TypeError, ConfigError):
        return []
    out = []
    for kind in SOURCE_KINDS:
        try:
            period = Period.parse(data["retention"][kind])
        except (KeyError, TypeError, ConfigError):
            continue
        if not never_longer(deadline, period):  # from some day it would end first
            out.append(ConfigError(
                f"policy retention.{kind} = {period} is shorter than the request deadline "
                f"(requests.deadline = {deadline}): a request lodged in time would find the "
                "material gone; keep it at least as long",
                pl=f"Okres retention.{kind} = {period_pl(period)} jest krótszy niż termin na "
                   f"wniosek (requests.deadline = {period_pl(deadline)}): wniosek złożony w "
                   "terminie nie zastałby już nagrań; przechowuj je co najmniej tak długo."))
    return out


def check_preset(data: dict[str, Any]) -> list[ConfigError]:
    """Every fault of a whole preset: the policy's (schema and rules) and a file's own."""
    problems = check_policy(data)
    office, disclosure = data.get("office"), data.get("disclosure")
    approvers = disclosure.get("approvers") if isinstance(disclosure, dict) else None
    if isinstance(office, dict):
        problems += _forms(office, approvers if isinstance(approvers, list) else [])
    return problems + _position_forms(data) + _kept_for_requests(data)
