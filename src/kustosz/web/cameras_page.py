"""The cameras page: the day timeline with its zoom (whole day, an hour, ten minutes), the
recorded spans and gaps of each camera (open ones too), and the camera register."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from kustosz.cameras.register import camera_rows
from kustosz.db.models import Source
from kustosz.index.recordings import Span, spans
from kustosz.kinds import SourceKind
from kustosz.web import locations
from kustosz.web.alarms_live import alarm_list
from kustosz.web.camera_silence import silence_of
from kustosz.web.codec_notes import camera_codec
from kustosz.web.common import Ctx, flash_of, page
from kustosz.web.gate import gate
from kustosz.web.timeline_gaps import bar_gaps

router = APIRouter(include_in_schema=False)


# The day timeline's zoom (issue 29 item 14): the window's length, the step of its "at"
# (a window starts on a whole hour or a whole ten minutes), the ticks' step, and the shortest
# gap worth drawing at that scale.
ZOOMS: dict[str, tuple[timedelta, timedelta, timedelta, float]] = {
    "day": (timedelta(days=1), timedelta(days=1), timedelta(hours=3), 60.0),
    "hour": (timedelta(hours=1), timedelta(hours=1), timedelta(minutes=10), 10.0),
    "10min": (timedelta(minutes=10), timedelta(minutes=10), timedelta(minutes=1), 2.0),
}
ZOOM_PL = {"day": "cały dzień", "hour": "godzina", "10min": "10 minut"}


@dataclass(frozen=True)
class Window:
    """The part of the day the timeline shows: its zoom, where it starts (local), the links
    to the windows before and after, and the ticks (percent, label)."""

    zoom: str
    start: datetime
    end: datetime
    ticks: list[tuple[float, str]]


def timeline_window(day: date, zoom: str, at: str, tz: Any) -> tuple[Window, str | None]:
    """The window of ``day`` for ``zoom`` starting at ``at`` ("HH:MM", floored to the zoom's
    step), and a Polish message when ``zoom`` or ``at`` could not be read (then the whole
    day)."""
    problem = None
    if zoom not in ZOOMS:
        problem = (f"Nieznane powiększenie osi czasu „{zoom[:40]}”: wybierz cały dzień, "
                   "godzinę albo 10 minut. Pokazano cały dzień.")
        zoom = "day"
    length, step, tick, _ = ZOOMS[zoom]
    first = datetime.combine(day, time(0), tzinfo=tz)
    start = first
    if zoom != "day":
        try:
            hour, minute = (int(x) for x in at.split(":")) if at else (0, 0)
            if not (0 <= hour < 24 and 0 <= minute < 60):
                raise ValueError(at)
        except ValueError:
            problem = (f"Nieprawidłowa godzina „{at[:40]}” (GG:MM, np. 14:30). Pokazano "
                       "cały dzień.")
            zoom, (length, step, tick, _) = "day", ZOOMS["day"]
        else:
            minutes = hour * 60 + minute
            minutes -= minutes % int(step.total_seconds() // 60)
            start = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
    end = start + length
    total = (end - start).total_seconds()
    ticks = []
    t = start
    while t <= end:
        label = "24:00" if t == end and zoom == "day" else t.astimezone(tz).strftime("%H:%M")
        ticks.append((round((t - start).total_seconds() / total * 100, 3), label))
        t += tick
    return Window(zoom, start, end, ticks), problem


def zoom_links(day: date, win: Window, tz: Any, focus: datetime | None = None
               ) -> dict[str, Any]:
    """The zoom's links: the three scales (at the window's start), the windows before and
    after (across midnight into the next or previous day), and the parts of this window
    one scale closer. "+" zooms into the part holding ``focus`` (now, or the latest
    recording shown), not the window's first part (issue 50 item 6: from the whole day it
    landed on 00:00–01:00, where nothing is)."""
    def url(d: date, zoom: str, at: datetime | None = None) -> str:
        query = f"day={d.isoformat()}"
        if zoom != "day":
            query += f"&zoom={zoom}&at={at.astimezone(tz):%H:%M}" if at else f"&zoom={zoom}"
        return f"/cameras?{query}"

    local = win.start.astimezone(tz)
    length = win.end - win.start
    before, after = win.start - length, win.end
    inner = {"day": "hour", "hour": "10min"}.get(win.zoom)
    parts = []
    zoom_in = None
    if inner:
        part, t = ZOOMS[inner][0], win.start
        while t < win.end:
            parts.append((t.astimezone(tz).strftime("%H:%M"), url(day, inner, t)))
            if zoom_in is None or (focus is not None and t <= focus < t + part):
                zoom_in = parts[-1][1]
            t += part
    return {
        "scales": [(z, ZOOM_PL[z], url(day, z, win.start)) for z in ZOOMS],
        "prev": url(before.astimezone(tz).date(), win.zoom, before) if win.zoom != "day"
        else url(day - timedelta(days=1), "day"),
        "next": url(after.astimezone(tz).date(), win.zoom, after) if win.zoom != "day"
        else url(day + timedelta(days=1), "day"),
        "prev_label": (before.astimezone(tz).strftime("%H:%M") if win.zoom != "day"
                       else (day - timedelta(days=1)).strftime("%d.%m.%Y")),
        "next_label": (after.astimezone(tz).strftime("%H:%M") if win.zoom != "day"
                       else (day + timedelta(days=1)).strftime("%d.%m.%Y")),
        "inner": inner, "inner_pl": ZOOM_PL.get(inner or "", ""), "parts": parts,
        "zoom_in": zoom_in,
        "zoom_out": None if win.zoom == "day" else url(
            day, {"10min": "hour", "hour": "day"}[win.zoom], win.start),
        "label": (local.strftime("%d.%m.%Y") if win.zoom == "day" else
                  f"{local:%d.%m.%Y}, {local:%H:%M}–{win.end.astimezone(tz):%H:%M}"),
    }


@router.get("/cameras")
def cameras(ctx: Ctx = gate(), day: str | None = None, zoom: str = "day",
            at: str = "") -> Response:
    ctx.need_user()
    tz = ctx.vault.policy.timezone
    try:
        the_day = date.fromisoformat(day) if day else datetime.now(tz).date()
    except ValueError:
        the_day = datetime.now(tz).date()
    win, problem = timeline_window(the_day, zoom, at, tz)
    start, end = win.start, win.end
    shortest = ZOOMS[win.zoom][3]
    timelines = []
    with ctx.vault.reading() as s:
        see = locations.may_see(ctx)
        alarms = alarm_list(ctx, s, datetime.now(UTC))  # kept up to date (issue 65)
        rows = camera_rows(s, ctx.vault.policy, see)
        names = {r["name"] for r in rows}
        extra = [src.name for src in s.execute(select(Source).where(
            Source.kind == SourceKind.CAMERA).order_by(Source.name)).scalars()
            if src.name not in names]

        for name in [*(r["name"] for r in rows), *extra]:
            source = s.execute(select(Source).where(Source.name == name)).scalar_one()
            recs = list(s.execute(spans(source, start, end)))

            def pct(a: datetime, b: datetime) -> tuple[float, float]:
                total = (end - start).total_seconds()
                left = max(0.0, (a - start).total_seconds() / total * 100)
                width = max(0.15, (min(b, end) - max(a, start)).total_seconds() / total * 100)
                return round(left, 3), round(width, 3)

            merged = [(max(a, start), min(b, end)) for a, b in _merge(recs)
                      if b > start and a < end]
            # whether or not anything was stored: a dead camera has nothing (issue 50)
            gaps = bar_gaps(s, source, (start, end), datetime.now(UTC), recs, shortest, pct,
                            the_day, tz)
            timelines.append({"name": name, "spans": [pct(a, b) for a, b in merged],
                              "recorded": merged,  # the bar's table (cameras.html)
                              "gaps": gaps,
                              "down": next((g for g in gaps if g.until is None), None),
                              "play": play_period(merged[0][0], merged[-1][1])
                              if merged else None,
                              "count": len(recs),
                              "codec": camera_codec(s, source.id),
                              # beside its live button: what the live view will show
                              "silent": silence_of(s, source.id)})
    if see and rows:
        locations.viewed(ctx, "cameras")
    return page(ctx, "cameras.html", rows=rows, extra=extra, timelines=timelines,
                day=the_day, win=win, nav=zoom_links(the_day, win, tz, _focus(win, timelines)),
                error=problem, see_locations=see, msg=flash_of(ctx), **alarms,
                alarms_page="cameras", alarms_day=the_day.isoformat())


def _focus(win: Window, timelines: list[dict[str, Any]]) -> datetime | None:
    """Where "+" zooms: now when the window holds it, else the last moment recorded in it."""
    now = datetime.now(UTC)
    if win.start <= now < win.end:
        return now
    latest = max((b for t in timelines for _a, b in t["recorded"]), default=None)
    return latest - timedelta(microseconds=1) if latest is not None else None


def play_period(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The "Od"/"Do" of the cameras page's "Odtwórz": the start form takes whole minutes, so
    the first recording's minute to the minute after the last one ends. A clip of a few
    seconds inside one minute would otherwise give Od = Do, which the form refuses."""
    start = first.replace(second=0, microsecond=0)
    end = last.replace(second=0, microsecond=0)
    if end < last or end <= start:
        end += timedelta(minutes=1)
    return start, end


def _merge(recs: Sequence[Span]) -> list[tuple[datetime, datetime]]:
    spans: list[list[datetime]] = []
    for r in recs:
        if spans and (r.start_at - spans[-1][1]).total_seconds() <= 1.0:
            spans[-1][1] = max(spans[-1][1], r.end_at)
        else:
            spans.append([r.start_at, r.end_at])
    return [(a, b) for a, b in spans]


# -- holds ------------------------------------------------------------------------------------
