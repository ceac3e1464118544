"""The folder's part of `offices adopt`: its steps, their undoing, and a journal that lets an
adoption cut off by a crash (a power cut, SIGKILL: nothing of ours runs to undo it) be
finished or undone by the next `offices adopt` of the same office.

The journal (``adopting.json`` in the vault's folder, 0600, written durably before any other
step) holds the vault's kustosz.toml and serve's last-good copy as they were, where the folder
came from and goes to, and whether a passfile was added. Whether the adoption counts is the
database's to say: on PostgreSQL the office's schema exists only once the move's transaction
committed; on SQLite the adoption's audit entry is written once the folder is in place. So a
journal found with the adoption committed is removed (the adoption is finished), and one found
without it is played back (the vault is put back as it was).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from kustosz.config import CONFIG_NAME
from kustosz.config_keep import last_good
from kustosz.errors import InputError
from kustosz.fsutil import replace, write_atomic
from kustosz.installation.pg_scope import PASSFILE

JOURNAL = "adopting.json"


class FolderMove:
    """The folder's steps, each undone in reverse when anything after it fails."""

    def __init__(self, source: Path, target: Path, text: str, new_text: str) -> None:
        self.source, self.target, self.text, self.new_text = source, target, text, new_text
        self.passfile: Path | None = None
        self.config_written = self.renamed = False
        self.kept: bytes | None = None  # kustosz.toml.last-good, set aside

    def check(self) -> None:
        """Refused before anything is done when kustosz.toml must change but is a link (the
        Debian package's, to a file root keeps): writing here would cut the office off it."""
        path = self.source / CONFIG_NAME
        if self.new_text != self.text and path.is_symlink():
            raise InputError(
                f"{path} is a link to {os.path.realpath(path)}, and the adoption must write "
                "the office's settings (database_url, paths) into it; as root, put the file "
                "itself in the vault's folder (cp --remove-destination), adopt, then link it "
                "again if the package wants it so",
                pl=f"{path} jest dowiązaniem do {os.path.realpath(path)}, a przyjęcie musi "
                   "zapisać w nim ustawienia urzędu (database_url, ścieżki); jako root umieść "
                   "sam plik w folderze skarbca (cp --remove-destination), przyjmij skarbiec, "
                   "a potem w razie potrzeby przywróć dowiązanie.")

    def do(self, write_passfile: Callable[[Path], None] | None = None) -> None:
        changes = self.new_text != self.text
        kept = last_good(self.source / CONFIG_NAME)
        # serve's last accepted copy names the old database and paths: a start falling back
        # on it would open what is no longer the office's. serve keeps a new one.
        saved = kept.read_bytes() if changes and kept.is_file() else None
        write_atomic(self.source / JOURNAL, json.dumps({
            "source": str(self.source), "target": str(self.target), "config": self.text,
            "last_good": base64.b64encode(saved).decode() if saved is not None else None,
            "passfile": write_passfile is not None}, ensure_ascii=False), mode=0o600)
        if write_passfile is not None:
            self.passfile = self.source / "keys" / PASSFILE
            write_passfile(self.passfile)
        if changes:
            write_atomic(self.source / CONFIG_NAME, self.new_text, mode=0o600)
            self.config_written = True
            if saved is not None:
                self.kept = saved
                kept.unlink()
        # same file system (checked before); both folders' entries flushed: the journal
        # decides what a power cut left, so the rename itself must not be lost
        replace(self.source, self.target, sync_source=False)
        self.renamed = True

    def undo(self) -> None:
        if self.renamed:
            replace(self.target, self.source, sync_source=False)
            self.renamed = False
        if self.kept is not None:
            write_atomic(last_good(self.source / CONFIG_NAME), self.kept, mode=0o600)
            self.kept = None
        if self.config_written:
            write_atomic(self.source / CONFIG_NAME, self.text, mode=0o600)
            self.config_written = False
        if self.passfile is not None:
            self.passfile.unlink(missing_ok=True)
            self.passfile = None
        (self.source / JOURNAL).unlink(missing_ok=True)

    def finished(self) -> None:
        """The adoption counts (committed): its journal goes."""
        (self.target / JOURNAL).unlink(missing_ok=True)


def interrupted(source: Path, target: Path) -> Path | None:
    """The folder holding the journal of an adoption of ``source`` as ``target`` that was cut
    off, or None."""
    for where in (target, source):
        if (where / JOURNAL).is_file():
            return where
    return None


def recover(where: Path, source: Path, target: Path,
            committed: Callable[[Path], bool]) -> bool:
    """Finish (True) or undo (False) the interrupted adoption whose journal is in ``where``;
    ``committed(target)`` says whether its database step was committed."""
    journal = where / JOURNAL
    data = json.loads(journal.read_text("utf-8"))
    if (Path(data["source"]), Path(data["target"])) != (source, target):
        raise InputError(
            f"{journal} records an interrupted adoption of {data['source']} as "
            f"{data['target']}; run `offices adopt` for that vault and office to finish or undo "
            "it first",
            pl=f"{journal} zapisuje przerwane przyjęcie skarbca {data['source']} jako "
               f"{data['target']}; najpierw uruchom `offices adopt` dla tego skarbca i urzędu, "
               "aby je dokończyć albo wycofać.")
    if where == target and committed(target):
        journal.unlink()
        return True
    if where == target:
        if source.exists():
            raise InputError(
                f"an interrupted adoption left the vault in {target}, and {source} exists "
                "again; move one of them aside, then adopt again",
                pl=f"Przerwane przyjęcie pozostawiło skarbiec w {target}, a {source} znów "
                   "istnieje; odsuń jeden z nich i ponów przyjęcie.")
        replace(target, source, sync_source=False)
    write_atomic(source / CONFIG_NAME, data["config"], mode=0o600)
    if data["last_good"] is not None:
        write_atomic(last_good(source / CONFIG_NAME), base64.b64decode(data["last_good"]),
                     mode=0o600)
    if data["passfile"]:
        (source / "keys" / PASSFILE).unlink(missing_ok=True)
    (source / JOURNAL).unlink()
    return False
