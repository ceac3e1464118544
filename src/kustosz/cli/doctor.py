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
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from kustosz.cli.common import data_dir, emit_json, fails_cleanly
from kustosz.cli.doctor_accessibility import check_accessibility
from kustosz.cli.doctor_check import FAIL, OK, UNKNOWN, WARN, Check
from kustosz.config import VaultConfig, read_config
from kustosz.errors import ConfigError, KustoszError
from kustosz.vault import Vault, _absolute

TLS_WARN_DAYS = 30
FORECAST_WARN_DAYS = 30
CLOCK_COMMAND = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")


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
        # a file both readable by others and not the account's own is named once
        paths = list(dict.fromkeys(str(root) if p == "." else str(root / p)
                                   for p in found.changed))
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        return Check("file modes", FAIL,
                     f"readable by other local accounts: {shown}; run chmod -R go-rwx {root} "
                     "(or start the vault once as its owner: it closes them)")
    return Check("file modes", OK, f"{root} and its keys are the Kustosz account's alone")


def check_tls(config: VaultConfig, now: datetime, serving: dict[str, Any] | None = None,
              when: Callable[[str], str] = str) -> Check:
    """HTTPS from kustosz.toml; when it names no certificate, from what `kustosz serve`
    recorded at its last start (``serving``, kustosz.serving: --tls-cert is in no file).
    ``when`` shows a recorded time to a person."""
    web = config.web
    if web.tls_cert is None and web.tls_key is None:
        if web.trusted_proxies:
            return Check("tls", OK, "HTTPS is left to the trusted reverse proxy "
                         "([web] trusted_proxies)")
        if serving:
            started = f"kustosz serve started {when(serving.get('started_at', ''))} " \
                      f"(PID {serving.get('pid', '?')})"
            if serving.get("stopped_at"):
                started += f", stopped {when(serving['stopped_at'])}"
            source = f"not in kustosz.toml; as recorded by {started}"
            if serving.get("scheme") == "https" and serving.get("tls_cert") \
                    and serving.get("tls_key"):
                return _check_pair(Path(serving["tls_cert"]), Path(serving["tls_key"]), now,
                                   f" ({source}, given with --tls-cert/--tls-key)")
            if serving.get("trusted_proxies"):
                return Check("tls", OK, "HTTPS is left to the trusted reverse proxy "
                             f"({source}, --trusted-proxy)")
            return Check("tls", WARN, f"the web app speaks plain HTTP on "
                         f"{serving.get('host')}:{serving.get('port')} ({source}): set "
                         "[web] tls_cert and tls_key in kustosz.toml or give serve "
                         "--tls-cert/--tls-key (kustosz tls self-signed makes a temporary pair)")
        return Check("tls", WARN, "not configured in kustosz.toml, and kustosz serve has not "
                     "recorded a start: the web app speaks plain HTTP unless serve is given "
                     "--tls-cert/--tls-key; set [web] tls_cert and tls_key in kustosz.toml "
                     "(kustosz tls self-signed makes a temporary pair)")
    if web.tls_cert is None or web.tls_key is None:
        return Check("tls", FAIL, "[web] tls_cert and tls_key must be given together")
    return _check_pair(web.tls_cert, web.tls_key, now, "")


def _check_pair(cert: Path, key: Path, now: datetime, source: str) -> Check:
    from kustosz.web.tls import check_tls as checked

    try:
        tls = checked(cert, key, now)
    except KustoszError as exc:
        return Check("tls", FAIL, _one_line(str(exc)) + source)
    problems = []
    if tls.not_after - now < timedelta(days=TLS_WARN_DAYS):
        problems.append(f"expires on {tls.not_after:%Y-%m-%d} (within {TLS_WARN_DAYS} days): "
                        "renew it")
    if tls.self_signed:
        problems.append("self-signed (browsers warn): replace it with one from the office's "
                        "certificate authority")
    if problems:
        return Check("tls", WARN, f"{cert}{source}: " + "; ".join(problems))
    return Check("tls", OK, f"{cert} valid until {tls.not_after:%Y-%m-%d}{source}")


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


def check_witness_identity(config: VaultConfig, root: Path) -> Check:
    """The witness pinned by root outside the data folder (kustosz.audit.identity)."""
    from kustosz.audit import identity
    from kustosz.audit.witness import public_key_of

    name = "audit witness identity"
    if config.audit.witness is None:
        return Check(name, OK, "no witness configured (see: audit witness)")
    pinned = identity.resolve(root, config.audit.witness, public_key_of(root), None)
    if pinned.problems:
        return Check(name, FAIL, "; ".join(pinned.problems),
                     pl="Tożsamość świadka zapisana przez roota nie zgadza się ze skarbcem albo "
                        "może ją zmienić ktoś inny niż root: " + "; ".join(pinned.problems))
    if pinned.identity is None:
        return Check(name, WARN, f"not pinned: whoever holds the data folder can point [audit] "
                     f"witness at a forged file; as root: kustosz --data {root} audit "
                     "pin-witness",
                     pl="Świadek nie jest przypięty: kto ma katalog danych, może wskazać w "
                        "[audit] witness podrobiony plik; jako root: kustosz --data "
                        f"{root} audit pin-witness")
    return Check(name, OK, f"{pinned.identity.path} (root's): witness {pinned.witness}, key "
                 f"{pinned.identity.fingerprint}")


def check_object_store(config: VaultConfig) -> Check:
    """With media in an object store: may serve's account read the sweep's credentials?
    (README, "Object storage (S3)": the sweep in its own unit.)"""
    s3 = config.s3
    assert s3 is not None
    if s3.sweep != "separate":
        return Check("object store", WARN, "kustosz serve reads the sweep's deleting "
                     "credentials and sweeps itself: whoever takes serve over can delete; set "
                     '[storage] sweep = "separate" and install kustosz-sweeper.service')
    path = s3.delete_credentials_file
    if path is not None and os.geteuid() != 0 and os.access(path, os.R_OK):
        return Check("object store", FAIL, f"{path} is readable by this account, which serve "
                     "runs as: make it root:kustosz-sweep mode 0640 and keep this account "
                     "out of the group kustosz-sweep")
    return Check("object store", OK, "only kustosz sweeper deletes (sweep = \"separate\")"
                 + ("" if path is None or os.geteuid() != 0 else
                    "; run doctor as the service account to check who can read " + str(path)))


def check_delete_rights(config: VaultConfig, root: Path) -> Check:
    """With media in an object store: does the store itself tell the app's credentials from
    the sweep's? Only its policy keeps the app's from deleting, so the store is asked
    (S3Storage.may_delete_versions: a made-up version of a made-up key, nothing created): the
    app's must be refused; the sweep's, when this account can read them, must not be."""
    from kustosz.storage.s3 import object_store

    s3 = config.s3
    assert s3 is not None
    try:
        app = object_store(s3, root).may_delete_versions()
    except KustoszError as exc:
        return Check("object store rights", UNKNOWN, "the app's credentials could not be "
                     f"tried: {_one_line(str(exc))}",
                     pl="Nie udało się sprawdzić uprawnień danych dostępowych aplikacji: "
                        + _one_line(exc.pl or str(exc)))
    if app:
        return Check(
            "object store rights", FAIL,
            f"the app's credentials can delete object versions (from {_app_origin(s3)}): "
            "whoever takes serve over could delete locked material; give "
            "credentials_file the app's own access key, whose policy grants no "
            "s3:DeleteObject, s3:DeleteObjectVersion, s3:PutObjectLegalHold nor "
            "s3:BypassGovernanceRetention (README, \"Object storage (S3)\"), and keep the "
            "sweep's key in delete_credentials_file only",
            pl="Dane dostępowe aplikacji pozwalają usuwać wersje obiektów (z "
               f"{_app_origin(s3)}): kto przejmie kustosz serve, mógłby usunąć zablokowane "
               "nagrania. W credentials_file wpisz własny klucz aplikacji, którego polityka "
               "nie daje s3:DeleteObject, s3:DeleteObjectVersion, s3:PutObjectLegalHold ani "
               "s3:BypassGovernanceRetention (README, „Object storage (S3)”), a klucz "
               "usuwania po terminie (kustosz sweeper) trzymaj tylko w "
               "delete_credentials_file.")
    done = "the store refuses the app's credentials to delete object versions"
    path = s3.delete_credentials_file
    readable = os.access(path, os.R_OK) if path is not None else \
        bool(os.environ.get("KUSTOSZ_S3_DELETE_ACCESS_KEY"))
    if not readable:
        return Check("object store rights", OK, f"{done}; the sweep's were not tried (this "
                     "account cannot read them, as it should not)")
    try:
        sweep = object_store(s3, root, deleting=True).may_delete_versions()
    except KustoszError as exc:
        return Check("object store rights", WARN, f"{done}; the sweep's could not be tried: "
                     f"{_one_line(str(exc))}",
                     pl="Magazyn nie pozwala aplikacji usuwać wersji obiektów; danych "
                        "dostępowych usuwania po terminie (kustosz sweeper) nie udało "
                        "się sprawdzić: "
                        + _one_line(exc.pl or str(exc)))
    if not sweep:
        return Check(
            "object store rights", FAIL,
            f"{done}, and the sweep's too (from {path or '$KUSTOSZ_S3_DELETE_ACCESS_KEY'}): "
            "nothing will ever be deleted at the end of its period; give the sweep's "
            "identity s3:DeleteObjectVersion and s3:PutObjectLegalHold — and not "
            "s3:BypassGovernanceRetention (nor SeaweedFS's Admin, which implies it): the "
            "bypass belongs only to the re-dating identity of `kustosz retention shorten "
            "approve --credentials` (README, \"Object storage (S3)\")",
            pl="Magazyn nie pozwala usuwać wersji obiektów ani aplikacji, ani procesowi "
               "usuwania po terminie (kustosz sweeper, dane z "
               f"{path or '$KUSTOSZ_S3_DELETE_ACCESS_KEY'}): nic nie zostanie usunięte po "
               "upływie okresu przechowywania. Nadaj jego tożsamości w magazynie prawa "
               "s3:DeleteObjectVersion i s3:PutObjectLegalHold — ale nie "
               "s3:BypassGovernanceRetention (ani akcji Admin SeaweedFS, która je obejmuje): "
               "pominięcie blokady ma tylko tożsamość do skracania okresów (`kustosz "
               "retention shorten approve --credentials`; README, „Object storage (S3)”).")
    # Whether the sweep's identity holds the bypass cannot be asked without an object to ask
    # it on (the stores answer a missing key first); the README's policy leaves it out.
    return Check("object store rights", OK, f"{done}; the sweep's may (without the "
                 "governance bypass, which only `kustosz retention shorten approve` uses)")


SEAWEED_PORTS = (9333, 8888, 9340, 8080)  # weed's own defaults: master, filer, volume (mini's
# and server's), probed even when no weed process is visible (another account's, hidepid)


def _weed_processes() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "weed":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _listening() -> list[tuple[str, int, int, int]]:
    """This network namespace's listening TCP sockets: (address, port, uid, inode)."""
    import ipaddress

    out = []
    for name, size in (("tcp", 4), ("tcp6", 16)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":
                continue
            raw, port = cols[1].split(":")
            # /proc writes each 32-bit word of the address in the host's (little) endianness
            packed = b"".join(bytes.fromhex(raw[i:i + 8])[::-1] for i in range(0, size * 2, 8))
            address = ipaddress.ip_address(packed)
            if address.is_unspecified:
                address = ipaddress.ip_address("127.0.0.1" if size == 4 else "::1")
            out.append((str(address), int(port, 16), int(cols[7]), int(cols[9])))
    return out


def _weed_sockets(pids: list[int]) -> tuple[set[int], set[int]]:
    """The socket inodes of these processes where this account may read their fds, and the
    uids of those whose fds it may not (their every listening socket is then probed)."""
    inodes: set[int] = set()
    uids: set[int] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
        except PermissionError:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            uids.update(int(x.split()[1]) for x in status.splitlines() if x.startswith("Uid:"))
        except OSError:
            continue
    return inodes, uids


def _seaweed_part(address: str, port: int) -> str | None:
    """What answers there without credentials: "filer", "volume server", "master" of
    SeaweedFS, or None (not SeaweedFS, not HTTP, or it asks for authentication: the S3
    gateway's 403, a filer's 401 with JWT reads)."""
    import http.client
    import urllib.error
    import urllib.request

    host = f"[{address}]" if ":" in address else address
    try:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=2) as r:
                server, body = r.headers.get("Server", ""), r.read(4096)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                return None
            server, body = exc.headers.get("Server", ""), exc.read(4096)
    except (OSError, ValueError, http.client.HTTPException):  # not HTTP (gRPC, NATS, ...)
        return None
    text = server + " " + body.decode(errors="replace")
    if "SeaweedFS" not in text:
        return None
    if "Volume" in server:
        return "volume server"
    return "filer" if "Filer" in text else "master"


def check_seaweedfs(pids: list[int] | None = None) -> Check:
    """Does any SeaweedFS master, volume server or filer answer on this machine's network?
    They delete without authentication (a version under legal hold included), and a port on
    loopback is every local account's (issue 28 item 4). ``pids``: only these weed processes
    (the tests: other weed instances run beside them), without the well-known ports."""
    from concurrent.futures import ThreadPoolExecutor

    inodes, uids = _weed_sockets(_weed_processes() if pids is None else pids)
    candidates = sorted({(a, p) for a, p, uid, inode in _listening()
                         if inode in inodes or uid in uids
                         or (pids is None and p in SEAWEED_PORTS)})
    with ThreadPoolExecutor(max_workers=8) as pool:
        parts = list(pool.map(lambda c: _seaweed_part(*c), candidates))
    found = [f"{part} at {a}:{p}" for (a, p), part in zip(candidates, parts, strict=True)
             if part]
    if not found:
        return Check("seaweedfs", OK, "no SeaweedFS master, volume server or filer answers "
                     "on this machine's network")
    return Check(
        "seaweedfs", FAIL,
        f"SeaweedFS's {', '.join(found)} answer(s) without authentication: any account on "
        "this machine can delete locked and held versions behind the S3 gateway; run weed in "
        "a network namespace of its own and offer only the S3 gateway (deploy/seaweedfs/, "
        "README \"Setting up SeaweedFS\")",
        pl=f"SeaweedFS ({', '.join(found)}) odpowiada bez uwierzytelnienia: każde konto na "
           "tym komputerze może z pominięciem bramy S3 usunąć zablokowane i zabezpieczone "
           "nagrania. Uruchom weed we własnej przestrzeni sieciowej i udostępnij tylko bramę "
           "S3 (deploy/seaweedfs/, README „Setting up SeaweedFS”).")


def _app_origin(s3: Any) -> str:
    return str(s3.credentials_file) if s3.credentials_file else "$KUSTOSZ_S3_ACCESS_KEY"


def check_backup(root: Path, vault: Vault | None, now: datetime) -> Check:
    """The age of the latest backup against the [backup] schedule (kustosz.backup)."""
    from kustosz.backup import state as backup_state
    from kustosz.backup.crypto import read_passphrase
    from kustosz.backup.schedule import GRACE, INTERVAL, check_folder, read_settings

    try:
        settings = read_settings(root)
    except ConfigError as exc:
        return Check("backup", FAIL, _one_line(str(exc)))
    state: dict[str, Any] = {}
    if vault is not None:
        try:
            with vault.reading() as s:
                state = backup_state.load(s)
        except Exception:  # an old schema: the database check says so
            state = {}
    ok, failed = state.get("last_ok") or {}, state.get("last_failed") or {}
    last = datetime.fromisoformat(ok["at"]) if ok.get("at") else None
    age = now - last if last else None
    shown = f"the latest backup is {_age(age)} old ({ok.get('path')})" if age is not None \
        else "no backup has been made yet"
    failed_after = failed.get("at") and (last is None
                                         or datetime.fromisoformat(failed["at"]) > last)
    why = f"; the last attempt failed: {_one_line(failed.get('why', '?'))}" \
        if failed_after else ""
    if settings is None:
        return Check("backup", WARN, f"{shown}{why}; no schedule: add [backup] (folder, at, "
                     "passphrase_file, keep) to kustosz.toml, or run kustosz backup --to DIR "
                     "regularly")
    try:
        read_passphrase(settings.passphrase_file)
        check_folder(settings.folder)
    except KustoszError as exc:
        return Check("backup", FAIL, f"{shown}; scheduled backups cannot run: "
                     f"{_one_line(str(exc))}")
    expected = INTERVAL + GRACE
    if age is None or age > 2 * INTERVAL + GRACE:
        return Check("backup", FAIL, f"{shown}{why}: daily backups at "
                     f"{settings.at:%H:%M} into {settings.folder} are not succeeding; check "
                     "the folder and the log of kustosz serve (or run kustosz backup)")
    if age > expected or failed_after:
        return Check("backup", WARN, f"{shown}{why}: a daily backup is due at "
                     f"{settings.at:%H:%M}; check that kustosz serve runs and the folder "
                     f"{settings.folder} is writable")
    return Check("backup", OK, f"{shown}; daily at {settings.at:%H:%M} into "
                 f"{settings.folder}, keeping {settings.keep}")


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


# -- checks that read the vault ---------------------------------------------------------------
def open_read_mostly(root: Path, config: VaultConfig) -> Vault:
    """The vault's database and storage without Vault.open's repairs, migrations and key
    handling: doctor reports, it changes nothing."""
    from kustosz.db.engine import make_engine, missing_database, sqlite_url
    from kustosz.policy import load_policy

    if not config.database_url and not (root / "kustosz.db").is_file():
        # make_engine would create an empty one
        raise missing_database(root / "kustosz.db")
    policy = load_policy(config.preset, config.policy_overrides)
    engine = make_engine(config.database_url or sqlite_url(root / "kustosz.db"))
    return Vault(root, config, policy, engine)


def check_space(vault: Vault, now: datetime) -> Check:
    from kustosz.index.forecast import HORIZON_DAYS, forecast

    if vault.config.s3 is not None:
        return _check_spool_space(vault)
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


def _check_spool_space(vault: Vault) -> Check:
    """On an object store what can fill is the local disk: the spool of what waits for the
    store (kustosz.ingest.upload_queue), never deleted to make room."""
    from kustosz.ingest.upload_queue import queue_of

    assert vault.config.s3 is not None
    free, total = vault.storage.free_bytes(), vault.storage.total_bytes()
    pct = free * 100 / total if total else 0.0
    files, size = queue_of(vault).backlog()
    limit = vault.config.s3.spool_limit
    waiting = (f"{files} files ({size / 1e9:.2f} GB) wait in the local spool for the object "
               "store" if files else "nothing waits for the object store")
    where = f"{pct:.1f}% free on the local disk; {waiting}"
    if pct < vault.config.min_free_percent:
        return Check("free space", FAIL, f"{where}: make room on the local disk (material in "
                     "the object store is not deleted to free it)")
    if size > limit:
        return Check("free space", FAIL, f"{where}, over [storage] spool_limit "
                     f"({limit / 1e9:.2f} GB): is the object store reachable?")
    if files:
        return Check("free space", WARN, f"{where}: they go up once the store answers")
    return Check("free space", OK, where)


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


def check_alerts(vault: Vault, when: Callable[[str], str] = str) -> Check:
    from kustosz.alerts.notifier import load_state
    from kustosz.alerts.settings import effective

    channels = effective(vault).channels  # kustosz.toml with the web page's changes
    if not channels:
        return Check("alert channels", WARN, "none configured: alerts wait on the dashboard; "
                     "add [alerts.email], [alerts.webhook] or [alerts.syslog] to kustosz.toml "
                     "or set them on the web page /admin/alerts")
    with vault.reading() as s:
        failing = load_state(s)["channels"]
    names = ", ".join(channels)
    if failing:
        why = "; ".join(f"{name} since {when(st['since']) if st.get('since') else '?'} "
                        f"({st.get('reason', 'error')})"
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
    from kustosz.alerts.settings import effective

    try:
        secrets = vault.secrets
    except RuntimeError:  # opened without Vault.open: the key file read as it is
        from kustosz.atrest.sealing import read_key

        try:
            secrets = read_key(vault.root)
        except KustoszError:
            secrets = None
    for name, channel in build(effective(vault).channels, secrets, vault).items():
        try:
            channel.send(msg)
        except ChannelError as exc:
            results.append(Check(f"test via {name}", FAIL,
                                 f"{_one_line(str(exc))} ({exc.reason}): check the channel's "
                                 "settings in kustosz.toml"))
        else:
            results.append(Check(f"test via {name}", OK, "test message sent"))
    return results


def _serving(vault: Vault | None) -> tuple[dict[str, Any] | None, Callable[[str], str]]:
    """What serve recorded about its web app, and times shown as every verb shows them."""
    if vault is None:
        return None, str
    from kustosz import serving
    from kustosz.cli.common import local

    try:
        with vault.reading() as s:
            fact = serving.load(s)
    except Exception:  # an old schema: the database check says so
        fact = None
    return fact, lambda value: local(value, vault)


def check_config(root: Path) -> Check:
    """`kustosz config check` of the data folder's kustosz.toml, and what a serve running now
    runs on when that is not the file (its last good copy, defaults: config_in_force)."""
    from kustosz.config_in_force import config_state

    return Check("config", *config_state(root))


def run_checks(root: Path, send_test: bool = False, now: datetime | None = None) -> list[Check]:
    now = now or datetime.now(UTC)
    root = _absolute(root)
    config_ok = check_config(root) if (root / "kustosz.toml").is_file() else None
    if config_ok is not None and config_ok.status == FAIL:
        return [config_ok, check_modes(root)]  # nothing else can be read from the file
    config = read_config(root)  # not a vault at all: ConfigError, exit status 2
    checks = [c for c in (config_ok, check_modes(root)) if c is not None]
    try:
        vault = open_read_mostly(root, config)
    except KustoszError as exc:
        database = Check("database", FAIL, _one_line(str(exc)))
        vault = None
    else:
        database = None
    fact, when = _serving(vault)
    checks.append(check_tls(config, now, fact, when))
    checks.append(check_clock())
    if database is not None:
        checks.append(database)
    if vault is not None:
        try:
            checks.append(check_space(vault, now))
            checks.append(check_alerts(vault, when))
            if send_test:
                checks.extend(send_tests(vault, now))
            checks.append(check_witness(config))
            checks.append(check_witness_identity(config, root))
            checks += [check_allowlist(vault), check_accessibility(vault.policy)]
            if config.s3 is not None:
                checks.append(check_object_store(config))
                checks.append(check_delete_rights(config, root))
                checks.append(check_seaweedfs())
        except Exception as exc:  # e.g. a schema older than this program: say so, go on
            checks.append(Check("database", FAIL, f"cannot be read ({type(exc).__name__}: "
                                f"{_one_line(str(exc))[:160]}); start the vault once "
                                "(kustosz serve) to upgrade it"))
        finally:
            # Its state is read apart: a database that cannot be read means "never".
            checks.append(check_backup(root, vault, now))
            vault.close()
    else:
        checks += [check_witness(config), check_witness_identity(config, root)]
        checks.append(check_backup(root, None, now))
    return checks


@fails_cleanly
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    send_test: bool = typer.Option(False, "--send-test",
                                   help="Send a test message through each configured alert "
                                        "channel and report each result."),
) -> None:
    """Check this deployment (file modes, TLS, clock, free space, alert channels, audit
    witness, allow-list, accessibility statement, backup; on an object store, who may
    delete, and no SeaweedFS filer, master or volume server open to this machine's accounts)
    and say what to fix. Changes nothing in the vault. Exit status 1 when a check FAILs."""
    checks = run_checks(data_dir(), send_test=send_test)
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        emit_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        width = max(len(c.check) for c in checks)
        for c in checks:
            typer.echo(f"{c.status:<7} {c.check:<{width}}  {c.detail}")
            if c.pl and c.status != OK:
                typer.echo(f"{'':<7} {'':<{width}}  {c.pl}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
