"""The one schema of an office's regulation as data (issue 51 item 1): the preset files in
`presets/`, a preset file an office writes (`kustosz policy check`, `kustosz init
--preset-file`) and the `[policy]` overrides of kustosz.toml (kustosz.config_schema takes this
model as its [policy] table, so `kustosz config schema` and `kustosz policy schema` print it).

Pydantic models with unknown keys refused and TOML's types taken strictly, like the
configuration's. Every key is optional here: an override names only what it changes, and
what a complete policy must have (office.name, copies.lifetime, …) and what ties keys
together (a deadline and what follows it; the law's caps) are the rules of policy.model,
checked on the preset with its overrides. `SHAPE_ERRORS` words pydantic's errors in the
policy's own sentences.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kustosz.errors import ConfigError
from kustosz.policy.calls import CALL_KINDS, NAMED
from kustosz.policy.video_law import LAWS

PERIOD = "A period: a whole number and a unit, e.g. \"30 days\", \"3 months\"."


class Section(BaseModel):
    """One table of a preset: a key not declared here is an error, never dropped."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _text(description: str) -> Any:
    return Field(None, description=description)


class Office(Section):
    """The office and its heads, with the declined forms the documents' sentences need."""

    name: str | None = _text("The office's name (mianownik): Urząd Miasta Przykładowo.")
    name_genitive: str | None = _text("Dopełniacz: (od) Urzędu Miasta Przykładowo.")
    name_locative: str | None = _text("Miejscownik, without \"w\": Urzędzie Miasta Przykładowo.")
    approver_title: str | None = _text("The head's title: Burmistrz Miasta Przykładowo.")
    approver_title_genitive: str | None = _text("Dopełniacz: (decyzja) Burmistrza ….")
    approver_title_accusative: str | None = _text("Biernik: (przez) Burmistrza ….")
    deputy_title: str | None = _text("The deputy's title: Zastępca Burmistrza.")
    deputy_title_genitive: str | None = _text("Dopełniacz: (nieobecność) Zastępcy Burmistrza.")
    deputy_title_accusative: str | None = _text("Biernik: (przez) Zastępcę Burmistrza.")
    timezone: str | None = _text("The office's time zone (default Europe/Warsaw).")


class RetentionPeriods(Section):
    """How long each kind of material is kept; a kind left out is not regulated (its sources
    are refused). Video: at most 3 months (Kodeks pracy art. 22² §3)."""

    camera: str | None = _text(PERIOD + " At most 3 months (art. 22² §3 k.p.).")
    phone: str | None = _text(PERIOD)
    mailbox: str | None = _text(PERIOD)
    endpoint: str | None = _text(PERIOD)


HoldEnds = Literal["copy_made", "handover", "copy_destroyed"]


class Requests(Section):
    deadline: str | None = _text(PERIOD + " Left out: the regulation sets no deadline.")
    after_deadline: Literal["reject", "warn"] | None = _text("A late request: refused or warned.")
    person_hold_ends: HoldEnds | None = _text("When an interested person's hold ends.")
    authority_hold_ends: HoldEnds | None = _text("When an authority's request's hold ends.")
    decision_overdue_after: str | None = _text(PERIOD + " A decision overdue after it.")
    copy_overdue_after: str | None = _text(PERIOD + " An approved copy overdue after it.")
    securing_for_interested: bool | None = _text("Interested persons' requests secure material.")
    contents_clause: str | None = _text("The clause listing what a request contains.")


class Copies(Section):
    lifetime: str | None = _text(PERIOD + " How long a copy is kept.")
    counted_from: Literal["recording_date", "copy_date"] | None = _text(
        "A copy's lifetime counted from the day of recording or of the copy.")
    ceiling: str | None = _text("The clause making the lifetime a ceiling no request extends.")


# Which calls are recorded (policy.calls): a name, or a list of kinds. Typed loosely so that a
# wrong value is told in the policy's own words (policy.calls.CallScope.of), not as a union's
# two failures; editors get the values from the JSON Schema below.
_SCOPE_SCHEMA: dict[str, Any] = {"anyOf": [
    {"enum": list(NAMED)},
    {"type": "array", "items": {"enum": list(CALL_KINDS)}, "minItems": 1, "uniqueItems": True},
    {"type": "null"}]}
_ANNOUNCED = ("How callers are told the call is recorded: \"automatic\" (played by the "
              "exchange) or \"employee\" (read by the employee).")


class Calls(Section):
    scope: str | list[str] | None = Field(
        None, description="Which calls are recorded: \"all\", or any of external_incoming, "
        "external_outgoing, internal (one name or a list).", json_schema_extra=_SCOPE_SCHEMA)
    announcement_clause: str | None = _text("Where the regulation says callers are told.")
    incoming_announcement: Literal["automatic", "employee"] | None = _text(
        _ANNOUNCED + " Before an external incoming call.")
    outgoing_announcement: Literal["automatic", "employee"] | None = _text(
        _ANNOUNCED + " Before an external outgoing call.")


# A purpose's legal basis: one act or a list (policy.video); typed loosely like the call scope,
# so that a wrong value is told once, in the policy's words, with what each code cites.
_BASES = list(LAWS)
_BASIS_SCHEMA: dict[str, Any] = {"anyOf": [
    {"enum": _BASES},
    {"type": "array", "items": {"enum": _BASES}, "minItems": 1, "uniqueItems": True},
    {"type": "null"}]}


class OwnPurpose(Section):
    """A purpose of the office's own cameras, or a built-in one reworded for its documents."""

    text: str | None = _text("Mianownik, as the register lists it: \"ochrona mienia Gminy\".")
    genitive: str | None = _text("After \"w celu\", as the sign and clause print it: "
                                 "\"ochrony mienia Gminy\".")
    basis: str | list[str] | None = Field(
        None, description="The law the purpose rests on, or a list of them where it rests on "
        "several (a built-in purpose keeps its own).", json_schema_extra=_BASIS_SCHEMA)


class OwnZoneKind(Section):
    """A kind of place of the office's own, beside the built-in ones (policy.video_law)."""

    name: str | None = _text("Mianownik: \"pokój mieszkalny\".")
    plural_genitive: str | None = _text("After \"Monitoring nie obejmuje\": \"pokoi "
                                        "mieszkalnych\".")
    place: Literal["inside", "outside"] | None = _text("Inside or outside the buildings.")
    forbidden: bool | None = _text("The regulation excludes such places from monitoring.")
    also: list[str] | None = _text("Other names a zone of this kind is called by.")


class Video(Section):
    purposes: list[str] | None = _text("Codes of the purposes the office's cameras serve: "
                                       "built-in (policy.video_law) or own_purposes.")
    purposes_clause: str | None = _text("The clause naming the purposes.")
    own_purposes: dict[str, OwnPurpose] | None = _text(
        "The office's own purposes by code, with their legal basis: [video.own_purposes.<code>].")
    zone_kinds: dict[str, OwnZoneKind] | None = _text(
        "The office's own kinds of place by code: [video.zone_kinds.<code>].")
    excluded_zones: list[str] | None = _text(
        "Zone kinds, or \"inside\"/\"outside\" (every place of the group), the regulation "
        "excludes outright.")
    excluded_clause: str | None = _text("The clause excluding them.")


class Position(Section):
    """A position beyond the head and the deputy that may decide a disclosure."""

    title: str | None = _text("The position's title: Sekretarz Miasta Przykładowo.")
    title_genitive: str | None = _text("Dopełniacz: (decyzja) Sekretarza Miasta ….")
    title_accusative: str | None = _text("Biernik: (przez) Sekretarza Miasta ….")


class Disclosure(Section):
    approvers: list[str] | None = _text(
        "Who decides a disclosure: \"head\", \"deputy\" or keys of [positions].")
    approval: Literal["any", "all"] | None = _text(
        "\"any\": one listed position's agreement approves (default); \"all\": every one's.")


class Duties(Section):
    no_self_authorisation: bool | None = None
    decision_by_own_account: bool | None = None
    copier_not_destroyer: bool | None = None


class Access(Section):
    positions: list[str] | None = _text("Only these positions may hold an authorisation.")
    listening_purposes: list[str] | None = _text("The purposes a listening states.")
    listening_basis: str | None = None
    listening_not_for: str | None = None
    listening_protocol: bool | None = None
    supervisor: str | None = None
    supervisor_is_dpo: bool | None = None


class Commission(Section):
    appointed: bool | None = _text("Only appointed members confirm a destruction.")


class Demo(Section):
    default: bool | None = _text("`kustosz demo` starts on this preset by default.")
    gmina_office: str | None = _text("`kustosz demo --gmina` (`make demo`) makes an office of "
                                     "this preset under this short name.")
    gmina_overrides: str | None = _text("What `kustosz demo --gmina` adds to this office's "
                                        "kustosz.toml (the demo only).")


class Clause(Section):
    """The office's own clause per kind of material, point by point (placeholders in braces:
    docs/policies.md, "Office texts")."""

    camera: list[str] | None = None
    phone: list[str] | None = None
    recipients: str | None = None


class Sign(Section):
    full_clause: bool | None = None
    rights: str | None = None


class Announcement(Section):
    incoming: str | None = None
    outgoing: str | None = None


class Declaration(Section):
    purposes: str | None = None


def _annex() -> Any:
    return Field(None, description="The corner note of the office's own model of it.")


class Annexes(Section):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    clause: str | None = _text("The information clause's note: \"Załącznik nr 3 do "
                               "Regulaminu …\" (printed on the clause of every kind).")
    request_video: str | None = Field(None, alias="request-video")
    request_calls: str | None = Field(None, alias="request-calls")
    request_subject: str | None = Field(None, alias="request-subject")
    decision: str | None = None
    authorisation: str | None = None
    handover_protocol: str | None = Field(None, alias="handover-protocol")
    receipt: str | None = None
    listening_protocol: str | None = Field(None, alias="listening-protocol")
    destruction_protocol: str | None = Field(None, alias="destruction-protocol")
    declaration: str | None = None
    register_disclosures: str | None = Field(None, alias="register-disclosures")


class Registers(Section):
    disclosures_title: str | None = None


class Documents(Section):
    """What documents print about the office; a value left out prints as a dotted line."""

    controller: str | None = None
    representation: str | None = _text(
        "Who represents the controller, as the regulation words it after the controller's "
        "name: \"reprezentowany przez Starostę …\" (001 zał. 1 pkt 1).")
    address: str | None = None
    nip: str | None = _text("The controller's NIP as the regulation writes it (10 digits, "
                            "checked by its check digit), printed in the clause's controller "
                            "block: \"822-10-46-016\".")
    regon: str | None = _text("The controller's REGON (9 or 14 digits, checked by its check "
                              "digit), printed beside the NIP.")
    locality: str | None = _text(
        "The place documents are dated at: \"Nowy Targ\" (\"Nowy Targ, dnia …\"); left out: the "
        "town after the postcode of `address`, else a dotted line.")
    phone: str | None = None
    email: str | None = None
    dpo: str | None = None
    dpo_address: str | None = None
    dpo_phone: str | None = None
    dpo_email: str | None = None
    purposes: list[str] | None = None
    basis: str | None = None
    monitored: str | None = None
    published: str | None = None
    public_task: bool | None = None
    aims: str | None = None
    clause: Clause | None = None
    sign: Sign | None = None
    announcement: Announcement | None = None
    declaration: Declaration | None = None
    annexes: Annexes | None = None
    registers: Registers | None = None


class Accessibility(Section):
    """The accessibility statement's facts of the office (policy.accessibility)."""

    contact: str | None = None
    email: str | None = None
    phone: str | None = None
    published: str | None = _text("A date YYYY-MM-DD.")
    updated: str | None = _text("A date YYYY-MM-DD.")
    prepared: str | None = _text("A date YYYY-MM-DD.")
    reviewed: str | None = _text("A date YYYY-MM-DD.")
    self_assessment: bool | None = None
    examiner: str | None = None
    architecture: str | None = None
    address: str | None = None


class PolicyFile(Section):
    """An office's regulation: a preset file, or the [policy] overrides of kustosz.toml."""

    office: Office | None = None
    retention: RetentionPeriods | None = None
    requests: Requests | None = None
    copies: Copies | None = None
    calls: Calls | None = None
    video: Video | None = None
    positions: dict[str, Position] | None = _text(
        "The office's own positions that may decide, by key: [positions.sekretarz].")
    disclosure: Disclosure | None = None
    duties: Duties | None = None
    access: Access | None = None
    commission: Commission | None = None
    demo: Demo | None = None
    documents: Documents | None = None
    accessibility: Accessibility | None = None


def keys(model: type[BaseModel] = PolicyFile, path: tuple[str, ...] = ()
         ) -> list[tuple[str, ...]]:
    """Every key of the schema as a path, its tables' keys included (as a file writes them)."""
    out: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        key = (*path, info.alias or name)
        out.append(key)
        args = getattr(info.annotation, "__args__", ())
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        tables = [a.__args__[1] for a in args if getattr(a, "__origin__", None) is dict]
        if models:
            out += keys(models[0], key)
        elif tables:  # a table of tables by the office's own keys: [positions.<key>]
            out += keys(tables[0], (*key, "*"))
    return out


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# The key a rule's message names: "policy retention.camera = …", "policy key [x] …".
NAMED_KEY = re.compile(r"policy (?:key )?\[?([a-z_]+(?:\.[\w-]+)*)")


def named_key(exc: ConfigError) -> str:
    """The dotted key a policy message names, or ""."""
    found = NAMED_KEY.search(str(exc))
    return found.group(1) if found else ""


class ShapeError(ConfigError):
    """A key not in the schema or of the wrong type, at ``loc`` (its path in the file)."""

    def __init__(self, loc: tuple[int | str, ...], en: str, pl: str) -> None:
        super().__init__(en, pl=pl)
        self.loc = loc


def shape_problems(data: dict[str, Any]) -> list[ShapeError]:
    """Each key of ``data`` not in the schema, or of the wrong type, in the policy's words."""
    try:
        PolicyFile.model_validate(data)
    except ValidationError as exc:
        return [_shape_error(e["type"], tuple(e["loc"]), e.get("input"), e.get("ctx") or {})
                for e in exc.errors(include_url=False)]
    return []


def _shape_error(kind: str, loc: tuple[int | str, ...], given: Any, ctx: dict[str, Any]
                 ) -> ShapeError:
    en, pl = _shape_words(kind, loc, given, ctx)
    return ShapeError(loc, en, pl)


def _shape_words(kind: str, loc: tuple[int | str, ...], given: Any, ctx: dict[str, Any]
                 ) -> tuple[str, str]:
    where = _where(loc)
    if kind == "extra_forbidden" and len(loc) == 1:
        known = ", ".join(PolicyFile.model_fields)
        return (f"unknown policy section [{where}]; known: {known}",
                f"Nieznana sekcja zasad [{where}]; dostępne: {known}.")
    if kind == "extra_forbidden":
        return f"unknown policy key {where}", f"Nieznany klucz zasad {where}."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (f"policy [{where}] must be a table",
                f"Sekcja zasad [{where}] musi być tabelą.")
    if kind == "literal_error":
        allowed = ", ".join(v.strip("'") for v in str(ctx.get("expected", "")).replace(
            " or ", ", ").split(", "))
        return (f"policy {where} must be one of {allowed}, got {given!r}",
                f"Zasada {where} musi mieć jedną z wartości: {allowed}; podano „{given}”.")
    return (f"policy key {where} has the wrong type: {given!r}",
            f"Klucz zasad {where} ma zły typ: „{given}”.")
