"""„Znajdź kamery”: the administrator finds ONVIF cameras on the office's network and adds one
without typing a stream address (issue 34 items 1-2).

Three steps. Find: a WS-Discovery probe from an interface the administrator picks, bounded in
time; answers naming an address outside the office's networks ([cameras] networks) are listed
apart and never asked; with a user name and password each camera is asked its make, model,
serial and firmware. Read: a camera (found, or given by address where multicast does not cross
the VLAN) is asked with its credentials for its profiles and clock. Add: the profiles are
picked and the register's questions answered (art. 22²: R1.6, R7.1), exactly as
`kustosz cameras add --onvif` asks them.

Between "read" and "add" the password stays in this process's memory only — never in the page,
a cookie or the database until the camera is registered (then sealed) — for at most
PENDING_S, and only for the session that typed it."""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kustosz.cameras.onvif_register import (
    ProfileChoice,
    add_onvif_camera,
    describe,
    live_plays,
    live_said,
    pick_profiles,
    registered_hosts,
)
from kustosz.cameras.register import CameraSpec
from kustosz.cameras.rules import DEFAULT_SEGMENT_SECONDS
from kustosz.db.cameras import Site, Zone
from kustosz.errors import InputError, KustoszError
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import CameraFacts, OnvifRefused, read_camera, read_device
from kustosz.onvif.discovery import (
    LONGEST_S,
    check_in_office,
    discover,
    local_interfaces,
    offered,
)
from kustosz.policy.video_law import LAWS, Purpose
from kustosz.web import locations
from kustosz.web.common import Ctx, flash_url, page, redirect
from kustosz.web.gate import gate
from kustosz.web.i18n import english
from kustosz.web.pages import form_of

router = APIRouter(include_in_schema=False)

PENDING_S = 600.0  # a camera read and not added within ten minutes is read again
READ_TIMEOUT_S = 5.0  # per ONVIF call; a page waits at most a few of them
ADDED = ("Kamerę dodano do rejestru. Nagrywanie zacznie się samo, gdy pozwolą na to daty "
         "powiadomienia pracowników i oznakowania miejsca.")


@dataclass
class _Pending:
    session: str
    facts: CameraFacts
    user: str
    password: str
    until: float


_pending: dict[str, _Pending] = {}
_lock = threading.Lock()


def _keep(ctx: Ctx, facts: CameraFacts, user: str, password: str) -> str:
    token = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        for key in [k for k, p in _pending.items() if p.until < now]:
            del _pending[key]
        _pending[token] = _Pending(ctx.session_id or "", facts, user, password, now + PENDING_S)
    return token


def _held(ctx: Ctx, token: str) -> _Pending | None:
    with _lock:
        now = time.monotonic()
        for key in [k for k, p in _pending.items() if p.until < now]:
            del _pending[key]  # an expired password does not wait in memory for the next
        held = _pending.get(token)
        if held is None or held.until < time.monotonic() or \
                held.session != (ctx.session_id or ""):
            return None
        return held


def _forget(token: str) -> None:
    with _lock:
        _pending.pop(token, None)


def _registered(ctx: Ctx) -> dict[str, str]:
    with ctx.vault.reading() as s:
        return registered_hosts(s)


# -- find --------------------------------------------------------------------------------------
def _find_page(ctx: Ctx, status: int = 200, form: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, **data: Any) -> Response:
    interfaces = [(ip, ip) for ip in local_interfaces()]  # a name look-up: in a thread
    return page(ctx, "cameras_find.html", status, form=form or {"timeout": "3"},
                errors=errors or {}, interfaces=interfaces, **data)


@router.get("/admin/cameras/find")
def find(ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    return _find_page(ctx)


def _seconds(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if low <= value <= high else None


@router.post("/admin/cameras/find")
async def find_run(request: Request, ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    form = await form_of(request)
    password = form.pop("password", "")
    timeout = _seconds(form.get("timeout", "3"), 0.5, LONGEST_S)
    if timeout is None:
        return await run_in_threadpool(_find_page, ctx, 422, form,
                                       {"timeout": "Podaj liczbę sekund od 0,5 do 30."})
    user = form.get("user", "").strip()
    registered = _registered(ctx)

    def search() -> tuple[list[dict[str, Any]], list[str]]:
        # in a worker thread: a probe and the cameras' answers take seconds, the server
        # goes on serving everyone else meanwhile
        found, outside = offered(discover(form.get("interface") or None, timeout),
                                 ctx.vault.config.cameras.in_office)
        rows = []
        for f in found:
            row: dict[str, Any] = {"address": str(f.address), "name": f.name,
                                   "hardware": f.hardware,
                                   "registered_as": registered.get(f.address.host)}
            if user and password:
                try:
                    row["device"] = read_device(f.address, user, password, READ_TIMEOUT_S)
                except KustoszError as exc:  # one camera's refusal is that camera's line
                    row["device_error"] = ctx.said(exc)
            rows.append(row)
        return rows, [str(f.address) for f in outside]

    try:
        rows, outside = await run_in_threadpool(search)
    except InputError as exc:
        return await run_in_threadpool(_find_page, ctx, 422, form,
                                       {"interface": ctx.said(exc)})
    return await run_in_threadpool(lambda: _find_page(ctx, 200, form, found=rows,
                                                      outside=outside, searched=True,
                                                      timeout=timeout))


# -- read --------------------------------------------------------------------------------------
def _read_page(ctx: Ctx, status: int = 200, form: dict[str, str] | None = None,
               errors: dict[str, str] | None = None) -> Response:
    return page(ctx, "cameras_read.html", status, form=form or {}, errors=errors or {})


@router.get("/admin/cameras/add")
def add_start(ctx: Ctx = gate("admin"), address: str = "") -> Response:
    ctx.need("admin")
    return _read_page(ctx, form={"address": address[:300]})


@router.post("/admin/cameras/read")
async def add_read(request: Request, ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    form = await form_of(request)
    password = form.pop("password", "")
    user = form.get("user", "").strip()
    try:
        where = parse_address(form.get("address", ""))
        await run_in_threadpool(check_in_office, where, ctx.vault.config.cameras.in_office)
    except InputError as exc:
        return _read_page(ctx, 422, form, {"address": ctx.said(exc)})
    if password and not user:
        return _read_page(ctx, 422, form, {"user": "Podaj nazwę użytkownika kamery."})
    try:
        facts = await run_in_threadpool(read_camera, where, user, password, READ_TIMEOUT_S)
    except OnvifRefused as exc:
        return _read_page(ctx, 422, form, {"password": ctx.said(exc)})
    except KustoszError as exc:
        return _read_page(ctx, 422, form, {"address": ctx.said(exc)})
    token = _keep(ctx, facts, user, password)
    return _add_page(ctx, token, facts, form={"segment_seconds": f"{DEFAULT_SEGMENT_SECONDS:g}"})


# -- add ---------------------------------------------------------------------------------------
def _zones(ctx: Ctx) -> list[tuple[str, str]]:
    """The zones to pick from: camera locations (R1.7), shown to the locations right only and
    audited each time."""
    if not locations.may_see(ctx):
        return []
    with ctx.vault.reading() as s:
        rows = s.execute(select(Zone, Site).join(Site, Site.id == Zone.site_id)
                         .order_by(Site.name, Zone.name)).all()
    locations.viewed(ctx, "cameras.add")
    video = ctx.vault.policy.video
    return [(str(z.id), f"{site.name} — {z.name} ({video.kind(z.kind).name})")
            for z, site in rows]


def _law(purpose: Purpose, lang: str) -> str:
    """The acts a purpose rests on, in the reader's language (each act's English apart)."""
    if lang != "en":
        return purpose.law
    acts = [english(LAWS.get(b, b)) for b in purpose.bases]
    return ", ".join(acts[:-1]) + " and " + acts[-1] if len(acts) > 1 else "".join(acts)


def _add_page(ctx: Ctx, token: str, facts: CameraFacts, status: int = 200,
              form: dict[str, str] | None = None,
              errors: dict[str, str] | None = None) -> Response:
    chosen = dict(form or {})
    live_note, live_ok = "", True
    try:
        record, live = pick_profiles(facts, ProfileChoice())
        chosen.setdefault("record", record.token)
        chosen.setdefault("live", live.token if live else "")
        problem = None
        # what live view will play, said before the camera is added: an H.265 recorded
        # stream with no lighter H.264 profile is one a browser may not play (issue 47)
        en, pl = live_said(record, live)
        live_note, live_ok = (pl if ctx.lang == "pl" else en), live_plays(record, live)
    except InputError as exc:
        problem = ctx.said(exc)
    said = english if ctx.lang == "en" else str  # the statutes' words in the reader's language
    purposes = [(p.code, f"{said(p.text)} ({_law(p, ctx.lang)})")
                for p in ctx.vault.policy.video.in_force()]
    limit = ctx.vault.config.cameras.clock_limit_s
    return page(ctx, "cameras_add.html", status, token=token, facts=facts,
                profiles=[(p, describe(p)) for p in facts.profiles], form=chosen,
                errors=errors or {}, zones=_zones(ctx), purposes=purposes, problem=problem,
                live_note=live_note, live_ok=live_ok,
                clock_off=facts.clock is not None and abs(facts.clock.offset_s) > limit,
                clock_limit=limit)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@router.post("/admin/cameras/add")
async def add_save(request: Request, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    form = await form_of(request)
    token = form.get("token", "")
    chosen = [p for p in (await request.form()).getlist("purposes") if isinstance(p, str)]
    form["purposes"] = ",".join(chosen)
    held = _held(ctx, token)
    if held is None:
        return _read_page(ctx, 409, {}, {"address": (
            "Odczyt kamery wygasł (po 10 minutach) lub pochodzi z innej sesji — podaj dane "
            "kamery ponownie. Nic nie zapisano.")})
    errors: dict[str, str] = {}
    for key, words in (("name", "Podaj nazwę kamery."), ("zone", "Wybierz strefę."),
                       ("purposes", "Wybierz co najmniej jeden cel monitoringu.")):
        if not form.get(key, "").strip():
            errors[key] = words
    days: dict[str, date | None] = {}
    for key in ("notice_date", "signage_date"):
        try:
            days[key] = _day(form.get(key, ""))
        except ValueError:
            errors[key] = "Nieprawidłowa data (RRRR-MM-DD)."
    segment = _seconds(form.get("segment_seconds", "") or f"{DEFAULT_SEGMENT_SECONDS}", 0.5, 600)
    if segment is None:
        errors["segment_seconds"] = "Podaj liczbę sekund od 0,5 do 600."
    zone_row = None
    if re.fullmatch(r"[0-9]{1,9}", form.get("zone", "")):
        with ctx.vault.reading() as s:
            zone_row = s.execute(select(Zone, Site).join(Site, Site.id == Zone.site_id)
                                 .where(Zone.id == int(form["zone"]))).first()
        if zone_row is None:
            errors["zone"] = "Nie ma takiej strefy."
    elif form.get("zone"):
        errors["zone"] = "Nie ma takiej strefy."
    if errors or zone_row is None or segment is None:
        return _add_page(ctx, token, held.facts, 422, form, errors)
    zone, site = zone_row
    live = form.get("live", "")
    choice = ProfileChoice(record=form.get("record") or None,
                           live=live if live not in ("", "-") else None, no_live=live == "-")
    spec = CameraSpec(form["name"].strip(), site.name, zone.name, "", tuple(chosen),
                      days["notice_date"], days["signage_date"], segment,
                      form.get("unrecognisable_reason") or None,
                      form.get("representatives_consent") or None,
                      form.get("start_override_reason") or None)
    try:
        with ctx.vault.transaction() as s:
            add_onvif_camera(s, ctx.vault.policy, spec, held.facts, held.user, held.password,
                             choice, admin.name)
    except KustoszError as exc:
        return _add_page(ctx, token, held.facts, 422, form, {"form": ctx.said(exc)})
    _forget(token)
    return redirect(flash_url("/cameras", ADDED))
