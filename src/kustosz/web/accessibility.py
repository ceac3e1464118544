"""The accessibility statement (deklaracja dostępności) and the session's time limit.

The statement is the page ustawa z dnia 4 kwietnia 2019 r. o dostępności cyfrowej stron
internetowych i aplikacji mobilnych podmiotów publicznych (art. 10) requires of every public
body's web application, intranets included, laid out as the Minister's template (the ids
``a11y-…`` are the template's, read by the tools that collect statements). It is filled from
the office's policy ([office], [documents], the optional [accessibility]) and states this
app's real shortcomings; it answers before login, as the law's reader need not have an account.

The session ends after `accounts.IDLE_MINUTES` without a request and `accounts.ABSOLUTE_HOURS`
after login. WCAG 2.2.1 asks that a person be warned before a time limit and may extend it:
every signed-in page carries the seconds left (measured by the server, so a wrong clock on the
workstation does not matter) for static/session_expiry.js, which warns and offers
"Przedłuż sesję" (POST /session/extend). The absolute limit is a security rule and is not
extended; the statement says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kustosz import __version__
from kustosz.access.accounts import ABSOLUTE_HOURS, IDLE_MINUTES
from kustosz.db.access import WebSession
from kustosz.kinds import SourceKind
from kustosz.policy import Policy
from kustosz.policy.accessibility import day
from kustosz.web.common import TEMPLATES, Ctx, page, redirect
from kustosz.web.gate import gate, public
from kustosz.web.next_target import safe_next
from kustosz.web.prefix import at
from kustosz.words import plural

router = APIRouter()

# The day the authors last checked the list of shortcomings against the app (axe-core and a
# manual review): move it with every change that touches the list, and no other way. It dates
# that list only: the statement's own dates and how it was prepared are the office's
# ([accessibility], issue 49 item 9).
REVIEWED = date(2026, 11, 25)
# How long before the end the page warns. WCAG 2.2.1 asks for at least 20 seconds to answer;
# two minutes leave time to finish a sentence first. The absolute end cannot be moved, so it
# is announced earlier: time to save the work.
WARN_SECONDS = 120
HARD_WARN_SECONDS = 600
RPO_URL = "https://www.rpo.gov.pl/"


def _minutes_pl(n: int) -> str:  # "ostrzega 2 minuty wcześniej": the accusative
    return f"{n} {plural(n, 'minutę', 'minuty', 'minut')}"


def _hours_pl(n: int) -> str:  # "ponad 10 godzin"
    return f"{n} {plural(n, 'godzinę', 'godziny', 'godzin')}"


@dataclass(frozen=True)
class Shortcoming:
    """One non-accessible part of the app and why, in both languages."""

    what_pl: str
    why_pl: str
    what_en: str
    why_en: str
    kind: str | None = None  # the material it concerns: listed only where the office keeps it

    def in_(self, lang: str) -> tuple[str, str]:
        return (self.what_en, self.why_en) if lang == "en" else (self.what_pl, self.why_pl)


SHORTCOMINGS: tuple[Shortcoming, ...] = (
    Shortcoming(
        "Nagrania z monitoringu wizyjnego (odtwarzanie i podgląd bieżący) nie mają napisów, "
        "audiodeskrypcji ani opisu tekstowego tego, co widać na obrazie.",
        "To materiał rejestrowany przez kamery w sposób ciągły, a nie treść publikowana przez "
        "urząd: nie da się go opisać z wyprzedzeniem, a otwierają go wyłącznie osoby "
        "upoważnione. Czas nagrania, jego fragmenty i przerwy w nagraniu strona podaje "
        "tekstem.",
        "Video monitoring recordings (playback and live view) have no captions, audio "
        "description or text description of what the picture shows.",
        "They are material the cameras record continuously, not content the office "
        "publishes: it cannot be described in advance, and only authorised persons open it. "
        "The page gives the recording's time, its segments and its gaps as text.",
        kind=SourceKind.CAMERA),
    Shortcoming(
        "Nagrania rozmów telefonicznych (odsłuch) nie mają transkrypcji.",
        "To materiał rejestrowany, nie publikowany; przebieg i ustalenia odsłuchu zapisuje "
        "protokół z odsłuchania rozmowy telefonicznej.",
        "Recorded telephone calls (listening) have no transcript.",
        "They are recorded material, not published content; what a listening found is "
        "written in the listening protocol.",
        kind=SourceKind.PHONE),
    Shortcoming(
        "Sprawdzenie, czy osoby na kopii nagrania zostały zamaskowane (przegląd klatka po "
        "klatce), wymaga oceny wzrokowej.",
        "Celem tej czynności jest ocena obrazu; nie ma dla niej odpowiednika tekstowego. "
        "Może ją wykonać inna osoba upoważniona.",
        "Checking that the people on a copy of a recording were masked (the frame-by-frame "
        "review) needs sight.",
        "Its purpose is to judge the picture; it has no text equivalent. Another authorised "
        "person may do it.",
        kind=SourceKind.CAMERA),
    Shortcoming(
        "Dokumenty PDF tworzone przez aplikację (wnioski, decyzje, protokoły, rejestry, "
        "klauzule, tabliczka) są zgodne ze standardem PDF/UA-1: mają znaczniki struktury, "
        "tytuł, język i nagłówki w porządku, co przy każdym wydruku sprawdza program "
        "składający dokument. Nie sprawdzono ich czytnikiem ekranu. Piktogram kamery na "
        "tabliczce jest oznaczony jako ozdobny i nie ma opisu alternatywnego. Wzór dokumentu "
        "zmieniony przez urząd, który standardu nie spełnia, jest drukowany bez niego.",
        "Dokumenty służą przede wszystkim do wydruku i podpisu. Znaczenie piktogramu podaje "
        "napis „OBIEKT MONITOROWANY” obok niego. Wzór zmieniony przez urząd jest drukowany, "
        "aby nie wstrzymywać sprawy; aplikacja zapisuje wtedy ostrzeżenie.",
        "The PDF documents the app makes (requests, decisions, protocols, registers, "
        "clauses, the sign) conform to PDF/UA-1: they carry structure tags, a title, a "
        "language and headings in order, which the program composing them checks at every "
        "print. They have not been tried with a screen reader. The camera pictogram on the "
        "sign is marked as decorative and has no text alternative. A document template the "
        "office changed that breaks the standard is printed without it.",
        "The documents are meant above all to be printed and signed. The words beside the "
        "pictogram say what it means. A template the office changed is still printed so as "
        "not to hold a case up; the app logs a warning."),
    Shortcoming(
        f"Sesji nie można przedłużyć ponad {_hours_pl(ABSOLUTE_HOURS)} od zalogowania.",
        f"To wymóg bezpieczeństwa dostępu do nagrań. Aplikacja ostrzega "
        f"{_minutes_pl(HARD_WARN_SECONDS // 60)} wcześniej; potem trzeba zalogować się "
        f"ponownie. Sesję, która wygasa po {IDLE_MINUTES} minutach bez aktywności, można "
        f"przedłużyć przyciskiem „Przedłuż sesję” w ostrzeżeniu pokazywanym "
        f"{_minutes_pl(WARN_SECONDS // 60)} przed jej końcem.",
        f"A session cannot be extended beyond {ABSOLUTE_HOURS} hours after signing in.",
        f"It is a security rule of access to recordings. The app warns "
        f"{HARD_WARN_SECONDS // 60} minutes before; then one signs in again. The session "
        f"that ends after {IDLE_MINUTES} minutes without activity can be extended with the "
        f"\"Extend session\" button of the warning shown {WARN_SECONDS // 60} minutes before "
        f"its end."),
)


def shortcomings(policy: Policy) -> list[Shortcoming]:
    """What is not accessible in this office's app: a calls-only office lists no video, a
    video-only office no calls (issue 49 item 9)."""
    kept = {k for k, v in policy.retention.items() if v}
    return [s for s in SHORTCOMINGS if s.kind is None or s.kind in kept]


@dataclass(frozen=True)
class Contact:
    """Who takes the remarks and requests: the person [accessibility] names (``own``), with
    its e-mail and telephone, each of them else the office's own from [documents] (as
    policy.accessibility.gaps counts them); any may be empty."""

    own: bool
    person: str
    email: str
    phone: str
    address: str


def contact_of(policy: Policy) -> Contact:
    given, office = policy.accessibility, policy.documents
    person = str(given.get("contact") or "")
    return Contact(own=bool(person), person=person,
                   email=str(given.get("email") or office.get("email") or ""),
                   phone=str(given.get("phone") or office.get("phone") or ""),
                   address=str(office.get("address") or ""))


@dataclass(frozen=True)
class Facts:
    """What the statement says of the office and of the statement itself, all from the
    office's [accessibility]; None or empty where the office has not said (the page then says
    it was not given and shows an administrator the setting)."""

    published: date | None
    updated: date | None
    prepared: date | None
    reviewed: date | None
    basis: str | None  # "self": the office's self-assessment; "external": `examiner`'s study
    examiner: str
    architecture: tuple[str, ...]  # paragraphs


def facts_of(policy: Policy) -> Facts:
    given = policy.accessibility
    examiner = str(given.get("examiner") or "").strip()
    basis = "external" if examiner else "self" if given.get("self_assessment") else None
    text = str(given.get("architecture") or "")
    return Facts(published=day(given, "published"), updated=day(given, "updated"),
                 prepared=day(given, "prepared"), reviewed=day(given, "reviewed"),
                 basis=basis, examiner=examiner,
                 architecture=tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", text)
                                    if p.strip()))


@router.get("/deklaracja-dostepnosci", include_in_schema=False)
def statement(request: Request, ctx: Ctx = public()) -> Response:
    policy = ctx.vault.policy
    names = policy.doc_names()
    return page(ctx, "accessibility.html",
                names=names, address=policy.accessibility.get("address", "").strip()
                or str(request.base_url).rstrip("/") + at("/"),
                facts=facts_of(policy), reviewed=REVIEWED, version=__version__,
                shortcomings=[s.in_(ctx.lang) for s in shortcomings(ctx.vault.policy)],
                contact=contact_of(policy),
                idle_minutes=IDLE_MINUTES, warn_minutes=WARN_SECONDS // 60,
                warn_pl=_minutes_pl(WARN_SECONDS // 60), rpo_url=RPO_URL)


# -- the session's time limit ------------------------------------------------------------------

def _times(row: WebSession, now: datetime) -> dict[str, int]:
    """Seconds left until the session ends (whichever comes first) and until its absolute
    end, as the page's script counts them."""
    hard = row.expires_at
    end = min(row.last_seen_at + timedelta(minutes=IDLE_MINUTES), hard)
    return {"left": max(0, int((end - now).total_seconds())),
            "hard_left": max(0, int((hard - now).total_seconds())),
            "idle": IDLE_MINUTES * 60, "warn": WARN_SECONDS, "hard_warn": HARD_WARN_SECONDS}


def session_expiry(ctx: Any) -> dict[str, Any] | None:
    """For base.html: the signed-in browser session's time left, or None (no one signed in,
    an API token)."""
    if not isinstance(ctx, Ctx) or ctx.user is None or ctx.session_id is None \
            or ctx.via_token:
        return None
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        row = s.get(WebSession, ctx.session_id)
        if row is None:
            return None
        return dict(_times(row, now))


TEMPLATES.env.globals["session_expiry"] = session_expiry


@router.post("/session/extend", include_in_schema=False)
async def extend(request: Request, ctx: Ctx = gate(one_time_ok=True)) -> Response:
    """Start the idle time again (the gate has checked the CSRF token). The script asks for
    JSON; the form without scripts goes back to its page."""
    now = datetime.now(UTC)
    with ctx.vault.transaction() as s:
        row = s.get(WebSession, ctx.session_id)
        if row is None:  # ended between the gate and here: as any ended session
            return redirect("/login")
        row.last_seen_at = now
        s.flush()
        times = _times(row, now)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(times)
    form = await request.form()
    return redirect(safe_next(str(form.get("next", "/"))))
