"""Employees and the monitoring notice (R6.1): who acknowledged which version and when, and
who starts (or works) without an acknowledgment of the version in force."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.agreements import OFFICE_TZ
from kustosz.audit import append as audit
from kustosz.collation import person_key
from kustosz.db.access import Employee, NoticeAcknowledgment
from kustosz.db.models import Setting
from kustosz.db.settings import put_setting
from kustosz.documents.office import annex, fill, text
from kustosz.errors import FieldError, InputError, for_people
from kustosz.limits import check_text, check_texts
from kustosz.policy import Policy
from kustosz.words import count_pl

VERSION_KEY = "notice_version"
COLUMNS = ("imie_nazwisko", "stanowisko", "komorka", "data_rozpoczecia", "identyfikator")
# Optional: the last working day of a leaver (issue 49 item 3). A file without the column
# changes no one's; in a file with it an empty cell means still employed.
END_COLUMN = "data_zakonczenia"


def notice_version(session: Session) -> str:
    row = session.get(Setting, VERSION_KEY)
    return row.value if row is not None else "1"


def set_notice_version(session: Session, version: str, actor: str) -> None:
    version = (version or "").strip()
    if not version or len(version) > 40:
        raise FieldError("version", "give the notice's version (up to 40 characters)",
                         pl="Podaj oznaczenie wersji informacji (do 40 znaków).")
    put_setting(session, VERSION_KEY, version)
    session.flush()
    audit(session, actor, "notice.version", VERSION_KEY, {"version": version})


# Letters and marks a Polish CP1250 file holds; anything else non-ASCII means the bytes are
# probably another encoding that CP1250 happens to decode into nonsense.
_POLISH = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
_PLAUSIBLE = _POLISH | set("„”“‘’«»–—…§°éäöüÉÄÖÜáíúýčďěňřšťžÁČĎĚŇŘŠŤŽ\u00a0")


def _first_bad_line(data: bytes) -> int:
    """The first line that is neither UTF-8 nor free of control bytes (1-based)."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return number
        if any(b < 0x20 and b not in (0x09, 0x0D) for b in raw):
            return number
    return 1


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) or, failing that, Windows-1250 — what Excel saves as
    'CSV' on a Polish Windows. Anything else is refused naming the first bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1250")
        except UnicodeDecodeError:
            text = ""
        odd = {ch for ch in text if ord(ch) > 127} - _PLAUSIBLE
        if not text or odd or not any(ch in _POLISH for ch in text):
            line = _first_bad_line(data)
            raise InputError(
                f"line {line}: unknown character encoding; save the file as CSV in UTF-8 or "
                "Windows-1250",
                pl=f"Wiersz {line}: nieznane kodowanie znaków. Zapisz plik jako CSV w UTF-8 "
                   "albo w Windows-1250 (Excel: „CSV (rozdzielany przecinkami)”).") from None
    if any(ord(ch) < 0x20 and ch not in "\t\r\n" for ch in text):
        # UTF-16 and binary files decode "successfully" into NULs and other control bytes
        line = _first_bad_line(data)
        raise InputError(f"line {line}: unknown character encoding (not CSV text in UTF-8 or "
                         "Windows-1250)",
                         pl=f"Wiersz {line}: nieznane kodowanie znaków (plik nie jest tekstem "
                            "CSV w UTF-8 ani w Windows-1250).")
    return text


_DOTTED = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})\Z")
MAX_LINES_SAID = 20  # a file that is wrong throughout is named by its first lines


def day_of(text: str) -> date | None:
    """A date as offices type it: 2025-09-01, or 01.09.2025 / 1.9.2025 as a Polish Excel
    saves it (day first: a Polish file never puts the month first)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    found = _DOTTED.match(text)
    if found is None:
        return None
    day, month, year = (int(x) for x in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _end_problem(line: int, row: dict[str, str | None],
                 starts: date | None) -> tuple[tuple[str, str] | None, date | None]:
    """The row's last working day (data_zakonczenia), or what is wrong with it."""
    typed = (row.get(END_COLUMN) or "").strip()
    if not typed:
        return None, None
    ends = day_of(typed)
    if ends is None:
        return ((f"line {line}: data_zakonczenia {typed!r} is not a date (YYYY-MM-DD or "
                 "DD.MM.YYYY)",
                 f"Wiersz {line}: data zakończenia pracy „{typed}” nie jest datą "
                 "(RRRR-MM-DD albo DD.MM.RRRR)."), None)
    if starts is not None and ends < starts:
        return ((f"line {line}: data_zakonczenia {typed} is before data_rozpoczecia",
                 f"Wiersz {line}: data zakończenia pracy {ends:%d.%m.%Y} jest wcześniejsza niż "
                 f"data rozpoczęcia {starts:%d.%m.%Y}."), None)
    return None, ends


def _row_problems(line: int, row: dict[str, str | None]) -> tuple[list[tuple[str, str]],
                                                                    date | None]:
    """(English, Polish) for each thing wrong with one row, and its start date."""
    problems: list[tuple[str, str]] = []
    if not (row.get("imie_nazwisko") or "").strip():
        problems.append((f"line {line}: no name (imie_nazwisko)",
                         f"Wiersz {line}: brak imienia i nazwiska."))
    starts = day_of(row.get("data_rozpoczecia") or "")
    if starts is None:
        typed = (row.get("data_rozpoczecia") or "").strip()
        problems.append((f"line {line}: data_rozpoczecia {typed!r} is not a date "
                         "(YYYY-MM-DD or DD.MM.YYYY)",
                         f"Wiersz {line}: data rozpoczęcia pracy „{typed}” nie jest datą "
                         "(RRRR-MM-DD albo DD.MM.RRRR)."))
    try:
        check_texts(full_name=row.get("imie_nazwisko"), position=row.get("stanowisko"),
                    unit=row.get("komorka"), external_id=row.get("identyfikator"))
    except FieldError as exc:
        problems.append((f"line {line}: {exc}", f"Wiersz {line}: {for_people(exc)}"))
    bad_end, _ends = _end_problem(line, row, starts)
    if bad_end is not None:
        problems.append(bad_end)
    return problems, starts


def import_csv(session: Session, text: str, actor: str) -> int:
    """Add or update employees from CSV (header: imie_nazwisko;stanowisko;komorka;
    data_rozpoczecia;identyfikator). All rows or none: every bad line is named at once."""
    # Excel on a Polish Windows separates with ';', elsewhere ','; the header tells which
    # (csv.Sniffer guesses wrong on short files and raises on one-column ones).
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter) \
        if text.strip() else None
    if reader is None or not reader.fieldnames or "imie_nazwisko" not in reader.fieldnames \
            or "data_rozpoczecia" not in reader.fieldnames:
        raise InputError("the CSV file needs the header " + ";".join(COLUMNS),
                         pl="Plik CSV musi mieć nagłówek: " + ";".join(COLUMNS))
    rows: list[tuple[dict[str, str | None], date]] = []
    problems: list[tuple[str, str]] = []
    for line, row in enumerate(reader, start=2):
        found, starts = _row_problems(line, row)
        problems += found
        if not found and starts is not None:
            rows.append((row, starts))
    if problems:
        more = len(problems) - MAX_LINES_SAID
        tail_en = f" (and {more} more)" if more > 0 else ""
        tail_pl = f" (i {count_pl(more, 'inny błąd', 'inne błędy', 'innych błędów')})" \
            if more > 0 else ""
        raise InputError("; ".join(en for en, _pl in problems[:MAX_LINES_SAID]) + tail_en,
                         pl=" ".join(pl for _en, pl in problems[:MAX_LINES_SAID]) + tail_pl
                         + " Nic nie wczytano.")
    now = datetime.now(UTC)
    for row, starts in rows:
        name = (row.get("imie_nazwisko") or "").strip()
        ext = (row.get("identyfikator") or "").strip() or None
        emp = session.execute(select(Employee).where(Employee.external_id == ext)) \
            .scalar_one_or_none() if ext else None
        if emp is None:
            emp = Employee(external_id=ext, full_name=name, starts_on=starts, created_at=now)
            session.add(emp)
        emp.full_name, emp.starts_on = name, starts
        emp.position = (row.get("stanowisko") or "").strip() or None
        emp.unit = (row.get("komorka") or "").strip() or None
        if END_COLUMN in (reader.fieldnames or ()):
            emp.ends_on = _end_problem(0, row, starts)[1]
    session.flush()
    audit(session, actor, "employees.import", "employees", {"rows": len(rows)})
    return len(rows)


class EmployeeFormError(InputError):
    """Every bad field of the one-employee form at once (field → Polish message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("bad fields: " + ", ".join(errors), pl="; ".join(errors.values()))
        self.errors = errors


def add_employee(session: Session, actor: str, *, full_name: str, position: str, unit: str,
                 starts_on: str, external_id: str) -> Employee:
    """One employee typed in by hand; checked like a CSV row, audited like the import."""
    name, ext = full_name.strip(), external_id.strip() or None
    errors: dict[str, str] = {}
    if not name:
        errors["full_name"] = "Podaj imię i nazwisko."
    starts: date | None = None
    try:
        starts = date.fromisoformat(starts_on.strip())
    except ValueError:
        errors["starts_on"] = "Podaj datę dopuszczenia do pracy (RRRR-MM-DD)."
    for field, value in (("full_name", name), ("position", position), ("unit", unit),
                         ("external_id", ext)):
        try:
            check_text(field, value)
        except FieldError as exc:
            errors[field] = str(exc)
    if ext and "external_id" not in errors and session.execute(
            select(Employee.id).where(Employee.external_id == ext)).first() is not None:
        errors["external_id"] = f"Pracownik z identyfikatorem {ext} już jest na liście."
    if errors or starts is None:
        raise EmployeeFormError(errors)
    emp = Employee(external_id=ext, full_name=name, starts_on=starts,
                   position=position.strip() or None, unit=unit.strip() or None,
                   created_at=datetime.now(UTC))
    session.add(emp)
    session.flush()
    audit(session, actor, "employees.add", f"employee {emp.id}", {"rows": 1})
    return emp


def end_employment(session: Session, employee_id: int, on: date, actor: str) -> Employee:
    """The employee's last working day (a leaver): from the next day they are neither asked
    for the declaration nor offered as the person present at a viewing (002 zał. 5 §7.6)."""
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise InputError(f"no employee {employee_id}", pl=f"Nie ma pracownika nr {employee_id}.")
    if on < emp.starts_on:
        raise FieldError("ends_on", f"the last working day {on} is before the start "
                         f"{emp.starts_on}",
                         pl=f"Data zakończenia pracy {on:%d.%m.%Y} jest wcześniejsza niż "
                            f"dopuszczenie do pracy {emp.starts_on:%d.%m.%Y}.")
    emp.ends_on = on
    audit(session, actor, "employees.end", f"employee {emp.id}", {"ends_on": on.isoformat()})
    return emp


def office_today(tz: tzinfo = OFFICE_TZ) -> date:
    """Today in the office (a declaration's date, a last working day): from 00:00 to 01:00
    (02:00 in summer) Warsaw is already a day ahead of UTC."""
    return datetime.now(UTC).astimezone(tz).date()


def acknowledge(session: Session, employee_id: int, on: date, actor: str,
                version: str | None = None, tz: tzinfo = OFFICE_TZ) -> NoticeAcknowledgment:
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise InputError(f"no employee {employee_id}",
                         pl=f"Nie ma pracownika nr {employee_id}.")
    version = version or notice_version(session)
    if on > office_today(tz):
        raise FieldError("on", "the declaration's date is in the future",
                         pl="Data oświadczenia jest w przyszłości.")
    exists = session.execute(select(NoticeAcknowledgment).where(
        NoticeAcknowledgment.employee_id == emp.id,
        NoticeAcknowledgment.notice_version == version)).scalar_one_or_none()
    if exists is not None:
        raise InputError(f"{emp.full_name} already acknowledged version {version}",
                         pl=f"{emp.full_name} już potwierdził(a) wersję {version}.")
    ack = NoticeAcknowledgment(employee_id=emp.id, notice_version=version, acknowledged_on=on,
                               recorded_by=actor, recorded_at=datetime.now(UTC))
    session.add(ack)
    session.flush()
    audit(session, actor, "notice.acknowledge", f"employee {emp.id}",
          {"version": version, "on": on.isoformat()})
    return ack


def declaration_purposes(policy: Policy) -> str | None:
    """The purposes the employee's declaration names where the office's model words them
    ([documents.declaration] purposes: 003 zał. 2); None: the general wording."""
    own = text(policy, "declaration", "purposes")
    return fill(policy, own) if own else None


def declaration_data(session: Session, policy: Policy, emp: Employee) -> dict[str, Any]:
    """Data for declaration.typ: the employee's declaration about monitoring (003 annex 2)."""
    names = policy.doc_names()
    # an office that records calls only speaks of recording calls (issue 49 item 13)
    about = "rejestrowaniu rozmów telefonicznych" \
        if names.get("system_gen") == "systemu rejestracji rozmów telefonicznych" \
        else "monitoringu"
    return {**names, "title": f"Oświadczenie — {emp.full_name}",
            "footer": f"oświadczenie pracownika o {about}",
            "annex": annex(policy, "declaration"), "purposes": declaration_purposes(policy),
            "employee": emp.full_name, "position": emp.position, "unit": emp.unit,
            "version": notice_version(session)}


def rows(session: Session) -> list[tuple[Employee, NoticeAcknowledgment | None]]:
    version = notice_version(session)
    acks = {a.employee_id: a for a in session.execute(select(NoticeAcknowledgment).where(
        NoticeAcknowledgment.notice_version == version)).scalars()}
    emps = sorted(session.execute(select(Employee)).scalars(),
                  key=lambda e: (person_key(e.full_name), e.id))
    return [(e, acks.get(e.id)) for e in emps]


def without_acknowledgment(session: Session, tz: tzinfo = OFFICE_TZ) -> list[Employee]:
    """Employed (or about to start) and without an acknowledgment of the version in force."""
    today = office_today(tz)
    return [e for e, a in rows(session)
            if a is None and (e.ends_on is None or e.ends_on >= today)]
