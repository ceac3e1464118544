"""The statutes' floor for video monitoring, as data: the legal bases a camera's purpose may
rest on, the purposes those statutes name, the kinds of place they close to cameras and the
3-month cap. An office's policy adds its own purposes and kinds of place (policy.video); it
cannot open what a statute closes. Codes are stored; the Polish words go on documents and
the UI.

What the texts say (read 2026-12, see docs/policies.md "Places and purposes"):

* Kodeks pracy art. 22² § 1: the employer's four purposes; § 1¹: rooms made available to a
  company trade union are never monitored; § 2: sanitary rooms, changing rooms, canteens and
  smoking rooms only if necessary for a § 1 purpose and people are made unrecognisable,
  sanitary rooms also with the union's (or the employees' representatives') prior consent;
  § 3: recordings kept at most 3 months from the day of recording.
* Ustawa o samorządzie gminnym art. 9a (added by art. 114 of the 2018 data protection act):
  ust. 1 public order and citizens' safety, fire and flood protection; ust. 2 "Monitoring nie
  obejmuje pomieszczeń sanitarnych, szatni, stołówek, palarni oraz obiektów socjalnych" (no
  exception); ust. 3 at most 3 months from the day of recording.
* Ustawa o samorządzie powiatowym art. 4b: the powiat's twin of art. 9a, added by the same act
  in the same words (assumed: its text was not in the pages read).
* Prawo oświatowe art. 108a: ust. 1 pupils' and employees' safety or protection of property;
  ust. 3 no monitoring of rooms where lessons, educational and care activities take place,
  of psychological and pedagogical help, of the staff's rest, sanitary and hygiene rooms, the
  health prevention room, cloakrooms and changing rooms — unless necessary because of an
  existing threat and people are made unrecognisable.
* A care home (DPS): no statute allows monitoring its residents' rooms (the Commissioner for
  Human Rights: the act on social assistance has no rule on monitoring in a DPS, and the
  organisation of a home respects its residents' freedom, intimacy and dignity). Kustosz
  closes the residents' rooms and the medical rooms outright: no law opens them.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kustosz.kinds import SourceKind
from kustosz.policy.periods import Period
from kustosz.words import listing

# The legal bases a purpose of video monitoring rests on, as a register cites them.
LAWS: dict[str, str] = {
    "kp_22_2": "art. 22² § 1 Kodeksu pracy",
    "usg_9a": "art. 9a ustawy o samorządzie gminnym",
    "usp_4b": "art. 4b ustawy o samorządzie powiatowym",
    "po_108a": "art. 108a ustawy – Prawo oświatowe",
    "rodo_6_1_e": "art. 6 ust. 1 lit. e RODO",
}
# Every office is an employer: the Code's rooms stay closed whatever a camera's purpose.
EMPLOYER = "kp_22_2"


@dataclass(frozen=True)
class Purpose:
    code: str
    text: str  # mianownik, as the register lists it: "ochrona mienia"
    genitive: str  # after "w celu", as the sign and the clause print it: "ochrony mienia"
    bases: tuple[str, ...]  # keys of LAWS: one act, or several (a DPS: art. 4b u.s.p. and k.p.)

    @property
    def law(self) -> str:
        """Every act the purpose rests on, in one Polish phrase: "art. 4b … oraz art. 22² § 1
        …" — the one wording of a purpose's basis wherever it is printed."""
        return listing([LAWS.get(b, b) for b in self.bases])

    @property
    def cited(self) -> str:
        """The purpose with its legal basis: the register's column."""
        return f"{self.text} ({self.law})"


def _purpose(code: str, text: str, genitive: str, basis: str) -> tuple[str, Purpose]:
    return code, Purpose(code, text, genitive, (basis,))


_SECRECY = ("zachowanie w tajemnicy informacji, których ujawnienie mogłoby narazić pracodawcę "
            "na szkodę")
PURPOSES: dict[str, Purpose] = dict((
    # art. 22² § 1 k.p.
    _purpose("employee_safety", "zapewnienie bezpieczeństwa pracowników",
             "zapewnienia bezpieczeństwa pracowników", "kp_22_2"),
    _purpose("property", "ochrona mienia", "ochrony mienia", "kp_22_2"),
    _purpose("production_control", "kontrola produkcji", "kontroli produkcji", "kp_22_2"),
    _purpose("secrecy", _SECRECY, "zachowania" + _SECRECY.removeprefix("zachowanie"),
             "kp_22_2"),
    # art. 9a ust. 1 u.s.g. and art. 4b ust. 1 u.s.p.
    _purpose("public_order_gmina", "zapewnienie porządku publicznego i bezpieczeństwa obywateli",
             "zapewnienia porządku publicznego i bezpieczeństwa obywateli", "usg_9a"),
    _purpose("fire_flood_gmina", "ochrona przeciwpożarowa i przeciwpowodziowa",
             "ochrony przeciwpożarowej i przeciwpowodziowej", "usg_9a"),
    _purpose("public_order_powiat", "zapewnienie porządku publicznego i bezpieczeństwa obywateli",
             "zapewnienia porządku publicznego i bezpieczeństwa obywateli", "usp_4b"),
    _purpose("fire_flood_powiat", "ochrona przeciwpożarowa i przeciwpowodziowa",
             "ochrony przeciwpożarowej i przeciwpowodziowej", "usp_4b"),
    # art. 108a ust. 1 p.o.
    _purpose("school_safety", "zapewnienie bezpieczeństwa uczniów i pracowników",
             "zapewnienia bezpieczeństwa uczniów i pracowników", "po_108a"),
    _purpose("school_property", "ochrona mienia", "ochrony mienia", "po_108a"),
))
# The purposes of an office whose policy names none: the employer's four (art. 22² § 1).
EMPLOYER_PURPOSES = ("employee_safety", "property", "production_control", "secrecy")


@dataclass(frozen=True)
class Exclusion:
    """A statute's rule closing a kind of place to cameras."""

    law: str  # the basis whose purposes bring it in (LAWS), or "dps"
    cite: str  # where it stands, as a refusal cites it
    outright: bool  # no exception opens it
    consent: bool = False  # the exception also needs the representatives' prior consent
    always: bool = False  # whatever the camera's purposes: the room exists only there

    def applies(self, bases: set[str]) -> bool:
        return self.always or self.law == EMPLOYER or self.law in bases


_KP2 = Exclusion("kp_22_2", "art. 22² §2 Kodeksu pracy", outright=False)
_KP2_CONSENT = Exclusion("kp_22_2", "art. 22² §2 Kodeksu pracy", outright=False, consent=True)
_KP11 = Exclusion("kp_22_2", "art. 22² §1¹ Kodeksu pracy", outright=True)
_USG = Exclusion("usg_9a", "art. 9a ust. 2 ustawy o samorządzie gminnym", outright=True)
_USP = Exclusion("usp_4b", "art. 4b ust. 2 ustawy o samorządzie powiatowym", outright=True)
_PO = Exclusion("po_108a", "art. 108a ust. 3 ustawy – Prawo oświatowe", outright=False)
_PO_ROOM = Exclusion("po_108a", "art. 108a ust. 3 ustawy – Prawo oświatowe", outright=False,
                     always=True)
_DPS = Exclusion("dps", "żaden przepis nie dopuszcza tam monitoringu (ustawa o pomocy "
                        "społecznej: wolność, intymność i godność mieszkańców domu)",
                 outright=True, always=True)

PLACES = {"inside": "wewnątrz budynku", "outside": "na zewnątrz budynku"}
# A whole group of places a regulation excludes at once ("every room inside the buildings"):
# its name, and its words after "Monitoring nie obejmuje".
GROUPS: dict[str, tuple[str, str]] = {
    "inside": ("wszystkie pomieszczenia wewnątrz budynków", "pomieszczeń wewnątrz budynków"),
    "outside": ("cały teren na zewnątrz budynków", "terenu na zewnątrz budynków"),
}


@dataclass(frozen=True)
class ZoneKind:
    code: str
    name: str  # mianownik: "pomieszczenie sanitarne"
    plural_genitive: str  # after "Monitoring nie obejmuje": "pomieszczeń sanitarnych"
    place: str  # "inside" or "outside" (PLACES)
    exclusions: tuple[Exclusion, ...] = ()
    also: tuple[str, ...] = ()  # what else a zone of this kind is called
    forbidden: bool = False  # the office's own kind its regulation excludes outright
    offered: bool = True  # False: kept for zones registered before it was split
    own: bool = False  # declared by the office's policy

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.also)


def _kind(code: str, name: str, plural_genitive: str, place: str,
          *exclusions: Exclusion, also: tuple[str, ...] = (), offered: bool = True
          ) -> tuple[str, ZoneKind]:
    return code, ZoneKind(code, name, plural_genitive, place, exclusions, also,
                          offered=offered)


ZONE_KINDS: dict[str, ZoneKind] = dict((
    _kind("corridor", "korytarz", "korytarzy", "inside"),
    _kind("staircase", "klatka schodowa", "klatek schodowych", "inside"),
    _kind("entrance_inside", "wejście — hol wewnątrz budynku", "holi wejściowych", "inside",
          also=("hol wejściowy",)),
    _kind("entrance_outside", "wejście — od zewnątrz budynku", "wejść od zewnątrz", "outside"),
    # Before issue 66 an entrance was one kind; a zone registered so keeps it, counted as
    # inside the building (the stricter reading) wherever a regulation excludes the inside.
    _kind("entrance", "wejście (bez wskazania: wewnątrz czy na zewnątrz)", "wejść", "inside",
          offered=False),
    _kind("customer_hall", "sala obsługi klienta", "sal obsługi klienta", "inside"),
    _kind("server_room", "serwerownia", "serwerowni", "inside"),
    _kind("archive", "archiwum", "archiwów", "inside"),
    _kind("ordinary", "inne pomieszczenie", "innych pomieszczeń", "inside"),
    _kind("outdoor", "teren wokół budynku", "terenu wokół budynków", "outside"),
    _kind("parking", "parking", "parkingów", "outside"),
    _kind("sanitary", "pomieszczenie sanitarne", "pomieszczeń sanitarnych", "inside",
          _KP2_CONSENT, _USG, _USP, _PO,
          also=("pomieszczenia sanitarne", "pomieszczenie sanitarnohigieniczne", "toaleta",
                "toalety", "wc", "łazienka", "łazienki", "ubikacja", "natrysk", "natryski",
                "prysznic", "umywalnia")),
    _kind("changing_room", "szatnia", "szatni", "inside", _KP2, _USG, _USP, _PO,
          also=("szatnie", "przebieralnia", "przebieralnie")),
    _kind("canteen", "stołówka", "stołówek", "inside", _KP2, _USG, _USP,
          also=("stołówki", "jadalnia")),
    _kind("smoking_room", "palarnia", "palarni", "inside", _KP2, _USG, _USP,
          also=("palarnie",)),
    _kind("social_room", "pomieszczenie socjalne", "pomieszczeń socjalnych", "inside",
          _USG, _USP, _PO,
          also=("pomieszczenia socjalne", "pokój socjalny", "pokój nauczycielski")),
    _kind("union_room", "pomieszczenie udostępnione zakładowej organizacji związkowej",
          "pomieszczeń udostępnionych zakładowej organizacji związkowej", "inside", _KP11,
          also=("pokój związku zawodowego", "pomieszczenie związku zawodowego")),
    # art. 108a ust. 3 p.o.: rooms only a school or a placówka has.
    _kind("classroom", "sala zajęć dydaktycznych, wychowawczych lub opiekuńczych",
          "sal zajęć dydaktycznych, wychowawczych i opiekuńczych", "inside", _PO_ROOM,
          also=("sala lekcyjna", "sala zajęć", "świetlica", "sala gimnastyczna")),
    _kind("counselling_room", "pomieszczenie pomocy psychologiczno-pedagogicznej",
          "pomieszczeń pomocy psychologiczno-pedagogicznej", "inside", _PO_ROOM,
          also=("gabinet pedagoga", "gabinet psychologa")),
    _kind("health_room", "gabinet profilaktyki zdrowotnej", "gabinetu profilaktyki zdrowotnej",
          "inside", _PO_ROOM, also=("gabinet pielęgniarki szkolnej",)),
    # A care home's (DPS) residents' rooms and medical rooms.
    _kind("resident_room", "pokój mieszkalny", "pokoi mieszkalnych", "inside", _DPS,
          also=("pokoje mieszkalne", "pokój mieszkańca", "pokój mieszkańców", "sypialnia")),
    _kind("medical_room", "gabinet medyczny", "gabinetów medycznych", "inside", _DPS,
          also=("gabinet lekarski", "gabinet zabiegowy", "gabinet pielęgniarski",
                "gabinet doraźnej pomocy medycznej")),
))


def folded(text: str) -> str:
    """Text as names are compared: lower case, no diacritics (ł too), words apart."""
    text = text.casefold().replace("ł", "l")
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in bare).split())


# Kodeks pracy art. 22² §3: video recordings are kept no longer than 3 months from the day of
# recording (art. 9a ust. 3 u.s.g., art. 4b u.s.p. and art. 108a p.o. say the same). That is the
# only statutory cap: art. 22³ §3 applies art. 22² §6–10 (not §3) to e-mail monitoring and art.
# 22³ §4 extends art. 22³ §1–3 to other forms (IT activity), so mailbox and endpoint material,
# like calls, is bounded by the office's own regulation alone. Checked as the calendar counts it
# (policy.periods.never_longer), never as a number of days.
STATUTORY_MAX = {SourceKind.CAMERA.value: Period(3, "months")}


@functools.lru_cache(maxsize=4096)  # pure: asked once per recording by the sweep's check
def capped_end(kind: str, period: Period, day: date, tz: ZoneInfo) -> datetime:
    """When material of ``kind`` recorded on the local ``day`` and kept for ``period`` must be
    gone: the period's end, never past the law's cap from that day. The policy refuses a
    period that can outlive the cap (policy.model); this holds the sweep to it for a period
    that came another way (a source's own, a period the audit log recorded before)."""
    end = period.end(day, tz)
    cap = STATUTORY_MAX.get(kind)
    return min(end, cap.end(day, tz)) if cap else end
