"""sites, zones, cameras, recorders (and `serve`, registered from here)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import func, select

from kustosz.audit import append as audit
from kustosz.cameras.codecs import browser_plays
from kustosz.cameras.onvif_register import ProfileChoice
from kustosz.cameras.register import (
    CameraSpec,
    add_camera,
    add_site,
    add_zone,
    camera_rows,
    latest_offsets,
    latest_onvif_offsets,
    override_start,
    set_enabled,
    set_password,
    site_rows,
    zone_rows,
)
from kustosz.cameras.rules import DEFAULT_SEGMENT_SECONDS, parse_rtsp_url
from kustosz.cli import serve
from kustosz.cli.cameras_onvif import (
    add_by_onvif,
    cameras_clock,
    cameras_discover,
    cameras_onvif,
)
from kustosz.cli.common import actor, console, emit_json, fails_cleanly, local, open_vault
from kustosz.cli.secret_input import (
    camera_password,
    password_env_option,
    password_file_option,
)
from kustosz.db.cameras import Camera, CameraDevice, Gap, RecorderStatus
from kustosz.db.models import Alert, Recording, Source
from kustosz.errors import InputError
from kustosz.policy.video_law import ZONE_KINDS
from kustosz.states import RecordingState
from kustosz.vault import Vault

sites_app = typer.Typer(no_args_is_help=True, help="Sites (budynki) holding monitored zones.")
zones_app = typer.Typer(no_args_is_help=True, help="Zones (strefy) covered by cameras.")
cameras_app = typer.Typer(no_args_is_help=True, help="The camera register.")
recorders_app = typer.Typer(no_args_is_help=True, help="The camera recorders' health.")


def _date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date (YYYY-MM-DD)",
                         pl=f"{what} „{text}” nie jest datą (RRRR-MM-DD).") from None


def _locations_viewed(vault: Vault, what: str) -> None:
    # R1.7: camera locations are the employer's secret; every look at them is on record.
    with vault.transaction() as s:
        audit(s, actor(), "camera_locations.view", what, {})


@fails_cleanly
def sites_add(name: str, address: str = typer.Option(None, "--address")) -> None:
    """Register a site (building)."""
    with open_vault() as vault, vault.transaction() as s:
        add_site(s, name, actor(), address)
    console.print(f"site {name} added")


@fails_cleanly
def sites_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List sites (camera locations: the view is audited)."""
    with open_vault() as vault:
        with vault.reading() as s:
            rows = site_rows(s, may_see_locations=True)
        _locations_viewed(vault, "sites")
    if as_json:
        emit_json(rows)
        return
    table = Table("site", "address")
    for r in rows:
        table.add_row(r["name"], r["address"] or "—")
    console.print(table)


@fails_cleanly
def zones_add(name: str, site: str = typer.Option(..., "--site"),
              kind: str = typer.Option(..., "--kind", help=", ".join(
                  k for k, v in ZONE_KINDS.items() if v.offered) + ", or a kind the office's "
                  "policy declares ([video.zone_kinds]; `kustosz zones kinds` lists them)")
              ) -> None:
    """Register a zone of a site; its kind decides whether a camera may be there."""
    with open_vault() as vault, vault.transaction() as s:
        add_zone(s, site, name, kind, actor(), vault.policy)
        label = vault.policy.video.kind(kind).name
    console.print(f"zone {name} ({label}) added to {site}")


@fails_cleanly
def zones_kinds(as_json: bool = typer.Option(False, "--json")) -> None:
    """The kinds a zone may be of, and whether this office's cameras may be there."""
    with open_vault() as vault:
        video = vault.policy.video
    kinds = video.offered()
    if as_json:
        emit_json([{"kind": k.code, "name": k.name, "place": k.place, "own": k.own,
                    "excluded": video.excluded(k.code),
                    "statutes": sorted({e.cite for e in k.exclusions})} for k in kinds])
        return
    table = Table("kind", "name", "place", "cameras")
    for k in kinds:
        rule = ("refused (the office's regulation)" if video.excluded(k.code) else
                "; ".join(sorted({e.cite for e in k.exclusions})) or "allowed")
        table.add_row(k.code, k.name, k.place, rule)
    console.print(table)


@fails_cleanly
def zones_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List zones (camera locations: the view is audited)."""
    with open_vault() as vault:
        with vault.reading() as s:
            rows = zone_rows(s, True, vault.policy)
        _locations_viewed(vault, "zones")
    if as_json:
        emit_json(rows)
        return
    table = Table("site", "zone", "kind", "cameras")
    for r in rows:
        table.add_row(r["site"], r["zone"], r["kind_pl"], str(r["cameras"]))
    console.print(table)


@fails_cleanly
def cameras_add(
    name: str,
    site: str = typer.Option(..., "--site"),
    zone: str = typer.Option(..., "--zone"),
    url: str = typer.Option(None, "--url", help="rtsp://[user@]host[:port]/path — for a "
                                                "camera without ONVIF (else --onvif)"),
    onvif: str = typer.Option(None, "--onvif",
                              help="The camera's ONVIF address (host[:port] or URL): its "
                                   "make, model, serial and stream addresses are read from it."),
    user: str = typer.Option(None, "--user", help="With --onvif: the camera's user name."),
    profile: str = typer.Option(None, "--profile",
                                help="With --onvif: the media profile to record (the one "
                                     "with the most pixels by default)."),
    live_profile: str = typer.Option(None, "--live-profile",
                                     help="With --onvif: the profile for live view (a lighter "
                                          "H.264 sub-stream by default)."),
    no_live_profile: bool = typer.Option(False, "--no-live-profile",
                                         help="With --onvif: watch the recorded stream live."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.5, max=60.0,
                                  help="With --onvif: seconds to wait for each answer."),
    purpose: list[str] = typer.Option(..., "--purpose", help="A purpose in force under the "
                                      "office's policy (repeat for several; `kustosz policy "
                                      "show --json` lists them under video)."),
    notice_date: str = typer.Option(None, "--notice-date",
                                    help="Day employees were notified (YYYY-MM-DD)."),
    signage_date: str = typer.Option(None, "--signage-date",
                                     help="Day the signs went up (YYYY-MM-DD)."),
    segment_seconds: float = typer.Option(DEFAULT_SEGMENT_SECONDS, "--segment-seconds"),
    unrecognisable: str = typer.Option(None, "--unrecognisable-reason",
                                       help="Forbidden rooms only: how people are made "
                                            "unrecognisable (art. 22² §2)."),
    consent: str = typer.Option(None, "--representatives-consent",
                                help="Sanitary rooms only: the consent document (art. 22² §2)."),
    start_override: str = typer.Option(None, "--start-override-reason",
                                       help="Record before notice + 14 days / signage + 1 day."),
    retention: str = typer.Option(None, "--retention"),
    password_file: Path = password_file_option(),
    password_env: str = password_env_option(),
) -> None:
    """Register a camera: by its ONVIF address (--onvif, --user) or by an RTSP URL (the user
    name in it). The password goes in a file or an environment variable; it is kept sealed and
    never shown."""
    if (url is None) == (onvif is None):
        raise InputError("give the camera's ONVIF address (--onvif) or its RTSP URL (--url), "
                         "one of them",
                         pl="Podaj adres ONVIF kamery (--onvif) albo jej adres RTSP (--url) — "
                            "jedno z nich.")
    onvif_only = {"--user": user, "--profile": profile, "--live-profile": live_profile,
                  "--no-live-profile": no_live_profile or None}
    if url is not None and any(v is not None for v in onvif_only.values()):
        given = ", ".join(k for k, v in onvif_only.items() if v is not None)
        raise InputError(f"{given}: only with --onvif (with --url the user name is in the URL)",
                         pl=f"{given}: tylko z --onvif (przy --url nazwa użytkownika jest częścią "
                            "adresu).")
    if onvif is not None:
        spec = CameraSpec(name, site, zone, "", tuple(purpose),
                          _date(notice_date, "--notice-date"),
                          _date(signage_date, "--signage-date"), segment_seconds,
                          unrecognisable, consent, start_override, retention)
        add_by_onvif(spec, onvif, user, password_file, password_env,
                     ProfileChoice(profile, live_profile, no_live_profile), timeout)
        return
    if parse_rtsp_url(url).password is not None:
        raise InputError("a password in --url would be readable by every local account (ps, "
                         "/proc) and kept in the shell's history: put rtsp://USER@host/… in "
                         "--url and the password in --password-file FILE or --password-env "
                         "VARIABLE",
                         pl="Każde inne konto na tym komputerze mogłoby odczytać hasło podane w "
                            "--url (ps, /proc), a ponadto zostałoby ono w historii powłoki: w "
                            "--url podaj rtsp://UŻYTKOWNIK@host/…, a hasło w --password-file PLIK "
                            "albo --password-env ZMIENNA.")
    password = camera_password(password_file, password_env)
    spec = CameraSpec(name, site, zone, url, tuple(purpose), _date(notice_date, "--notice-date"),
                      _date(signage_date, "--signage-date"), segment_seconds, unrecognisable,
                      consent, start_override, retention, password=password)
    with open_vault() as vault, vault.transaction() as s:
        camera = add_camera(s, vault.policy, spec, actor())
        shown = camera.url
        said = "; ".join(vault.policy.video.purpose(p).text for p in camera.purposes)
    console.print(f"camera {name} added ({shown}, purposes: {said})")


@fails_cleanly
def cameras_list(locations: bool = typer.Option(False, "--locations",
                                                help="Show sites and zones (audited)."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """List cameras: URL without credentials, purpose, start rule, clock offset."""
    with open_vault() as vault:
        with vault.reading() as s:
            rows = camera_rows(s, vault.policy, may_see_locations=locations)
        if locations:
            _locations_viewed(vault, "cameras")
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "on", "url", "device (ONVIF)", "purpose", "site", "zone",
                  "may record", "clock offset")
    for r in rows:
        offset = "—" if r["clock_offset_s"] is None else f"{r['clock_offset_s']:+.3f} s"
        d = r["device"]
        device = "—" if d is None else f"{d['make']} {d['model']}, s/n {d['serial'] or '—'}"
        table.add_row(r["name"], "yes" if r["enabled"] else "no", r["url"], device,
                      r["purpose_pl"],
                      r["site"], r["zone"], ("yes" if r["may_record"] else "no: ")
                      + ("" if r["may_record"] else r["start_rule"]), offset)
    console.print(table)


@fails_cleanly
def cameras_password(
    name: str,
    password_file: Path = password_file_option("the new password"),
    password_env: str = password_env_option("the new password"),
) -> None:
    """Replace a camera's password (a running serve restarts its recorder with it)."""
    password = camera_password(password_file, password_env)
    if password is None:
        raise InputError("give the new password: --password-file FILE or --password-env "
                         "VARIABLE",
                         pl="Podaj nowe hasło: --password-file PLIK albo --password-env ZMIENNA.")
    with open_vault() as vault, vault.transaction() as s:
        set_password(s, name, password, actor())
    console.print(f"camera {name}: password replaced")


@fails_cleanly
def cameras_enable(name: str) -> None:
    """Let a camera record (kustosz serve picks it up)."""
    with open_vault() as vault, vault.transaction() as s:
        set_enabled(s, name, True, actor())
    console.print(f"camera {name} enabled")


@fails_cleanly
def cameras_disable(name: str) -> None:
    """Stop a camera recording; its material stays for its period."""
    with open_vault() as vault, vault.transaction() as s:
        set_enabled(s, name, False, actor())
    console.print(f"camera {name} disabled")


@fails_cleanly
def cameras_override_start(name: str, reason: str = typer.Option(..., "--reason")) -> None:
    """Let a camera record before notice + 14 days / signage + 1 day (audited)."""
    with open_vault() as vault, vault.transaction() as s:
        override_start(s, name, reason, actor())
    console.print(f"camera {name} may record now (override recorded)")


def status_rows(vault: Vault) -> list[dict[str, Any]]:
    with vault.reading() as s:
        cams = s.execute(select(Source, RecorderStatus)
                         .join(Camera, Camera.source_id == Source.id)
                         .outerjoin(RecorderStatus, RecorderStatus.source_id == Source.id)
                         .order_by(Source.name)).all()
        last = dict(s.execute(select(Recording.source_id, func.max(Recording.end_at))
                              .where(Recording.state == RecordingState.STORED)
                              .group_by(Recording.source_id)).all())
        gaps = {g.source_id: g for g in s.execute(select(Gap).where(Gap.end_at.is_(None)))
                .scalars()}
        alerts = {a.source_id: a.message for a in s.execute(
            select(Alert).where(Alert.cleared_at.is_(None), Alert.source_id.is_not(None)))
            .scalars()}
        offsets = latest_offsets(s)
        own = latest_onvif_offsets(s)
        devices = {d.source_id: d for d in s.execute(select(CameraDevice)).scalars()}
    rows = []
    for source, st in cams:
        gap = gaps.get(source.id)
        rows.append({
            "name": source.name, "state": st.state if st else "never started",
            "since": st.since.isoformat() if st else None,
            "message": st.message if st else "kustosz serve has not run this camera yet",
            "codec": st.codec if st else None,
            "browser_playable": browser_plays(st.codec) if st and st.codec else None,
            "updated_at": st.updated_at.isoformat() if st else None,
            "last_segment_end": last[source.id].isoformat() if source.id in last else None,
            "open_gap_since": gap.start_at.isoformat() if gap else None,
            "open_gap_cause": gap.cause if gap else None,
            "alert": alerts.get(source.id),
            "clock_offset_s": round(offsets[source.id][0], 3) if source.id in offsets else None,
            # a camera added over ONVIF: its own clock, and whether ONVIF answers (issue 34)
            "camera_clock_offset_s": round(own[source.id][0], 1) if source.id in own else None,
            "onvif": None if source.id not in devices else (
                "answers" if devices[source.id].onvif_error is None else
                devices[source.id].onvif_error)})
    return rows


@fails_cleanly
def recorders_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each camera's recorder: state, last segment, open gap, alert, clock offset."""
    with open_vault() as vault:
        rows = status_rows(vault)
        if as_json:
            emit_json(rows)
            return
        table = Table("camera", "state", "message", "last segment (local)", "gap since",
                      "clock offset (RTCP)", "camera clock (ONVIF)")
        for r in rows:
            msg = r["message"] or ""
            if r["codec"] and not r["browser_playable"]:
                msg += " — not playable in browser"
            table.add_row(r["name"], r["state"], msg,
                          local(r["last_segment_end"], vault),
                          local(r["open_gap_since"], vault),
                          "—" if r["clock_offset_s"] is None else f"{r['clock_offset_s']:+.3f} s",
                          "—" if r["camera_clock_offset_s"] is None
                          else f"{r['camera_clock_offset_s']:+.1f} s")
        console.print(table)
        for r in rows:
            if r["alert"]:
                console.print(f"[bold red]alert:[/] {r['alert']}")


def register(app: typer.Typer) -> None:
    sites_app.command("add")(sites_add)
    sites_app.command("list")(sites_list)
    zones_app.command("add")(zones_add)
    zones_app.command("list")(zones_list)
    zones_app.command("kinds")(zones_kinds)
    cameras_app.command("add")(cameras_add)
    cameras_app.command("list")(cameras_list)
    cameras_app.command("password")(cameras_password)
    cameras_app.command("enable")(cameras_enable)
    cameras_app.command("disable")(cameras_disable)
    cameras_app.command("override-start")(cameras_override_start)
    cameras_app.command("onvif")(cameras_onvif)
    cameras_app.command("discover")(cameras_discover)
    cameras_app.command("clock")(cameras_clock)
    recorders_app.command("status")(recorders_status)
    app.add_typer(sites_app, name="sites")
    app.add_typer(zones_app, name="zones")
    app.add_typer(cameras_app, name="cameras")
    app.add_typer(recorders_app, name="recorders")
    serve.register(app)
