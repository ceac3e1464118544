"""The camera sign "OBIEKT MONITOROWANY" (Kodeks pracy art. 22² §9; RODO art. 13): the
pictogram, the controller as the office's regulation names it, the DPO's contact, the
office's own purposes, the period. Pleszew's regulation gives the sign's whole text (002
zał.5 §5.3, zał. 2), which is its clause; other offices get the short form filled from their
[documents] values. An office that monitors with no cameras gets no sign."""

from __future__ import annotations

from typing import Any

from kustosz.documents.clauses import INTRO, clause_points
from kustosz.documents.office import BLANK, fact, own_texts, purposes, refuse_unless
from kustosz.kinds import SourceKind
from kustosz.policy import Policy
from kustosz.words import listing, period_pl

# Presets whose regulation makes the clause itself the sign's text.
FULL_TEXT = {"pleszew"}  # 002 zał.5 §5.2–5.3: "Wzór tabliczki informacyjnej stanowi zał. nr 2"


def sign_data(policy: Policy) -> dict[str, Any]:
    """Data for sign.typ; refused where the office keeps no camera material."""
    refuse_unless(policy, SourceKind.CAMERA, "camera sign",
                  "tabliczki „Obiekt monitorowany” się nie drukuje")
    data: dict[str, Any] = {**policy.doc_names(), "title": "OBIEKT MONITOROWANY",
                            "points": None, "lines": None, "intro": None}
    if policy.preset in FULL_TEXT and own_texts(policy):
        data.update(intro=INTRO, points=clause_points(policy, SourceKind.CAMERA))
        return data
    d = policy.documents
    controller = d.get("controller") or policy.office_name
    aims = listing(purposes(policy))
    lines = [
        f"Administrator danych: {controller} (adres: {fact(policy, 'address')}, tel. "
        f"{fact(policy, 'phone')}, e-mail: {fact(policy, 'email')}).",
        f"Inspektor ochrony danych: e-mail {fact(policy, 'dpo_email')}, tel. "
        f"{fact(policy, 'dpo_phone')}.",
        f"Monitoring stosowany jest w celu {aims or BLANK}.",
        f"Dane przetwarzane są na podstawie {fact(policy, 'basis')}.",
    ]
    if d.get("monitored"):
        lines.append(f"Monitoring obejmuje: {d['monitored']}.")
    lines += [
        f"Nagrania obrazu (bez dźwięku) przechowywane są nie dłużej niż "
        f"{period_pl(policy.retention_for('camera'))} od dnia nagrania, a gdy stanowią dowód w "
        "postępowaniu — do czasu jego prawomocnego zakończenia; następnie podlegają "
        "zniszczeniu.",
        _rights(policy),
        (f"Pełna treść klauzuli informacyjnej (art. 13 RODO) dostępna jest {d['published']}."
         if d.get("published") else
         "Pełną treść klauzuli informacyjnej (art. 13 RODO) udostępnia administrator."),
    ]
    data.update(lines=lines, controller=controller)
    return data


def _rights(policy: Policy) -> str:
    """The rights as the office's clause names them: Miedziana Góra's (003 zał. 1 pkt 7) are
    access and restriction, with the complaint — no rectification."""
    if policy.preset == "miedziana-gora" and own_texts(policy):
        return ("Przysługuje Pani/Panu prawo żądania dostępu do swoich danych osobowych oraz "
                "ograniczenia ich przetwarzania, a także prawo wniesienia skargi do Prezesa "
                "Urzędu Ochrony Danych Osobowych.")
    return ("Przysługuje Pani/Panu prawo dostępu do swoich danych, ich sprostowania i "
            "ograniczenia przetwarzania oraz prawo wniesienia skargi do Prezesa Urzędu Ochrony "
            "Danych Osobowych.")
