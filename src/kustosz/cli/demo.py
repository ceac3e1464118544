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

from kustosz.cli.common import console, fails_cleanly, local, state
from kustosz.custody.holds import place_hold
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.files import ingest_file
from kustosz.kinds import SourceKind, by_action
from kustosz.policy import Policy, load_policy, preset_names
from kustosz.retention import run_sweep
from kustosz.vault import Vault

MARKER = ".kustosz-demo"
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


def _fresh_vault(root: Path, preset: str) -> Vault:
    if root.exists():
        if not (root / MARKER).exists():
            raise typer.BadParameter(f"{root} exists and is not a demo folder; pick another")
        shutil.rmtree(root)
    vault = Vault.init(root, preset, actor="demo")
    (root / MARKER).write_text("throw-away demo vault; `kustosz demo` recreates it\n")
    if vault.policy.retention.get(SourceKind.PHONE) is None:
        config = root / "kustosz.toml"
        config.write_text(config.read_text() + DEMO_OVERRIDES)
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


def _demo_people(vault: Vault) -> str:
    """The demo's accounts (one shared password, not one-time: a newcomer switches between
    them) and a year's authorisation for the viewer over every camera and phone line."""
    from kustosz.access import accounts, passwords
    from kustosz.access.authorisations import issue
    from kustosz.access.users import add_user

    password = passwords.one_time_password()
    now = datetime.now(UTC)
    with vault.transaction() as s:
        for login, (name, roles, title) in demo_people(vault.policy).items():
            user = add_user(s, login, name, roles, "demo",
                            title=title or vault.policy.approver_title)
            accounts.set_password(s, user, password, "demo", check=False)
    with vault.transaction() as s:
        actions = ["playback", "listening", "calls"]
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


@fails_cleanly
def demo(preset: str = typer.Option(default_preset(), "--preset"),
         serve: bool = typer.Option(True, "--serve/--no-serve",
                                    help="Go on recording (Ctrl-C stops) after the showcase."),
         port: int = typer.Option(DEMO_PORT, "--port", envvar="KUSTOSZ_WEB_PORT",
                                  help="Port of the web app on 127.0.0.1.")) -> None:
    """The product on a throw-away vault: sample material, a hold and a sweep, a simulated
    camera and phone line, then `serve` until Ctrl-C."""
    root = state.data or Path("demo-data")
    if serve and not _port_is_free("127.0.0.1", port):
        # Before anything is made: a demo without its web app leaves a newcomer with neither
        # an address nor an account.
        raise typer.BadParameter(
            f"port {port} na 127.0.0.1 jest zajęty (może działa już inne demo) / port {port} "
            f"is taken (another demo running?); podaj inny / choose another: "
            f"kustosz demo --port {port + 1}", param_hint="--port")
    vault = _fresh_vault(root, preset)
    console.print(f"[bold]Demo vault[/] in {root} — {vault.policy.office_name} "
                  f"(preset {preset})")
    with vault.transaction() as s:
        for name in ("hol-parter", "wejscie-glowne"):
            add_source(s, vault.policy, name, SourceKind.CAMERA, "demo")
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        clip = _sample_clip(Path(tmp))
        with console.status("taking in 40 days of sample material…"):
            for days_ago in range(0, 40, 3):
                for name in ("hol-parter", "wejscie-glowne"):
                    start = now - timedelta(days=days_ago, hours=2)
                    ingest_file(vault, name, clip, start, start + timedelta(seconds=2),
                                actor="demo")
    incident = now - timedelta(days=36, hours=2)
    with vault.transaction() as s:
        place_hold(s, sources=[get_source(s, "hol-parter")],
                   start=incident - timedelta(minutes=30), end=incident + timedelta(minutes=30),
                   basis="Wniosek Komendy Powiatowej Policji (demo)", case_ref="KPP-123/26",
                   actor="demo")
    console.print("Hold placed on hol-parter around an incident 36 days ago (police request).")
    report = run_sweep(vault, now, actor="demo")
    table = Table("what", "source", "recorded (local)", "why")
    for item in sorted(report.deleted, key=lambda i: (i["start"], i["source"])):
        table.add_row("[red]deleted[/]", item["source"],
                      local(item["start"], vault), item["rule"])
    for item in report.kept_by_hold:
        table.add_row("[green]kept[/]", item["source"],
                      local(item["start"], vault),
                      f"past its period, but hold {', '.join(map(str, item['holds']))} covers it")
    console.print(table)
    _live_sources(vault, root)
    password = _demo_people(vault)
    console.print(f"Konta demonstracyjne / demo accounts — hasło każdego / everyone's "
                  f"password: [bold]{password}[/]")
    people = Table("login", "rola / role", "osoba / person")
    from kustosz.access.users import ROLE_SHORT

    for login, (name, roles, _title) in demo_people(vault.policy).items():
        people.add_row(login, ", ".join(ROLE_SHORT.get(r, r) for r in roles), name)
    console.print(people)
    console.print(f"Look around: [bold]kustosz --data {root} recordings list[/], "
                  f"[bold]calls search --number 600100200[/], [bold]recorders status[/], "
                  f"[bold]audit verify[/].")
    if serve:
        _serve(vault, port)
    vault.close()


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
    import signal
    import threading

    from kustosz.cli.serve import run_serve

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print("[bold]kustosz serve[/] is recording kamera-demo; new 4-second segments "
                  "appear in `recordings list`. Ctrl-C stops.")
    try:
        # soft_wrap: the one-time password's line whole, however narrow the terminal
        run_serve(vault, stop, web=("127.0.0.1", port),
                  announce=lambda text: console.print(text, soft_wrap=True))
    except KeyboardInterrupt:
        stop.set()
    console.print("demo stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
