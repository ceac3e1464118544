"""Phone announcements (R5.6): the message played before incoming calls, with "press * for the
information clause", and the sentence staff read before outgoing calls [001 §1 ust. 3–4;
004 §8 ust. 2]. Bolesławiec's regulation gives both texts word for word; for other offices
the text is built from the same elements, and an office may replace it by overriding the
template (templates/announcement.typ) or by passing its own text."""

from __future__ import annotations

from typing import Any

from kustosz.policy import Policy

# 001 §1 ust. 3 and ust. 4, verbatim.
_BOLESLAWIEC_IN = (
    "Witamy w Urzędzie Miasta Bolesławiec. Uprzejmie informujemy, że w trosce o bezpieczeństwo "
    "i jakość świadczonych usług wszystkie rozmowy są nagrywane. Kontynuowanie rozmowy oznacza "
    "zgodę na jej nagrywanie. Wyrażając zgodę, proszę czekać na połączenie. Komunikat dotyczący "
    "klauzuli informacyjnej dostępny jest po naciśnięciu klawisza * (gwiazdka).")
_BOLESLAWIEC_OUT = (
    "Informuję, że w trosce o bezpieczeństwo i jakość świadczonych usług wszystkie rozmowy są "
    "nagrywane. Kontynuowanie rozmowy oznacza zgodę na jej nagrywanie.")


def _generic_in(office_gen: str) -> str:
    return (f"Witamy. Dodzwonili się Państwo do {office_gen}. Informujemy, że rozmowy są "
            "nagrywane w celu zapewnienia bezpieczeństwa osób i mienia oraz jakości obsługi. "
            "Kontynuowanie rozmowy oznacza zgodę na jej nagrywanie. Klauzula informacyjna o "
            "przetwarzaniu danych osobowych dostępna jest po naciśnięciu klawisza * "
            "(gwiazdka).")


def announcement_data(policy: Policy) -> dict[str, Any]:
    """What the announcement document shows for this office's preset and call scope."""
    if policy.preset == "boleslawiec":
        incoming, outgoing, basis = _BOLESLAWIEC_IN, _BOLESLAWIEC_OUT, "§ 1 ust. 3 i 4 zarządzenia"
    else:
        incoming, outgoing = _generic_in(policy.names.office_gen), _BOLESLAWIEC_OUT
        basis = "regulamin rejestrowania rozmów telefonicznych"
    # An office recording only external incoming calls [004 §3 ust. 4] records no outgoing
    # call, so no sentence is read before one.
    if policy.call_scope == "external_incoming":
        outgoing = None
    return {"title": "Komunikaty o nagrywaniu rozmów", **policy.doc_names(),
            "incoming": incoming, "outgoing": outgoing, "basis": basis,
            "scope": ("wszystkie połączenia przychodzące, wychodzące i wewnętrzne"
                      if policy.call_scope == "all"
                      else "wyłącznie zewnętrzne połączenia przychodzące")}
