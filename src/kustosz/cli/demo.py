"""`kustosz demo`: the vault core at work on a throw-away data folder, nothing to configure."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table

from kustosz.access.bootstrap import FIRST_ADMIN
from kustosz.cli import demo_past
from kustosz.cli.common import console, local
from kustosz.index.sources import add_source
from kustosz.kinds import SourceKind, by_action
from kustosz.policy import Policy, load_policy, preset_names
from kustosz.retention import run_sweep
from kustosz.vault import Vault

MARKER = ".kustosz-demo"
# The marker's text once the showcase is whole: a demo started again goes on with that folder
# (a folder whose making was cut short is made again).
MADE = "throw-away demo vault made by `kustosz demo`"
DEMO_PORT = 8470


def _sample_clip(folder: Path) -> Path:
    """Two seconds of the demo's picture (two people, real faces: a data subject's copy has a
    face to spare and one to mask) as MPEG-TS, video only, made by ffmpeg from the wheel."""
    import imageio_ffmpeg

    from kustosz.ingest.camera.command import DEMO_PAN, demo_scene_input

    out = folder / "sample.ts"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *demo_scene_input(10),
                    "-t", "2", "-vf", DEMO_PAN, "-an", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-f", "mpegts", str(out)], check=True)
    return out


# The demo shows every kind of material at once; no single office's regulation covers them
# all, so the demo vault (and only it) sets the periods its preset leaves open.
DEMO_OVERRIDES = """
[policy.retention]  # demo only: periods for kinds the preset's regulation does not cover
phone = "3 months"
"""


def _made(root: Path) -> bool:
    try:
        return (root / MARKER).read_text().startswith(MADE)
    except OSError:
        return False


def _fresh_vault(root: Path, preset: str, overrides: str = "") -> Vault:
    if root.exists():
        if not (root / MARKER).exists():
            raise typer.BadParameter(f"{root} exists and is not a demo folder; pick another")
        shutil.rmtree(root)
    vault = Vault.init(root, preset, actor="demo")
    (root / MARKER).write_text("throw-away demo vault, being made; `kustosz demo` makes it "
                               "again\n")
    if overrides or vault.policy.retention.get(SourceKind.PHONE) is None:
        config = root / "kustosz.toml"
        config.write_text(config.read_text() + (overrides or DEMO_OVERRIDES))
        vault.close()
        vault = Vault.open(root, actor="demo")
    return vault


# One account per role, so that a newcomer can try every role's work in the browser at once
# (issue 12: the demo documented the administrator only). login -> (name, roles, title)
DEMO_PEOPLE_BASE: dict[str, tuple[str, list[str], str | None]] = {
    "kierownik": ("Jan Kowalski", ["approver"], None),  # the office's head: its title
    "sekretariat": ("Anna Nowak", ["custodian"], "sekretarz"),
    "iod": ("Ewa Zielińska", ["dpo"], "Inspektor Ochrony Danych"),
    "przegladajacy": ("Piotr Lewandowski", ["viewer"], "strażnik miejski"),
    "komisja1": ("Marta Kamińska", ["commission"], "członek komisji"),
    "komisja2": ("Tomasz Wójcik", ["commission"], "członek komisji"),
    "kontrola": ("Barbara Dąbrowska", ["auditor"], "audytor wewnętrzny"),
}
# Who supervises the use of the recordings (R6.3: registers and the access log, no
# material), as the office's regulation names the post ([access] supervisor: 001 §4), or the
# IOD where it supervises ([access] supervisor_is_dpo: 002 zał.5 §1 ust. 4) — the IOD's own
# account then holds the role. Where the regulation names no one the demo shows the role all
# the same.
SUPERVISOR_LOGIN = "nadzor"
SUPERVISOR_DEFAULT = "osoba nadzorująca monitoring"


def demo_people(policy: Policy) -> dict[str, tuple[str, list[str], str | None]]:
    """DEMO_PEOPLE with the office's supervisor: a "nadzor" account titled as the regulation
    names the post, or the supervisor role on the IOD where the IOD supervises."""
    people = dict(DEMO_PEOPLE_BASE)
    access = policy.raw.get("access", {})
    if access.get("supervisor_is_dpo"):
        name, roles, iod_title = people["iod"]
        people["iod"] = (name, [*roles, "supervisor"], iod_title)
    else:
        title = str(access.get("supervisor") or "").strip() or SUPERVISOR_DEFAULT
        people[SUPERVISOR_LOGIN] = ("Krystyna Mazur", ["supervisor"], title)
    return people


def default_preset() -> str:
    """The preset the demo starts with when none is named: the one whose file says so
    ([demo] default), else the first."""
    names = preset_names()
    return next((n for n in names if load_policy(n).raw.get("demo", {}).get("default")),
                names[0])


# The accounts of the demo's default preset.
DEMO_PEOPLE = demo_people(load_policy(default_preset()))


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _new_password(vault: Vault) -> str:
    """One new password shared by the demo's accounts (not one-time: a newcomer switches
    between them), set at each start: a demo started again prints one that works."""
    from kustosz.access import accounts, passwords
    from kustosz.access.users import get_user

    password = passwords.one_time_password()
    with vault.transaction() as s:
        for login in demo_people(vault.policy):
            accounts.set_password(s, get_user(s, login), password, "demo", check=False)
    return password


def _demo_people(vault: Vault) -> str:
    """The demo's accounts and a year's authorisation for the viewer over every camera and
    phone line: live view too (the demo camera's sub-stream, issue 65 item 5)."""
    from kustosz.access.authorisations import issue
    from kustosz.access.users import add_user

    now = datetime.now(UTC)
    with vault.transaction() as s:
        for login, (name, roles, title) in demo_people(vault.policy).items():
            add_user(s, login, name, roles, "demo", title=title or vault.policy.approver_title)
    password = _new_password(vault)
    with vault.transaction() as s:
        actions = ["live", "playback", "listening", "calls"]
        issue(s, holder="przegladajacy", actions=actions, sources=[],
              source_kinds=[k.value for k in SourceKind if any(k in by_action(a)
                                                              for a in actions)],
              valid_from=now,
              valid_to=now + timedelta(days=365), by="kierownik", actor="demo",
              basis="konto demonstracyjne", policy=vault.policy)
    if vault.policy.access.commission_appointed:  # 002 zał.5 §8.2: the head's order
        from kustosz.custody import commission

        today = now.astimezone(vault.policy.timezone).date()
        with vault.transaction() as s:
            for member in ("komisja1", "komisja2"):
                commission.appoint(s, member=member, order_ref=f"1/{today.year}",
                                   appointed_on=today, approver="kierownik", actor="demo")
    return password


def run_single(root: Path, preset: str | None, serve: bool, port: int, fresh: bool) -> None:
    """The single office's demo in ``root`` (`kustosz demo` without --gmina)."""
    if _made(root) and not fresh:
        _go_on(root, preset, serve, port)
        return
    preset = preset or default_preset()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        clip = _sample_clip(Path(tmp))
        with console.status("living through last month: recordings, a request, a viewing…"):
            vault, password = demo_past.live(lambda: _set_up(root, preset), clip, now,
                                             load_policy(preset).timezone)
    console.print(f"[bold]Demo vault[/] in {root} — {vault.policy.office_name} "
                  f"(preset {preset}), set up on "
                  f"{local(demo_past.began(now, vault.policy.timezone), vault)}: a clip of each "
                  "camera every other day since, a police request for hol-parter (decided, "
                  "copied, handed over; the original held) and a playback for it, a camera "
                  "outage.")
    _swept(vault, now)
    _live_sources(vault, root)
    made = demo_past.last_months_report(vault, now)
    if made is not None:
        console.print(f"Sprawozdanie z rozliczalności za ubiegły miesiąc / last month's "
                      f"accountability report: [bold]{made}[/] (/reports)", soft_wrap=True)
    _show_accounts(vault, password)
    console.print(f"Look around: [bold]kustosz --data {root} recordings list[/], "
                  f"[bold]calls search --number 600100200[/], [bold]recorders status[/], "
                  f"[bold]audit verify[/].")
    (root / MARKER).write_text(f"{MADE}; started again, the demo goes on with it; "
                               "`kustosz demo --fresh` makes it again\n")
    if serve:
        _serve(vault, port)
    vault.close()


def _set_up(root: Path, preset: str, overrides: str = "") -> tuple[Vault, str]:
    """The demo office on its first day (demo_past runs it on the day the past begins);
    ``overrides``: kustosz.toml lines in place of DEMO_OVERRIDES."""
    vault = _fresh_vault(root, preset, overrides)
    with vault.transaction() as s:
        for name in demo_past.CAMERAS:
            add_source(s, vault.policy, name, SourceKind.CAMERA, "demo")
    return vault, _demo_people(vault)


def _swept(vault: Vault, now: datetime) -> None:
    """Today's sweep, shown: what it deleted, and what a hold keeps past its period."""
    report = run_sweep(vault, now, actor="demo")
    if not report.deleted and not report.kept_by_hold:
        console.print("Today's sweep: nothing past its period (each night's sweep kept up).")
        return
    table = Table("what", "source", "recorded (local)", "why")
    for item in sorted(report.deleted, key=lambda i: (i["start"], i["source"])):
        table.add_row("[red]deleted[/]", item["source"],
                      local(item["start"], vault), item["rule"])
    for item in report.kept_by_hold:
        table.add_row("[green]kept[/]", item["source"],
                      local(item["start"], vault),
                      f"past its period, but hold {', '.join(map(str, item['holds']))} covers it")
    console.print(table)


def _show_accounts(vault: Vault, password: str) -> None:
    from kustosz.access.users import ROLE_SHORT

    console.print(f"Konta demonstracyjne / demo accounts — hasło każdego / everyone's "
                  f"password: [bold]{password}[/]")
    people = Table("login", "rola / role", "osoba / person")
    for login, (name, roles, _title) in demo_people(vault.policy).items():
        people.add_row(login, ", ".join(ROLE_SHORT.get(r, r) for r in roles), name)
    console.print(people)


def _go_on(root: Path, preset: str | None, serve: bool, port: int) -> None:
    """The demo folder made before, as it was left: its recordings, requests, copies and
    accounts — whatever the newcomer did — are kept; only the shared password is new."""
    vault = Vault.open(root, actor="demo")
    try:
        if preset and preset != vault.policy.preset:
            raise typer.BadParameter(
                f"{root} to demo regulaminu {vault.policy.preset}; inny regulamin tylko od "
                f"nowa / {root} is a demo of preset {vault.policy.preset}; another preset "
                f"starts over: kustosz demo --fresh --preset {preset}", param_hint="--preset")
        console.print(f"[bold]Demo vault[/] in {root}, as it was left — "
                      f"{vault.policy.office_name} (preset {vault.policy.preset}); "
                      "[bold]kustosz demo --fresh[/] starts over.")
        _show_accounts(vault, _new_password(vault))
        if _has_admin(vault):  # else serve's banner prints its one-time password, as at first
            console.print(f"{FIRST_ADMIN}: hasło jak dotąd; nowe jednorazowe / as before; a new "
                          f"one-time one: [bold]kustosz --data {root} users reset "
                          f"{FIRST_ADMIN}[/]", soft_wrap=True)
        if serve:
            _serve(vault, port)
    finally:
        vault.close()


def _has_admin(vault: Vault) -> bool:
    from kustosz.access.users import get_user
    from kustosz.errors import NotFound

    with vault.reading() as s:
        try:
            return get_user(s, FIRST_ADMIN).active
        except NotFound:
            return False


def _live_sources(vault: Vault, root: Path) -> None:
    from kustosz.ingest.camera.simulated import start_simulated_camera
    from kustosz.ingest.phone.demo import make_demo_line

    start_simulated_camera(vault, start=False)
    console.print("Simulated camera [bold]kamera-demo[/] registered: two people in a photograph "
                  "(a data subject's copy masks the other one) with a tone; the recorder keeps "
                  "the picture and drops the sound (R1.3).")
    note = make_demo_line(vault, root / "pbx-spool")
    console.print(note or "Simulated phone exchange [bold]centrala-demo[/]: calls taken in "
                  f"from {root / 'pbx-spool'} (FreePBX layout, Asterisk Master.csv).")


def _serve(vault: Vault, port: int) -> None:
    import logging

    from kustosz.cli.serve import run_serve
    from kustosz.cli.serve_stop import serve_signals

    # The reload's line (what was put in force, what waits): a newcomer trying the documented
    # `kill -HUP` sees what it did, as serve's journal says it.
    logging.getLogger("kustosz.cli.serve_reload").setLevel(logging.INFO)
    console.print("[bold]kustosz serve[/] is recording kamera-demo; new 4-second segments "
                  "appear in `recordings list`. Ctrl-C stops; `kill -HUP` reloads kustosz.toml.")
    with serve_signals() as stop:  # exactly serve's: SIGTERM, Ctrl-C, SIGHUP
        # soft_wrap: the one-time password's line whole, however narrow the terminal
        run_serve(vault, stop, web=("127.0.0.1", port),
                  announce=lambda text: console.print(text, soft_wrap=True))
    console.print("demo stopped")
