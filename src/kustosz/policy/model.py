"""The effective policy of an office: a preset from `presets/` plus the office's overrides."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kustosz.errors import ConfigError
from kustosz.kinds import KINDS, SourceKind
from kustosz.policy import positions
from kustosz.policy.access_rules import AccessRules, access_rules
from kustosz.policy.accessibility import check as check_accessibility
from kustosz.policy.calls import CallScope, call_scope
from kustosz.policy.periods import Period, overrun
from kustosz.policy.schema import named_key, shape_problems
from kustosz.policy.texts import checks as checks_of_texts
from kustosz.policy.texts import locality
from kustosz.policy.video import VideoRules, video_rules
from kustosz.policy.video_law import STATUTORY_MAX
from kustosz.words import period_pl

# The policy's [retention] keys and their Polish names (kustosz.kinds), as plain strings.
SOURCE_KINDS = tuple(k.retention_key for k in KINDS.values())
KIND_PL = {k.retention_key: k.label_pl for k in KINDS.values()}

# Polish needs an office's name and its head's title in other cases than the nominative
# ("odbiór od Urzędu Miasta …", "w Urzędzie Miejskim w Przykładowie", "z powodu nieobecności Wójta
# Gminy …", "wyznaczona przez Burmistrza …"). A preset states them; each form belongs to the
# value it declines and is dropped when an office overrides that value without its own form.
_FORMS = {"name": ("name_genitive", "name_locative"),
          "approver_title": ("approver_title_genitive", "approver_title_accusative"),
          "deputy_title": ("deputy_title_genitive", "deputy_title_accusative")}
DEFAULT_APPROVER = ("Kierownik jednostki", "Kierownika jednostki", "Kierownika jednostki")
DEFAULT_DEPUTY = ("Zastępca kierownika jednostki", "Zastępcy kierownika jednostki",
                  "Zastępcę kierownika jednostki")
_CONSONANTS = set("bcćdfghjklłmnńprsśtwzźżBCĆDFGHJKLŁMNŃPRSŚTWZŹŻ")


def in_(locative: str) -> str:
    """The preposition "w" with a locative, "we" before w/f and a consonant ("we Wrocławiu")."""
    head = locative[:2]
    if len(head) == 2 and head[0] in "wWfF" and head[1] in _CONSONANTS:
        return f"we {locative}"
    return f"w {locative}"


@dataclass(frozen=True)
class Names:
    """The office and its heads as a sentence needs them. Where a policy gives no declined
    form the sentence names them in a construction that keeps the nominative correct
    ("w jednostce: Szkoła Podstawowa nr 1", "kierownika jednostki (Dyrektor Szkoły)") rather
    than putting a nominative where Polish wants another case."""

    office: str        # mianownik: Urząd Miasta Przykładowo
    office_gen: str    # dopełniacz: (od, do, z, systemu monitoringu) Urzędu Miasta Przykładowo
    office_in: str     # miejscownik with its preposition: w Urzędzie Miasta Przykładowo
    approver: str      # Prezydent Miasta Przykładowo
    approver_gen: str  # (decyzja, nieobecność) Prezydenta Miasta Przykładowo
    approver_acc: str  # (przez) Prezydenta Miasta Przykładowo
    deputy: str        # Zastępca Prezydenta
    deputy_gen: str    # Zastępcy Prezydenta
    deputy_acc: str    # (przez) Zastępcę Prezydenta

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def _names(office: dict[str, Any]) -> Names:
    name = office["name"]
    gen = office.get("name_genitive") or f"jednostki: {name}"
    loc = office.get("name_locative")
    office_in = in_(loc) if loc else f"w jednostce: {name}"

    def title(key: str, default: tuple[str, str, str], kind: tuple[str, str]
              ) -> tuple[str, str, str]:
        nom = office.get(key)
        if not nom:
            return default
        g, a = office.get(f"{key}_genitive"), office.get(f"{key}_accusative")
        return (nom, g or f"{kind[0]} ({nom})", a or f"{kind[1]} ({nom})")

    approver = title("approver_title", DEFAULT_APPROVER,
                     ("kierownika jednostki", "kierownika jednostki"))
    deputy = title("deputy_title", DEFAULT_DEPUTY,
                   ("zastępcy kierownika jednostki", "zastępcę kierownika jednostki"))
    return Names(name, gen, office_in, *approver, *deputy)


@dataclass(frozen=True)
class Duties:
    """Separation of duties (issue 11). Each is on unless the office turns it off in
    `[policy.duties]`: one person must not be the only safeguard against himself.

    * no_self_authorisation — nobody issues an individual authorisation to himself;
    * decision_by_own_account — the approver records his decision from his own account; anyone
      else may enter it only as a decision taken on paper, naming the document;
    * copier_not_destroyer — whoever made a copy does not give the confirmation that destroys
      it (the second member of the commission).
    """

    no_self_authorisation: bool = True
    decision_by_own_account: bool = True
    copier_not_destroyer: bool = True

    def as_dict(self) -> dict[str, bool]:
        return {"no_self_authorisation": self.no_self_authorisation,
                "decision_by_own_account": self.decision_by_own_account,
                "copier_not_destroyer": self.copier_not_destroyer}


# When a request's own automatic hold ends (issue 13 item 1): when its copy is made, when a copy
# is handed over on it, or with the copy it answers (destroyed by the commission).
HOLD_ENDS = ("copy_made", "handover", "copy_destroyed")
# A data subject's request (art. 15 RODO) in every office (issue 30 items 2-3): the hold keeps
# the originals until the copy is handed over — so a masked copy sent back at review is made
# again from them (custody.subject_review), where "copy_made" lost them to the sweep while the
# copy awaited review — and not a day longer: the regulations' extensions of retention (004 §7.3
# "na podstawie wniosków osób fizycznych", for proceedings) serve a request to secure material,
# not access, and keeping the original for the copy's 4 months would breach art. 5 ust. 1
# lit. c and e RODO. Not an office's setting: no regulation governs it.
SUBJECT_HOLD_ENDS = "handover"
DECISION_OVERDUE_AFTER = Period(14, "days")  # when a preset does not say
# An approved request waiting this long for its copy is overdue (issue 30 item 4). The seeds set
# no time for it; 14 days is the span they give a requester, as for the decision. Like it, an
# office's reminder, not a period of law: counted in plain days (art. 111 k.c.), not moved off
# a weekend by art. 115 k.c. (policy.holidays), so it never shows later than a person expects.
COPY_OVERDUE_AFTER = Period(14, "days")
# A copy's lifetime where the regulation sets none (issue 66 item 5): the law's own for images,
# "nieprzekraczający 3 miesięcy od dnia nagrania" (art. 22² § 3 k.p.; seed 002 §7 ust. 4), which
# never keeps a camera's copy past the Code's cap; counting from the copy's day (seed 003's
# § 5 ust. 7) is an office's own choice. No statute sets one for calls: 3 months is shorter
# than any seed's (004 § 7 ust. 9: 4 months), as art. 5 ust. 1 lit. e RODO favours.
COPY_LIFETIME = Period(3, "months")
COPY_COUNTED_FROM: Literal["recording_date", "copy_date"] = "recording_date"
COUNTED_FROM: tuple[Literal["recording_date", "copy_date"], ...] = ("recording_date",
                                                                    "copy_date")


@dataclass(frozen=True)
class CustodyRules:
    """Request holds and copy ceilings (issue 13 items 1-2); a preset cites a clause for each.

    * person_hold_ends — an interested person's request: "copy_made" where the copy is the
      answer and the original keeps its own period [002 zał.5 §6.3, §7.1]; "copy_destroyed"
      where such a request extends the original's retention [004 §7.3];
    * authority_hold_ends — an authority's request, likewise ("handover": until the copy is
      handed over on it); the requests of the office's own cases end with their copy;
    * a data subject's request is no request to secure material and no office sets its end:
      its hold lasts until the answer is given — the copy handed over (art. 15 ust. 3 RODO) —
      and no longer (issue 30 items 2-3, `SUBJECT_HOLD_ENDS`);
    * decision_overdue_after — a request waiting this long for the decision is shown as overdue
      (its material stays held until it is decided);
    * copy_overdue_after — an approved request waiting this long for its copy is shown as
      overdue (its material stays held until it is copied; custody.requests.overdue_since);
    * copy_ceiling — the clause that makes the copy's lifetime a ceiling no request extends
      [002 zał.5 §7.4]; None: a new request extends it [004 §7.9].
    """

    person_hold_ends: str = "copy_destroyed"
    authority_hold_ends: str = "copy_destroyed"
    decision_overdue_after: Period = DECISION_OVERDUE_AFTER
    copy_ceiling: str | None = None
    copy_overdue_after: Period = COPY_OVERDUE_AFTER

    def hold_ends(self, kind: str) -> str:
        """The rule for a request of ``kind`` (custody.requests.KINDS)."""
        if kind == "data_subject":
            return SUBJECT_HOLD_ENDS
        if kind == "interested":
            return self.person_hold_ends
        if kind == "authority":
            return self.authority_hold_ends
        return "copy_destroyed"

    def requests_dict(self) -> dict[str, Any]:
        """The [requests] keys, as the preset files write them."""
        return {"person_hold_ends": self.person_hold_ends,
                "authority_hold_ends": self.authority_hold_ends,
                "decision_overdue_after": str(self.decision_overdue_after),
                "copy_overdue_after": str(self.copy_overdue_after)}


def _custody_rules(data: dict[str, Any]) -> CustodyRules:
    requests, copies = data.get("requests", {}), data.get("copies", {})
    ends = {key: (_choice(data, "requests", key, HOLD_ENDS) if key in requests
                  else "copy_destroyed") for key in ("person_hold_ends", "authority_hold_ends")}
    overdue = (_period(data, "requests", "decision_overdue_after")
               if "decision_overdue_after" in requests else DECISION_OVERDUE_AFTER)
    copy_overdue = (_period(data, "requests", "copy_overdue_after")
                    if "copy_overdue_after" in requests else COPY_OVERDUE_AFTER)
    ceiling = copies.get("ceiling")
    if ceiling is not None and not ceiling.strip():
        raise ConfigError("policy copies.ceiling is empty; leave it out when a new request "
                          "may extend a copy",
                          pl="Zasada copies.ceiling jest pusta; pomiń ją, jeśli nowy wniosek "
                             "może przedłużyć przechowywanie kopii.")
    return CustodyRules(person_hold_ends=ends["person_hold_ends"],
                        authority_hold_ends=ends["authority_hold_ends"],
                        decision_overdue_after=overdue,
                        copy_ceiling=ceiling.strip() if ceiling else None,
                        copy_overdue_after=copy_overdue)


@dataclass(frozen=True)
class Policy:
    preset: str | None
    office_name: str
    approver_title: str
    deputy_title: str
    timezone: ZoneInfo
    retention: dict[str, Period | None]
    # None where the office's regulation sets no deadline for a request (000, 001, 003): then
    # no request is "late" and nothing prints a lateness.
    request_deadline: Period | None
    after_deadline: Literal["reject", "warn"] | None
    copy_lifetime: Period
    copy_counted_from: Literal["recording_date", "copy_date"]
    call_scope: CallScope
    approvers: tuple[str, ...]
    approval: positions.Approval = "any"
    posts: dict[str, positions.Position] = field(default_factory=dict, compare=False)
    duties: Duties = Duties()
    custody: CustodyRules = CustodyRules()
    video: VideoRules = field(default_factory=VideoRules)
    access: AccessRules = field(default_factory=AccessRules)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    forms: Names | None = field(default=None, compare=False)

    @property
    def names(self) -> Names:
        """The office's name and its heads' titles in the cases sentences need."""
        if self.forms is not None:
            return self.forms
        return _names({"name": self.office_name, "approver_title": self.approver_title,
                       "deputy_title": self.deputy_title})

    def position(self, key: str) -> positions.Position:
        """The position ``key`` (a decision's capacity; ``posts``) with its titles in the cases;
        a key the policy no longer declares is printed as recorded, never lost."""
        return self.posts.get(key) or positions.Position(
            key, key, f"osoby na stanowisku: {key}", f"osobę na stanowisku: {key}")

    def doc_names(self) -> dict[str, str | None]:
        """The names for a document's data: "office" and "approver" in the nominative (as
        headings and footers print them) and each declined form under its own key; and the
        system the documents speak of ("w systemie …"): an office that records calls only
        calls it by its regulation's name [004 §9 ust. 1, zał. 1]."""
        calls_only = [k for k, v in self.retention.items() if v] == [SourceKind.PHONE]
        system = ("rejestracji rozmów telefonicznych" if calls_only else "monitoringu")
        return {**self.names.as_dict(), "system_loc": f"systemie {system}",
                "system_gen": f"systemu {system}",
                "office_address": self.documents.get("address"),
                "locality": locality(self.documents),
                "representation": self.documents.get("representation") or None}

    @property
    def documents(self) -> dict[str, Any]:
        """The [documents] table: what documents print about the office (schema.Documents)."""
        return dict(self.raw.get("documents", {}))

    @property
    def accessibility(self) -> dict[str, Any]:
        """The [accessibility] table: what the accessibility statement says of the office."""
        return dict(self.raw.get("accessibility", {}))

    def retention_for(self, kind: str) -> Period:
        period = self.retention.get(kind)
        if period is None:
            # The exact lines: the admin copies them (an office's own period, not ours).
            line = f'{kind} = "3 months"'
            raise ConfigError(
                f"the policy sets no retention period for {kind} material "
                f"(retention.{kind}); this office's regulation does not cover it — "
                "before adding such a source, add to kustosz.toml in the data folder "
                f"the lines  [policy.retention]  {line}  (the period the office decides; "
                "if the file already has [policy.retention], only the second line, under it), "
                "then run kustosz policy show to check",
                pl=f"Zasady urzędu nie określają okresu przechowywania dla materiału typu "
                   f"„{KIND_PL.get(kind, kind)}” (retention.{kind}): regulamin go nie obejmuje. "
                   "Przed dodaniem takiego źródła dopisz do pliku kustosz.toml w folderze "
                   f"danych wiersze  [policy.retention]  {line}  (okres, o którym "
                   "zdecyduje urząd; jeśli plik ma już sekcję [policy.retention], tylko drugi "
                   "wiersz, pod nią), a potem sprawdź je poleceniem kustosz policy show.")
        return period

    def digest(self) -> str:
        """A stable fingerprint of the effective values, to notice policy changes."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "office": {"name": self.office_name, "approver_title": self.approver_title,
                       "deputy_title": self.deputy_title, "timezone": self.timezone.key,
                       "forms": self.names.as_dict()},
            "retention": {k: (str(v) if v else None) for k, v in self.retention.items()},
            "requests": {"deadline": str(self.request_deadline) if self.request_deadline
                         else None,
                         "after_deadline": self.after_deadline, **self.custody.requests_dict()},
            "copies": {"lifetime": str(self.copy_lifetime),
                       "counted_from": self.copy_counted_from,
                       "ceiling": self.custody.copy_ceiling},
            "calls": {"scope": self.call_scope.value()},
            "disclosure": {"approvers": list(self.approvers), "approval": self.approval},
            "positions": {k: p.__dict__ for k, p in self.posts.items() if k not in ("head",
                                                                                   "deputy")},
            "duties": self.duties.as_dict(),
            "video": self.video.as_dict(),
            "access": self.access.as_dict(),
        }


def preset_names() -> list[str]:
    folder = resources.files("kustosz.policy") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_preset(name: str) -> dict[str, Any]:
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}",
                          pl=f"Nieznany zestaw zasad „{name}”; dostępne: "
                             f"{', '.join(preset_names())}.")
    text = (resources.files("kustosz.policy") / "presets" / f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


Choice = TypeVar("Choice", bound=str)


def _choice(data: dict[str, Any], section: str, key: str, allowed: tuple[Choice, ...],
            default: Choice | None = None) -> Choice:
    value = data.get(section, {}).get(key)
    if value is None and default is not None:
        return default
    for choice in allowed:
        if value == choice:
            return choice
    if value is None:
        raise ConfigError(f"policy {section}.{key} is missing: one of {', '.join(allowed)}",
                          pl=f"Brak zasady {section}.{key}: podaj jedną z wartości: "
                             f"{', '.join(allowed)}.")
    raise ConfigError(f"policy {section}.{key} must be one of {', '.join(allowed)}, "
                      f"got {value!r}",
                      pl=f"Zasada {section}.{key} musi mieć jedną z wartości: "
                         f"{', '.join(allowed)}; podano „{value}”.")


def _period(data: dict[str, Any], section: str, key: str) -> Period:
    value = data.get(section, {}).get(key)
    if value is None:
        raise ConfigError(f"policy {section}.{key} is missing",
                          pl=f"Brak zasady {section}.{key}.")
    try:
        return Period.parse(value)
    except ConfigError as exc:
        raise ConfigError(f"policy {section}.{key}: {exc}",
                          pl=f"Zasada {section}.{key}: {exc.pl or exc}") from None


def _copy_lifetime(data: dict[str, Any]) -> Period:
    if data.get("copies", {}).get("lifetime") is None:
        return COPY_LIFETIME
    return _period(data, "copies", "lifetime")


def _copy_counted_from(data: dict[str, Any]) -> Literal["recording_date", "copy_date"]:
    return _choice(data, "copies", "counted_from", COUNTED_FROM, COPY_COUNTED_FROM)


def _deadline(data: dict[str, Any]
              ) -> tuple[Period | None, Literal["reject", "warn"] | None]:
    """requests.deadline and what happens after it; both or neither (a regulation that sets no
    deadline: 000, 001, 003)."""
    requests = data.get("requests", {})
    if "deadline" not in requests:
        if "after_deadline" in requests:
            raise ConfigError("policy requests.after_deadline needs requests.deadline",
                              pl="Zasada requests.after_deadline wymaga określenia terminu "
                                 "(requests.deadline).")
        return None, None
    deadline = _period(data, "requests", "deadline")
    after: Literal["reject", "warn"] = _choice(data, "requests", "after_deadline",
                                               ("reject", "warn"))
    return deadline, after


def _office(data: dict[str, Any]) -> ZoneInfo:
    office = data.get("office", {})
    if not office.get("name"):
        raise ConfigError("policy office.name is missing",
                          pl="Brak nazwy urzędu w zasadach (office.name).")
    for forms in _FORMS.values():
        for key in forms:
            if key in office and not office[key].strip():
                raise ConfigError(f"policy office.{key} is empty; leave it out instead",
                                  pl=f"Zasada office.{key} jest pusta; pomiń ją zamiast tego.")
    try:
        return ZoneInfo(office.get("timezone", "Europe/Warsaw"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"policy office.timezone {office.get('timezone')!r} is unknown",
                          pl=f"Nieznana strefa czasowa urzędu „{office.get('timezone')}” "
                             "(office.timezone).") from None


def _retention(data: dict[str, Any], kind: str) -> Period | None:
    """The period of ``kind``, refused where it can outlive the law's cap from any day of
    recording, whatever the file says: the cap is a calendar rule (k.c. art. 112), so "93 days"
    passes no "3 months" (from 28 November 2026 it keeps the recording until 2 March, the
    months end with 28 February)."""
    if kind not in data.get("retention", {}):
        return None
    period = _period(data, "retention", kind)
    cap = STATUTORY_MAX.get(kind)
    over = overrun(period, cap) if cap else None
    if cap and over:
        start, kept, last = (d.strftime("%d.%m.%Y") for d in over)
        raise ConfigError(
            f"policy retention.{kind} = {period} exceeds the statutory maximum of {cap} by the "
            f"calendar: a recording of {start} would be kept until {kept}, the {cap} end with "
            f"{last} (Kodeks pracy art. 22² §3)",
            pl=f"Okres retention.{kind} = {period_pl(period)} przekracza ustawowe maksimum "
               f"{period_pl(cap)} liczone według kalendarza: nagranie z {start} byłoby "
               f"przechowywane do {kept}, a {period_pl(cap)} od dnia nagrania kończą się z dniem "
               f"{last} (Kodeks pracy art. 22² §3).")
    return period


def _purposes(data: dict[str, Any]) -> None:
    purposes = data.get("documents", {}).get("purposes", [])
    if any(not isinstance(p, str) or not p.strip() for p in purposes):
        raise ConfigError("policy documents.purposes must list non-empty texts",
                          pl="Zasada documents.purposes musi wymieniać niepuste teksty.")


def _rules(data: dict[str, Any]) -> list[Callable[[], object]]:
    """The policy's rules, each apart, so one file's every fault is told at once."""
    return [partial(_office, data), *(partial(_retention, data, k) for k in SOURCE_KINDS),
            partial(_purposes, data),
            partial(check_accessibility, data.get("accessibility", {})),
            *checks_of_texts(data.get("documents", {})), partial(_deadline, data),
            partial(positions.check_declared, data), partial(positions.approvers, data),
            partial(positions.approval, data), partial(_copy_lifetime, data),
            partial(_copy_counted_from, data),
            partial(call_scope, data), partial(_custody_rules, data),
            partial(video_rules, data), partial(access_rules, data)]


def check_policy(data: dict[str, Any]) -> list[ConfigError]:
    """Every fault of a complete policy (a preset with its overrides): the schema's
    (policy.schema), then the rules of the tables the schema found sound."""
    shape = shape_problems(data)
    problems: list[ConfigError] = list(shape)
    sound = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for p in shape:  # the rules read what is left, so a typo hides no other fault
        table = sound.get(str(p.loc[0]))
        own = table.get(str(p.loc[1])) if isinstance(table, dict) and len(p.loc) > 3 else None
        if isinstance(table, dict) and isinstance(own, dict) and p.loc[0] == "video":
            # one [video.<table>.<code>] only: the others' codes stay known
            table[str(p.loc[1])] = {k: v for k, v in own.items() if k != str(p.loc[2])}
        elif len(p.loc) > 1 and isinstance(table, dict):
            table.pop(str(p.loc[1]), None)
        else:
            sound.pop(str(p.loc[0]), None)
    # a key the schema refused is told once: the rules find it gone and would say it is missing
    told = {".".join(map(str, p.loc[:2])) for p in shape}
    for rule in _rules(sound):
        try:
            rule()
        except ConfigError as exc:
            if named_key(exc) not in told:
                problems.append(exc)
    return problems


def build_policy(data: dict[str, Any], preset: str | None = None) -> Policy:
    problems = check_policy(data)
    if problems:
        raise ConfigError("\n".join(map(str, problems)),
                          pl="\n".join(p.pl or str(p) for p in problems))
    office = data.get("office", {})
    names = _names(office)
    return Policy(
        preset=preset,
        office_name=office["name"],
        approver_title=office.get("approver_title", DEFAULT_APPROVER[0]),
        deputy_title=office.get("deputy_title", DEFAULT_DEPUTY[0]),
        timezone=_office(data),
        retention={kind: _retention(data, kind) for kind in SOURCE_KINDS},
        request_deadline=_deadline(data)[0],
        after_deadline=_deadline(data)[1],
        copy_lifetime=_copy_lifetime(data),
        copy_counted_from=_copy_counted_from(data),
        call_scope=call_scope(data),
        approvers=positions.approvers(data), approval=positions.approval(data),
        posts=positions.positions(data, (names.approver, names.approver_gen, names.approver_acc),
                                    (names.deputy, names.deputy_gen, names.deputy_acc)),
        duties=Duties(**data.get("duties", {})),
        custody=_custody_rules(data),
        video=video_rules(data),
        access=access_rules(data),
        raw=data,
        forms=names,
    )


def load_policy(preset: str | None, overrides: dict[str, Any] | None = None) -> Policy:
    """The preset's values with the office's overrides on top, validated."""
    base = _read_preset(preset) if preset else {}
    return build_policy(_merge(_without_stale_forms(base, overrides or {}), overrides or {}),
                        preset)


def _without_stale_forms(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """The preset without the declined forms of a name or title the office overrides: the
    preset's "Urzędu Miasta Przykładowo" must not follow an office's own name; nor its
    [documents] (controller, addresses, DPO) another office's documents."""
    b, o = base.get("office"), over.get("office")
    if not isinstance(b, dict) or not isinstance(o, dict):
        return base
    office = dict(b)
    for key, forms in _FORMS.items():
        if key in o and o[key] != b.get(key):
            for form in forms:
                office.pop(form, None)
    out = {**base, "office": office}
    if "name" in o and o["name"] != b.get("name"):
        out.pop("documents", None)
        out.pop("accessibility", None)
    return out

