"""Render a named Typst template with data to PDF.

Templates are package data (`templates/*.typ`); an office may edit any of them by putting a
file of the same name under `templates/` in its data folder, which then wins. The data reach
the template as JSON in `sys.inputs.data`, every text in them as the documents can print it
(`glyphs.shown_in`: a character the fonts lack is a visible marker, the record keeps it).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from kustosz.errors import InputError
from kustosz.fsutil import write_atomic
from kustosz.glyphs import shown_in, typst_failed

log = logging.getLogger(__name__)

# name -> (template file, what it is)
NAMES: dict[str, tuple[str, str]] = {
    "request-calls": ("request_calls.typ", "wniosek o udostępnienie nagrań rozmów (001 zał. 3)"),
    "request-video": ("request_video.typ",
                      "wniosek o zabezpieczenie i udostępnienie danych (002 zał. 3)"),
    "request-subject": ("request_subject.typ",
                        "żądanie dostępu osoby, której dane dotyczą (art. 15 RODO)"),
    "decision": ("decision.typ", "decyzja w sprawie wniosku"),
    "handover-protocol": ("handover.typ", "protokół przekazania, 2 egz. (001 zał. 4)"),
    "receipt": ("receipt.typ", "pokwitowanie (003 §5 ust. 8)"),
    "destruction-protocol": ("destruction.typ", "protokół zniszczenia kopii (003 §5 ust. 7)"),
    "label": ("label.typ", "etykieta kopii (002 zał.5 §7 ust. 1; 004 §7 ust. 6)"),
    "listening-protocol": ("listening.typ", "protokół z odsłuchania rozmowy (001 zał. 2)"),
    "authorisation": ("authorisation.typ", "upoważnienie (004 zał. 1)"),
    "clause": ("clause.typ", "klauzula informacyjna (RODO art. 13)"),
    "sign": ("sign.typ", "tabliczka OBIEKT MONITOROWANY z piktogramem kamery"),
    "announcement": ("announcement.typ", "komunikaty o nagrywaniu rozmów (001 §1 ust. 3–4)"),
    "register": ("register.typ", "rejestr (udostępnień, kopii, działań)"),
    "declaration": ("declaration.typ",
                    "oświadczenie pracownika o monitoringu (003 zał. 2)"),
    "extension-notice": ("extension_notice.typ",
                         "zawiadomienie o przedłużeniu terminu odpowiedzi (art. 12 ust. 3 RODO)"),
    "answer-letter": ("answer_letter.typ",
                      "odpowiedź na żądanie osoby, której dane dotyczą (art. 15 RODO)"),
}
# Documents only their own module fills (never printed blank, not in `kustosz documents`).
FILLED: dict[str, tuple[str, str]] = {
    "accountability": ("accountability.typ",
                       "sprawozdanie z rozliczalności (art. 5 ust. 2 RODO, kustosz.report)"),
    "accountability-draft": ("accountability_draft.typ",
                             "sprawozdanie wstępne z rozliczalności (okres jeszcze trwa)"),
}


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} into a document")


def _compile(typst: Any, template: Path, payload: str, own: bool, name: str) -> bytes:
    """PDF/UA-1 (ISO 14289-1): tagged, titled, in Polish, its headings in order. typst
    refuses a template that breaks the standard; the packaged ones keep it (a test renders
    each), and an office's own template that does not is still printed, untagged as to the
    standard, with a warning: a protocol the police wait for is not held up by a heading."""
    kwargs: dict[str, Any] = {"root": str(template.parent), "ignore_system_fonts": True,
                              "sys_inputs": {"data": payload}}
    try:
        pdf: bytes = typst.compile(str(template), pdf_standards=["ua-1"], **kwargs)
    except Exception as exc:
        if not own or "PDF/UA" not in str(exc):
            raise
        log.warning("the office's template %s for %r breaks PDF/UA-1 (%s); printed without "
                    "the standard", template.name, name, exc)
        pdf = typst.compile(str(template), **kwargs)
    return pdf


def render(name: str, data: dict[str, Any], out: Path | None = None,
           data_root: Path | None = None) -> bytes:
    """PDF bytes of template ``name`` filled with ``data``; also written to ``out`` if given."""
    import typst  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    known = {**NAMES, **FILLED}
    if name not in known:
        raise InputError(f"unknown document {name!r}; known: {', '.join(NAMES)}",
                         pl=f"Nieznany dokument „{name}”; znane: {', '.join(NAMES)}.")
    template = known[name][0]
    packaged = resources.files("kustosz.documents") / "templates"
    overrides = data_root / "templates" if data_root is not None else None
    with tempfile.TemporaryDirectory(prefix="kustosz-doc-") as tmp:
        work = Path(tmp)
        for item in packaged.iterdir():
            if item.name.endswith(".typ"):
                (work / item.name).write_bytes(item.read_bytes())
        if overrides is not None and overrides.is_dir():
            for item in overrides.glob("*.typ"):
                shutil.copyfile(item, work / item.name)
        # Here and only here: no template can print a person's text that stops the document.
        payload = json.dumps(shown_in(data), ensure_ascii=False, default=_default)
        own = overrides is not None and (overrides / template).is_file()
        try:
            pdf = _compile(typst, work / template, payload, own, name)
        except BaseException as exc:  # typst's own error type with the template's line
            if not typst_failed(exc):
                raise
            raise InputError(f"document {name!r} could not be rendered: {exc}",
                             pl=f"Nie udało się utworzyć dokumentu „{name}”: {exc}.") from None
    if out is not None:  # a document of the data folder or of a copy: whole or not at all
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, pdf)
    return pdf
