"""Phone announcements (R5.6): the message played before incoming calls, with "press * for the
information clause", and the sentence staff read before outgoing calls [001 §1 ust. 3–4;
004 §8 ust. 2]. Where the office's regulation gives the texts word for word
([documents.announcement]: 001 §1 ust. 3–4) they are printed; otherwise the message is built
from the same elements — the office's purposes and where its clause is published
([documents]) — and an office may replace it by overriding the template
(templates/announcement.typ). An office that records no calls gets none."""

from __future__ import annotations

from typing import Any

from kustosz.documents.office import controller, fill, own_texts, purposes, refuse_unless, text
from kustosz.kinds import SourceKind
from kustosz.policy import Policy, load_policy
from kustosz.words import listing

# The sentence read before an outgoing call where the regulation words none of its own.
OUTGOING = ("Informuję, że w trosce o bezpieczeństwo i jakość świadczonych usług wszystkie "
            "rozmowy są nagrywane. Kontynuowanie rozmowy oznacza zgodę na jej nagrywanie.")


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


def _general_in(policy: Policy) -> str:
    """The message for an office whose regulation gives no text: its own purposes and where
    its clause is published (004 §8 ust. 2: on the website), from [documents]."""
    aims = listing(purposes(policy))
    why = f" w celu {aims}" if aims else ""
    where = policy.documents.get("published")
    clause = (f"Klauzula informacyjna o przetwarzaniu danych osobowych dostępna jest {where}."
              if where else "Klauzulę informacyjną o przetwarzaniu danych osobowych udostępnia "
              f"administrator — {controller(policy)}.")
    return (f"Witamy. Dodzwonili się Państwo do {policy.names.office_gen}. Informujemy, że "
            f"rozmowy są nagrywane{why}. Kontynuowanie rozmowy oznacza zgodę na jej "
            f"nagrywanie. {clause}")


def announcement_data(policy: Policy) -> dict[str, Any]:
    """What the announcement document shows for this office's preset and call scope; refused
    where the office records no calls."""
    refuse_unless(policy, SourceKind.PHONE, "call recording announcement",
                  "komunikatów o nagrywaniu rozmów się nie drukuje")
    own_in = text(policy, "announcement", "incoming")
    own_out = text(policy, "announcement", "outgoing")
    incoming: str = fill(policy, own_in) if own_in else _general_in(policy)
    outgoing: str | None = fill(policy, own_out) if own_out else OUTGOING
    basis = own_clause(policy) or "regulamin rejestrowania rozmów telefonicznych"
    # An office recording only external incoming calls [004 §3 ust. 4] records no outgoing
    # call, so no sentence is read before one.
    if policy.call_scope == "external_incoming":
        outgoing = None
    return {"title": "Komunikaty o nagrywaniu rozmów", **policy.doc_names(),
            "incoming": incoming, "outgoing": outgoing, "basis": basis,
            "scope": ("wszystkie połączenia przychodzące, wychodzące i wewnętrzne"
                      if policy.call_scope == "all"
                      else "wyłącznie zewnętrzne połączenia przychodzące")}
