"""The reserve: a preallocated file in the data folder that the vault gives back to the disk
when it runs out of space, so that the disk-pressure sweep can still write what it must
(deletion records, audit entries, the alert, SQLite's journal) on a disk that is full.

Without it a full disk stops the vault for good: deleting material is itself a write (issue
14, point 10: at 0 % free the sweep failed on its own records and nothing recovered). The
file is made with fallocate, so its blocks really are taken (a sparse file would hold
nothing back); it is released first when the disk is full and made again once there is room.

The reserve counts as free space when the vault decides whether the disk is short
(`effective_free`): making it or releasing it never by itself starts or ends disk pressure.
Its size is `[storage] reserve_mib` (64 MiB by default; 0: none), at most half of the
`min_free_percent` margin (and at most half a percent of the disk when there is no margin),
so on a small disk it stays inside the margin it protects.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
RESERVE_NAME = "reserve.bin"
DEFAULT_BYTES = 64 << 20


@dataclass(frozen=True)
class Space:
    free: int  # bytes free on the data folder's disk now
    total: int
    reserve: int  # bytes the reserve holds now (0 while released)

    @property
    def effective_free(self) -> int:
        return self.free + self.reserve


def reserve_size(total: int, min_free_percent: float, wanted: int = DEFAULT_BYTES) -> int:
    """The reserve's size on a disk of ``total`` bytes."""
    margin = total * max(min_free_percent, 1.0) / 100
    return max(0, min(wanted, int(margin / 2)) // 4096 * 4096)


class Reserve:
    def __init__(self, root: Path, min_free_percent: float, wanted: int = DEFAULT_BYTES) -> None:
        self.root = root
        self.path = root / RESERVE_NAME
        self.min_free_percent = min_free_percent
        self.wanted = wanted

    def held(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def space(self) -> Space:
        usage = shutil.disk_usage(self.root)
        return Space(usage.free, usage.total, self.held())

    def size(self, total: int | None = None) -> int:
        return reserve_size(total if total is not None else shutil.disk_usage(self.root).total,
                            self.min_free_percent, self.wanted)

    def release(self) -> int:
        """Give the reserve back to the disk; returns the bytes freed (0 if it was not there).
        Unlinking needs no free space, which is the point."""
        held = self.held()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return 0
        if held:
            log.warning("disk full: released the %.1f MiB reserve so that the vault can free "
                        "space", held / (1 << 20))
        return held

    def ensure(self) -> bool:
        """Make the reserve if it is missing and the disk has room for it beside the margin
        (``min_free_percent`` must stay free with the reserve counted as free). Returns True
        when the reserve is in place afterwards."""
        space = self.space()
        size = self.size(space.total)
        if size <= 0:
            self.path.unlink(missing_ok=True)  # one left from an earlier setting
            return False
        if space.reserve >= size:
            return True
        if space.free < size or \
                space.effective_free * 100 < space.total * self.min_free_percent:
            return False
        tmp = self.path.with_suffix(".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:  # e.g. the disk filled meanwhile: no reserve yet, try later
            tmp.unlink(missing_ok=True)
            log.warning("cannot make the disk reserve (%s); trying again later", exc)
            return False
        log.info("disk reserve of %.1f MiB in place (%s)", size / (1 << 20), self.path)
        return True


def reserve_of(root: Path, min_free_percent: float) -> Reserve:
    return Reserve(root, min_free_percent)
