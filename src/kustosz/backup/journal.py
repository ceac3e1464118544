"""The deletions made after a backup, appended to its `deletions.jsonl` and applied by a restore.

A backup is a picture of one moment; the sweep goes on deleting material whose period has ended
(and, under disk pressure, the oldest). Restoring the picture as it is would bring that
material back. So the vault appends every deletion it records after a backup to that backup's
journal (at the backup itself for those made while it ran, then every `SHIP_S` under `serve`
and at each later backup), one line per deletion, signed with the office's key: a line added
or changed by anyone else is refused by the restore, which names it.

Lines removed are refused too (issue 28 item 8: an emptied journal brought every deleted
recording back). The lines form a chain: each carries its number ``n`` and ``prev``, the
chain's hash before it (starting from the backup's id), under the signature. The manifest
(under the passphrase's HMAC) holds the number and chain hash of the lines written while the
backup was made, and `deletions.head` — rewritten, signed, after every append and at least every
`HEAD_REFRESH_S` — the number and hash of all of them and when the vault last confirmed them.
A restore refuses a journal shorter than either, or whose lines are out of place. What this
cannot catch: the journal and its head put back together to an earlier genuine state (a copy
kept by whoever can write the backup's folder); the restore shows when the head was last
confirmed, so a gap between that and the old vault's end is visible.

Backups made before the chain (their manifest has no ``journal``) are restored only when the
administrator says so (`--accept-unchained-journal`), with a warning that a shortened journal
cannot be detected in them; the vault keeps their journals chained and headed from the
upgrade on.

A whole local day swept as a partition (PostgreSQL, issue 68 item 3) is one record, and one
line: its source, day, rule, time, count, list digest and the ids it deleted; `read` gives
the restore one item per id, as if the day had gone row by row.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.backup import state as backup_state
from kustosz.backup.layout import JOURNAL, JOURNAL_HEAD, MANIFEST
from kustosz.db.deleted import day_items
from kustosz.db.models import Deletion, DeletionDay
from kustosz.errors import InputError
from kustosz.fsutil import fsync_file, write_atomic
from kustosz.keys import office_key
from kustosz.words import count_pl

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
SHIP_S = 60.0
# How stale the head's "confirmed" time may grow on a vault that deletes nothing: a restore
# shows it, and a head rolled back by more than this stands out.
HEAD_REFRESH_S = 3600.0
FIELDS = ("recording_id", "source_id", "start_at", "end_at", "size", "sha256", "rule",
          "deleted_at")
CHAIN_FORMAT = "kustosz-deletions/2"
HEAD_FORMAT = "kustosz-deletions-head/1"
TAIL = 64 * 1024  # enough to hold the journal's last line


@dataclass(frozen=True)
class Chain:
    """How far a journal goes: its number of lines and the chain's hash after the last."""
    lines: int
    hash: str


def anchor(backup_id: str) -> Chain:
    return Chain(0, hashlib.sha256(f"{CHAIN_FORMAT}\n{backup_id}".encode()).hexdigest())


def _link(chain: Chain, line: str) -> Chain:
    return Chain(chain.lines + 1,
                 hashlib.sha256(f"{chain.hash}\n{line}".encode()).hexdigest())


def _body(data: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in data.items() if k != "sig"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


DAY_FIELDS = ("source_id", "rule", "deleted_at", "count", "list_sha256")


def line_of(row: Deletion | DeletionDay, backup_id: str, key: Ed25519PrivateKey,
            after: Chain) -> str:
    """The line of one deletion or day record, placed after ``after`` (its number and the
    hash before it are signed with it, so it cannot be moved, repeated or left out
    unnoticed)."""
    data: dict[str, Any] = {"backup": backup_id, "id": row.id, "n": after.lines + 1,
                            "prev": after.hash}
    for name in DAY_FIELDS if isinstance(row, DeletionDay) else FIELDS:
        value = getattr(row, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    if isinstance(row, DeletionDay):
        data["day"] = row.day.isoformat()
        data["recording_ids"] = [d.recording_id for d in day_items(row)]
    data["sig"] = base64.b64encode(key.sign(_body(data))).decode("ascii")
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def chained(rows: Iterable[Deletion | DeletionDay], backup_id: str, key: Ed25519PrivateKey,
            after: Chain) -> tuple[list[str], Chain]:
    lines = []
    for row in rows:
        line = line_of(row, backup_id, key, after)
        lines.append(line)
        after = _link(after, line)
    return lines, after


def deletions_after(session: Session, after_id: int) -> list[Deletion | DeletionDay]:
    """Both records after the mark, by id (one sequence gives both theirs: migration 0062)."""
    rows: list[Deletion | DeletionDay] = [
        *session.execute(select(Deletion).where(Deletion.id > after_id)).scalars(),
        *session.execute(select(DeletionDay).where(DeletionDay.id > after_id)).scalars()]
    return sorted(rows, key=lambda r: r.id)


def items_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A checked line as the restore applies it: a day record's one item per id."""
    ids = data.get("recording_ids")
    if not isinstance(ids, list):
        return [data]
    return [{**{k: v for k, v in data.items() if k != "recording_ids"}, "recording_id": rid}
            for rid in ids]


def append(folder: Path, lines: Iterable[str]) -> int:
    lines = list(lines)
    if not lines:
        return 0
    fd = os.open(folder / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
        fsync_file(f)
    return len(lines)


def write_head(folder: Path, backup_id: str, chain: Chain, key: Ed25519PrivateKey,
               now: datetime | None = None) -> None:
    """The journal's signed length: written after its lines (a crash between leaves a head
    shorter than the file, which a restore accepts; never one longer)."""
    try:
        size = (folder / JOURNAL).stat().st_size
    except FileNotFoundError:
        size = 0
    data: dict[str, Any] = {
        "format": HEAD_FORMAT, "backup": backup_id, "lines": chain.lines, "hash": chain.hash,
        "bytes": size, "confirmed_at": (now or datetime.now(UTC)).isoformat()}
    data["sig"] = base64.b64encode(key.sign(_body(data))).decode("ascii")
    write_atomic(folder / JOURNAL_HEAD, (json.dumps(data, sort_keys=True) + "\n").encode())


def _journal_lines(folder: Path) -> list[str]:
    try:
        text = (folder / JOURNAL).read_text("utf-8")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _head(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / JOURNAL_HEAD).read_text("utf-8"))
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else {}


def _current(folder: Path, backup_id: str) -> tuple[Chain, datetime | None]:
    """Where the journal stands, for appending: from the head when it describes the file as
    it is (the usual case: no reading a week of lines every minute), else from the lines."""
    try:
        head = _head(folder)
        size = (folder / JOURNAL).stat().st_size if (folder / JOURNAL).exists() else 0
        if head and head.get("backup") == backup_id and head.get("bytes") == size:
            return (Chain(int(head["lines"]), str(head["hash"])),
                    datetime.fromisoformat(head["confirmed_at"]))
    except (ValueError, KeyError, TypeError):
        pass  # a damaged head: rebuilt from the lines below
    chain = anchor(backup_id)
    for line in _journal_lines(folder):
        chain = _link(chain, line)
    return chain, None


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The journal's lock (flock): a share that has none is shipped to without it."""
    fd = os.open(folder / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            log.debug("no lock on the journal in %s: %s", folder, exc)
        yield
    finally:
        os.close(fd)


def _last_id(folder: Path) -> int:
    """The deletion id of the journal's last line (read from its tail only); 0 if none."""
    try:
        with (folder / JOURNAL).open("rb") as f:
            end = f.seek(0, os.SEEK_END)
            back = TAIL
            while True:  # a day record's line (its ids) may be longer than the tail
                f.seek(max(0, end - back))
                chunk = f.read()
                if back >= end or b"\n" in chunk.rstrip(b"\n"):
                    break
                back *= 4
            tail = [ln for ln in chunk.splitlines() if ln.strip()]
    except FileNotFoundError:
        return 0
    try:
        return int(json.loads(tail[-1])["id"]) if tail else 0
    except (ValueError, KeyError, TypeError, IndexError):
        return 0  # a damaged last line: the restore names it


def last_shipped(folder: Path, since: int) -> int:
    """The id of the last deletion in the journal (``since``: the manifest's mark)."""
    last = since
    for line in _journal_lines(folder):
        try:
            last = max(last, int(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged line: the restore names it; shipping goes on after it
    return last


def ship(vault: Vault, now: datetime | None = None) -> int:
    """Append what was deleted since to the journal of every backup the vault remembers;
    returns the lines written. A backup folder gone (removed by `keep`, a share not mounted)
    is skipped; it is forgotten once its manifest is gone for good."""
    with vault.reading() as s:
        targets = list(backup_state.load(s).get("targets", []))
    if not targets:
        return 0
    key = office_key(vault.root)
    now = now or datetime.now(UTC)
    written = 0
    marks: dict[str, int] = {}
    for target in targets:
        folder = Path(target["path"])
        try:
            manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("id") != target.get("id"):
            continue  # another backup was made in that folder
        try:
            # The mark kept in the vault saves reading a week of lines every minute; the
            # journal itself is read when there is none (the first time).
            since = target.get("shipped")
            if since is None:
                since = last_shipped(folder, int(manifest["deletions_after"]))
            with _locked(folder):
                # serve's shipping and a `kustosz backup` may meet here: one appends, the
                # other finds the lines there already (a line appended twice, or two chains
                # interleaved, would leave a journal the restore refuses).
                with vault.reading() as s:
                    rows = deletions_after(s, max(int(since), _last_id(folder)))
                chain, confirmed = _current(folder, manifest["id"])
                lines, after = chained(rows, manifest["id"], key, chain)
                written += append(folder, lines)
                if lines or confirmed is None or \
                        now - confirmed >= timedelta(seconds=HEAD_REFRESH_S):
                    write_head(folder, manifest["id"], after, key, now)
        except (OSError, UnicodeError) as exc:
            log.warning("could not append deletions to the backup %s: %s", folder, exc)
            continue
        if rows or target.get("shipped") is None:
            marks[target["path"]] = rows[-1].id if rows else int(since)
    if marks:
        def note(state: dict[str, Any]) -> None:
            for t in state.get("targets", []):
                if t.get("path") in marks:
                    t["shipped"] = marks[t["path"]]

        backup_state.update(vault, note)
    return written


# -- the restore's check ---------------------------------------------------------------------
@dataclass
class Checked:
    lines: list[dict[str, Any]]
    chained: bool  # False: a backup made before the chain (its manifest has no "journal")
    confirmed_at: str | None  # when the old vault last confirmed the journal (its head)


def _refused(path: Path, en: str, pl: str) -> InputError:
    return InputError(
        f"the deletion journal {path} {en}; a restore from it could bring back material the "
        "vault deleted, so it is refused (nothing was written)",
        pl=f"Dziennik usunięć {path} {pl}; odtworzenie z niego mogłoby przywrócić materiał, "
           "który skarbiec usunął, więc zostało wstrzymane (niczego nie zapisano).")


def read(folder: Path, backup_id: str, public: Ed25519PublicKey,
         manifest: dict[str, Any] | None = None) -> Checked:
    """The journal's lines, each checked, and the whole against the manifest and the head;
    InputError naming the first problem. ``manifest``: the backup's (HMAC checked)."""
    path = folder / JOURNAL
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeError):
        raise InputError(f"{path} cannot be read", pl=f"Nie można odczytać pliku {path}.") \
            from None
    stated = (manifest or {}).get("journal")
    is_chained = stated is not None
    found: list[dict[str, Any]] = []
    chain = anchor(backup_id)
    at: dict[int, str] = {0: chain.hash}  # the chain's hash after each line
    unchained_done = False
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            public.verify(base64.b64decode(data["sig"]), _body(data))
            if data["backup"] != backup_id:
                raise ValueError
        except (ValueError, KeyError, TypeError, InvalidSignature):
            raise InputError(
                f"{path} line {n} is damaged or not signed by this office's key "
                "(nothing was written)",
                pl=f"Plik {path}, wiersz {n}: uszkodzony albo niepodpisany kluczem tego "
                   "urzędu (niczego nie zapisano).") from None
        if "n" in data or is_chained or unchained_done:
            unchained_done = True  # after the first chained line every one must be
            if data.get("n") != chain.lines + 1 or data.get("prev") != chain.hash:
                raise _refused(path, f"has line {n} out of place (lines were removed, "
                               "repeated or reordered)",
                               f"ma wiersz {n} nie na swoim miejscu (wiersze usunięto, "
                               "powtórzono albo przestawiono)")
        chain = _link(chain, line)
        at[chain.lines] = chain.hash
        found += items_of(data)
    if stated is not None:
        try:
            want = Chain(int(stated["lines"]), str(stated["hash"]))
        except (KeyError, TypeError, ValueError):
            raise _refused(path, "cannot be checked: the manifest's record of it is damaged",
                           "nie daje się sprawdzić: zapis o nim w spisie kopii jest "
                           "uszkodzony") from None
        if at.get(want.lines) != want.hash:
            raise _refused(
                path, f"is shorter than, or differs from, the {want.lines} line(s) written "
                f"when the backup was made (it has {chain.lines})",
                f"jest krótszy od wierszy zapisanych w chwili wykonania kopii albo się od nich "
                f"różni (spis kopii: {want.lines}, w pliku: {chain.lines})")
    head = _checked_head(folder, backup_id, public, path, required=is_chained)
    confirmed = None
    if head is not None:
        if at.get(head.lines) != head.hash:
            raise _refused(
                path, f"was cut or changed: its signed head ({JOURNAL_HEAD}) counts "
                f"{head.lines} line(s), the file has {chain.lines} that do not match it",
                f"został skrócony albo zmieniony: jego podpisany nagłówek ({JOURNAL_HEAD}) "
                f"liczy {count_pl(head.lines, 'wiersz', 'wiersze', 'wierszy')}, a plik ma "
                f"{chain.lines} i nie zgadza się z nim")
        confirmed = head.confirmed_at
    return Checked(found, is_chained, confirmed)


@dataclass(frozen=True)
class _Head:
    lines: int
    hash: str
    confirmed_at: str


def _checked_head(folder: Path, backup_id: str, public: Ed25519PublicKey, journal: Path,
                  required: bool) -> _Head | None:
    path = folder / JOURNAL_HEAD
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        if required:
            raise _refused(journal, f"cannot be checked: its signed head {path} is missing",
                           f"nie daje się sprawdzić: brak jego podpisanego nagłówka {path}") \
                from None
        return None
    except (OSError, ValueError, UnicodeError):
        data = None
    try:
        if not isinstance(data, dict) or data.get("format") != HEAD_FORMAT:
            raise ValueError
        public.verify(base64.b64decode(data["sig"]), _body(data))
        if data["backup"] != backup_id:
            raise ValueError
        return _Head(int(data["lines"]), str(data["hash"]), str(data["confirmed_at"]))
    except (ValueError, KeyError, TypeError, InvalidSignature):
        raise _refused(journal, f"cannot be checked: its head {path} is damaged or not "
                       "signed by this office's key",
                       f"nie daje się sprawdzić: jego nagłówek {path} jest uszkodzony albo "
                       "niepodpisany kluczem tego urzędu") from None
