"""`kustosz cameras onvif ADDRESS`: what a camera says of itself over ONVIF — make, model,
serial, firmware, its media profiles with their stream addresses, and its clock against this
machine's — before it is added (issue 34). The password comes from a file or a variable,
never the command line; nothing is written anywhere. `kustosz cameras discover` finds them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kustosz.cameras.onvif_register import (
    ProfileChoice,
    add_onvif_camera,
    live_said,
    pick_profiles,
    registered_hosts,
)
from kustosz.cameras.register import CameraSpec
from kustosz.cli.common import (
    actor,
    console,
    data_dir,
    emit_json,
    err_console,
    fails_cleanly,
    open_vault,
)
from kustosz.cli.secret_input import (
    camera_password,
    password_env_option,
    password_file_option,
)
from kustosz.config import CONFIG_NAME, CamerasConfig, read_config
from kustosz.errors import ConfigError, InputError, KustoszError
from kustosz.onvif.address import parse_address


def office_networks() -> CamerasConfig:
    """[cameras] of the data folder's kustosz.toml; the defaults (the private ranges) where
    there is no data folder yet (`cameras onvif` may look at a camera before `init`)."""
    try:
        return read_config(data_dir()).cameras
    except ConfigError as exc:
        if (data_dir() / CONFIG_NAME).exists():
            raise  # a file that says something wrong is said, not passed over
        del exc
        return CamerasConfig()


@fails_cleanly
def cameras_onvif(
    address: str = typer.Argument(..., help="host, host:port or http(s)://host[:port]/path "
                                            "of the camera's ONVIF device service"),
    user: str = typer.Option(..., "--user", help="The camera's ONVIF user name."),
    password_file: Path = password_file_option(),
    password_env: str = password_env_option(),
    timeout: float = typer.Option(5.0, "--timeout", min=0.5, max=60.0,
                                  help="Seconds to wait for each answer."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ask a camera over ONVIF what it is and which streams it offers."""
    from kustosz.onvif.device import read_camera  # the ONVIF client only for this command
    from kustosz.onvif.discovery import check_in_office

    where = parse_address(address)
    check_in_office(where, office_networks().in_office)
    password = camera_password(password_file, password_env) or ""
    facts = read_camera(where, user, password, timeout)
    try:  # what `cameras add --onvif` would pick, or why it could not
        main, live = pick_profiles(facts, ProfileChoice())
        problem = None
    except InputError as exc:
        main, live, problem = None, None, str(exc)
    if as_json:
        emit_json({"address": str(facts.address), "device": asdict(facts.device),
                   "profiles": [asdict(p) for p in facts.profiles],
                   "record": main.token if main else None,
                   "live": live.token if live else None, "problem": problem,
                   "clock": asdict(facts.clock) if facts.clock else None})
        return
    d = facts.device
    console.print(f"{facts.address}: {d.make or '?'} {d.model or '?'}, "
                  f"serial {d.serial or '—'}, "
                  f"firmware {d.firmware or '—'}")
    table = Table("profile", "name", "codec", "size", "fps", "kbit/s", "stream", "use")
    for p in facts.profiles:
        size = f"{p.width}x{p.height}" if p.width and p.height else "—"
        use = "record" if main and p.token == main.token else (
            "live view" if live and p.token == live.token else "")
        table.add_row(p.token, p.name, p.encoding, size, f"{p.fps:g}" if p.fps else "—",
                      str(p.bitrate_kbps or "—"), p.uri, use)
    console.print(table)
    if main is not None:
        console.print(live_said(main, live)[0], markup=False)
    if problem:
        console.print(f"cannot be added as it is: {problem}", markup=False)
    if facts.clock is None:
        console.print("clock: the camera does not give its time in UTC")
    else:
        c = facts.clock
        within = 0.5 + c.round_trip_s / 2  # whole seconds from the camera, and the call
        console.print(f"clock: {c.offset_s:+.1f} s against this machine (±{within:.1f} s; "
                      f"{'NTP' if c.ntp else 'set by hand'})")


@fails_cleanly
def cameras_discover(
    interface: str = typer.Option(None, "--interface",
                                  help="This machine's IPv4 address to probe from (the "
                                       "office network's); every interface by default."),
    timeout: float = typer.Option(3.0, "--timeout", help="Seconds to wait for answers "
                                                         "(0.5-30)."),
    user: str = typer.Option(None, "--user",
                             help="With a password: also ask each camera its make, model, "
                                  "serial and firmware."),
    password_file: Path = password_file_option("the cameras' password"),
    password_env: str = password_env_option("the cameras' password"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find ONVIF cameras on the office's network (WS-Discovery); multicast does not cross a
    VLAN's router: a camera elsewhere is asked by address (`kustosz cameras onvif`)."""
    from kustosz.onvif.device import read_device  # the ONVIF client only for this command
    from kustosz.onvif.discovery import discover, offered

    password = camera_password(password_file, password_env)
    with open_vault() as vault:
        found, outside = offered(discover(interface, timeout), vault.config.cameras.in_office)
        with vault.reading() as s:
            registered = registered_hosts(s)
    rows: list[dict[str, Any]] = []
    for f in found:
        row: dict[str, Any] = {"address": str(f.address), "name": f.name, "hardware": f.hardware,
               "location": f.location, "registered_as": registered.get(f.address.host)}
        if user and password is not None:
            try:
                row["device"] = asdict(read_device(f.address, user, password))
            except KustoszError as exc:  # one camera's refusal is that camera's line
                row["device_error"] = str(exc)
        rows.append(row)
    if outside:  # said apart from the table (and from --json's output)
        err_console.print("not offered — outside the office's networks ([cameras] networks): "
                          + ", ".join(str(f.address) for f in outside), markup=False)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print(f"no ONVIF camera answered within {timeout:g} s")
        return
    table = Table("address", "name", "make, model", "serial", "firmware", "registered as")
    for r in rows:
        d: dict[str, str] = r.get("device") or {}
        what = f"{d['make']} {d['model']}" if d else (r.get("device_error") or r["hardware"])
        table.add_row(r["address"], r["name"], what, d.get("serial", "—"),
                      d.get("firmware", "—"), r["registered_as"] or "—")
    console.print(table)


def add_by_onvif(spec: CameraSpec, address: str, user: str | None, password_file: Path | None,
                 password_env: str | None, choice: ProfileChoice, timeout: float) -> None:
    """`kustosz cameras add NAME --onvif ADDRESS`: the camera is asked first (a refusal or
    silence stores nothing), then registered with every check of a camera added by URL."""
    from kustosz.onvif.device import read_camera  # the ONVIF client only for this command
    from kustosz.onvif.discovery import check_in_office

    where = parse_address(address)
    check_in_office(where, office_networks().in_office)
    password = camera_password(password_file, password_env) or ""
    if password and not user:
        raise InputError("a camera password needs its user name: --user NAME",
                         pl="Hasło kamery wymaga nazwy użytkownika: --user NAZWA.")
    facts = read_camera(where, user or "", password, timeout)
    with open_vault() as vault, vault.transaction() as s:
        camera, device = add_onvif_camera(s, vault.policy, spec, facts, user or "", password,
                                          choice, actor())
        url = camera.url
    console.print(f"camera {spec.name} added: {device.make} {device.model}, serial "
                  f"{device.serial or '—'}, firmware {device.firmware or '—'}")
    console.print(f"  records profile {device.record_profile} ({device.record_profile_desc}) "
                  f"from {url}")
    record = next(p for p in facts.profiles if p.token == device.record_profile)
    live = next((p for p in facts.profiles if p.token == device.live_profile), None)
    console.print(f"  {live_said(record, live)[0]}", markup=False)
    if facts.clock is not None and abs(facts.clock.offset_s) > 2.0:
        console.print(f"[bold yellow]the camera's clock is {facts.clock.offset_s:+.0f} s off "
                      "this machine's:[/] set it to the office's NTP server")


@fails_cleanly
def cameras_clock(
    name: str,
    allow: str = typer.Option(None, "--allow",
                              help="Let Kustosz set this camera's clock: ntp (SetNTP to "
                                   "--ntp-server) or time (SetSystemDateAndTime); audited."),
    ntp_server: str = typer.Option(None, "--ntp-server",
                                   help="With --allow ntp: the office's NTP server (IPv4)."),
    forbid: bool = typer.Option(False, "--forbid", help="Withdraw that consent."),
    set_now: bool = typer.Option(False, "--set-now",
                                 help="Set the clock now, as consented (refused without)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A camera added over ONVIF: its own clock against the server's (read now), and whether
    Kustosz may set it. `kustosz serve` reads it every [cameras] clock_check_minutes and
    raises camera_clock_off beyond [cameras] clock_limit_seconds."""
    from kustosz.cameras import onvif_clock  # the ONVIF client only for this command

    if allow and forbid:
        raise InputError("--allow and --forbid exclude each other",
                         pl="Opcje --allow i --forbid wykluczają się.")
    with open_vault() as vault:
        if allow or forbid:
            with vault.transaction() as s:
                if forbid:
                    onvif_clock.forbid_setting(s, name, actor())
                else:
                    onvif_clock.allow_setting(s, name, allow, ntp_server, actor())
        if set_now:
            check = onvif_clock.set_now(vault, name, actor())
        else:
            with vault.reading() as s:
                target = onvif_clock.target_of(s, name)
            check = onvif_clock.check_camera(vault, target, vault.config.cameras, actor())
        limit = vault.config.cameras.clock_limit_s
    if as_json:
        emit_json(asdict(check) | {"limit_s": limit})
        return
    if check.error:
        console.print(f"camera {name}: {check.error}")
        raise typer.Exit(1)
    if check.set_by:
        console.print(f"camera {name}: clock set by {check.set_by} (it was "
                      f"{check.offset_before_s:+.1f} s off)")
    if check.offset_s is None:
        console.print(f"camera {name}: the camera does not give its time in UTC")
        return
    state = "within" if abs(check.offset_s) <= limit else "[bold red]beyond[/]"
    console.print(f"camera {name}: clock {check.offset_s:+.1f} s against this server "
                  f"({state} the limit of {limit:g} s)")
