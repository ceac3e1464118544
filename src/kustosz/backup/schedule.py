"""Scheduled backups under `kustosz serve`, from `[backup]` in kustosz.toml:

    [backup]
    folder = "/mnt/kopie/kustosz"   # each backup a subfolder named by its time (UTC)
    at = "02:30"                    # every day at this time of the office's zone
    passphrase_file = "/etc/kustosz/backup-passphrase"   # chmod 600
    keep = 7                        # the newest 7 are kept; older ones are removed

Each backup hard-links the media the previous one holds, so a week of daily backups costs
about one copy of the media plus what was new each day. A failed backup raises a
"backup_failed" alert (retried after `RETRY`); none succeeding within a day and `GRACE`
raises "backup_missing"; the next success clears both. The same loop keeps the deletion
journals of recent backups up to date (kustosz.backup.journal), with or without a schedule.
The loop beats serve's watchdog (kustosz.watchdog) as ``backup`` every turn and while it
waits; a backup is a known long step (`BACKUP_ALLOWANCE_S`).
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kustosz import config_schema as schema
from kustosz.backup import journal
from kustosz.backup import state as backup_state
from kustosz.backup.crypto import read_passphrase
from kustosz.backup.layout import MANIFEST
from kustosz.backup.progress import Logged
from kustosz.backup.snapshot import make_backup, note_failure
from kustosz.config import CONFIG_NAME
from kustosz.config_schema.backup import parse_at
from kustosz.db.models import Alert
from kustosz.db.outage import is_database_away
from kustosz.errors import ConfigError, KustoszError
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

log = logging.getLogger(__name__)
INTERVAL = timedelta(days=1)
GRACE = timedelta(hours=2)
RETRY = timedelta(hours=1)
TICK_S = 30.0
# The longest a turn without a backup may honestly take: the deletion journals and the
# schedule's state on a database that went silent (connect 10 s, an answer 60 s a step:
# db.deadline).
ALLOWANCE_S = 300.0
# A backup copies (or links) the whole vault: hours for terabytes onto a USB disk.
BACKUP_ALLOWANCE_S = 24 * 3600.0
FAILED, MISSING = "backup_failed", "backup_missing"


@dataclass(frozen=True)
class BackupSettings:
    folder: Path
    at: time
    passphrase_file: Path | None
    keep: int


def read_settings(root: Path, doc: schema.KustoszToml | None = None) -> BackupSettings | None:
    """``[backup]`` of the vault's kustosz.toml (``doc``: of the settings serve runs on instead,
    its last good copy or defaults: kustosz.config_fallback); None when there is none. What it
    may hold and its defaults: kustosz.config_schema.backup."""
    path = root / CONFIG_NAME
    if doc is not None:
        table = doc.backup
    else:
        try:
            data = schema.parse(path)
        except ConfigError:
            return None  # read_config reports a broken file; this is not the place
        table = schema.table("backup", data, path, root)
    if table is None:
        return None
    return BackupSettings((root / table.folder).resolve(), parse_at(table.at),
                          root / table.passphrase_file if table.passphrase_file else None,
                          table.keep)


def check_folder(folder: Path) -> None:
    """The schedule's folder exists: it is never made, so that a share that is not mounted
    fails loudly instead of filling the mount point on the system disk."""
    if not folder.is_dir():
        raise ConfigError(f"the backup folder {folder} does not exist (a share not mounted?); "
                          "create it (chmod 700) or mount it",
                          pl=f"Katalog kopii {folder} nie istnieje (niepodłączony udział "
                             "sieciowy?); utwórz go (chmod 700) albo podłącz.")


def last_due(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The latest scheduled instant at or before ``now``."""
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), at, tzinfo=zone)
    if today > local:
        today = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return today.astimezone(UTC)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def finished(folder: Path) -> list[Path]:
    """The finished backups in the schedule's folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file())


_STAMP = re.compile(r"^\d{8}T\d{6}Z\Z")


def _remove_unfinished(folder: Path) -> None:
    """What a scheduled backup cut short left (serve stopped or killed in the middle): a
    folder named like the schedule's without a manifest is no backup."""
    for path in folder.iterdir():
        if path.is_dir() and _STAMP.match(path.name) and not (path / MANIFEST).exists():
            log.warning("removing the unfinished backup %s", path)
            shutil.rmtree(path, ignore_errors=True)


def run_scheduled(vault: Vault, settings: BackupSettings, now: datetime,
                  actor: str = "scheduler") -> Path | None:
    """One scheduled backup; alerts raised or cleared. Returns the new folder or None."""

    dest = settings.folder / now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        passphrase = read_passphrase(settings.passphrase_file)
        check_folder(settings.folder)
        _remove_unfinished(settings.folder)
        previous = finished(settings.folder)
        # hours for months of media: serve's log says how far it got and how long is left
        make_backup(vault, dest, passphrase, base=previous[-1] if previous else None,
                    actor=actor, now=now, progress=Logged())
    except Exception as exc:
        why = str(exc) if isinstance(exc, KustoszError) else f"{type(exc).__name__}: {exc}"
        log.error("scheduled backup into %s failed: %s", dest, why)
        if dest.exists() and not (dest / MANIFEST).exists():
            shutil.rmtree(dest, ignore_errors=True)  # an unfinished backup is no backup
        try:
            note_failure(vault, dest, why, now)
            _raise(vault, FAILED, "Kopia zapasowa skarbca nie powiodła się "
                   f"({now.astimezone(vault.policy.timezone):%Y-%m-%d %H:%M}). Przyczyna: "
                   f"{getattr(exc, 'pl', None) or why} Kolejna próba za godzinę.")
        except Exception:
            log.exception("could not record the failed backup")
        return None
    for old in finished(settings.folder)[:-settings.keep]:
        shutil.rmtree(old, ignore_errors=True)  # links: the newer backups keep their files
    _clear(vault, (FAILED, MISSING))
    log.info("scheduled backup written to %s", dest)
    return dest


def _raise(vault: Vault, kind: str, message: str) -> None:
    with vault.transaction() as s:
        if s.execute(select(Alert.id).where(Alert.kind == kind,
                                            Alert.cleared_at.is_(None))).first() is None:
            s.add(Alert(raised_at=datetime.now(UTC), kind=kind, message=message))


def _clear(vault: Vault, kinds: tuple[str, ...]) -> None:
    with vault.transaction() as s:
        for alert in s.execute(select(Alert).where(Alert.kind.in_(kinds),
                                                   Alert.cleared_at.is_(None))).scalars():
            alert.cleared_at = datetime.now(UTC)


def tick(vault: Vault, settings: BackupSettings | None, now: datetime,
         progress: Loop | None = None) -> None:
    """One pass of the schedule: back up when due, raise "backup_missing" when overdue.
    ``progress``: the loop's watchdog registration (a backup is a long step)."""
    if settings is None:
        return
    with vault.reading() as s:
        st = backup_state.load(s)
    if "scheduled_since" not in st:
        st = backup_state.update(vault, lambda x: x.setdefault("scheduled_since",
                                                                now.isoformat()))
    due = last_due(now, settings.at, vault.policy.timezone)
    ok = _at((st.get("last_ok") or {}).get("at"))
    failed = _at((st.get("last_failed") or {}).get("at"))
    if (ok is None or ok < due) and (failed is None or failed < due or now - failed >= RETRY):
        with progress.busy(BACKUP_ALLOWANCE_S) if progress is not None else nullcontext():
            made = run_scheduled(vault, settings, now)
        if made is not None:
            return
        with vault.reading() as s:
            st = backup_state.load(s)
        ok = _at((st.get("last_ok") or {}).get("at"))
    since = ok or _at(st.get("scheduled_since")) or now
    if now - since > INTERVAL + GRACE:
        shown = ok.astimezone(vault.policy.timezone).strftime("%Y-%m-%d %H:%M") if ok \
            else None
        _raise(vault, MISSING, "Brak aktualnej kopii zapasowej skarbca: "
               + (f"ostatnia udana powstała {shown}." if shown
                  else "żadna kopia jeszcze się nie udała.")
               + f" Kopie mają powstawać codziennie o {settings.at:%H:%M} w katalogu "
                 f"{settings.folder}.")


def run_backups(vault: Vault, stop: threading.Event,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """`kustosz serve`'s loop: the schedule of [backup] and the deletion journals."""
    shipped = 0.0
    away_since: datetime | None = None
    progress = progress_of(vault).loop("backup", ALLOWANCE_S)
    while not stop.is_set():
        progress.beat()
        try:
            now = clock()
            if now.timestamp() - shipped >= journal.SHIP_S:
                journal.ship(vault)
                shipped = now.timestamp()
            try:
                # the file refused at the start: the schedule of the settings in force
                on = vault.config.doc if vault.in_force.kind != "file" else None
                settings = read_settings(vault.root, on)
            except ConfigError as exc:
                _raise(vault, FAILED, f"Kopie zapasowe nie są wykonywane: {exc.pl or exc}")
                settings = None
            progress.beat()
            tick(vault, settings, now, progress)
            if away_since is not None:
                log.info("the backup schedule goes on: the database answers again")
                away_since = None
        except Exception as exc:
            # The database away (issue 27): tried again every tick (a bounded pause), said
            # once when it began rather than with a traceback every TICK_S.
            if not is_database_away(exc):
                log.exception("the backup schedule failed; retrying")
            elif away_since is None:
                away_since = clock()
                log.warning("the backup schedule waits: the database is away (%s); trying "
                            "again every %.0f s", type(exc).__name__, TICK_S)
        progress.wait(stop, TICK_S)
    progress.forget()  # stopped on purpose: no hang
