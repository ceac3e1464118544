"""A small disk for the full-disk tests (issue 14 item 10): a tmpfs mounted for one test
(root only; skipped with the reason otherwise), and a ballast that fills it to the last byte
the way another program's file would."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(where: Path, size_mib: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the full-disk tests mount a small tmpfs, which needs root")
    if not shutil.which("mount"):
        pytest.skip("no mount(8) here")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700",
                           "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path) -> int:
    """Take every free byte of ``path``'s disk with one file; returns its size."""
    free = shutil.disk_usage(path.parent).free
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if free > 0:
            with contextlib.suppress(OSError):
                os.posix_fallocate(fd, os.fstat(fd).st_size, free)
        block = b"\0" * 4096
        while True:  # what fallocate left (metadata rounding): by hand to ENOSPC
            try:
                os.write(fd, block)
            except OSError:
                break
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def truncate_wal(db: Path) -> None:
    """SQLite reuses its WAL file's blocks after a checkpoint: truncated, every write needs
    new ones, as on a vault whose WAL was last checkpointed with TRUNCATE."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
