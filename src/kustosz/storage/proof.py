"""What a stored local file was when its content was proven: its stamp (issue 68 item 1).

Playback used to hash every segment against the index's SHA-256 on every request (5.6 MB,
~4 ms of CPU a request on an Intel Xeon with SHA-NI). Now the first request that hashes a
file and finds the indexed content writes its stamp — device, inode, size, mtime and ctime
in nanoseconds — into the recording's row (`recordings.file_stamp`), and a later request
whose open file shows the very same stamp is served without hashing it again.

What the stamp catches, at the request: every change made through the file system. A write
moves mtime and ctime; a write whose mtime is then set back still moves ctime, which no
program can set (only the kernel's clock does); a chmod, a new hard link, a rename or a file
put in the key's place change ctime or the inode. The files are read-only besides
(`LocalStorage` clears their write bits when it stores them), so changing one at all takes a
chmod first. What it cannot catch: a change below the file system (a disk's bit rot, a write
to the raw device, debugfs), which leaves the inode as it was — that is the scheduled check's
to find (`kustosz.maintenance.files_check`: every stored file hashed again, its recording
marked missing and the `storage_missing_versions` alert raised when it differs).

Only a store whose `local_path` hands out the stored file itself keeps stamps
(`keeps_files`); an object store's content is copied to scratch for each read and hashed as
before (its versions are pinned and locked by the store).
"""

from __future__ import annotations

import os
import stat
from typing import Any

# Where a stored file's write bits go: cleared (and kept cleared) when it is stored.
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def stamp_of(st: os.stat_result) -> str:
    """The stamp of a file as ``st`` shows it."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def keeps_files(storage: Any) -> bool:
    """Whether ``storage`` serves its own files (a stamp then names the stored file)."""
    return bool(getattr(storage, "keeps_files", False))


def read_only(fd: int) -> None:
    """Clear the write bits of the open file ``fd`` (before it gets its key)."""
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & WRITE_BITS:
        os.fchmod(fd, mode & ~WRITE_BITS)
