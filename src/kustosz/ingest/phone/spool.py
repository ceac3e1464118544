"""Looking at a PBX's recording spool without ever disturbing it (R1.5, fail-open).

Only ``os.walk``/``lstat``/reads: no locks, no writes. A file is taken only once two looks
some seconds apart see the same size and mtime, since Asterisk keeps appending to a recording
for as long as the call lasts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import struct
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kustosz.errors import KustoszError
from kustosz.ingest.phone.sidecar import SIDECAR_SUFFIXES
from kustosz.words import count_pl

__all__ = ["AudioError", "Look", "audio_seconds", "item_hash", "item_hashes", "look", "stable"]

_GSM_FRAME = 33  # raw GSM 06.10: headerless 33-byte frames


class AudioError(KustoszError, ValueError):
    """A spool file that is empty or not audio in the format its name claims."""


@dataclass(frozen=True, slots=True)
class Look:
    """What one walk of the spool saw: files by POSIX relpath, and refused entries."""

    files: dict[str, tuple[int, int]]  # relpath -> (size, mtime_ns)
    refused: dict[str, str]  # relpath -> why (symbolic links and other non-files)


def look(spool: Path) -> Look:
    files: dict[str, tuple[int, int]] = {}
    refused: dict[str, str] = {}
    top = os.fspath(spool)
    # Plain strings, not pathlib: this runs twice a pass over every file of the spool, and
    # building two Path objects a file cost more than its lstat.
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        rel_dir = os.path.relpath(dirpath, top).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                refused[prefix + name] = (
                    "a symbolic link to a directory; a spool holds only what the PBX wrote")
        for name in filenames:
            rel = prefix + name
            if name.lower().endswith(SIDECAR_SUFFIXES) and not name.startswith("."):
                continue  # sidecars are read with their audio file
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue  # removed between listing and looking
            if stat.S_ISLNK(info.st_mode):
                refused[rel] = "a symbolic link; a spool holds only plain files"
            elif stat.S_ISREG(info.st_mode):
                files[rel] = (info.st_size, info.st_mtime_ns)
            else:
                refused[rel] = "not a regular file"
    return Look(files, refused)


def stable(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    """Files two looks saw unchanged: the PBX has stopped writing them."""
    return {rel for rel, seen in after.items() if before.get(rel) == seen}


def item_hash(key: str, relpath: str) -> str:
    """Names a spool file in the index without writing its path (which holds numbers)."""
    return item_hashes(key, (relpath,))[relpath]


def item_hashes(key: str, relpaths: Iterable[str]) -> dict[str, str]:
    """`item_hash` of each of ``relpaths``, by path: the key's HMAC state made once and
    copied per path (a pass names each file by it; 30 000 key set-ups were a tenth of the
    intake's checking, bench/README.md, calls)."""
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)
    out: dict[str, str] = {}
    for rel in relpaths:
        h = base.copy()
        h.update(rel.encode())
        out[rel] = h.hexdigest()
    return out


_HEAD = 4096  # one read: what a recorder writes before the samples fits in it


def _pcm_seconds(head: bytes) -> float | None:
    """The length of a plain PCM WAV file (what MixMonitor writes) from the first bytes, as
    the wave module would compute it (data bytes // frame size / rate), without its dozen
    small reads; None for anything else (then the wave module decides)."""
    at = 12
    fmt: tuple[int, int] | None = None  # (bytes a frame, frames a second)
    size: int  # struct's values are untyped: "<I" reads an unsigned integer
    while at + 8 <= len(head):
        chunk, size = head[at:at + 4], struct.unpack_from("<I", head, at + 4)[0]
        if chunk == b"fmt ":
            if at + 8 + 16 > len(head):
                return None
            tag, channels, rate, _bps, _align, bits = struct.unpack_from("<HHIIHH", head, at + 8)
            if tag != 1 or not channels or not rate or not bits:  # WAVE_FORMAT_PCM only
                return None
            fmt = (channels * ((bits + 7) // 8), rate)
        elif chunk == b"data":
            if fmt is None:
                return None  # the wave module refuses data before fmt
            return size // fmt[0] / fmt[1]
        at += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def audio_seconds(path: Path, ext: str, size: int) -> float | None:
    """Check that ``path`` is audio of type ``ext``; its length in seconds when the header
    tells it. Raises :class:`AudioError` otherwise."""
    if size == 0:
        raise AudioError("zero-length file (nothing was recorded)",
                         pl="Plik jest pusty (nic nie zostało nagrane).")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as stream:
        first = stream.read(_HEAD)
        head = first[:12]
        if ext in ("wav", "wav49"):
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise AudioError(
                    f"not a WAV file (no RIFF/WAVE header) although named .{ext}",
                    pl=f"To nie jest plik WAV (brak nagłówka RIFF/WAVE), choć ma "
                       f"rozszerzenie .{ext}.")
            seconds = _pcm_seconds(first)
            if seconds is not None:
                return seconds
            stream.seek(0)
            try:
                with wave.open(stream) as w:
                    rate = w.getframerate()
                    return w.getnframes() / rate if rate else None
            except (wave.Error, EOFError):
                return None  # e.g. GSM-in-WAV (WAV49), which the wave module cannot decode
        if ext in ("ogg", "opus"):
            if head[:4] != b"OggS":
                raise AudioError(
                    f"not an Ogg file (no OggS header) although named .{ext}",
                    pl=f"To nie jest plik Ogg (brak nagłówka OggS), choć ma rozszerzenie .{ext}.")
            return None
        if ext == "mp3":
            if not (head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF
                                           and head[1] & 0xE0 == 0xE0)):
                raise AudioError("not an MP3 file (neither ID3 tag nor frame sync)",
                                 pl="To nie jest plik MP3 (brak znacznika ID3 i synchronizacji "
                                    "ramek).")
            return None
        if ext == "gsm":
            if size % _GSM_FRAME:
                raise AudioError(
                    f"not raw GSM audio ({size} bytes is not whole 33-byte frames)",
                    pl=f"To nie jest surowy dźwięk GSM "
                       f"({count_pl(size, 'bajt', 'bajty', 'bajtów')} to nie całe "
                       "33-bajtowe ramki).")
            return size / _GSM_FRAME * 0.02
    raise AudioError(f"not an audio file type Kustosz knows: .{ext}",
                     pl=f"Kustosz nie zna takiego rodzaju pliku dźwiękowego: .{ext}.")
