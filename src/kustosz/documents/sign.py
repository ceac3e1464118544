"""The camera sign "OBIEKT MONITOROWANY" (Kodeks pracy art. 22² §9; RODO art. 13): the
pictogram, the controller as the office's regulation names it, the DPO's contact, the
office's own purposes, the period. Where the office's regulation gives the sign's whole text
as its clause ([documents.sign] full_clause: 002 zał.5 §5.3, zał. 2) the sign prints it; other
offices get the short form filled from their [documents] values. An office that monitors with
no cameras gets no sign."""

from __future__ import annotations

from typing import Any

from kustosz.documents.clauses import INTRO, clause_gaps, clause_points
from kustosz.documents.office import (
    AIMS_GAP,
    BLANK,
    Gap,
    aims,
    controller_named,
    exclusions,
    fact,
    fill,
    refuse_unless,
    text,
)
from kustosz.kinds import SourceKind
from kustosz.policy import Policy
from kustosz.words import period_pl

# The rights the short sign names where the office's clause words them no other way.
RIGHTS = ("Przysługuje Pani/Panu prawo dostępu do swoich danych, ich sprostowania i "
          "ograniczenia przetwarzania oraz prawo wniesienia skargi do Prezesa Urzędu Ochrony "
          "Danych Osobowych.")


def sign_data(policy: Policy) -> dict[str, Any]:
    """Data for sign.typ; refused where the office keeps no camera material."""
    refuse_unless(policy, SourceKind.CAMERA, "camera sign",
                  "tabliczki „Obiekt monitorowany” się nie drukuje")
    data: dict[str, Any] = {**policy.doc_names(), "title": "OBIEKT MONITOROWANY",
                            "points": None, "lines": None, "intro": None,
                            "notes": [g.note for g in sign_gaps(policy)]}
    if text(policy, "sign", "full_clause"):
        data.update(intro=INTRO, points=clause_points(policy, SourceKind.CAMERA))
        return data
    d = policy.documents
    named = controller_named(policy)
    lines = [
        f"Administrator danych: {named} (adres: {fact(policy, 'address')}, tel. "
        f"{fact(policy, 'phone')}, e-mail: {fact(policy, 'email')}).",
        f"Inspektor ochrony danych: e-mail {fact(policy, 'dpo_email')}, tel. "
        f"{fact(policy, 'dpo_phone')}.",
        f"Monitoring stosowany jest w celu {aims(policy, SourceKind.CAMERA)}.",
        f"Dane przetwarzane są na podstawie {fact(policy, 'basis')}.",
    ]
    if d.get("monitored"):
        lines.append(f"Monitoring obejmuje: {d['monitored']}.")
    if exclusions(policy):
        lines.append(exclusions(policy))
    lines += [
        f"Nagrania obrazu (bez dźwięku) przechowywane są nie dłużej niż "
        f"{period_pl(policy.retention_for('camera'))} od dnia nagrania, a gdy stanowią dowód w "
        "postępowaniu — do czasu jego prawomocnego zakończenia; następnie podlegają "
        "zniszczeniu.",
        fill(policy, text(policy, "sign", "rights") or RIGHTS),
        (f"Pełna treść klauzuli informacyjnej (art. 13 RODO) dostępna jest {d['published']}."
         if d.get("published") else
         "Pełną treść klauzuli informacyjnej (art. 13 RODO) udostępnia administrator."),
    ]
    data.update(lines=lines, controller=named)
    return data


def sign_gaps(policy: Policy) -> list[Gap]:
    """What the sign prints dotted for want of the office's text: its purposes (the short
    form's, or the clause's where the sign is the clause)."""
    if text(policy, "sign", "full_clause"):
        return clause_gaps(policy, SourceKind.CAMERA)
    return [AIMS_GAP] if aims(policy, SourceKind.CAMERA) == BLANK else []
