"""What documents print about the office beyond its name: the controller as its regulation
names it, contact details, the DPO, the purposes, the legal basis (the policy's [documents]
table), and which documents an office gets at all — a camera sign only where it monitors
with cameras, phone announcements only where it records calls."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from kustosz.errors import InputError
from kustosz.kinds import SourceKind, kind_of
from kustosz.policy import Policy, load_policy
from kustosz.policy.model import KIND_PL
from kustosz.policy.texts import FACTS, render
from kustosz.words import listing

# A value the office has not set: a dotted line to fill in by hand, as the seeds' own
# models leave blanks (003 zał. 1: "adres: .....").
BLANK = ".........................."


def fact(policy: Policy, key: str) -> str:
    """One [documents] value, or the dotted line. A line does not break after "ul." or "nr"
    (Polish typesetting keeps them with what follows)."""
    value = policy.documents.get(key)
    if not isinstance(value, str) or not value.strip():
        return BLANK
    return value.replace("ul. ", "ul.\u00a0").replace("nr ", "nr\u00a0")


def controller(policy: Policy) -> str:
    """The controller as the office's regulation names it ([documents] controller: a gmina, a
    powiat, the head), else the office itself — one answer for every document that names it
    (the clause, the sign, the art. 15 request, how the head signs)."""
    return str(policy.documents.get("controller") or "").strip() or policy.office_name


def controller_named(policy: Policy) -> str:
    """The controller as a clause, a sign or a request form names it: with who represents it
    where the regulation says so ("Powiat …, reprezentowany przez Starostę …"; 001 zał. 1 pkt 1:
    "Gmina Miejska …, reprezentowana przez Prezydenta …")."""
    represented = str(policy.documents.get("representation") or "").strip()
    return f"{controller(policy)}, {represented}" if represented else controller(policy)


def supervisor(policy: Policy) -> str | None:
    """Who supervises the use of the recordings, as the regulation names the post (001 §4:
    "Sekretarz Miasta"; 002 zał. 5 §1 ust. 4: the IOD), or None where it names no one."""
    if policy.access.supervisor_is_dpo:
        return "Inspektor Ochrony Danych"
    return policy.access.supervisor or None


def signs_as(policy: Policy, signer: str) -> str:
    """The capacity under a signature of the office's ``signer`` (a position's title): the
    controller itself where the clause names the head (MOPS's Dyrektor), else acting for it —
    the commune or the office the clause names (a Gmina Miejska, a Gmina; 001 zał. 1 pkt 1,
    003 §1 ust. 3; issue 49 item 12). One rule for the authorisation and the art. 15 answer."""
    named = controller(policy)  # the office itself where its regulation names none
    if not signer or signer.startswith(named) or named.startswith(signer):
        return "administrator danych"
    return "w imieniu administratora danych"


@dataclass(frozen=True)
class Gap:
    """A text of the office's a document prints as a dotted line, the file not giving it:
    where to write it (`[table] key`) and what it is, for the note on the document and the
    warning of `kustosz policy check` (documents.gaps)."""

    table: str  # "documents.announcement", "calls", "documents"
    key: str
    what_pl: str
    what_en: str

    @property
    def note(self) -> str:
        return f"uzupełnij [{self.table}] {self.key}"

    @property
    def where(self) -> str:
        return f"{self.table}.{self.key}"


def purposes(policy: Policy) -> list[str]:
    return [p for p in policy.documents.get("purposes", []) if p.strip()]


def camera_purposes(policy: Policy) -> list[str]:
    """The purposes a camera document prints, in the genitive: those the office's policy puts
    in force for its cameras ([video] purposes, as the register lists them, issue 66 item 1)
    where it names them, else the [documents] list."""
    video = policy.video
    if video.stated and video.purposes:
        return [p.genitive for p in video.in_force()]
    return purposes(policy)


def aims(policy: Policy, kind: str | None = None) -> str:
    """The purposes after "w celu": for camera material the cameras' own (camera_purposes),
    else the [documents] list, else the regulation's own phrase (`aims`), else the dotted
    line."""
    listed = camera_purposes(policy) if kind == SourceKind.CAMERA else purposes(policy)
    return listing(listed) or str(policy.documents.get("aims") or "").strip() or BLANK


def exclusions(policy: Policy) -> str:
    """The sentence naming the places the office's regulation excludes from monitoring, in the
    Polish forms its file gives ([video] excluded_zones, a kind's plural_genitive): "Monitoring
    nie obejmuje: pokoi mieszkalnych oraz pomieszczeń sanitarnych."; "" when it excludes none."""
    words = policy.video.excluded_words() if records(policy, SourceKind.CAMERA) else ""
    return f"Monitoring nie obejmuje: {words}." if words else ""


# Where the purposes go when a document prints them dotted.
AIMS_GAP = Gap("documents", "purposes", "cele przetwarzania danych (lista [documents] purposes "
               "albo jedno zdanie [documents] aims)",
               "the purposes (a list, [documents] purposes, or one phrase, [documents] aims)")


def text(policy: Policy, table: str, key: str) -> Any:
    """One value of the office's own wording (policy.texts: [documents.<table>]), or None."""
    value = policy.documents.get(table, {})
    return value.get(key) if isinstance(value, dict) else None


def fill(policy: Policy, template: str, **extra: str) -> str:
    """An office text with its placeholders filled: the [documents] facts (dotted where
    unset), the office's names, its aims, and what the caller adds (a clause's period). Only
    bare names are filled (policy.texts.render): a text the policy check would refuse is
    refused here too, never expanded."""
    values = {k: fact(policy, k) for k in FACTS}
    values.update(policy.names.as_dict(), aims=aims(policy))
    values.update(extra)
    return render(template, values)


def annex(policy: Policy, name: str) -> str | None:
    """The corner note of document ``name`` where the office's own model of it is cited
    ([documents.annexes]); None elsewhere."""
    note = text(policy, "annexes", name)
    return fill(policy, note) if note else None


@cache
def _preset_office_name(preset: str) -> str | None:
    return load_policy(preset).office_name


def own_texts(policy: Policy) -> bool:
    """Whether the preset's own wording (its seed's clause, sign, announcement) fits this
    office: not when the office took a preset and gave its own name (its documents then get
    the general wording filled from its own [documents] values)."""
    if not policy.preset:
        return False
    return _preset_office_name(policy.preset) == policy.office_name


def records(policy: Policy, kind: str) -> bool:
    """Whether the office keeps material of this kind (its policy sets a period for it)."""
    return policy.retention.get(kind) is not None


def refuse_unless(policy: Policy, kind: str, document: str, document_pl: str) -> None:
    """A clear refusal of a document about material the office does not keep; ``document_pl``
    says in Polish what follows ("tabliczki … się nie drukuje")."""
    if records(policy, kind):
        return

    en, pl = kind_of(kind).absent_en, kind_of(kind).absent_pl
    kept = [k for k, v in policy.retention.items() if v]
    raise InputError(
        f"{policy.office_name} {en} (its policy sets no retention.{kind}): there is no "
        f"{document} to print; it keeps {', '.join(kept) or 'no'} material",
        pl=f"{policy.office_name} {pl} (zasady nie określają okresu przechowywania, "
           f"retention.{kind}) — {document_pl}. Zasady obejmują: "
           f"{', '.join(KIND_PL[k] for k in kept) or 'nic'}.")


def contact(policy: Policy) -> dict[str, Any]:
    """The [documents] values for a template, blanks as dotted lines."""
    out: dict[str, Any] = {k: policy.documents.get(k) for k in FACTS}
    out["purposes"] = purposes(policy)
    return out
