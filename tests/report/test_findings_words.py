"""Every kind of finding (report.findings), one of each, as the PDF and report.json say it: in
Polish with Polish names (an alert's kind by its label, not its code), the plural forms of
the counts, each with the register and row to look at; integrity first."""

from __future__ import annotations

from typing import Any

from kustosz.report.findings import findings


def _report() -> dict[str, Any]:
    decision = {"late": False, "decided_on": None, "due": "2026-11-21", "agree": None}
    return {
        "integrity": {"verified": False},
        "deleted": {"late": [{"deletion": 7, "recording": 70, "source": "cam-parking",
                              "late_seconds": 87_120}]},
        "kept": [{"source": "cam-hol", "past_period": [
            {"recording": 71, "why": "none"}, {"recording": 72, "why": "hold"}]}],
        "requests": {"requests": [
            {"request": 4, "decision": {**decision, "late": True}, "subject_deadline": None},
            {"request": 5, "decision": {**decision, "late": True, "decided_on": "2026-11-24"},
             "subject_deadline": None},
            {"request": 6, "decision": decision,
             "subject_deadline": {"due": "2026-11-20", "late": True, "answered_on": None}},
            {"request": 8, "decision": decision,
             "subject_deadline": {"due": "2026-11-20", "late": True,
                                  "answered_on": "2026-11-23"}}],
            "open_from_before": []},
        "copies": {"due_not_destroyed": [{"copy": "3/2026", "copy_id": 3}]},
        "holds": {"open_at_end": [{"hold": 9, "no_basis": True},
                                  {"hold": 10, "no_basis": False}]},
        "access": {"viewings": [{"viewing": 11, "user": "ochrona", "purpose": ""},
                                {"viewing": 12, "user": "iod", "purpose": "skarga"}]},
        "alerts": {"alerts": [
            {"alert": 13, "kind": "camera_down", "open_seconds": 12 * 86400 + 5,
             "too_long": True},
            {"alert": 14, "kind": "sweep_failed", "open_seconds": 7 * 86400 + 60,
             "too_long": True},
            {"alert": 15, "kind": "camera_down", "open_seconds": 600, "too_long": False}]},
    }


def test_every_kind_of_finding_reads_in_polish_and_names_where_to_look() -> None:
    found = findings(_report())
    assert [(f["kind"], f["register"], f["row"], f["pl"]) for f in found] == [
        ("audit_chain_fails", "audit_log", "",
         "Dziennik zdarzeń NIE przeszedł weryfikacji — dane sprawozdania mogą być "
         "niewiarygodne."),
        ("late_deletion", "deletions", 7,
         "Nagranie nr 70 (cam-parking) usunięto 24,2 h po upływie okresu przechowywania."),
        ("kept_past_period", "recordings", 71,
         "Nagranie nr 71 (cam-hol) przechowywane po upływie okresu, bez zabezpieczenia."),
        ("late_decision", "custody_requests", 4,
         "Wniosek nr 4: bez decyzji po terminie (21.11.2026)."),
        ("late_decision", "custody_requests", 5,
         "Wniosek nr 5: decyzja z 24.11.2026 po terminie (21.11.2026)."),
        ("late_answer", "custody_requests", 6,
         "Żądanie nr 6: brak odpowiedzi w terminie z art. 12 ust. 3 RODO (do 20.11.2026)."),
        ("late_answer", "custody_requests", 8,
         "Żądanie nr 8: odpowiedź z 23.11.2026 po terminie z art. 12 ust. 3 RODO "
         "(20.11.2026)."),
        ("copy_not_destroyed", "custody_copies", 3,
         "Kopia nr 3/2026: okres przechowywania minął, nie zniszczono jej."),
        ("hold_without_basis", "holds", 9, "Zabezpieczenie nr 9 bez podstawy."),
        ("access_without_purpose", "access_viewing_sessions", 11,
         "Dostęp nr 11 (ochrona) bez podanego celu."),
        ("alert_open_too_long", "alerts", 13,
         "Alert nr 13 (kamera nie nagrywa) otwarty ponad tydzień (12 dni)."),
        ("alert_open_too_long", "alerts", 14,
         "Alert nr 14 (usuwanie nagrań po terminie nie działa) otwarty ponad tydzień "
         "(7 dni)."),
    ]
    assert all(f["en"] and f["en"].isascii() for f in found)
