"""The deletions made after a backup, appended to its `deletions.jsonl` and applied by a restore.

A backup is a picture of one moment; the sweep goes on deleting material whose period has ended
(and, under disk pressure, the oldest). Restoring the picture as it is would bring that
material back. So the vault appends every deletion it records after a backup to that backup's
journal (at the backup itself for those made while it ran, then every `SHIP_S` under `serve`
and at each later backup), one line per deletion, signed with the office's key: a line added
or changed by anyone else is refused by the restore, which names it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.backup import state as backup_state
from kustosz.backup.layout import JOURNAL, MANIFEST
from kustosz.db.models import Deletion
from kustosz.errors import InputError
from kustosz.keys import office_key
from kustosz.storage.durable import fsync_file

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
SHIP_S = 60.0
FIELDS = ("recording_id", "source_id", "start_at", "end_at", "size", "sha256", "rule",
          "deleted_at")


def _body(data: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in data.items() if k != "sig"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def line_of(row: Deletion, backup_id: str, key: Ed25519PrivateKey) -> str:
    data: dict[str, Any] = {"backup": backup_id, "id": row.id}
    for name in FIELDS:
        value = getattr(row, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    data["sig"] = base64.b64encode(key.sign(_body(data))).decode("ascii")
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def deletions_after(session: Session, after_id: int) -> list[Deletion]:
    return list(session.execute(select(Deletion).where(Deletion.id > after_id)
                                .order_by(Deletion.id)).scalars())


def append(folder: Path, lines: Iterable[str]) -> int:
    lines = list(lines)
    if not lines:
        return 0
    fd = os.open(folder / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
        fsync_file(f)
    return len(lines)


def last_shipped(folder: Path, since: int) -> int:
    """The id of the last deletion in the journal (``since``: the manifest's mark)."""
    try:
        text = (folder / JOURNAL).read_text("utf-8")
    except FileNotFoundError:
        return since
    last = since
    for line in text.splitlines():
        try:
            last = max(last, int(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged line: the restore names it; shipping goes on after it
    return last


def ship(vault: Vault) -> int:
    """Append what was deleted since to the journal of every backup the vault remembers;
    returns the lines written. A backup folder gone (removed by `keep`, a share not mounted)
    is skipped; it is forgotten once its manifest is gone for good."""
    with vault.reading() as s:
        targets = list(backup_state.load(s).get("targets", []))
    if not targets:
        return 0
    key = office_key(vault.root)
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
            with vault.reading() as s:
                rows = deletions_after(s, int(since))
            written += append(folder, (line_of(r, target["id"], key) for r in rows))
        except OSError as exc:
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


def read(folder: Path, backup_id: str, public: Ed25519PublicKey) -> list[dict[str, Any]]:
    """The journal's lines, each checked; InputError naming the first bad line."""
    path = folder / JOURNAL
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeError):
        raise InputError(f"{path} cannot be read", pl=f"Nie można odczytać pliku {path}.") \
            from None
    found = []
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
        found.append(data)
    return found
