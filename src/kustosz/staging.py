"""Folders a process builds something in before moving it into place whole, named after the
process that made them — its machine, boot, PID and start time — so that one a killed process
left is told apart from one a running process is still filling, and removed by the next run.

Issue 64: a report job killed between signing its bundle and moving it onto the shelf left a
complete signed duplicate under reports/ for good (a copy's making, the same in copies/). A
folder's maker is alive only while a process of that PID with that start time runs in this
boot; a PID used again later has another start time, a reboot another boot. A folder another
machine made (nodes sharing one data folder) is that machine's to judge, and left alone. A
folder of the old form (no maker in its name) was left by a run of an earlier version."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "host"


def _boot() -> str:
    try:
        return BOOT_ID.read_text().strip().replace("-", "")[:12]
    except OSError:
        return "noboot"


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks after boot), or None when it is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces and brackets: split after it.
    return stat.rsplit(")", 1)[1].split()[19]


def maker() -> str:
    """This process, as a staging folder's name carries it."""
    return f"{_host()}-{_boot()}-{os.getpid()}-{_started(os.getpid())}"


def make(parent: Path, prefix: str) -> Path:
    """A new staging folder under ``parent`` (made if missing), named ``prefix`` + maker."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{maker()}-", dir=parent))


def fresh(parent: Path, prefix: str) -> Path:
    """A new staging folder, after removing those under ``parent`` a dead maker left."""
    clean(parent, prefix)
    return make(parent, prefix)


def _left(tag: str) -> bool:
    """The folder's maker (the name's tag) is gone; another machine's is never judged here."""
    parts = tag.rsplit("-", 4)  # host-boot-pid-start-random, none of them holding a "-"
    if len(parts) != 5 or not parts[2].isdigit():
        return True  # the old form, or no maker at all
    host, boot, pid, started = parts[0], parts[1], int(parts[2]), parts[3]
    if host != _host():
        return False
    return boot != _boot() or _started(pid) != started


def clean(parent: Path, prefix: str) -> list[Path]:
    """Remove every ``prefix`` staging folder under ``parent`` whose maker is gone."""
    removed: list[Path] = []
    try:
        found = [p for p in parent.iterdir()
                 if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()]
    except FileNotFoundError:
        return removed
    except OSError as exc:  # a folder it may not read: the next run tries again
        log.warning("cannot look for leftovers in %s: %s", parent, exc)
        return removed
    for folder in found:
        if not _left(folder.name[len(prefix):]):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
            log.info("removed %s, left by a run that did not finish", folder)
    return removed
