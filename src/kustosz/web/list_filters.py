"""Search and filters of the four registers a clerk leafs through (issue 29 item 14): Wnioski,
Kopie, Zabezpieczenia, Pracownicy — by number, person, date and state, with paging.

The filter is plain GET query parameters (``number``, ``person``, ``from``, ``to``,
``state``, ``page``), so a form works without scripts, a filtered list can be bookmarked, and
the page links carry it. The rows are filtered here, after the page's own query: the state a
person filters by is the one the list shows (``shown_state`` of a request, ``copy_state`` of a
copy — "wydana", "zniszczona"), which is computed from handovers and destructions, not a
column. The registers of one office are thousands of rows at most.

Bad input (a malformed date, an unknown state, text over its limit, a page that is no
number) is said in Polish, and the list is shown unfiltered: a clerk sees every row and what
to correct, never an empty list that looks like "nothing found"."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar
from urllib.parse import urlencode

T = TypeVar("T")

TEXT_LIMIT = 100  # a number, a name or a part of one: longer is no search
PAGE_SIZE = 50
PAGE_LIMIT = 100_000
KEYS = ("number", "person", "from", "to", "state")
LABELS_PL = {"number": "numer", "person": "osoba", "from": "data od", "to": "data do",
             "state": "stan", "page": "strona"}


@dataclass
class ListFilter:
    """What the person asked for; ``errors`` by field (Polish), ``typed`` as typed (shown
    back in the form, also when refused)."""

    number: str = ""
    person: str = ""
    start: date | None = None
    end: date | None = None
    state: str = ""
    page: int = 1
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.number or self.person or self.start or self.end or self.state)

    def query(self, page: int | None = None) -> str:
        """The query string of this filter (as typed, valid or not) at ``page``."""
        pairs = [(k, self.typed[k]) for k in KEYS if self.typed.get(k)]
        if page and page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


def fold(text: str | None) -> str:
    """Text for matching: case and Polish marks ignored ("lecka" finds "Łęcka"), as a clerk
    types a name quickly or on a keyboard without Polish letters."""
    text = unicodedata.normalize("NFKD", (text or "").casefold().replace("ł", "l"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).strip()


def _day(text: str, label: str, errors: dict[str, str], key: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = (f"Nieprawidłowa data „{text[:TEXT_LIMIT]}” w polu „{label}”: podaj "
                       "ją jako RRRR-MM-DD (np. 2026-03-15).")
        return None


def parse(params: Mapping[str, str], states: Mapping[str, str]) -> ListFilter:
    """The filter from the query parameters; ``states``: the list's state codes and their
    Polish names. Every bad value is named at once; with any, the filter is not applied (the
    page shows all rows, page 1) and ``errors`` says why."""
    typed = {k: (params.get(k) or "").strip() for k in (*KEYS, "page")}
    errors: dict[str, str] = {}
    for key in ("number", "person"):
        if len(typed[key]) > TEXT_LIMIT:
            errors[key] = (f"Pole „{LABELS_PL[key]}” może mieć najwyżej {TEXT_LIMIT} znaków "
                           f"(podano {len(typed[key])}).")
    start = _day(typed["from"], LABELS_PL["from"], errors, "from")
    end = _day(typed["to"], LABELS_PL["to"], errors, "to")
    if start and end and end < start:
        errors["to"] = (f"Data „do” ({end:%d.%m.%Y}) jest wcześniejsza niż data „od” "
                        f"({start:%d.%m.%Y}).")
    if typed["state"] and typed["state"] not in states:
        shown = typed["state"][:TEXT_LIMIT]
        errors["state"] = (f"Nieznany stan „{shown}”. Wybierz jeden z listy: "
                           f"{', '.join(states.values())}.")
    page = 1
    if typed["page"]:
        if typed["page"].isdecimal() and 1 <= int(typed["page"]) <= PAGE_LIMIT:
            page = int(typed["page"])
        else:
            errors["page"] = (f"Nieprawidłowy numer strony „{typed['page'][:TEXT_LIMIT]}”: "
                              "podaj liczbę całkowitą od 1.")
    if errors:
        return ListFilter(typed={k: typed[k][:TEXT_LIMIT * 2] for k in KEYS}, errors=errors)
    return ListFilter(typed["number"], typed["person"], start, end, typed["state"], page,
                      typed={k: typed[k] for k in KEYS})


@dataclass(frozen=True)
class Facts:
    """What one row is found by: its numbers (any of them may hold the typed text), the
    people it names, its days (the row is in the period when any day is, or when its span
    ``from_to`` overlaps it) and its state code."""

    numbers: Sequence[str]
    people: Sequence[str]
    state: str
    day: date | None = None
    span: tuple[date, date] | None = None


def number_matches(typed: str, number: str) -> bool:
    """Digits alone are a whole number ("12" is request 12, not 112 or 120; "7" is copy
    7/2026 and 7/2025, not 17/2026; "2026" every copy of the year); any other text is found
    inside a number or a case reference ("7/2026", "OR.1431")."""
    wanted = fold(typed).removeprefix("nr").lstrip(" .#")
    have = fold(number)
    if not wanted:
        return True
    if wanted.isdecimal():
        return wanted in have.split("/")
    return wanted in have


def matches(f: ListFilter, facts: Facts) -> bool:
    if f.number and not any(number_matches(f.number, n) for n in facts.numbers if n):
        return False
    if f.person and not any(fold(f.person) in fold(p) for p in facts.people if p):
        return False
    if f.state and facts.state != f.state:
        return False
    if f.start or f.end:
        first, last = facts.span if facts.span else (facts.day, facts.day)
        if first is None or last is None:
            return False
        if f.start and last < f.start:
            return False
        if f.end and first > f.end:
            return False
    return True


def apply(f: ListFilter, rows: Iterable[T], facts: Callable[[T], Facts]) -> list[T]:
    return [r for r in rows if matches(f, facts(r))]


@dataclass(frozen=True)
class Paged:
    """One page of the filtered rows and the links to the others (each with the filter)."""

    rows: list[object]
    page: int
    pages: int
    total: int
    first_no: int  # the first row's place in the whole list (1-based)
    links: list[tuple[int, str]]  # (page, query string) around the current one
    prev: str | None
    next: str | None


def paged(f: ListFilter, rows: Sequence[T], size: int = PAGE_SIZE) -> Paged:
    """Page ``f.page`` of ``rows``; a page past the end shows the last one."""
    pages = max(1, -(-len(rows) // size))
    page = min(f.page, pages)
    shown = list(rows[(page - 1) * size: page * size])
    near = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    return Paged(shown, page, pages, len(rows), (page - 1) * size + 1,
                 [(n, f.query(n)) for n in near],
                 f.query(page - 1) if page > 1 else None,
                 f.query(page + 1) if page < pages else None)
