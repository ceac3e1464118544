"""Who decides a disclosure (issue 51 item 1): positions named by the office's regulation.

The head (`office.approver_title`) and the deputy (`office.deputy_title`) are built in; any
other position an office's regulation names — a Sekretarz, a Kierownik — is declared as data,
`[positions.<key>]` with its title and the forms the documents decline it in. `[disclosure]
approvers` lists the positions that decide and `approval` how many of them must agree: "any"
(one agreement approves, as every shipped preset means) or "all" (each listed position agrees;
the first refusal refuses). A decision records the key of its position
(`custody_decisions.capacity`), so a renamed title keeps the decisions taken under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from kustosz.errors import ConfigError

BUILT_IN = ("head", "deputy")
APPROVAL = ("any", "all")
Approval = Literal["any", "all"]
# A key fits custody_decisions.capacity (String(40), migration 0044) and reads in a TOML header.
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Position:
    """A position that may decide: its key and its title in the cases documents need —
    "Decyzja <genitive>", "podjęta przez <accusative>"."""

    key: str
    title: str
    genitive: str
    accusative: str


def declared(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The office's own positions, `[positions.<key>]`, as the file gives them."""
    found = data.get("positions") or {}
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def check_declared(data: dict[str, Any]) -> None:
    """Each declared position has a usable key and a title; the built-in keys stay the office's
    head and deputy."""
    for key, table in declared(data).items():
        if key in BUILT_IN or not KEY.fullmatch(key):
            raise ConfigError(
                f"policy positions.{key}: a position's key is lower-case letters, digits and "
                "'_' (at most 40) and not 'head' or 'deputy' (the office's own titles)",
                pl=f"Zasada positions.{key}: klucz stanowiska to małe litery, cyfry i „_” "
                   "(najwyżej 40 znaków), inny niż „head” i „deputy” (te stanowiska opisuje "
                   "sekcja [office]).")
        for field in ("title", "title_genitive", "title_accusative"):
            if field in table and not str(table[field]).strip():
                raise ConfigError(f"policy positions.{key}.{field} is empty",
                                  pl=f"Zasada positions.{key}.{field} jest pusta.")
        if "title" not in table:
            raise ConfigError(f"policy positions.{key}.title is missing: the position's title, "
                              "e.g. \"Sekretarz Miasta\"",
                              pl=f"Brak zasady positions.{key}.title: nazwa stanowiska, np. "
                                 "„Sekretarz Miasta”.")


def approvers(data: dict[str, Any]) -> tuple[str, ...]:
    """`[disclosure] approvers`, each a position the office has."""
    listed = data.get("disclosure", {}).get("approvers", ["head"])
    known = (*BUILT_IN, *declared(data))
    unheld = [str(a) for a in listed if a not in known]
    if not listed or unheld:
        en, pl = ", ".join(map(repr, unheld)), ", ".join(f"„{a}”" for a in unheld)
        own = ", ".join(f"'{k}'" for k in declared(data))
        own_pl = ", ".join(f"„{k}”" for k in declared(data))
        raise ConfigError(
            f"policy disclosure.approvers names {en or 'no one'}, a position no one holds: "
            "list 'head' (office.approver_title), 'deputy' (office.deputy_title)"
            + (f" or a declared position ({own})" if own else "")
            + " or declare it as [positions.<key>] with its title",
            pl=f"Zasada disclosure.approvers wymienia {pl or 'nikogo'} — stanowisko, którego "
               "nikt nie zajmuje: podaj „head” (office.approver_title), „deputy” "
               "(office.deputy_title)" + (f" lub stanowisko z sekcji [positions] ({own_pl})"
                                          if own else "")
               + " albo opisz je jako [positions.<klucz>] z nazwą (title).")
    return tuple(dict.fromkeys(listed))


def approval(data: dict[str, Any]) -> Approval:
    value = data.get("disclosure", {}).get("approval", "any")
    for choice in ("any", "all"):
        if value == choice:
            return choice
    raise ConfigError(f"policy disclosure.approval must be one of any, all, got {value!r}",
                      pl=f"Zasada disclosure.approval musi mieć jedną z wartości: any, all; "
                         f"podano „{value}”.")


def positions(data: dict[str, Any], head: tuple[str, str, str],
              deputy: tuple[str, str, str]) -> dict[str, Position]:
    """Every position of the office by key; a declared one without its forms (an override may
    leave them out) is named in a construction that keeps its nominative correct."""
    out = {"head": Position("head", *head), "deputy": Position("deputy", *deputy)}
    for key, table in declared(data).items():
        title = str(table.get("title", key)).strip()
        out[key] = Position(key, title,
                            table.get("title_genitive") or f"osoby na stanowisku: {title}",
                            table.get("title_accusative") or f"osobę na stanowisku: {title}")
    return out
