"""Findings: every item of the report that departs from the office's rules, each with where to
look (the register or table, and the row). Read from the sections already built, so a finding
and the count beside it come from the same rows."""

from __future__ import annotations

from typing import Any

from kustosz.report.pdf_words import alert
from kustosz.words import count_pl

Finding = dict[str, Any]


def _day_pl(iso_day: str) -> str:
    """2026-11-20 as a Polish reader writes it: 20.11.2026."""
    y, m, d = iso_day.split("-")
    return f"{d}.{m}.{y}"


def _hours_pl(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")  # the Polish decimal comma


def _f(kind: str, register: str, row: int | str, pl: str, en: str) -> Finding:
    return {"kind": kind, "register": register, "row": row, "pl": pl, "en": en}


def _deleted(report: dict[str, Any]) -> list[Finding]:
    out = []
    for d in report["deleted"]["late"]:
        hours = round(d["late_seconds"] / 3600, 1)
        out.append(_f("late_deletion", "deletions", d["deletion"],
                      f"Nagranie nr {d['recording']} ({d['source']}) usunięto "
                      f"{_hours_pl(hours)} h po upływie okresu przechowywania.",
                      f"Recording {d['recording']} ({d['source']}) deleted {hours} h after "
                      "its period ended."))
    return out


def _kept(report: dict[str, Any]) -> list[Finding]:
    out = []
    for source in report["kept"]:
        for item in source["past_period"]:
            if item["why"] == "none":
                out.append(_f("kept_past_period", "recordings", item["recording"],
                              f"Nagranie nr {item['recording']} ({source['source']}) "
                              "przechowywane po upływie okresu, bez zabezpieczenia.",
                              f"Recording {item['recording']} ({source['source']}) kept past "
                              "its period without a hold."))
    return out


def _requests(report: dict[str, Any]) -> list[Finding]:
    out = []
    section = report["requests"]
    for r in [*section["requests"], *section["open_from_before"]]:
        if r["decision"]["late"]:
            done = r["decision"]["decided_on"]
            out.append(_f("late_decision", "custody_requests", r["request"],
                          f"Wniosek nr {r['request']}: " + (
                              f"decyzja z {_day_pl(done)} po terminie "
                              f"({_day_pl(r['decision']['due'])})." if done
                              else f"bez decyzji po terminie "
                              f"({_day_pl(r['decision']['due'])})."),
                          f"Request {r['request']}: " + (
                              f"decided {done}, after its due day {r['decision']['due']}."
                              if done else f"undecided past its due day "
                              f"{r['decision']['due']}.")))
        subject = r["subject_deadline"]
        if subject and subject["late"]:
            out.append(_late_answer(r["request"], subject))
    return out


def _late_answer(request: int, subject: dict[str, Any]) -> Finding:
    """A data subject answered after art. 12 ust. 3 RODO's time, or not answered in it."""
    due, answered = subject["due"], subject.get("answered_on")
    return _f("late_answer", "custody_requests", request,
              f"Żądanie nr {request}: " + (
                  f"odpowiedź z {_day_pl(answered)} po terminie z art. 12 ust. 3 RODO "
                  f"({_day_pl(due)})." if answered else
                  f"brak odpowiedzi w terminie z art. 12 ust. 3 RODO (do {_day_pl(due)})."),
              f"Data subject's request {request}: " + (
                  f"answered {answered}, after the art. 12(3) GDPR deadline {due}."
                  if answered else f"not answered by the art. 12(3) GDPR deadline {due}."))


def _rest(report: dict[str, Any]) -> list[Finding]:
    out = []
    for c in report["copies"]["due_not_destroyed"]:
        out.append(_f("copy_not_destroyed", "custody_copies", c["copy_id"],
                      f"Kopia nr {c['copy']}: okres przechowywania minął, nie zniszczono jej.",
                      f"Copy {c['copy']}: past its lifetime, not destroyed."))
    for h in report["holds"]["open_at_end"]:
        if h["no_basis"]:
            out.append(_f("hold_without_basis", "holds", h["hold"],
                          f"Zabezpieczenie nr {h['hold']} bez podstawy.",
                          f"Hold {h['hold']} without a basis."))
    for v in report["access"]["viewings"]:
        if not v["purpose"]:
            out.append(_f("access_without_purpose", "access_viewing_sessions", v["viewing"],
                          f"Dostęp nr {v['viewing']} ({v['user']}) bez podanego celu.",
                          f"Access {v['viewing']} ({v['user']}) without a purpose."))
    for a in report["alerts"]["alerts"]:
        if a["too_long"]:
            days = a["open_seconds"] // 86400
            out.append(_f("alert_open_too_long", "alerts", a["alert"],
                          f"Alert nr {a['alert']} ({alert(a['kind'])}) otwarty ponad tydzień "
                          f"({count_pl(days, 'dzień', 'dni', 'dni')}).",
                          f"Alert {a['alert']} ({a['kind']}) open more than a week "
                          f"({days} days)."))
    return out


def findings(report: dict[str, Any]) -> list[Finding]:
    """Integrity first: a chain that fails verification is the first thing said."""
    out: list[Finding] = []
    if not report["integrity"]["verified"]:
        out.append(_f("audit_chain_fails", "audit_log", "",
                      "Dziennik zdarzeń NIE przeszedł weryfikacji — dane sprawozdania mogą być "
                      "niewiarygodne.",
                      "The audit log does NOT verify: the report's facts may be unreliable."))
    return out + _deleted(report) + _kept(report) + _requests(report) + _rest(report)
