"""`kustosz doctor`: checks a deployment and says what to fix, one line per check.

Read-mostly: the vault is opened without the repairs and upgrades `Vault.open` makes (file
modes are reported, not closed; the schema is not migrated), and nothing is written to it.
`--send-test` is the one thing that leaves the machine: a test message through each
configured alert channel. Every check reuses the code the vault itself runs (file modes,
the TLS check of `serve`, the disk forecast of the dashboard, the allow-list, the alert
channels), so doctor and the running vault never disagree about what is wrong.

Exit status: 0 when nothing FAILs (WARN and UNKNOWN do not fail), 1 otherwise; 2 when the
data folder is not a vault at all (as every verb).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from kustosz.cli.common import data_dir, emit_json, fails_cleanly
from kustosz.config import VaultConfig, read_config
from kustosz.errors import ConfigError, KustoszError
from kustosz.vault import Vault, _absolute

OK, WARN, FAIL, UNKNOWN = "OK", "WARN", "FAIL", "UNKNOWN"
TLS_WARN_DAYS = 30
FORECAST_WARN_DAYS = 30
CLOCK_COMMAND = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")


@dataclass(frozen=True)
class Check:
    check: str
    status: str  # OK | WARN | FAIL | UNKNOWN
    detail: str  # what was found and, unless OK, what to do about it (one line)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- checks that need no database -----------------------------------------------------------
def check_modes(root: Path) -> Check:
    """What `Vault.open` would close (atrest.modes.make_private), without closing it."""
    from kustosz.atrest.modes import make_private

    try:
        found = make_private(root, fix=False)
    except ConfigError as exc:
        return Check("file modes", FAIL, _one_line(str(exc)))
    if found:
        paths = [str(root) if p == "." else str(root / p) for p in found.changed]
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        return Check("file modes", FAIL,
                     f"readable by other local accounts: {shown}; run chmod -R go-rwx {root} "
                     "(or start the vault once as its owner: it closes them)")
    return Check("file modes", OK, f"{root} and its keys are the Kustosz account's alone")


def check_tls(config: VaultConfig, now: datetime) -> Check:
    from kustosz.web.tls import check_tls as checked

    web = config.web
    if web.tls_cert is None and web.tls_key is None:
        if web.trusted_proxies:
            return Check("tls", OK, "HTTPS is left to the trusted reverse proxy "
                         "([web] trusted_proxies)")
        return Check("tls", WARN, "not configured: the web app speaks plain HTTP; set [web] "
                     "tls_cert and tls_key in kustosz.toml (kustosz tls self-signed makes a "
                     "temporary pair)")
    if web.tls_cert is None or web.tls_key is None:
        return Check("tls", FAIL, "[web] tls_cert and tls_key must be given together")
    try:
        tls = checked(web.tls_cert, web.tls_key, now)
    except KustoszError as exc:
        return Check("tls", FAIL, _one_line(str(exc)))
    problems = []
    if tls.not_after - now < timedelta(days=TLS_WARN_DAYS):
        problems.append(f"expires on {tls.not_after:%Y-%m-%d} (within {TLS_WARN_DAYS} days): "
                        "renew it")
    if tls.self_signed:
        problems.append("self-signed (browsers warn): replace it with one from the office's "
                        "certificate authority")
    if problems:
        return Check("tls", WARN, f"{web.tls_cert}: " + "; ".join(problems))
    return Check("tls", OK, f"{web.tls_cert} valid until {tls.not_after:%Y-%m-%d}")


def check_clock(command: tuple[str, ...] = CLOCK_COMMAND) -> Check:
    """NTP synchronisation as systemd reports it; unknown (not a failure) without systemd."""
    if shutil.which(command[0]) is None:
        return Check("clock", UNKNOWN, f"{command[0]} is not available: check by hand that "
                     "the server's clock is synchronised (NTP)")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("clock", UNKNOWN, f"{command[0]} did not answer ({type(exc).__name__}): "
                     "check by hand that the server's clock is synchronised (NTP)")
    answer = done.stdout.strip()
    if done.returncode != 0 or answer not in ("yes", "no"):
        why = _one_line(done.stderr or answer)[:120] or f"exit status {done.returncode}"
        return Check("clock", UNKNOWN, f"{command[0]} could not tell ({why}): check by hand "
                     "that the server's clock is synchronised (NTP)")
    if answer == "no":
        return Check("clock", WARN, "not synchronised (NTPSynchronized=no): enable NTP "
                     "(timedatectl set-ntp true) and point it at the office's time server; "
                     "retention and evidence times depend on the clock")
    return Check("clock", OK, "synchronised (NTP)")


def check_witness(config: VaultConfig) -> Check:
    path = config.audit.witness
    if path is None:
        return Check("audit witness", WARN, "not configured: set [audit] witness to a file "
                     "outside the data folder (another disk or a share) so that a cut or "
                     "rewritten audit log is found")
    try:
        if path.exists():
            if not path.is_file():
                return Check("audit witness", FAIL, f"{path} is not a file: point [audit] "
                             "witness at a file")
            with open(path, "ab"):  # opened for appending, nothing written
                pass
        elif not path.parent.is_dir():
            return Check("audit witness", FAIL, f"the folder {path.parent} does not exist: "
                         "create it (or mount the share) for the Kustosz account")
        elif not os.access(path.parent, os.W_OK | os.X_OK):
            return Check("audit witness", FAIL, f"{path} cannot be created: the Kustosz "
                         f"account cannot write to {path.parent}")
    except OSError as exc:
        return Check("audit witness", FAIL, f"{path} is not writable ({exc.strerror or exc}): "
                     "give the Kustosz account write access to it")
    return Check("audit witness", OK, f"{path} is writable")


def check_backup() -> Check:
    return Check("backup", WARN, "backup age: not available yet (Kustosz has no backup "
                 "command yet; this is not a failure): meanwhile copy the database with "
                 "its online backup (sqlite3 .backup / pg_dump) and the data folder")


# -- checks that read the vault ---------------------------------------------------------------
def open_read_mostly(root: Path, config: VaultConfig) -> Vault:
    """The vault's database and storage without Vault.open's repairs, migrations and key
    handling: doctor reports, it changes nothing."""
    from kustosz.db.engine import make_engine, sqlite_url
    from kustosz.policy import load_policy

    if not config.database_url and not (root / "kustosz.db").is_file():
        # make_engine would create an empty one
        raise ConfigError(f"the database {root / 'kustosz.db'} does not exist: restore it, "
                          "or point database_url at the vault's PostgreSQL database")
    policy = load_policy(config.preset, config.policy_overrides)
    engine = make_engine(config.database_url or sqlite_url(root / "kustosz.db"))
    return Vault(root, config, policy, engine)


def check_space(vault: Vault, now: datetime) -> Check:
    from kustosz.retention.forecast import HORIZON_DAYS, forecast

    free, total = vault.storage.free_bytes(), vault.storage.total_bytes()
    pct = free * 100 / total if total else 0.0
    threshold = vault.config.min_free_percent
    with vault.reading() as s:
        fc = forecast(s, free, total, now)
    days = fc.days_left
    lasts = ("growth balanced by deletions" if days is None
             else "enough for more than a year at the last week's rate"
             if days > HORIZON_DAYS
             else f"full in about {days:.0f} days at the last week's rate")
    if pct < threshold:
        return Check("free space", FAIL, f"{pct:.1f}% free is below the disk-pressure "
                     f"threshold of {threshold:g}% (the sweep deletes the oldest material): "
                     "add storage or shorten retention")
    if days is not None and days < FORECAST_WARN_DAYS:
        return Check("free space", WARN, f"{pct:.1f}% free, {lasts}: add storage or shorten "
                     "retention")
    return Check("free space", OK, f"{pct:.1f}% free, {lasts}")


def check_allowlist(vault: Vault) -> Check:
    from kustosz.access import allowlist

    with vault.reading() as s:
        text = allowlist.current(s)
    try:
        nets = allowlist.parse(text)
    except KustoszError as exc:
        return Check("allow-list", FAIL, f"the workstation allow-list cannot be read: "
                     f"{_one_line(str(exc))}; set it again in the web app")
    if not nets:
        return Check("allow-list", FAIL, "the workstation allow-list is empty: no workstation "
                     "can view material; an administrator sets it in the web app's settings")
    return Check("allow-list", OK, "workstations: " + " ".join(str(n) for n in nets))


def check_alerts(vault: Vault) -> Check:
    from kustosz.alerts.notifier import load_state

    channels = vault.config.alerts.channels
    if not channels:
        return Check("alert channels", WARN, "none configured: alerts wait on the dashboard; "
                     "add [alerts.email], [alerts.webhook] or [alerts.syslog] to kustosz.toml")
    with vault.reading() as s:
        failing = load_state(s)["channels"]
    names = ", ".join(channels)
    if failing:
        why = "; ".join(f"{name} since {st.get('since', '?')} ({st.get('reason', 'error')})"
                        for name, st in sorted(failing.items()))
        return Check("alert channels", WARN, f"{names} configured; failing: {why}: check "
                     "the relay/server (kustosz doctor --send-test tries each)")
    return Check("alert channels", OK, f"{names} configured")


def send_tests(vault: Vault, now: datetime) -> list[Check]:
    from kustosz.alerts.channels import ChannelError, build
    from kustosz.alerts.messages import Message, local

    msg = Message(
        subject="Kustosz: wiadomość testowa (kustosz doctor)",
        body=("To jest wiadomość testowa wysłana poleceniem „kustosz doctor --send-test” "
              f"{local(now)}. Skoro dotarła, alerty Kustosza docierają tym kanałem. "
              "Nie trzeba nic robić."),
        severity="notice", payload={"kind": "test", "event": "test", "at": now.isoformat()})
    results = []
    for name, channel in build(vault.config.alerts.channels).items():
        try:
            channel.send(msg)
        except ChannelError as exc:
            results.append(Check(f"test via {name}", FAIL,
                                 f"{_one_line(str(exc))} ({exc.reason}): check the channel's "
                                 "settings in kustosz.toml"))
        else:
            results.append(Check(f"test via {name}", OK, "test message sent"))
    return results


def run_checks(root: Path, send_test: bool = False, now: datetime | None = None) -> list[Check]:
    now = now or datetime.now(UTC)
    root = _absolute(root)
    config = read_config(root)  # not a vault at all: ConfigError, exit status 2
    checks = [check_modes(root), check_tls(config, now), check_clock()]
    try:
        vault = open_read_mostly(root, config)
    except KustoszError as exc:
        checks.append(Check("database", FAIL, _one_line(str(exc))))
        vault = None
    if vault is not None:
        try:
            checks.append(check_space(vault, now))
            checks.append(check_alerts(vault))
            if send_test:
                checks.extend(send_tests(vault, now))
            checks.append(check_witness(config))
            checks.append(check_allowlist(vault))
        except Exception as exc:  # e.g. a schema older than this program: say so, go on
            checks.append(Check("database", FAIL, f"cannot be read ({type(exc).__name__}: "
                                f"{_one_line(str(exc))[:160]}); start the vault once "
                                "(kustosz serve) to upgrade it"))
        finally:
            vault.close()
    else:
        checks.append(check_witness(config))
    checks.append(check_backup())
    return checks


@fails_cleanly
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    send_test: bool = typer.Option(False, "--send-test",
                                   help="Send a test message through each configured alert "
                                        "channel and report each result."),
) -> None:
    """Check this deployment (file modes, TLS, clock, free space, alert channels, audit
    witness, allow-list, backup) and say what to fix. Changes nothing in the vault. Exit
    status 1 when a check FAILs."""
    checks = run_checks(data_dir(), send_test=send_test)
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        emit_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        width = max(len(c.check) for c in checks)
        for c in checks:
            typer.echo(f"{c.status:<7} {c.check:<{width}}  {c.detail}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
