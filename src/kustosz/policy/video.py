"""Video monitoring as an office's regulation shapes it (issue 13 item 5, issue 66 item 1): its
purposes and the places it closes, on top of the statutes' floor (policy.video_law).

* purposes — the codes of the purposes the office's cameras may serve: the statutes' own
  (video_law.PURPOSES) and the office's own, each with its legal basis ([video.own_purposes.
  <code>]: text, genitive, basis; a built-in code there rewords it for the documents). Without
  a [video] table: the employer's four of art. 22² § 1 k.p.; an empty list: no video.
* zone_kinds — the office's own kinds of place ([video.zone_kinds.<code>]: name, its plural
  genitive, inside or outside, whether its regulation forbids cameras there, other names).
* excluded_zones — kinds (or a whole group: "inside", "outside") the regulation excludes
  outright: no camera, and no statute's exception (art. 22² § 2) opens them.
* purposes_clause, excluded_clause — where the regulation says so, for messages.

An office cannot name its own kind or purpose so that it hides one of the statutes' (a kind
called "toaleta" that is not the sanitary kind): the floor stays whatever the file says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kustosz.errors import ConfigError
from kustosz.policy.video_law import (
    EMPLOYER_PURPOSES,
    GROUPS,
    LAWS,
    PLACES,
    PURPOSES,
    ZONE_KINDS,
    Purpose,
    ZoneKind,
    folded,
)
from kustosz.words import listing

_CODE = re.compile(r"[a-z][a-z0-9_]*")
CODE_MAX = {"own_purposes": 40, "zone_kinds": 30}  # cameras.purposes items; camera_zones.kind


def _unknown_kind(code: str) -> ZoneKind:
    """A zone's kind the policy in force no longer declares: closed until it says what it is
    (a kind the office dropped may have been one its regulation forbids)."""
    return ZoneKind(code, f"rodzaj „{code}” nieokreślony w zasadach urzędu",
                    f"stref rodzaju „{code}”", "inside", forbidden=True, own=True)


@dataclass(frozen=True)
class VideoRules:
    purposes: tuple[str, ...] = EMPLOYER_PURPOSES
    purposes_clause: str = "Kodeks pracy art. 22² §1"
    excluded_zones: tuple[str, ...] = ()
    excluded_clause: str = ""
    # The office's policy names its purposes ([video] purposes): documents print them. An
    # office that does not gets the Code's four for its cameras, but no document claims them.
    stated: bool = False
    words: Mapping[str, Purpose] = field(default_factory=lambda: dict(PURPOSES))
    kinds: Mapping[str, ZoneKind] = field(default_factory=lambda: dict(ZONE_KINDS))

    def purpose(self, code: str) -> Purpose:
        """The purpose ``code``; one the policy no longer declares is printed as recorded."""
        return self.words.get(code) or Purpose(code, code, code, ())

    def in_force(self) -> list[Purpose]:
        return [self.purpose(c) for c in self.purposes]

    def kind(self, code: str) -> ZoneKind:
        return self.kinds.get(code) or _unknown_kind(code)

    def offered(self) -> list[ZoneKind]:
        """The kinds a new zone may be registered as."""
        return [k for k in self.kinds.values() if k.offered]

    def excluded(self, code: str) -> bool:
        """Whether the office's regulation excludes zones of kind ``code`` outright."""
        kind = self.kind(code)
        return kind.forbidden or code in self.excluded_zones or kind.place in self.excluded_zones

    def excluded_words(self) -> str:
        """What the regulation excludes, after "Monitoring nie obejmuje", in the order its file
        lists them (the regulation's own), then its own kinds marked forbidden; a kind its
        excluded group already covers is not said twice; "" when nothing."""
        listed = [*self.excluded_zones, *(c for c, k in self.kinds.items()
                                          if k.forbidden and c not in self.excluded_zones)]
        parts = [GROUPS[c][1] if c in GROUPS else self.kind(c).plural_genitive for c in listed
                 if c in GROUPS or (self.kind(c).offered
                                    and self.kind(c).place not in self.excluded_zones)]
        return listing(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"purposes": list(self.purposes), "purposes_clause": self.purposes_clause,
                "purposes_in_force": [{**p.__dict__, "bases": list(p.bases), "law": p.law}
                                      for p in self.in_force()],
                "excluded_zones": list(self.excluded_zones),
                "excluded_clause": self.excluded_clause,
                "excluded_pl": self.excluded_words(),
                "own_zone_kinds": {k.code: {"name": k.name, "place": k.place,
                                            "forbidden": k.forbidden}
                                   for k in self.kinds.values() if k.own}}


def _texts(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"policy video.{where}.{key} must be a non-empty text",
                          pl=f"Zasada video.{where}.{key} musi być niepustym tekstem.")
    return value.strip()


def _code(table: str, code: str) -> None:
    if not _CODE.fullmatch(code) or len(code) > CODE_MAX[table]:
        raise ConfigError(
            f"policy video.{table}.{code}: a code is lower-case letters, digits and _, at most "
            f"{CODE_MAX[table]} characters, starting with a letter",
            pl=f"Zasada video.{table}.{code}: kod to małe litery bez polskich znaków, cyfry i "
               f"_, najwyżej {CODE_MAX[table]} znaków, zaczynający się literą (polską nazwę "
               "podaj w polu name lub text).")


def _known_laws() -> str:
    return "; ".join(f"{k} ({v})" for k, v in LAWS.items())


def _bases(table: dict[str, Any], where: str, built: Purpose | None) -> tuple[str, ...]:
    """The acts a purpose rests on: one code, or a list of them (a care home's residents' and
    employees' safety rests on art. 4b u.s.p. and art. 22² § 1 k.p. at once); a built-in
    purpose keeps its own."""
    given = table.get("basis")
    listed = [given] if isinstance(given, str) else list(given or [])
    if not listed and built is None:
        raise ConfigError(
            f"policy video.{where}.basis is missing: the law the purpose rests on, one of "
            f"{', '.join(LAWS)} (or a list of them)",
            pl=f"Brak zasady video.{where}.basis — podstawy prawnej celu (jednej albo listy); "
               f"dostępne: {_known_laws()}.")
    bad = [b for b in listed if not isinstance(b, str) or b not in LAWS]
    if bad:
        shown = ", ".join(f"„{b}”" for b in bad)
        raise ConfigError(f"policy video.{where}.basis {', '.join(map(repr, bad))} is unknown; "
                          f"known: {', '.join(LAWS)}",
                          pl=f"Zasada video.{where}.basis: nieznana podstawa {shown}; "
                             f"dostępne: {_known_laws()}.")
    bases = tuple(dict.fromkeys(listed))
    if built is not None and bases not in ((), built.bases):
        raise ConfigError(
            f"policy video.{where}.basis: {where.rsplit('.', 1)[1]} is a purpose of "
            f"{built.law}; its wording may change, its basis may not (give your purpose its "
            "own code)",
            pl=f"Zasada video.{where}.basis: „{where.rsplit('.', 1)[1]}” to cel z {built.law}; "
               "można zmienić jego brzmienie, ale nie podstawę (nadaj własnemu celowi własny "
               "kod).")
    return bases or (built.bases if built else ())


def _own_purposes(video: dict[str, Any]) -> dict[str, Purpose]:
    words = dict(PURPOSES)
    for code, table in (video.get("own_purposes") or {}).items():
        _code("own_purposes", code)
        where = f"own_purposes.{code}"
        bases = _bases(table, where, PURPOSES.get(code))
        words[code] = Purpose(code, _texts(table.get("text"), where, "text"),
                              _texts(table.get("genitive"), where, "genitive"), bases)
    return words


def _taken(kinds: dict[str, ZoneKind]) -> dict[str, str]:
    """Every name a kind is called by, folded, and the kind's code."""
    return {folded(n): k.code for k in kinds.values() for n in k.names}


def _own_kind(code: str, table: dict[str, Any], taken: dict[str, str]) -> ZoneKind:
    _code("zone_kinds", code)
    where = f"zone_kinds.{code}"
    if code in ZONE_KINDS or code in GROUPS:
        raise ConfigError(f"policy video.{where}: {code} is a built-in kind or group; give "
                          "the office's own kind its own code (of a built-in kind only "
                          "plural_genitive may be given, to word it as the regulation does)",
                          pl=f"Zasada video.{where}: „{code}” to rodzaj wbudowany lub grupa; "
                             "nadaj własnemu rodzajowi własny kod (rodzajowi wbudowanemu można "
                             "podać tylko plural_genitive — jego słowa z regulaminu).")
    name = _texts(table.get("name"), where, "name")
    also = tuple(_texts(a, where, "also") for a in table.get("also") or [])
    for given in (name, *also):
        other = taken.get(folded(given))
        if other is not None:
            built = ZONE_KINDS.get(other)
            pl_other = f"wbudowany rodzaj „{other}” ({built.name})" if built else \
                f"rodzaj „{other}”"
            raise ConfigError(
                f"policy video.{where}: the name {given!r} is already {other}'s; a zone of that "
                "place is of that kind (a statute's rule for it cannot be bypassed)",
                pl=f"Zasada video.{where}: nazwa „{given}” to już {pl_other}; strefa tego "
                   "miejsca jest tego rodzaju (przepisów o nim nie da się obejść własną nazwą).")
    place = table.get("place")
    if place not in PLACES:  # the schema refuses another value: here it is missing
        raise ConfigError(f"policy video.{where}.place is missing: inside or outside the "
                          "buildings",
                          pl=f"Brak zasady video.{where}.place: inside (wewnątrz budynku) albo "
                             "outside (na zewnątrz budynku).")
    genitive = table.get("plural_genitive")
    return ZoneKind(code, name, _texts(genitive, where, "plural_genitive") if genitive is not None
                    else f"stref rodzaju „{name}”", place,
                    also=also, forbidden=bool(table.get("forbidden", False)), own=True)


def _reworded(code: str, table: dict[str, Any]) -> ZoneKind | None:
    """A built-in kind whose words after "Monitoring nie obejmuje" the regulation gives its
    own way ("gabinetu doraźnej pomocy medycznej" for the medical rooms): those words only; its
    name, place and the statutes' rules stay (None: not a built-in kind reworded)."""
    if code not in ZONE_KINDS or set(table) != {"plural_genitive"}:
        return None
    where = f"zone_kinds.{code}"
    return replace(ZONE_KINDS[code],
                   plural_genitive=_texts(table["plural_genitive"], where, "plural_genitive"))


def _own_kinds(video: dict[str, Any]) -> dict[str, ZoneKind]:
    kinds = dict(ZONE_KINDS)
    for code, table in (video.get("zone_kinds") or {}).items():
        kinds[code] = _reworded(code, table) or _own_kind(code, table, _taken(kinds))
    return kinds


def _listed(video: dict[str, Any], key: str, known: dict[str, str], default: tuple[str, ...]
            ) -> tuple[str, ...]:
    items = video.get(key, list(default))
    bad = [i for i in items if i not in known]
    if bad:
        raise ConfigError(f"policy video.{key}: unknown {', '.join(map(repr, bad))}; "
                          f"known: {', '.join(known)}",
                          pl=f"Zasada video.{key}: nieznane {', '.join(f'„{b}”' for b in bad)}; "
                             "dostępne: " + "; ".join(f"{k} ({v})" for k, v in known.items())
                             + ".")
    return tuple(dict.fromkeys(items))


def video_rules(data: dict[str, Any]) -> VideoRules:
    """The [video] table of a complete policy, checked."""
    video = data.get("video", {})
    words, kinds = _own_purposes(video), _own_kinds(video)
    purposes = _listed(video, "purposes", {c: p.text for c, p in words.items()},
                       EMPLOYER_PURPOSES)
    places = {**{c: k.name for c, k in kinds.items()}, **{g: n for g, (n, _) in GROUPS.items()}}
    excluded = _listed(video, "excluded_zones", places, ())
    clause = (video.get("excluded_clause") or "").strip()
    if (excluded or any(k.forbidden for k in kinds.values())) and not clause:
        raise ConfigError("policy video.excluded_zones needs video.excluded_clause: the clause "
                          "of the regulation that excludes these rooms",
                          pl="Zasada video.excluded_zones (lub rodzaj z forbidden = true) wymaga "
                             "video.excluded_clause — przepisu regulaminu, który wyłącza te "
                             "pomieszczenia.")
    return VideoRules(purposes=purposes,
                      purposes_clause=(video.get("purposes_clause") or "").strip()
                      or VideoRules.purposes_clause,
                      excluded_zones=excluded, excluded_clause=clause,
                      stated="purposes" in video, words=words, kinds=kinds)
