"""Asterisk-family call recording names, and keeping recording paths inside the spool.

FreePBX (and Issabel, which keeps its dialplan) names a recording
``<type>-<dest>-<from>-<YYYYMMDD-HHMMSS>-<uniqueid>.<ext>`` and files it under
``<spool>/YYYY/MM/DD/`` (the spool is usually ``/var/spool/asterisk/monitor``); the time in the
name is the PBX's local time when recording started. A plain Asterisk dialplan's
``MixMonitor(${UNIQUEID}.wav)`` names it ``<uniqueid>.<ext>``. Asterisk's uniqueid is
``<epoch>.<n>``, or ``<systemname>-<epoch>.<n>`` when ``systemname`` is set in asterisk.conf.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Literal
from zoneinfo import ZoneInfo

from kustosz.errors import KustoszError

__all__ = [
    "AUDIO_EXTENSIONS",
    "PLAIN_TYPE",
    "RECORDING_TYPES",
    "WARSAW",
    "Direction",
    "RecordingName",
    "RecordingNameError",
    "UnsafePathError",
    "parse_recording_name",
    "safe_relpath",
    "unsafe_relpaths",
]

WARSAW = ZoneInfo("Europe/Warsaw")

Direction = Literal["incoming", "outgoing", "internal", "unknown"]

# The type says which part of the dialplan started recording. Only in/out/internal tell the
# direction; for "external" FreePBX versions differ on which side was outside, and a ring group,
# queue, forced, on-demand or conference recording can be either way, so the numbers decide
# (kustosz.ingest.phone.scope.derive_direction).
RECORDING_TYPES: dict[str, Direction] = {
    "in": "incoming",
    "out": "outgoing",
    "internal": "internal",
    "external": "unknown",
    "exten": "unknown",
    "rg": "unknown",
    "q": "unknown",
    "force": "unknown",
    "ondemand": "unknown",
    "conf": "unknown",
    "page": "unknown",
}

AUDIO_EXTENSIONS = frozenset({"wav", "gsm", "mp3", "ogg", "opus", "wav49"})

# Asterisk's uniqueid, with the systemname Asterisk puts before it when one is set: a host
# name, which may hold hyphens, none of whose hyphenated parts is only digits (else a
# malformed FreePBX name, "in-201-202-20240115-1000-<uniqueid>", would read as one). The
# epoch has 9 to 12 digits, so it is a real time.
_SYSTEMNAME = r"(?:[A-Za-z0-9_.]*[A-Za-z_.][A-Za-z0-9_.]*-)+"
_UNIQUEID = rf"(?P<uniqueid>(?:{_SYSTEMNAME})?(?P<epoch>\d{{9,12}})\.\d+)"
_NAME = re.compile(
    r"^(?P<type>[A-Za-z]+)"
    r"-(?P<dest>[^-/\\]*)"
    # The caller ID may carry hyphens; the fixed tail below anchors where it ends.
    r"-(?P<src>[^/\\]*?)"
    r"-(?P<date>\d{8})-(?P<time>\d{6})"
    rf"-{_UNIQUEID}"
    r"\.(?P<ext>[A-Za-z0-9]+)$"
)
# MixMonitor(${UNIQUEID}.wav) of a plain Asterisk dialplan.
_PLAIN = re.compile(rf"^{_UNIQUEID}\.(?P<ext>[A-Za-z0-9]+)$")
PLAIN_TYPE = "uniqueid"


class RecordingNameError(KustoszError, ValueError):
    """A file name in the spool is not a recording name Kustosz knows."""


class UnsafePathError(KustoszError, ValueError):
    """A path that would lead outside the recording spool, or to something not a plain file."""


@dataclass(frozen=True, slots=True)
class RecordingName:
    """What a recording's file name says about the call."""

    type: str
    dest: str
    src: str
    started_local: datetime
    started: datetime
    uniqueid: str
    ext: str
    direction: Direction


def parse_recording_name(relpath: str | PurePath, *, tz: ZoneInfo = WARSAW) -> RecordingName:
    """Parse the file name of ``relpath``; the directories above it are not looked at.

    ``started_local`` is the naive local time from the name, ``started`` the same moment as an
    aware UTC datetime; a ``<uniqueid>.<ext>`` name (type ``uniqueid``, no numbers) starts at
    its uniqueid's epoch, when Asterisk created the channel. ``src`` is ``""`` for
    ``unknown``/``anonymous`` callers; ``ext`` is lower-case. Raises
    :class:`RecordingNameError` for a name matching neither form.
    """
    name = PurePath(relpath).name
    match = _NAME.match(name)
    plain = None if match else _PLAIN.match(name)
    if not match and not plain:
        raise RecordingNameError(
            f"not a FreePBX or Asterisk recording name: {name!r} (expected "
            "<type>-<dest>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext> or <uniqueid>.<ext>)",
            pl=f"To nie jest nazwa nagrania FreePBX ani Asteriska: „{name}” (oczekiwano "
               "<type>-<dest>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext> lub "
               "<uniqueid>.<ext>).",
        )
    found = match or plain
    assert found is not None
    ext = found.group("ext").lower()
    if ext not in AUDIO_EXTENSIONS:
        known = ", ".join(sorted(AUDIO_EXTENSIONS))
        raise RecordingNameError(
            f"not an audio file extension: {ext!r} in {name!r} (known: {known})",
            pl=f"„{ext}” w „{name}” nie jest rozszerzeniem pliku dźwiękowego (znane: {known}).",
        )
    if plain:
        started = datetime.fromtimestamp(int(plain.group("epoch")), UTC)
        return RecordingName(type=PLAIN_TYPE, dest="", src="",
                             started_local=started.astimezone(tz).replace(tzinfo=None),
                             started=started, uniqueid=plain.group("uniqueid"), ext=ext,
                             direction="unknown")
    assert match is not None
    kind = match.group("type").lower()
    if kind not in RECORDING_TYPES:
        known = ", ".join(sorted(RECORDING_TYPES))
        raise RecordingNameError(
            f"unknown recording type {kind!r} in {name!r} (known: {known})",
            pl=f"Nieznany rodzaj nagrania „{kind}” w „{name}” (znane: {known}).")
    stamp = match.group("date") + match.group("time")
    try:
        started_local = _stamp(stamp)
    except ValueError:
        raise RecordingNameError(f"impossible date or time in {name!r}",
                                 pl=f"Niemożliwa data lub godzina w „{name}”.") from None
    return RecordingName(
        type=kind,
        dest=_party(match.group("dest")),
        src=_party(match.group("src")),
        started_local=started_local,
        started=started_local.replace(tzinfo=tz).astimezone(UTC),
        uniqueid=match.group("uniqueid"),
        ext=ext,
        direction=RECORDING_TYPES[kind],
    )


def _stamp(stamp: str) -> datetime:
    """``YYYYMMDDHHMMSS`` read by position; strptime decides anything else it might accept
    (a third of a spool's format check was strptime's Python, bench/README.md, calls)."""
    if stamp.isascii():
        try:
            return datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]),
                            int(stamp[8:10]), int(stamp[10:12]), int(stamp[12:14]))
        except ValueError:
            pass
    return datetime.strptime(stamp, "%Y%m%d%H%M%S")


def safe_relpath(spool: Path, candidate: Path) -> Path:
    """Return ``candidate`` relative to ``spool``, refusing anything that leaves the spool.

    ``candidate`` is relative to the spool, or absolute and inside it. Refused: ``..``
    anywhere, absolute paths elsewhere, a symbolic link at any level below the spool (even
    one pointing inside it: a spool holds only what the PBX wrote), and anything that is not
    an existing regular file. Raises :class:`UnsafePathError`.

    The check is done on the file system as it is now; open the result with ``O_NOFOLLOW``
    so that a link put in its place afterwards is still refused.
    """
    root = Path(os.path.abspath(spool))
    try:
        real_root = root.resolve(strict=True)
    except (FileNotFoundError, RuntimeError) as exc:
        raise UnsafePathError(
            f"recording spool {str(spool)!r} does not exist ({exc})",
            pl=f"Katalog nagrań „{spool}” nie istnieje ({exc}).") from None
    if not real_root.is_dir():
        raise UnsafePathError(f"recording spool {str(spool)!r} is not a directory",
                              pl=f"Katalog nagrań „{spool}” nie jest katalogiem.")

    rel = _relative_to_spool(root, real_root, Path(candidate))
    if not rel.parts or any(part in ("", ".", "..") for part in rel.parts):
        raise UnsafePathError(
            f"refusing {str(candidate)!r}: '.' or '..' in a spool path, or no file name",
            pl=f"Odrzucono „{candidate}”: „.” lub „..” w ścieżce katalogu nagrań albo "
               "brak nazwy pliku.",
        )

    current = real_root
    for part in rel.parts:
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            raise UnsafePathError(
                f"refusing {str(candidate)!r}: {part!r} does not exist",
                pl=f"Odrzucono „{candidate}”: „{part}” nie istnieje.") from None
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePathError(
                f"refusing {str(candidate)!r}: {part!r} is a symbolic link, and a spool holds "
                "only plain files and directories",
                pl=f"Odrzucono „{candidate}”: „{part}” jest dowiązaniem symbolicznym, "
                   "a katalog nagrań zawiera tylko zwykłe pliki i katalogi.",
            )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError(f"refusing {str(candidate)!r}: not a regular file",
                              pl=f"Odrzucono „{candidate}”: to nie jest zwykły plik.")
    # Belt and braces: with no links on the way, the resolved path must still be inside.
    if not current.resolve().is_relative_to(real_root):
        raise UnsafePathError(
            f"refusing {str(candidate)!r}: it resolves outside the spool",
            pl=f"Odrzucono „{candidate}”: prowadzi poza katalog nagrań.")
    return rel


def _refusal(path: str, name: str, kind_ok: Callable[[int], bool], wrong_kind: str
             ) -> str | None:
    """Why the spool entry at ``path`` (shown as ``name``) is refused, or None: missing, a
    symbolic link, or not of the kind ``kind_ok`` accepts (then ``wrong_kind``)."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return f"{name!r} does not exist"
    if stat.S_ISLNK(info.st_mode):
        return f"{name!r} is a symbolic link, and a spool holds only plain files and directories"
    return None if kind_ok(info.st_mode) else wrong_kind


def unsafe_relpaths(spool: Path, rels: list[str]) -> dict[str, str]:
    """`safe_relpath` for a batch of spool-relative POSIX paths: what is wrong with each one
    refused (the ones not named are safe). The same refusals, but the spool is resolved once
    and each folder on the way is looked at once per batch, not once per file: a day's folder
    holds thousands of recordings. The file itself still gets its own lstat here."""
    out: dict[str, str] = {}
    try:
        real_root = Path(os.path.abspath(spool)).resolve(strict=True)
    except (FileNotFoundError, RuntimeError) as exc:
        return dict.fromkeys(rels, f"recording spool {str(spool)!r} does not exist ({exc})")
    if not real_root.is_dir():
        return dict.fromkeys(rels, f"recording spool {str(spool)!r} is not a directory")
    root = str(real_root)
    folders: dict[str, str | None] = {"": None}  # relative folder -> why refused, or None

    def folder(rel_dir: str) -> str | None:
        if rel_dir in folders:
            return folders[rel_dir]
        parent, _, part = rel_dir.rpartition("/")
        why = folder(parent)
        if why is None:
            # Not a folder: "does not exist", as lstat of a path below it would say.
            why = _refusal(os.path.join(root, rel_dir), part, stat.S_ISDIR,
                           f"{part!r} does not exist")
        folders[rel_dir] = why
        return why

    for rel in rels:
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            out[rel] = f"refusing {rel!r}: '.' or '..' in a spool path, or no file name"
            continue
        rel_dir, _, name = rel.rpartition("/")
        why = folder(rel_dir)
        if why is None:
            why = _refusal(os.path.join(root, rel), name, stat.S_ISREG, "not a regular file")
        if why is not None:
            out[rel] = f"refusing {rel!r}: {why}"
    return out


def _relative_to_spool(root: Path, real_root: Path, candidate: Path) -> Path:
    if not candidate.is_absolute():
        return candidate
    # Normalise lexically only ("a/../b"), so a ".." cannot be hidden by resolving it away.
    if ".." in candidate.parts:
        raise UnsafePathError(f"refusing {str(candidate)!r}: '..' in a spool path",
                              pl=f"Odrzucono „{candidate}”: „..” w ścieżce katalogu "
                                 "nagrań.")
    for base in (root, real_root):
        if candidate.is_relative_to(base):
            return candidate.relative_to(base)
    raise UnsafePathError(
        f"refusing {str(candidate)!r}: it is outside the spool {str(root)!r}",
        pl=f"Odrzucono „{candidate}”: leży poza katalogiem nagrań „{root}”.")


def _party(value: str) -> str:
    # FreePBX writes the caller ID as it came; these words mean the number was withheld.
    return "" if value.lower() in ("unknown", "anonymous", "restricted", "") else value
