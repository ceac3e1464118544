"""kustosz.toml.last-good: the last configuration `kustosz serve` accepted, kept beside the file
so that a start whose file is refused records on it instead of exiting (issue 64 item 6;
kustosz.config_fallback reads it).

Who writes it:

* serve, where the file is its own (the README's install: the data folder's kustosz.toml,
  the service account's, 0600) — at each start on the file and each reload that takes it;
* root, where the file is root's (the Debian package: /etc/kustosz/kustosz.toml, root:kustosz
  0640, which the service must not be able to write: it would choose its own settings) —
  `kustosz config keep-last-good --config FILE`, which the package's unit runs as root before
  each start and each reload (packaging/deb/kustosz.service.d-last-good.conf). Root writes only
  beside a file that it alone can change, in folders only root can change (the witness
  identity's rule, audit.identity.untrusted), named on its command line: never found through
  the data folder's link, which the service account owns and could point anywhere.

How: owned and moded like the file; written atomically (a temporary name made with
O_EXCL|O_NOFOLLOW, fsync, rename over the old copy, fsync of the folder), every step relative
to the folder's descriptor, so a link planted under either name is replaced, never followed;
and read back with O_NOFOLLOW."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from kustosz.audit.identity import untrusted
from kustosz.config_schema import CONFIG_NAME
from kustosz.fsutil import write_atomic_at

SUFFIX = ".last-good"
MAX_BYTES = 1 << 20  # a kustosz.toml is a few KB; a larger "last good" is not one


class NotOurs(Exception):
    """This process may not write the copy (the file is another account's: root keeps it)."""


def settings_file(root: Path) -> Path:
    """The file the data folder's kustosz.toml is (a link to /etc in the Debian package)."""
    return Path(os.path.realpath(root / CONFIG_NAME))


def last_good(file: Path) -> Path:
    return file.with_name(file.name + SUFFIX)


def read_kept(path: Path) -> bytes:
    """A kept copy's bytes, never through a link (ELOOP) and never more than MAX_BYTES."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_BYTES} bytes", str(path))
    return data


def why_not_ours(file: Path, st: os.stat_result) -> str | None:
    """Why this process may not write beside ``file`` (None: it may)."""
    euid = os.geteuid()
    if euid == 0:
        problems = untrusted(file)
        return "; ".join(problems) if problems else None
    folder = os.stat(file.parent)
    if st.st_uid != euid or folder.st_uid != euid:
        return (f"{file} (uid {st.st_uid}) or its folder (uid {folder.st_uid}) is not this "
                f"account's (uid {euid}): root keeps its last good copy "
                "(kustosz config keep-last-good)")
    if folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"the folder {file.parent} is writable by its group or by others"
    return None


def keep(file: Path, raw: bytes) -> Path | None:
    """``raw`` — the bytes of ``file`` as they were accepted — kept as its last good copy; the
    copy's path, or None when it holds them already (with the file's owner and mode).
    NotOurs when this process may not write there; OSError when writing fails."""
    st = os.stat(file)
    why = why_not_ours(file, st)
    if why:
        raise NotOurs(why)
    target = last_good(file).name
    mode = stat.S_IMODE(st.st_mode)
    folder = os.open(file.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if _holds(folder, target, raw, st, mode):
            return None
        def own(fd: int) -> None:
            if os.geteuid() == 0:
                os.fchown(fd, st.st_uid, st.st_gid)
            else:  # the file's group where this account is in it
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, -1, st.st_gid)
            os.fchmod(fd, mode)
        write_atomic_at(folder, target, raw, own)
    finally:
        os.close(folder)
    return last_good(file)


def _holds(folder: int, name: str, raw: bytes, st: os.stat_result, mode: int) -> bool:
    """The copy there already holds ``raw``, owned and moded like the file."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=folder)
    except OSError:
        return False
    with open(fd, "rb") as f:
        have = os.fstat(f.fileno())
        owner = (have.st_uid, have.st_gid) == (st.st_uid, st.st_gid) if os.geteuid() == 0 \
            else have.st_uid == st.st_uid
        if not stat.S_ISREG(have.st_mode) or stat.S_IMODE(have.st_mode) != mode or not owner:
            return False
        return f.read(MAX_BYTES + 1) == raw
