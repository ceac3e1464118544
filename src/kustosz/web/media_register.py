"""The access register (R6.3 supervision): viewing sessions and refused attempts, newest
first, as a page and as CSV. Its route is /access-log in pages.py."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlencode

from fastapi.responses import Response
from sqlalchemy import select

from kustosz.access import records
from kustosz.access.authorisations import ACTIONS
from kustosz.custody.registers import CSV_FORMS_PL, csv_bytes, csv_form
from kustosz.db.custody import Copy, User
from kustosz.db.models import Source
from kustosz.errors import FieldError
from kustosz.web.common import Ctx, page, span_pl
from kustosz.web.media import NO_STORE

SHOW_PL = {"all": "wszystkie wpisy", "access": "tylko dostępy", "refused": "tylko odmowy"}
PAGE_ROWS = 200  # the newest lines the page shows
CSV_ROWS = 20000  # and the download


def access_register(ctx: Ctx) -> Response:
    """/access-log (its route is in pages.py): viewing sessions and refused attempts, newest
    first, filtered by ``show`` (all | access | refused) and ``reason`` (a refusal code). An
    unknown filter value is said on the page (422), and everything is shown."""
    ctx.need("oversight")
    show = ctx.request.query_params.get("show") or "all"
    code = ctx.request.query_params.get("reason") or ""
    errors: dict[str, str] = {}
    if show not in SHOW_PL:
        errors["show"] = "Nieznany rodzaj wpisów — wybierz z listy."
        show = "all"
    reason = None
    if code:
        try:
            reason = records.Reason(code)
        except ValueError:
            errors["reason"] = "Nieznany powód odmowy — wybierz z listy."
    if reason is not None:
        show = "refused"
    as_csv = ctx.request.query_params.get("format") == "csv"
    form_csv, csv_error = "excel", None
    if as_csv:
        try:
            form_csv = csv_form(ctx.request.query_params.get("csv"))
        except FieldError as exc:
            csv_error = ctx.said(exc)
    with ctx.vault.reading() as s:
        rows = records.register(s, ctx.vault.policy.timezone, show, reason,
                                limit=CSV_ROWS if as_csv else PAGE_ROWS)
        names = {x.id: x.name for x in s.execute(select(Source)).scalars()}
        people = {u.name: u.display_name for u in s.execute(select(User)).scalars()}
        copies = {i: n for i, n in s.execute(select(Copy.id, Copy.number))}
    for r in rows:
        if r.refused:
            r.what = asked_pl(r.what)
    form = {"show": show, "reason": reason.value if reason else ""}
    if as_csv and not errors and csv_error is None:
        return Response(_register_csv(ctx, rows, names, people, copies, form_csv),
                        media_type="text/csv; charset=utf-8",
                        headers={**NO_STORE, "Content-Disposition":
                                 'attachment; filename="rejestr-dostepu.csv"'})
    return page(ctx, "access_log.html", 422 if errors or csv_error else 200, rows=rows,
                names=names, copies=copies, error=csv_error,
                actions=ACTIONS, shows=SHOW_PL, reasons=records.REASONS, form=form,
                reason_options=[(r.value, w.label) for r, w in records.REASONS.items()],
                errors=errors, refused_count=sum(1 for r in rows if r.refused), people=people,
                csv_query=urlencode({k: v for k, v in {**form, "format": "csv"}.items() if v}),
                csv_forms=CSV_FORMS_PL)


# What a refused request asked for, said as a person would (records keeps the address's
# last part: "materiał (sesja nr 7): vod.m3u8").
_ASKED = re.compile(r"^(materiał|strona przeglądu) \((sesja nr \d+|nieznana sesja)\)"
                    r"(?:: (.*))?$")
_ASKED_PARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^vod\.m3u8$"), "lista odtwarzania nagrania"),
    (re.compile(r"^live\.m3u8$"), "lista odtwarzania podglądu na żywo"),
    (re.compile(r"^segment/(\d+)\.ts$"), "segment nagrania nr {0}"),
    (re.compile(r"^sub/live(\d+)\.ts$"), "fragment podglądu na żywo nr {0}"),
    (re.compile(r"^live\.mp4$"), "strumień podglądu na żywo"),
    (re.compile(r"^audio$"), "nagranie rozmowy (dźwięk)"),
    (re.compile(r"^copy\.zip$"), "kopia (ZIP)"),
    (re.compile(r"^mail/(\d+)\.eml$"), "wiadomość e-mail nr {0}"),
    (re.compile(r"^mail$"), "wyszukiwanie w poczcie"),
    (re.compile(r"^events/(\d+)$"), "zdarzenie IT nr {0}"),
    (re.compile(r"^events$"), "wyszukiwanie w zdarzeniach IT"),
    (re.compile(r"^calls$"), "wyszukiwanie rozmów"),
    (re.compile(r"^end$"), "zakończenie przeglądu"),
    (re.compile(r"^protocol$"), "protokół odsłuchania"),
)


def asked_pl(what: str) -> str:
    """"materiał (nieznana sesja): vod.m3u8" -> "lista odtwarzania nagrania (nieznana
    sesja)"; anything else as it is."""
    found = _ASKED.match(what)
    if not found:
        return what
    kind, session, rest = found.groups()
    thing = "strona przeglądu" if kind == "strona przeglądu" and not rest else "materiał"
    for pattern, words in _ASKED_PARTS:
        part = pattern.match(rest or "")
        if part:
            thing = words.format(*part.groups())
            break
    else:
        if rest:
            thing = f"{thing}: {rest}"
    return f"{thing} ({session})"


def _register_csv(ctx: Ctx, rows: list[records.RegisterRow], names: dict[int, str],
                  people: dict[str, str], copies: dict[int, str], form: str) -> bytes:
    """The register as shown, for a spreadsheet in ``form`` (registers.CSV_FORMS; cells
    that would start a formula are neutralised: purposes and cases are typed by people)."""
    tz = ctx.vault.policy.timezone

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S") if value else ""

    def who(name: str) -> str:
        return f"{people[name]} ({name})" if name in people else name

    lines: list[list[object]] = []
    for r in rows:
        v = r.viewing
        cells: list[object]
        if v is None:
            cells = [when(r.at), "", who(r.user_name), ACTIONS.get(r.action or "", r.action or ""),
                     r.what, "odmowa", records.REASONS[r.reason].label if r.reason else "",
                     r.reason_pl, "", "", "", "", r.client, ""]
        else:
            what = ", ".join(x for x in (
                names.get(v.source_id or 0, ""),
                f"nagranie rozmowy nr {v.recording_id}" if v.recording_id else "",
                f"kopia nr {copies.get(v.copy_id, v.copy_id)}" if v.copy_id else "") if x)
            if v.window_start and v.window_end:
                what += f" ({span_pl(v.window_start, v.window_end, tz, seconds=True)})"
            cells = [when(v.started_at), when(v.last_at), who(v.user_name),
                     ACTIONS.get(v.action, v.action), what, f"dostęp (sesja nr {v.id})", "", "",
                     v.purpose, v.case_ref or "", v.request_id or "", records.witness_shown(v),
                     v.client, v.served]
        lines.append(cells)
    return csv_bytes(["Od", "Do", "Kto", "Czynność", "Co", "Wynik", "Powód odmowy",
                      "Szczegóły odmowy", "Cel", "Sprawa", "Wniosek", "Obecny", "Stanowisko",
                      "Pobrań"], lines, form)
