"""Phone announcements (R5.6): what callers from outside hear before a recorded call, for each
external direction the office records ([calls] scope: policy.calls) — played by the exchange
or read by the employee, as the file says ([calls] incoming_announcement,
outgoing_announcement) — in the office's own words ([documents.announcement]: 001 §1 ust.
3–4). Kustosz writes no announcement of its own (issue 66 item 3): a text or a way of telling
the file does not give prints as a dotted line with the key to fill in, never another office's
sentence nor a legal basis the office has not chosen. An office may replace the layout by
overriding the template (templates/announcement.typ). An office that records no calls gets
none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kustosz.documents.office import Gap, fill, own_texts, refuse_unless, text
from kustosz.kinds import SourceKind
from kustosz.policy import Policy, load_policy
from kustosz.policy.calls import ANNOUNCED, CallKind, delivery

# Each external direction: its word in the file's keys and its forms in the document
# ("przed połączeniem …", "przed połączeniami …", "Połączenia … nie są nagrywane").
_WORDS: dict[CallKind, tuple[str, str, str, str]] = {
    "external_incoming": ("incoming", "przychodzącym", "przychodzącymi", "przychodzące"),
    "external_outgoing": ("outgoing", "wychodzącym", "wychodzącymi", "wychodzące"),
}
# The headings of 001 §1 ust. 3 (played before every incoming call) and ust. 4 (read by the
# employee before an outgoing one); where the file does not say how, none is claimed.
_HOW = {"automatic": "Komunikat odtwarzany przed każdym połączeniem {dir}",
        "employee": "Komunikat odczytywany przez pracownika przed połączeniem {dir}",
        None: "Komunikat przed połączeniem {dir}"}


@dataclass(frozen=True)
class Part:
    """One external direction's announcement: its heading, the office's text (None where the
    file gives none) and what is left to fill in."""

    heading: str
    text: str | None
    gaps: tuple[Gap, ...]
    recorded: bool


def own_clause(policy: Policy) -> str | None:
    """Where the office's own regulation says callers hear the announcement (`[calls]
    announcement_clause`: 001 §1 ust. 3-4, 004 §8 ust. 2); None where the office has not said,
    or took a preset under its own name and kept its clause (another office's paragraphs)."""
    clause = _clause(policy)
    if not clause or (policy.preset and not own_texts(policy)
                      and clause == _clause(load_policy(policy.preset))):
        return None
    return clause


def _clause(policy: Policy) -> str:
    return str(policy.raw.get("calls", {}).get("announcement_clause", "")).strip()


def parts(policy: Policy) -> list[Part]:
    """The announcement of each external direction, in the file's words: one definition for
    the document and for `kustosz policy check`'s warnings (documents.gaps)."""
    out = []
    for kind, (key, one, many, plural) in _WORDS.items():
        if kind not in policy.call_scope.kinds:
            out.append(Part(f"Połączenia {plural} nie są nagrywane, więc nie poprzedza ich "
                            "komunikat.", None, (), False))
            continue
        how = delivery(policy.raw, kind)
        own = text(policy, "announcement", key)
        gaps = [] if own else [Gap("documents.announcement", key,
                                   f"treść komunikatu przed połączeniami {many}",
                                   f"the announcement before {key} calls")]
        if how is None:
            gaps.append(Gap("calls", ANNOUNCED[kind],
                            f"sposób przekazania komunikatu przed połączeniami {many} "
                            "(„automatic” — odtwarzany automatycznie, „employee” — odczytywany "
                            "przez pracownika)",
                            f"how callers are told before {key} calls (\"automatic\" or "
                            "\"employee\")"))
        out.append(Part(_HOW[how].format(dir=one), fill(policy, own) if own else None,
                        tuple(gaps), True))
    return out


def announcement_data(policy: Policy) -> dict[str, Any]:
    """What the announcement document shows for this office's call scope and texts; refused
    where the office records no calls."""
    refuse_unless(policy, SourceKind.PHONE, "call recording announcement",
                  "komunikatów o nagrywaniu rozmów się nie drukuje")
    shown = parts(policy)
    return {"title": "Komunikaty o nagrywaniu rozmów", **policy.doc_names(),
            "parts": [{"heading": p.heading, "text": p.text, "recorded": p.recorded,
                       "notes": [g.note for g in p.gaps]} for p in shown],
            # as the template before the parts had them, for an office's own template
            "incoming": shown[0].text, "outgoing": shown[1].text,
            "basis": own_clause(policy),
            "notes": [g.note for g in basis_gaps(policy)], "scope": policy.call_scope.pl()}


def basis_gaps(policy: Policy) -> list[Gap]:
    """The clause of the office's regulation that has callers told, where the file names
    none: no regulation's name is made up for it."""
    return [] if own_clause(policy) else [Gap(
        "calls", "announcement_clause", "przepis regulaminu, który nakazuje informować "
        "dzwoniących o nagrywaniu", "the clause of the regulation that has callers told")]
