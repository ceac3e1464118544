"""What documents print about the office beyond its name: the controller as its regulation
names it, contact details, the DPO, the purposes, the legal basis (the policy's [documents]
table), and which documents an office gets at all — a camera sign only where it monitors
with cameras, phone announcements only where it records calls."""

from __future__ import annotations

from functools import cache
from typing import Any

from kustosz.errors import InputError
from kustosz.kinds import kind_of
from kustosz.policy import Policy, load_policy
from kustosz.policy.model import KIND_PL
from kustosz.policy.texts import FACTS
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


def signs_as(policy: Policy, signer: str) -> str:
    """The capacity under a signature of the office's ``signer`` (a position's title): the
    controller itself where the clause names the head (MOPS's Dyrektor), else acting for it —
    the commune or the office the clause names (a Gmina Miejska, a Gmina; 001 zał. 1 pkt 1,
    003 §1 ust. 3; issue 49 item 12). One rule for the authorisation and the art. 15 answer."""
    named = controller(policy)  # the office itself where its regulation names none
    if not signer or signer.startswith(named) or named.startswith(signer):
        return "administrator danych"
    return "w imieniu administratora danych"


def purposes(policy: Policy) -> list[str]:
    return [p for p in policy.documents.get("purposes", []) if p.strip()]


def aims(policy: Policy) -> str:
    """The purposes after "w celu": the [documents] list, else the regulation's own phrase
    (`aims`), else the dotted line."""
    return listing(purposes(policy)) or str(policy.documents.get("aims") or "").strip() or BLANK


def text(policy: Policy, table: str, key: str) -> Any:
    """One value of the office's own wording (policy.texts: [documents.<table>]), or None."""
    value = policy.documents.get(table, {})
    return value.get(key) if isinstance(value, dict) else None


def fill(policy: Policy, template: str, **extra: str) -> str:
    """An office text with its placeholders filled: the [documents] facts (dotted where
    unset), the office's names, its aims, and what the caller adds (a clause's period)."""
    values = {k: fact(policy, k) for k in FACTS}
    values.update(policy.names.as_dict(), aims=aims(policy), **extra)
    return template.format_map(values)


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
    keys = ("controller", "address", "phone", "email", "dpo", "dpo_address", "dpo_phone",
            "dpo_email", "basis", "monitored", "published")
    out: dict[str, Any] = {k: policy.documents.get(k) for k in keys}
    out["purposes"] = purposes(policy)
    return out
