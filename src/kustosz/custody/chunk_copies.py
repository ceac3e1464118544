"""Copies of mail and IT-event material (issue 7 item 3): a JSONL/EML set with the manifest.

The material is the stored chunk (one JSON line per message or event), so a copy carries the
chunks byte for byte, like calls — their hashes match the vault's records — plus one filtered
JSONL of just the rows in the request's window (and of its person, address or host, when it
names one): what the requester is entitled to see, without the office's other mail. Full
messages (.eml), where the policy kept them, come byte for byte for the selected rows only.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kustosz.custody.pseudonyms import DOMAIN, Pseudonyms, subject_row
from kustosz.db.events import MailMessage
from kustosz.db.models import Recording
from kustosz.kinds import CHUNKED, SourceKind, kind_of
from kustosz.storage import copy_out
from kustosz.vault import Vault

CHUNK_KINDS = tuple(k.name.value for k in CHUNKED)  # ("mailbox", "endpoint")
_ROLES = ("from", "sender", "to", "cc", "bcc")
PSEUDONYMS_NOTE = (
    "Kopia dla osoby, której dane dotyczą: zawiera wyłącznie wiersze jej dotyczące; adresy, "
    "nazwy, komputery i konta innych osób zastąpiono pseudonimami stałymi w obrębie tej kopii; "
    "pełne porcje zapisu i treści wiadomości nie są dołączone (zawierają dane innych osób). / "
    "A data subject's copy: only the rows concerning them; other people's addresses, names, "
    "hosts and accounts replaced by pseudonyms stable within this copy; the stored chunks and "
    "full messages are not included (they hold other people's data).")


def _when(record: dict[str, Any], kind: str) -> datetime | None:
    for key in kind_of(kind).time_keys:
        try:
            at = datetime.fromisoformat(record.get(key) or "")
        except (TypeError, ValueError):
            continue
        if at.tzinfo is not None:
            return at
    return None


def _concerns(record: dict[str, Any], kind: str, who: str) -> bool:
    if kind == SourceKind.ENDPOINT:  # host and user names are case-insensitive (DNS, AD)
        return who in (str(record.get("host") or "").lower(),
                       str(record.get("user") or "").lower())
    people = [p for role in _ROLES for p in record.get(role) or [] if isinstance(p, dict)]
    texts = [str(p.get("address") or "").lower() for p in people]
    texts += [str(p.get("name") or "").lower() for p in people]
    texts += [str(record.get("env_from") or "").lower()]
    texts += [str(a).lower() for a in record.get("journal_rcpt") or []]
    return any(who in t for t in texts if t)  # part of a name or an address, as mail search


def selected(path: Path, kind: str, start: datetime, end: datetime, who: str | None
             ) -> list[tuple[int, bytes]]:
    """(line number, the line as stored) of the rows in the window concerning ``who``."""
    out = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        at = _when(record, kind)
        if at is None or not start <= at <= end:
            continue
        if who and not _concerns(record, kind, who.strip().lower()):
            continue
        out.append((number, raw))
    return out


def build_chunk_media(vault: Vault, source: Any, recordings: list[Recording], info: dict[str, Any],
                      start: datetime, end: datetime, who: str | None, work: Path,
                      data_subject: bool = False,
                      known: dict[str, str] | None = None) -> dict[str, Any]:
    """Write one source's chunks, its filtered JSONL and selected .eml files under ``work``;
    returns its `media` entry of the manifest (the main file is the filtered JSONL).

    A data subject's copy (R6.2) carries neither the chunks (they hold everyone's mail) nor
    full messages: only their rows, everyone else in them pseudonymised (custody/pseudonyms);
    the chunks are still read through their hashes and named in the manifest by them.
    ``known``: filled with the SHA-256 of the files written (the index's for the chunks and
    messages, checked while copying; the filtered file's from its bytes), so the bundle's
    manifest does not read them again."""
    known = {} if known is None else known
    tz = vault.policy.timezone
    base = f"media/{source.name}"
    (work / base).mkdir(parents=True)
    chunks = [r for r in recordings if (r.meta or {}).get("format") != "eml"]
    rows: list[bytes] = []
    picked: list[tuple[int, int]] = []  # (chunk recording id, line)
    files = []
    with tempfile.TemporaryDirectory(prefix="kustosz-chunks-") as private:
        for rec in chunks:
            name = f"{rec.start_at.astimezone(tz):%Y%m%d-%H%M%S}_{rec.id}.jsonl"
            rel = f"{base}/chunks/{name}"
            target = Path(private) / name if data_subject else work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            copy_out(vault.storage, rec.storage_key, target, version=rec.version_id,
                     sha256=rec.sha256)
            if not data_subject:
                files.append(rel)
                if rec.sha256 is not None:
                    known[rel] = rec.sha256
            for line, raw in selected(target, source.kind, start, end, who):
                rows.append(raw)
                picked.append((rec.id, line))
    if data_subject:
        table = Pseudonyms(who or "")
        records = [json.loads(raw) for raw in rows]
        for record in records:  # first pass: every identifier known before any free text
            subject_row(record, source.kind, table)
        rows = [json.dumps(subject_row(r, source.kind, table), ensure_ascii=False).encode()
                for r in records]
        rel = f"{base}/{source.name}_wybrane.jsonl"
        known[rel] = _write(work / rel, rows)
        return {"path": rel, "source": {**info, "who": who}, "segments": len(chunks),
                "rows": len(rows), "chunks": [], "eml": [],
                "recording_ids": [r.id for r in chunks],
                "recording_sha256": [r.sha256 for r in chunks],
                "pseudonymised": {"people_and_hosts": table.count, "domain": DOMAIN,
                                  "note": PSEUDONYMS_NOTE},
                "from": min(r.start_at for r in recordings).astimezone(tz).isoformat(),
                "to": max(r.end_at or r.start_at for r in recordings).astimezone(tz).isoformat()}
    emls = _emls(vault, picked) if source.kind == SourceKind.MAILBOX else {}
    eml_files = []
    for rec in recordings:
        if rec.id in emls:
            rel = f"{base}/eml/{rec.id}.eml"
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            copy_out(vault.storage, rec.storage_key, work / rel, version=rec.version_id,
                     sha256=rec.sha256)
            eml_files.append(rel)
            if rec.sha256 is not None:
                known[rel] = rec.sha256
    rel = f"{base}/{source.name}_wybrane.jsonl"
    known[rel] = _write(work / rel, rows)
    return {"path": rel, "source": {**info, "who": who}, "segments": len(chunks),
            "rows": len(rows), "chunks": files, "eml": eml_files,
            "recording_ids": [r.id for r in chunks],
            "recording_sha256": [r.sha256 for r in chunks],
            "from": min(r.start_at for r in recordings).astimezone(tz).isoformat(),
            "to": max(r.end_at or r.start_at for r in recordings).astimezone(tz).isoformat()}


def _write(path: Path, rows: list[bytes]) -> str:
    """Write the filtered rows, one a line; their SHA-256."""
    body = b"".join(r + b"\n" for r in rows)
    path.write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def _emls(vault: Vault, picked: list[tuple[int, int]]) -> set[int]:
    """Recording ids of the full messages kept for the selected rows (none by default)."""
    if not picked:
        return set()
    wanted = set(picked)
    with vault.reading() as s:
        rows = s.execute(select(MailMessage.recording_id, MailMessage.line,
                                MailMessage.eml_recording_id).where(
            MailMessage.recording_id.in_({r for r, _ in picked}),
            MailMessage.eml_recording_id.is_not(None))).all()
    return {eml for rec, line, eml in rows if (rec, line) in wanted and eml is not None}
