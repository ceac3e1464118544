"""An alarm in the reader's language (issue 65, the smaller findings): what the dashboard,
/cameras, the live list and a device's notification say of one open alert row.

The row's `message` is the Polish its raiser wrote, kept as written (the record, the mails).
A page words it in its own language without losing it:

- a camera that does not record is said from the one "down since" (kustosz.cameras.
  down_since: its open gap's start and cause), so the alarm, the recorders' table and the
  timeline name one time, in either language;
- an English page takes the raiser's own English (`message_en`), else the catalogue's
  English of the message (web.i18n: a known pattern), else says in English what kind of
  alarm it is and gives the Polish after it, marked ``lang="pl"`` (WCAG 3.1.2);
- a device's or program's own detail (`detail`: English, as its log says it) is never put
  inside a Polish sentence: it follows it, said to be the technical detail, marked
  ``lang="en"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from markupsafe import Markup, escape

from kustosz.alert_kinds import kind_of
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.ingest.phone.siprec.alerts import _WORDS as CALL_WORDS
from kustosz.states import AlertRow
from kustosz.web.i18n import english, translate

CAMERA_DOWN = "Kamera „{name}” nie nagrywa od {since} (przyczyna: {cause})."
CALL = "Linia telefoniczna {line}: {words}."
DETAIL = "Szczegóły techniczne (dla informatyka):"
KIND_LEAD = "Alarm ({kind}):"


@dataclass(frozen=True)
class Row:
    """What of an alert row its words need."""

    kind: str
    message: str
    message_en: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Words:
    html: Markup  # for the page
    plain: str  # the same as text: the live region's announcement, a notification


def camera_down(name: str, since: datetime, cause: str, lang: str, tz: tzinfo) -> str:
    """A dead camera's alarm, from its down-since and its gap's cause."""
    why = translate(CAUSES_PL.get(cause, cause), lang)
    return translate(CAMERA_DOWN, lang, name=name,
                     since=since.astimezone(tz).strftime("%d.%m.%Y %H:%M"), cause=why)


def alarm_words(row: Row, lang: str, tz: tzinfo, name: str | None = None,
                down: tuple[datetime, str | None] | None = None) -> Words:
    """``row`` in ``lang``; ``name`` its source's, ``down`` that source's down-since and
    gap cause when it does not record."""
    if row.kind == AlertRow.CAMERA_DOWN and name and down is not None and down[1]:
        text = camera_down(name, down[0], down[1], lang, tz)
        return _with_detail(escape(text), text, row.detail, lang)
    call = _call(row)
    if call is not None:
        line, words, detail = call
        text = translate(CALL, lang, line=line, words=translate(words, lang))
        return _with_detail(escape(text), text, detail, lang)
    if lang == "en" and row.message_en:
        return Words(escape(row.message_en), row.message_en)
    if lang != "en":
        return _with_detail(escape(row.message), row.message, row.detail, lang)
    said = english(row.message)
    if said != row.message:
        return _with_detail(escape(said), said, row.detail, lang)
    lead = translate(KIND_LEAD, lang, kind=translate(kind_of(row.kind).label_pl, lang))
    html = Markup('{} <span lang="pl">{}</span>').format(lead, row.message)
    return _with_detail(html, f"{lead} {row.message}", row.detail, lang)


def _call(row: Row) -> tuple[str, str, str] | None:
    """A SIPREC call's alarm as its raiser writes it — "Linia telefoniczna L: <words>
    (<the SBC's or the capture's detail, in English>)." — parted into its line, its words and
    its detail, which must not stand in parentheses inside the Polish sentence."""
    words = CALL_WORDS.get(AlertRow(row.kind)) if row.kind in CALL_WORDS else None
    head = "Linia telefoniczna "
    if words is None or not row.message.startswith(head) or ": " not in row.message:
        return None
    line, _, rest = row.message[len(head):].partition(": ")
    if not (rest.startswith(words + " (") and rest.endswith(").")):
        return None
    return line, words, rest[len(words) + 2:-2]


def _with_detail(html: Markup, plain: str, detail: str | None, lang: str) -> Words:
    if not detail:
        return Words(html, plain)
    label = translate(DETAIL, lang)
    html += Markup(' <small class="detail">{} <span lang="en">{}</span></small>').format(
        label, detail)
    return Words(html, f"{plain} {label} {detail}")
