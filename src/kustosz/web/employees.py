"""Employees and notice acknowledgments (R6.1): list, CSV import, acknowledgment, the printable
declaration (003 annex 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kustosz.access import employees as emp_mod
from kustosz.db.access import Employee, NoticeAcknowledgment
from kustosz.documents import render
from kustosz.errors import FieldError, InputError
from kustosz.web import list_filters
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.gate import gate
from kustosz.web.i18n import plural_in
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)


# The acknowledgment of the notice version in force (R6.1): given or not.
STATES_PL = {"acknowledged": "oświadczenie złożone", "missing": "bez oświadczenia"}


def employee_facts(row: tuple[Employee, NoticeAcknowledgment | None]) -> list_filters.Facts:
    """An employee is found by the HR identifier, the name, the day they start work and
    whether the acknowledgment of the version in force is given."""
    emp, ack = row
    return list_filters.Facts(numbers=[emp.external_id or ""], people=[emp.full_name],
                              state="acknowledged" if ack else "missing", day=emp.starts_on)


def _page(ctx: Ctx, status: int = 200, error: str | None = None,
          errors: dict[str, str] | None = None, form: dict[str, str] | None = None) -> Response:
    """``errors``: the add form's by field, ``file`` (import), ``version``, and a row's
    acknowledgment as ``on-<id>`` (``form`` keeps the date typed there under that key)."""
    flt = list_filters.parse(ctx.request.query_params, STATES_PL)
    with ctx.vault.reading() as s:
        every = emp_mod.rows(s)
        version = emp_mod.notice_version(s)
        missing = {e.id for e in emp_mod.without_acknowledgment(s, ctx.vault.policy.timezone)}
    paging = list_filters.paged(flt, list_filters.apply(flt, every, employee_facts))
    if flt.errors and status == 200:
        status = 422
    return page(ctx, "employees.html", status, rows=paging.rows, version=version,
                missing=missing, flt=flt, paging=paging, filter_states=list(STATES_PL.items()),
                error=error, errors=errors or {}, form=form or {}, msg=flash_of(ctx),
                today=emp_mod.office_today(ctx.vault.policy.timezone),
                columns=";".join(emp_mod.COLUMNS), end_column=emp_mod.END_COLUMN)


@router.get("/employees")
def employees(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _page(ctx)


@router.post("/employees/import")
async def employees_import(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _page(ctx, 422, errors={"file": "Wybierz plik CSV."})
    data = await upload.read()
    try:
        text = emp_mod.decode_csv(data)
        with ctx.vault.transaction() as s:
            count = emp_mod.import_csv(s, text, user.name)
    except InputError as exc:
        return _page(ctx, 422, errors={"file": ctx.said(exc)})
    loaded = plural_in(ctx.lang, count, "Wczytano {n} pracownika.", "Wczytano {n} pracowników.",
                       "Wczytano {n} pracowników.")
    return redirect(flash_url("/employees", loaded.format(n=count)))


@router.post("/employees/add")
async def employees_add(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    raw = await request.form()
    form = {k: str(raw.get(k, "")) for k in
            ("full_name", "position", "unit", "starts_on", "external_id")}
    try:
        with ctx.vault.transaction() as s:
            emp = emp_mod.add_employee(s, user.name, **form)
            name = emp.full_name
    except emp_mod.EmployeeFormError as exc:
        return _page(ctx, 422, errors=exc.errors, form=form)
    return redirect(flash_url("/employees", ctx._("Dodano pracownika: {name}.", name=name)))


async def _row_day(ctx: Ctx, request: Request, key: str, field: str, ask_pl: str,
                   act: Callable[[Session, date], str]) -> Response:
    """A date typed in an employee's row (``field``), checked and acted on; its error shown
    in that row (``key``); ``act`` returns the flash message."""
    typed = str((await request.form()).get(field, ""))
    try:
        on = date.fromisoformat(typed)
    except ValueError:
        return _page(ctx, 422, errors={key: ask_pl}, form={key: typed})
    try:
        with ctx.vault.transaction() as s:
            said = act(s, on)
    except InputError as exc:
        return _page(ctx, 422, errors={key: ctx.said(exc)}, form={key: typed})
    return redirect(flash_url("/employees", said))


@router.post("/employees/{employee_id}/end")
async def employees_end(employee_id: PathId, request: Request,
                        ctx: Ctx = gate("custody")) -> Response:
    """A leaver's last working day (issue 49 item 3)."""
    user = ctx.need("custody")

    def end(s: Session, on: date) -> str:
        name = emp_mod.end_employment(s, employee_id, on, user.name).full_name
        return ctx._("Zapisano zakończenie pracy: {name}, {day}.", name=name,
                     day=on.strftime("%d.%m.%Y"))

    return await _row_day(ctx, request, f"ends-{employee_id}", "ends_on",
                          "Podaj datę zakończenia pracy (RRRR-MM-DD).", end)


@router.post("/employees/{employee_id}/acknowledge")
async def employees_ack(employee_id: PathId, request: Request,
                        ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")

    def ack(s: Session, on: date) -> str:
        emp_mod.acknowledge(s, employee_id, on, user.name, tz=ctx.vault.policy.timezone)
        return "Oświadczenie zapisane."

    return await _row_day(ctx, request, f"on-{employee_id}", "on",
                          "Podaj datę oświadczenia (RRRR-MM-DD).", ack)


@router.post("/employees/version")
async def employees_version(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await request.form()
    try:
        with ctx.vault.transaction() as s:
            emp_mod.set_notice_version(s, str(form.get("version", "")), user.name)
    except FieldError as exc:
        return _page(ctx, 422, errors={"version": ctx.said(exc)},
                     form={"version": str(form.get("version", ""))})
    return redirect(flash_url("/employees", "Zmieniono wersję informacji o monitoringu."))


@router.get("/employees/{employee_id}/declaration")
def declaration(employee_id: PathId, ctx: Ctx = gate("custody_read")) -> Response:
    """The declaration as a PDF like every other document (issue 12): a printed web page
    carried the navigation and the footer onto paper."""
    ctx.need("custody_read")

    with ctx.vault.reading() as s:
        emp = s.get(Employee, employee_id)
        if emp is None:
            return page(ctx, "error.html", 404, message="Nie ma takiego pracownika.")
        data = emp_mod.declaration_data(s, ctx.vault.policy, emp)
    pdf = render("declaration", data, data_root=ctx.vault.root)
    name = f"oswiadczenie-{employee_id}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
