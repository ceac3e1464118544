"""Reading a ZIP that came from outside without believing it (issue 64 item 5): the one way
Kustosz opens a bundle's ZIP — a copy's (`kustosz bundle verify`) or a report's (`kustosz
report verify`). Nothing is extracted: the archive is judged from its headers first
(kustosz.zipread.layout, the rules and their words in kustosz.zipread.checks), then each file
is read from it a chunk at a time, hashed as it is read, and never past what it declares
(kustosz.zipread.content). Memory stays bounded, nothing is written to disk.

An archive is refused (ZipRefused, naming the entry and what is wrong) unless every tool a
receiver may open it with would show the same files: no two names for one file (also by
letters' case or Unicode form), no name leading outside the bundle, no link, folder or device,
no local header saying other than the central directory, no bytes before, between or after
the entries, no comment, no encryption but WinZip AES where allowed, no compression bomb."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from kustosz.zipread import checks, content, layout
from kustosz.zipread.names import q, r
from kustosz.zipread.refusal import ZipRefused, refused

__all__ = ["Archive", "Rules", "ZipRefused"]


@dataclass(frozen=True)
class Rules:
    """What one kind of bundle may hold."""

    # The only names it may hold (a report's five files); None: any safe name.
    names: frozenset[str] | None = None
    # Its entries may be WinZip AES encrypted, all of them (a copy's bundle for a medium).
    encrypted: bool = False
    password: str | None = None
    max_entries: int = 100_000
    max_ratio: int = 100  # inflated / stored, past 1 MiB


class Archive:
    """A judged archive, open for reading its files one at a time."""

    def __init__(self, path: Path, rules: Rules) -> None:
        self.path, self.rules = path, rules
        self._f: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            size = os.fstat(self._f.fileno()).st_size
            entries = layout.read(self._f, size, path, rules.max_entries, rules.names)
            self._judge(entries)
        except BaseException:
            self._f.close()
            raise
        self.entries = {e.name: e for e in entries}

    def _judge(self, entries: list[layout.Entry]) -> None:
        encrypted = [e for e in entries if e.aes is not None]
        if encrypted and not self.rules.encrypted:
            name = encrypted[0].name
            raise refused(self.path, f"entry {r(name)} is encrypted (this bundle never is)",
                          f"pozycja {q(name)} jest zaszyfrowana, a ten pakiet nigdy nie jest.")
        if encrypted and len(encrypted) != len(entries):
            name = next(e.name for e in entries if e.aes is None)
            raise refused(self.path, f"entry {r(name)} is not encrypted while the others are",
                          f"pozycja {q(name)} nie jest zaszyfrowana, choć pozostałe są.")
        if encrypted and not self.rules.password:
            raise content.wrong_password(self.path, "no password given")
        for e in entries:
            checks.ratio_allowed(self.path, e.name, e.csize, e.usize, self.rules.max_ratio)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def size(self, name: str) -> int:
        return self.entries[name].usize

    def read(self, name: str, limit: int) -> bytes:
        """A small file whole (a manifest, a signature, a key); one over ``limit`` refused."""
        e = self.entries[name]
        if e.usize > limit:
            raise refused(self.path, f"{name} declares {e.usize} bytes, more than the {limit} "
                          "it may have",
                          f"plik {q(name)} deklaruje {e.usize} B, więcej niż dopuszczalne "
                          f"{limit} B.")
        return b"".join(content.stream(self._f, e, self.rules.password, self.path))

    def sha256(self, name: str) -> str:
        """The file's SHA-256, read once from the archive."""
        h = hashlib.sha256()
        for chunk in content.stream(self._f, self.entries[name], self.rules.password,
                                    self.path):
            h.update(chunk)
        return h.hexdigest()


def open_archive(path: Path, rules: Rules) -> Archive:
    """The archive judged (ZipRefused when it may not be read), or a file not a ZIP refused."""
    try:
        return Archive(path, rules)
    except ZipRefused:
        raise
    except OSError as exc:
        raise refused(path, f"cannot be read ({exc.strerror})",
                      "nie daje się odczytać.") from None
