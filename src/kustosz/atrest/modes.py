"""The data folder is Kustosz's own: 0700 folders, 0600 files, owned by the account it runs as.

Everything a vault holds — the index with its passwords, video, calls, full e-mails, the
spool, the office's keys — would otherwise be open to every local account, which would
bypass invariant 2 (every byte served is authorised and recorded) without a trace.

New files get their modes from the umask every entry point sets (`private_umask`). A vault
from before that (or one someone loosened) is repaired when it is opened: once the folder
itself is closed (0700) nothing inside can be reached by anyone else, so a full walk is only
needed when the folder was found open, and the start-up of a big vault stays cheap.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kustosz.errors import ConfigError

UMASK = 0o077
OTHERS = 0o077  # group and other bits: none may stay


def private_umask() -> None:
    """Every file and folder created from here on is the process owner's alone (ffmpeg and
    the other children inherit it)."""
    os.umask(UMASK)


@dataclass
class Repair:
    """What `make_private` changed: paths relative to the data folder."""

    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed)


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _refuse(path: Path, exc: OSError, root: Path) -> ConfigError:
    why = why_pl = exc.strerror or str(exc)
    if exc.errno in (errno.EPERM, errno.EACCES):
        why += " — it is not Kustosz's own, or it is immutable"
        why_pl += " — nie należy do Kustosza albo jest niezmienialny (immutable)"
    elif exc.errno == errno.EROFS:
        why += " — the file system is read-only"
        why_pl += " — system plików jest tylko do odczytu"
    return ConfigError(
        f"the data folder {root} is readable by other local accounts and Kustosz cannot "
        f"close it: chmod {path}: {why}; make the folder and its contents owned by the "
        f"account Kustosz runs as ({_owner(os.geteuid())}), then start again",
        pl=f"Katalog danych {root} jest dostępny dla innych kont na tym komputerze, a Kustosz "
           f"nie może go zamknąć: chmod {path}: {why_pl}; przekaż katalog i jego zawartość "
           f"kontu, na którym działa Kustosz ({_owner(os.geteuid())}), i uruchom go ponownie.")


def make_private(root: Path, fix: bool = True) -> Repair:
    """Close the data folder to other accounts, or refuse (ConfigError) if that cannot be done.

    With ``fix=False`` nothing is changed: the Repair lists what would be (`kustosz doctor`).

    A folder owned by another account is refused outright: its owner could open it again at
    any time, and files Kustosz wrote there would end up with two owners.
    """
    repair = Repair()
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return repair  # not a vault at all; read_config says so
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"the data folder {root} is not a folder",
                          pl=f"Katalog danych {root} nie jest katalogiem.")
    if st.st_uid != os.geteuid():
        raise ConfigError(
            f"the data folder {root} belongs to {_owner(st.st_uid)}, but Kustosz runs as "
            f"{_owner(os.geteuid())}: run Kustosz as the folder's owner (its files must be "
            "readable by no other account)",
            pl=f"Katalog danych {root} należy do konta {_owner(st.st_uid)}, a Kustosz działa jako "
               f"{_owner(os.geteuid())}: uruchom Kustosza jako właściciel katalogu (jego pliki nie "
               "mogą być czytelne dla żadnego innego konta).")
    if st.st_mode & OTHERS:
        # Inside first, the folder itself last: if anything inside refuses, the folder is
        # still found open next time and the whole walk is tried again.
        _walk(root, repair, fix)
        _tighten(root, root, st.st_mode, repair, ".", fix)
    _tighten_keys(root, repair, fix)
    return repair


def _walk(root: Path, repair: Repair, fix: bool = True) -> None:
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        for name in (*dirnames, *filenames):
            path = Path(dirpath, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue  # removed meanwhile (a sweep, a closed chunk)
            if stat.S_ISLNK(st.st_mode):
                continue  # Linux has no modes on symlinks; what they point to is elsewhere
            _tighten(root, path, st.st_mode, repair, fix=fix)


def _tighten_keys(root: Path, repair: Repair, fix: bool = True) -> None:
    # The keys are checked on every start, whatever the folder's mode: a few files.
    keys = root / "keys"
    if not keys.is_dir():
        return
    for path in (keys, *keys.iterdir()):
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode):
            _tighten(root, path, st.st_mode, repair, fix=fix)


def _tighten(root: Path, path: Path, mode: int, repair: Repair, shown: str | None = None,
             fix: bool = True) -> None:
    if not mode & OTHERS:
        return
    if fix:
        try:
            os.chmod(path, stat.S_IMODE(mode) & ~OTHERS)
        except OSError as exc:
            raise _refuse(path, exc, root) from None
    repair.changed.append(shown or path.relative_to(root).as_posix())
