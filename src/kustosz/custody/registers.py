"""The registers the seeds require, kept by the system and printable as PDF or CSV:

* Rejestr udostępnionych nagrań [002 zał. 4] — one row per request;
* Rejestr kopii [002 zał.5 §7.5; 004 §7.8 a–h] — one row per copy;
* Rejestr działań w systemie monitoringu [002 zał.5 §8.3] — destructions and other actions.

Signature columns stay empty on purpose: they are signed by hand on the printout.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import printed as printed_name
from kustosz.audit.witness import latest_line
from kustosz.custody.answer_deadline import deadline_of
from kustosz.custody.answer_due import due_on
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.requests import overdue_since
from kustosz.db.custody import ActionEntry, Copy, Decision, Destruction, Handover, Request
from kustosz.documents.office import annex, fill, text
from kustosz.errors import FieldError, InputError
from kustosz.kinds import SourceKind
from kustosz.masking import residual
from kustosz.policy import Policy
from kustosz.states import CopyState, RequestKind, RequestStatus

KINDS = ("disclosures", "copies", "actions")


@dataclass
class Register:
    kind: str
    title: str
    columns: list[str]
    widths: list[float]  # relative column widths for the PDF
    rows: list[list[str]]
    # The latest signed checkpoint of the audit log, printed with the register so that the
    # paper names a state of the log `kustosz audit verify` can be held to.
    checkpoint: dict[str, Any] | None = None
    shows_locations: bool = False  # a camera's site and zone are printed (R1.7: audited)


def _d(value: date | datetime | None, policy: Policy, with_time: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(policy.timezone)
        if not with_time:
            return local.strftime("%d.%m.%Y")
        # the seconds only where a time has them (a period asked to the second)
        return local.strftime("%d.%m.%Y %H:%M:%S" if local.second or local.microsecond
                              else "%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def _bounds(start: date, end: date, policy: Policy) -> tuple[datetime, datetime]:
    if end < start:
        raise InputError(f"--to {end.isoformat()} is before --from {start.isoformat()}",
                         pl=f"Data końcowa {end.strftime('%d.%m.%Y')} jest wcześniejsza niż "
                            f"początkowa {start.strftime('%d.%m.%Y')}.")
    return (datetime.combine(start, time(0), tzinfo=policy.timezone),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=policy.timezone))


def _resolution(session: Session, req: Request, policy: Policy) -> str:
    """Sposób załatwienia wniosku, in words."""
    decision = session.execute(select(Decision).where(Decision.request_id == req.id)).scalar()
    parts: list[str] = []
    if req.status == RequestStatus.REFUSED:
        parts.append(req.status_reason or "odmowa")
        if decision is not None:
            parts.append(f"decyzja z {_d(decision.decided_on, policy)}"
                         f"{_decided(session, decision)}")
        return "; ".join(parts)
    if decision is not None:
        # a data subject's right is granted, not consented to (issue 49 item 11)
        granted = "udzielono dostępu — decyzja z" if req.kind == RequestKind.DATA_SUBJECT \
            else "zgoda z"
        parts.append(f"{granted} {_d(decision.decided_on, policy)}"
                     f"{_decided(session, decision)}")
    # every copy of the request: a data subject's copy sent back at review, or withheld by
    # the every-frame check, is followed by a new one (custody.subject_review, copy_checks)
    for copy in session.execute(select(Copy).where(Copy.request_id == req.id)
                                .order_by(Copy.id)).scalars():
        why = copy.review_reason or ""
        if copy.review_state == residual.STATE:  # the check's reason: its Polish half
            why = residual.reason_in(why, "pl")
        why = why.rstrip(". ")
        parts.append(f"sporządzono kopię nr {copy.number} ({_d(copy.made_at, policy)})"
                     + (f", zwróconą po przeglądzie: {why}"
                        if copy.review_state == "sent_back" else "")
                     + (f", wstrzymaną: {why}" if copy.review_state == "residual" else ""))
    for h, number in session.execute(
            select(Handover, Copy.number).join(Copy, Copy.id == Handover.copy_id)
            .where(Handover.request_id == req.id).order_by(Handover.id)).all():
        parts.append(f"wydano kopię nr {number} ({_d(h.handed_at, policy)}): {h.receiver}")
    if req.extends_copy:
        parts.append(f"przedłużono przechowywanie kopii nr {req.extends_copy}")
    if req.no_data_on is not None:  # custody.no_data
        parts.append(f"odpowiedziano {req.no_data_on:%d.%m.%Y}: nie przetwarzamy danych tej "
                     "osoby (art. 15 ust. 1 RODO)")
    if not parts:
        parts.append("w toku — zabezpieczono nagranie, oczekuje na decyzję")
    return "; ".join(parts)


def _decided(session: Session, d: Decision) -> str:
    """Who decided and, when someone else keyed it in, who did and on which paper."""
    text = f" ({printed_name(session, d.decided_by)}"
    keyer = (printed_name(session, d.keyed_by) if d.keyed_by
             else f"z wiersza poleceń, {d.recorded_by}")
    if d.paper_ref:
        text += f"; decyzja na piśmie, znak {d.paper_ref}; wprowadził(a): {keyer}"
    elif d.keyed_by != d.decided_by:
        text += f"; wprowadził(a): {keyer}"
    return text + ")"


def _purpose(req: Request) -> str:
    """A data subject gives no purpose (art. 15 RODO needs none): the column says what the
    request is instead of standing empty."""
    if req.kind == RequestKind.DATA_SUBJECT and not (req.purpose or "").strip():
        return "dostęp osoby, której dane dotyczą, do jej danych (art. 15 RODO)"
    return req.purpose


def _subject_deadline(session: Session, req: Request, policy: Policy) -> str:
    """A data subject's request: answered on a day (a handover or a refusal), or the day the
    answer is due (art. 12 ust. 3 RODO), with any extension."""

    d = deadline_of(session, req, policy.timezone)
    extended = (f"; termin przedłużono {_d(req.extended_on, policy)}: {req.extension_reason}"
                if req.extended_on else "")
    if d is not None and d.answered_on is not None:
        how = ("odmowa" if req.status == RequestStatus.REFUSED
               else "nie przetwarzamy danych tej osoby" if req.no_data_on is not None
               else "wydano kopię")
        return (f"żądanie osoby, której dane dotyczą — odpowiedziano {_d(d.answered_on, policy)}"
                f" ({how}){extended}")
    if req.status == RequestStatus.REFUSED:
        return f"żądanie osoby, której dane dotyczą — odmowa{extended}"
    return (f"żądanie osoby, której dane dotyczą — odpowiedź do "
            f"{_d(due_on(req.received_on, req.extended_on), policy)} (art. 12 ust. 3 RODO)"
            f"{extended}")


def disclosures(session: Session, policy: Policy, start: date, end: date) -> Register:
    rows = []
    reqs = session.execute(select(Request).where(Request.received_on >= start,
                                                 Request.received_on <= end)
                           .order_by(Request.received_on, Request.id)).scalars()
    for n, req in enumerate(reqs, 1):
        remarks = [f"wniosek nr {req.id}"]
        if req.warning:
            remarks.append(req.warning)
        if req.case_ref:
            remarks.append(f"znak: {req.case_ref}")
        if req.kind == RequestKind.DATA_SUBJECT:  # R6.2: the person's deadline
            remarks.append(_subject_deadline(session, req, policy))
        late = overdue_since(session, policy, req)  # its material is held meanwhile
        if late is not None:
            remarks.append(late.pl())
        rows.append([str(n), req.requester, _d(req.received_on, policy), _purpose(req),
                     _resolution(session, req, policy), "", "", "; ".join(remarks)])
    # An office whose regulation models the register (002 zał. 4) keeps it under that title.
    own = text(policy, "registers", "disclosures_title")
    title = fill(policy, own) if own else "Rejestr udostępnionych nagrań"
    return Register("disclosures", title,
                    ["Lp.", "Wnioskodawca", "Data złożenia wniosku", "Cel udostępnienia",
                     "Sposób załatwienia wniosku", "Podpis odbierającego nośnik",
                     "Podpis wydającego nośnik", "Uwagi"],
                    [0.5, 2.2, 1.3, 2.2, 3.2, 1.6, 1.6, 2], rows)


def _fate(session: Session, copy: Copy, policy: Policy) -> str:
    parts = []
    for h in session.execute(select(Handover).where(Handover.copy_id == copy.id)
                             .order_by(Handover.id)).scalars():
        parts.append(f"udostępniono {_d(h.handed_at, policy)}: {h.receiver}")
    d = session.execute(select(Destruction).where(Destruction.copy_id == copy.id)).scalar()
    if copy.state == CopyState.DESTROYED and d is not None:
        parts.append(f"zniszczono {_d(copy.destroyed_at, policy)} (komisja: "
                     f"{printed_name(session, d.first_by)}, "
                     f"{printed_name(session, d.second_by or '')})")
    elif d is not None:
        parts.append(f"zniszczenie rozpoczęte {_d(d.first_at, policy)} — czeka na drugiego "
                     "członka komisji")
    elif copy.review_state == "sent_back":  # custody.subject_review: never handed over
        parts.append(f"zwrócona po przeglądzie i zniszczona {_d(copy.destroyed_at, policy)}, "
                     f"niewydana: {copy.review_reason}")
    if not parts:
        parts.append(f"przechowywana do {kept_until(copy.expires_at, policy)}")
    return "; ".join(parts)


def source_label(info: dict[str, Any], locations: bool) -> str:
    """A copied source as the registers print it: where the camera hangs only for those
    granted camera locations (R1.7); for everyone else the camera's name alone."""
    if "site" in info and not locations:
        return f"kamera {info.get('name', '')}"
    return str(info.get("label", info.get("name", "")))


def copies(session: Session, policy: Policy, start: date, end: date,
           printed: dict[str, str] | None = None, locations: bool = False) -> Register:
    lo, hi = _bounds(start, end, policy)
    rows = []
    shown = False
    # The phone-number columns [004 §7.8 c-d] only where the office records calls.
    phones = policy.retention.get(SourceKind.PHONE.value) is not None
    for copy in session.execute(select(Copy).where(Copy.made_at >= lo, Copy.made_at < hi)
                                .order_by(Copy.year, Copy.seq)).scalars():
        calls = [s for s in copy.sources if s.get("kind") == SourceKind.PHONE]
        # A call's source is its phone line; the numbers have their own columns.
        source = "; ".join(str(s.get("name", "")) if s.get("kind") == SourceKind.PHONE
                           else source_label(s, locations) for s in copy.sources)
        shown = shown or (locations and not calls and any("site" in s for s in copy.sources))
        callers = "; ".join(s.get("caller", "") for s in calls)
        callees = "; ".join(s.get("callee", "") for s in calls)
        who = (printed or {}).get(copy.made_by) or printed_name(session, copy.made_by)
        first, last = held_period(copy)
        row = [copy.number, f"{_second(first, policy)} – {_second(last, policy)}", source,
               callers, callees, _d(copy.made_at, policy), who, "",
               _fate(session, copy, policy)]
        rows.append(row if phones else row[:3] + row[5:])
    columns = ["Nr porządkowy kopii", "Okres (data i godzina)", "Źródło danych",
               "Nr telefonu dzwoniącego", "Nr telefonu, na który dzwoniono",
               "Data wykonania kopii", "Dane osoby sporządzającej", "Podpis",
               "Udostępnienie lub zniszczenie"]
    widths = [1.5, 1.9, 2, 1.4, 1.4, 1.3, 1.8, 1.1, 2.6]
    if not phones:  # an office that records no calls has no numbers to enter [004 §7.8 c]
        columns, widths = columns[:3] + columns[5:], widths[:3] + widths[5:]
    # A calls-only office's regulation names it "rejestr kopii z systemu rejestracji rozmów
    # telefonicznych" [004 §7.8] (issue 49 item 14); the others say "rejestr kopii".
    system = policy.doc_names().get("system_gen")
    title = "Rejestr kopii" + (f" z {system}" if system == "systemu rejestracji rozmów "
                               "telefonicznych" else "")
    return Register("copies", title, columns, widths, rows, shows_locations=shown)


def _second(at: datetime, policy: Policy) -> str:
    """A copy's period to the second, every row alike (a copy holds a period asked to the
    second; "10:00" beside "10:00:02" reads as two precisions)."""
    return at.astimezone(policy.timezone).strftime("%d.%m.%Y %H:%M:%S")


def actions(session: Session, policy: Policy, start: date, end: date) -> Register:
    lo, hi = _bounds(start, end, policy)
    rows = [[str(n), _d(e.at, policy, True), e.description, e.by]
            for n, e in enumerate(session.execute(
                select(ActionEntry).where(ActionEntry.at >= lo, ActionEntry.at < hi)
                .order_by(ActionEntry.at, ActionEntry.id)).scalars(), 1)]
    return Register("actions", f"Rejestr działań w {policy.doc_names()['system_loc']}",
                    ["Lp.", "Data i godzina", "Działanie", "Wykonał(a) / komisja", ],
                    [0.5, 1.5, 6, 2.5], rows)


def build(session: Session, policy: Policy, kind: str, start: date, end: date,
          printed: dict[str, str] | None = None, locations: bool = False) -> Register:
    """``locations``: the reader holds the camera-locations right (R1.7); without it no
    site or zone is printed. ``Register.shows_locations`` says whether one was."""
    if kind not in KINDS:
        raise InputError(f"unknown register {kind!r}; use one of {', '.join(KINDS)}",
                         pl=f"Nieznany rejestr „{kind}”; dostępne: {', '.join(KINDS)}.")
    if end < start:
        raise InputError(f"--to {end.isoformat()} is before --from {start.isoformat()}",
                         pl=f"Data końcowa {end.strftime('%d.%m.%Y')} jest wcześniejsza niż "
                            f"początkowa {start.strftime('%d.%m.%Y')}.")
    if kind == "disclosures":
        register = disclosures(session, policy, start, end)
    elif kind == "copies":
        register = copies(session, policy, start, end, printed, locations)
    else:
        register = actions(session, policy, start, end)
    register.checkpoint = latest_line(session)
    return register


def checkpoint_note(checkpoint: dict[str, Any] | None, policy: Policy) -> str:
    """The printed line that ties a register to a signed state of the audit log."""
    if checkpoint is None:
        return "Dziennik zdarzeń: brak podpisanego punktu kontrolnego."
    at = datetime.fromisoformat(checkpoint["at"])
    return (f"Dziennik zdarzeń — punkt kontrolny nr {checkpoint['n']} z {_d(at, policy, True)}: "
            f"wpis nr {checkpoint['seq']}, skrót {checkpoint['hash']}; ostatni wpis rejestru "
            f"dostępu nr {checkpoint['access_seq']}; podpis Ed25519 kluczem "
            f"{policy.names.office_gen} {checkpoint['key']}: {checkpoint['sig']}")


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): a requester named
# "=HYPERLINK(...)" must print as text, not run when the register is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> str:
    """The cell as text, prefixed with ' when it would start a formula (OWASP rule)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# The forms of a CSV download (issue 29 item 11). "excel", the default: what Excel on a Polish
# Windows opens by a double click — UTF-8 with a byte order mark (without one it reads the
# file as Windows-1250: "Łęcka" turns into "ĹÄ™cka") and ";" between cells (Polish Excel's
# list separator; "," is the decimal comma). "rfc4180": plain RFC 4180 for programs — UTF-8
# without a BOM, ",". Both end lines with CRLF and quote every cell, so a neutralised cell
# stays one cell whatever separator a spreadsheet guesses.
CSV_FORMS = {"excel": ";", "rfc4180": ","}
CSV_FORMS_PL = {"excel": "dla programu Excel (średnik, UTF-8 ze znacznikiem BOM)",
                "rfc4180": "zwykły RFC 4180 (przecinek, UTF-8 bez BOM)"}
BOM = "\ufeff"


def csv_form(text: str | None) -> str:
    """The CSV form a download asks for: "excel" unless it names "rfc4180"."""
    form = (text or "excel").strip().lower()
    if form not in CSV_FORMS:
        raise FieldError("csv", f"unknown CSV form {text!r}; use excel or rfc4180",
                         pl=f"Nieznana postać pliku CSV „{text}”; dostępne: excel "
                            "(domyślna, dla programu Excel) albo rfc4180 (zwykły CSV).")
    return form


def csv_bytes(columns: list[str], rows: Iterable[Iterable[object]],
              form: str = "excel") -> bytes:
    """A table as a CSV file in ``form`` (CSV_FORMS); every cell made spreadsheet-safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=CSV_FORMS[form], lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL)
    writer.writerow([spreadsheet_safe(c) for c in columns])
    writer.writerows([spreadsheet_safe(c) for c in row] for row in rows)
    return ((BOM if form == "excel" else "") + buf.getvalue()).encode("utf-8")


def to_csv(register: Register, form: str = "excel") -> bytes:
    return csv_bytes(register.columns, register.rows, form)


def pdf_data(register: Register, policy: Policy, start: date, end: date) -> dict[str, Any]:
    named = policy.names.office_gen in register.title  # the title names the office already
    return {"office": policy.office_name,
            "title": register.title if named else f"{register.title} — {policy.office_name}",
            "heading": register.title, "sub": None if named else policy.office_name,
            "annex": annex(policy, f"register-{register.kind}"),
            "period": f"{_d(start, policy)} – {_d(end, policy)}",
            "columns": register.columns, "widths": register.widths, "rows": register.rows,
            "printed_at": _d(datetime.now(UTC), policy, True),
            "checkpoint": checkpoint_note(register.checkpoint, policy)}
