"""The report as a PDF in Polish, for the IOD, the head of the office or an inspector of the
Prezes UODO: the findings first, then each section as sentences and tables (pdf_sections),
rendered with the documents' Typst machinery (template accountability.typ; an office's own
copy under templates/ in its data folder wins, as for every document). It joins the signed
bundle (bundle.EXTRA_FILES), so the manifest's SHA-256 covers it like report.json."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kustosz.documents.render import render
from kustosz.policy import Policy
from kustosz.report.build import is_draft
from kustosz.report.months import day_pl
from kustosz.report.pdf_sections import all_sections
from kustosz.report.pdf_words import day, period_words, when
from kustosz.vault import Vault

PDF_FILE = "sprawozdanie.pdf"
TEMPLATE = "accountability"
# A draft's PDF: accountability.typ (the office's own, where it has one) inside a page that
# says on every page that it is a draft and as of when — the mark does not depend on a
# template an office may have replaced.
DRAFT_TEMPLATE = "accountability-draft"


def pdf_data(report: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The template's data: names declined as the policy gives them, every value formatted."""
    tz = ZoneInfo(report["office"]["timezone"])
    p = report["period"]
    names = policy.doc_names()
    days = f"{p['first_day'][8:10]}.{p['first_day'][5:7]}.{p['first_day'][:4]} – " \
           f"{p['last_day'][8:10]}.{p['last_day'][5:7]}.{p['last_day'][:4]}"
    head = report["integrity"]["covered_head"] or {}
    return {**names, "office": report["office"]["name"],
            "title": f"Sprawozdanie z rozliczalności {p['label']}",
            "heading": "Sprawozdanie z rozliczalności",
            "sub": f"przetwarzania danych osobowych w {names['system_loc']} "
                   f"{names['office_gen']}",
            "period_line": f"{period_words(p)} ({days})",
            "basis": "Art. 5 ust. 2 RODO: administrator odpowiada za przestrzeganie zasad "
                     "przetwarzania i musi być w stanie wykazać ich przestrzeganie.",
            "footer": f"Sprawozdanie {p['label']}",
            "verify": "Sprawozdanie jest podpisane kluczem urzędu (Ed25519): plik "
                      "manifest.json podaje skróty SHA-256 tego pliku PDF i pliku report.json "
                      "(te same dane dla programów) oraz wpis dziennika zdarzeń, do którego "
                      f"sięga sprawozdanie (nr {head.get('seq', '—')}); podpis pliku "
                      "manifest.json jest w pliku manifest.sig. Sprawdzenie: kustosz report "
                      "verify albo openssl (instrukcja w dokumentacji: "
                      "operations/accountability).",
            "sections": all_sections(report, tz), **_draft_words(report, tz)}


def _draft_words(report: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """A draft's title, period and the mark of its every page; nothing for a final report."""
    draft = report.get("draft")
    if draft is None:
        return {}
    p = report["period"]
    as_of = when(draft["as_of"], tz)
    final_from = day_pl(date.fromisoformat(draft["final_from"]))
    return {"title": f"Sprawozdanie wstępne z rozliczalności {p['label']}, stan na {as_of}",
            "heading": "Sprawozdanie wstępne z rozliczalności",
            "period_line": f"{period_words(p)}: część od {day(p['first_day'])} do {as_of} "
                           f"(okres trwa do {day(draft['period_last_day'])})",
            "footer": f"Sprawozdanie WSTĘPNE {p['label']}, stan na {as_of}",
            "draft_mark": f"SPRAWOZDANIE WSTĘPNE, NIEPEŁNE — stan na {as_of}. Nie jest "
                          f"sprawozdaniem końcowym; końcowe można sporządzić od {final_from}.",
            "verify": "Sprawozdanie wstępne jest podpisane kluczem urzędu (Ed25519) jako "
                      "wstępne (w pliku manifest.json rodzaj accountability-report-draft): "
                      "kustosz report verify nie uzna go za sprawozdanie końcowe, a "
                      "kustosz report verify --draft sprawdza je jako wstępne."}


def write_pdf(vault: Vault, report: dict[str, Any], folder: Path) -> str:
    """bundle.EXTRA_FILES: the PDF written into the bundle's folder before it is sealed."""
    render(DRAFT_TEMPLATE if is_draft(report) else TEMPLATE, pdf_data(report, vault.policy),
           folder / PDF_FILE, data_root=vault.root)
    return PDF_FILE
