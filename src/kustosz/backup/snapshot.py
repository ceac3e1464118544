"""`kustosz backup --to DIR`: a consistent backup of a running vault.

The database first, as one snapshot (SQLite's online backup API copies it page by page under
one read transaction while `serve` goes on writing; PostgreSQL's `pg_dump` runs on a snapshot
exported by a REPEATABLE READ transaction, which is also the one the list of media is read
in). The media the snapshot names are then copied (or hard-linked from ``base``, the previous
backup, when it holds the same file) and hashed on the way. A file the sweep deleted meanwhile
is not copied: its deletion goes into the backup's journal, so a restore deletes it too.
The manifest is written last: a folder without one is an unfinished backup.

A vault whose media are on an object store (`[storage] kind = "s3"`) keeps them in a bucket
that is versioned and locked (Object Lock): the bucket, not the backup, is where they are
kept safe from deletion, and copying every object out at each backup would move the whole
archive over the network every night. Its backup therefore holds the database, kustosz.toml,
the keys and the documents, and a manifest naming each item's bucket, key, version id, size
and SHA-256 (``media_in`` says so: ``{"kind": "s3", "endpoint": …, "bucket": …}``); a restore
finds the media in that bucket again and checks every version against the manifest's hash.
``with_media`` (`kustosz backup --with-media`) also copies each indexed version into the
backup (``media_in`` = "backup"), for an office that wants the bytes off the store too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from kustosz import office_identity
from kustosz.audit import append as audit
from kustosz.backup import journal
from kustosz.backup import state as backup_state
from kustosz.backup.crypto import BackupKeys, as_json, mac_of, seal_keys, sha256_file
from kustosz.backup.layout import (
    CONFIG,
    EXTRA_DIRS,
    FILES,
    FORMAT,
    KEYS,
    MAC,
    MANIFEST,
    PG_DUMP,
    SQLITE_DB,
    NoProgress,
    Progress,
    check_empty_writable,
    copy_private,
    link_or_copy,
    media_name,
    private_dir,
    remove_tree,
    write_private,
)
from kustosz.config import CONFIG_NAME
from kustosz.db import deleted
from kustosz.db.engine import sqlite_url
from kustosz.db.models import AuditEntry, Hold, Recording
from kustosz.errors import KustoszError
from kustosz.fsutil import fsync_dir, syncfs
from kustosz.installation_layout import office_of
from kustosz.keys import office_key
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)


class BackupError(KustoszError):
    """The backup could not be made (the folder is left without a manifest)."""


@dataclass
class BackupReport:
    folder: Path
    manifest: dict[str, Any]
    linked: int = 0
    copied: int = 0
    gone: list[int] = field(default_factory=list)  # deleted by the sweep meanwhile
    problems: list[str] = field(default_factory=list)


def pg_env(url: str) -> dict[str, str]:
    """libpq's environment for pg_dump/pg_restore: the password never on a command line."""
    u = make_url(url)
    env = dict(os.environ)
    for var, value in (("PGHOST", u.host), ("PGPORT", u.port), ("PGUSER", u.username),
                       ("PGPASSWORD", u.password), ("PGDATABASE", u.database)):
        if value is not None:
            env[var] = str(value)
    options = u.query.get("options")
    if options:
        env["PGOPTIONS"] = options if isinstance(options, str) else " ".join(options)
    # An installation's office logs in with the password in its own passfile (issue 67,
    # installation/pg_scope.py): without it pg_dump asked the server with no password.
    for param, var in _LIBPQ_ENV.items():
        given = u.query.get(param)
        if given:
            env[var] = given if isinstance(given, str) else given[-1]
    return env


# The URL's libpq parameters that pg_dump and pg_restore take from the environment alike.
_LIBPQ_ENV = {"passfile": "PGPASSFILE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
              "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed (the PostgreSQL client is needed)",
                          pl=f"Brak programu {cmd[0]} (potrzebny klient PostgreSQL).") from None
    if done.returncode != 0:
        why = " ".join(done.stderr.split())[:400]
        raise BackupError(f"{what} failed: {why}", pl=f"{what}: błąd: {why}")


@contextmanager
def _snapshot(vault: Vault, dest: Path):  # type: ignore[no-untyped-def]
    """The database's snapshot in ``dest`` and a connection reading the same state."""
    if vault.engine.dialect.name == "sqlite":
        target = dest / SQLITE_DB
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        live = sqlite3.connect(vault.engine.url.database or vault.root / "kustosz.db", timeout=30)
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)  # one step: a consistent picture under one read transaction
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no WAL
        finally:
            copy.close()
            live.close()
        engine = create_engine(sqlite_url(target))
        try:
            with engine.connect() as conn:
                yield conn, {"backend": "sqlite", "database": SQLITE_DB}
        finally:
            engine.dispose()
        return
    with vault.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snap = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        url = vault.engine.url.render_as_string(hide_password=False)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--schema={schema}", f"--snapshot={snap}", f"--file={dest / PG_DUMP}"],
             pg_env(url.replace("+psycopg", "")), "pg_dump")
        os.chmod(dest / PG_DUMP, 0o600)
        yield conn, {"backend": "postgresql", "database": PG_DUMP, "schema": schema}


def _facts(conn: Connection) -> dict[str, Any]:
    last = conn.execute(select(AuditEntry.seq, AuditEntry.hash)
                        .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return {
        "audit": {"entries": conn.execute(select(func.count()).select_from(AuditEntry))
                  .scalar(), "seq": last[0] if last else 0, "hash": last[1] if last else None},
        "deletions_after": deleted.last_id(conn),  # of both records (kustosz.db.deleted)
        "counts": {
            "recordings": conn.execute(select(func.count()).select_from(Recording)
                                       .where(Recording.state == RecordingState.STORED)).scalar(),
            "holds_active": conn.execute(select(func.count()).select_from(Hold)
                                         .where(Hold.released_at.is_(None))).scalar()},
    }


def _base_index(base: Path | None) -> dict[str, tuple[str, int]]:
    """The previous backup's files: relative path -> (sha256, size)."""
    if base is None:
        return {}
    try:
        manifest = json.loads((base / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise BackupError(f"--base {base} is not a finished Kustosz backup (no readable "
                          f"{MANIFEST})",
                          pl=f"--base {base} nie jest ukończoną kopią Kustosza (brak "
                             f"czytelnego pliku {MANIFEST}).") from None
    found = {media_name(m["key"]): (m["sha256"], m["size"]) for m in manifest["media"]}
    found.update({f"{FILES}/{m['path']}": (m["sha256"], m["size"]) for m in manifest["extra"]})
    return found


def _take(src: Path, dest: Path, rel: str, expected: str | None, base: Path | None,
          known: dict[str, tuple[str, int]], report: BackupReport,
          progress: Progress | None = None) -> tuple[str, int]:
    """One file into the backup: linked from the base when it holds the same, else copied
    (``progress`` told its bytes as they go, and the file once it is in)."""
    progress = progress or NoProgress()
    target = dest / rel
    private_dir(target.parent)
    prior = known.get(rel)
    if base is not None and prior is not None and (expected is None or prior[0] == expected):
        old = base / rel
        try:
            if old.stat().st_size == prior[1] == src.stat().st_size:
                if link_or_copy(old, target):
                    report.linked += 1
                else:
                    report.copied += 1
                progress.advance(1, prior[1])
                return prior
        except FileNotFoundError:
            pass  # not in the base after all: copied below
    digest = hashlib.sha256()

    def block(data: bytes) -> None:
        digest.update(data)
        progress.advance(0, len(data))

    size = copy_private(src, target, block)
    report.copied += 1
    progress.advance(1)
    return digest.hexdigest(), size


def make_backup(vault: Vault, dest: Path, passphrase: str, base: Path | None = None,
                actor: str = "system", progress: Progress | None = None,
                now: datetime | None = None, with_media: bool = False) -> BackupReport:
    """``now``: the schedule's clock (the time the backup counts as made); ``with_media``:
    on an object store, copy the media into the backup too (see above)."""
    progress = progress or NoProgress()
    dest = Path(os.path.abspath(dest))
    if dest.resolve().is_relative_to(vault.root.resolve()):
        raise BackupError(f"the backup folder {dest} is inside the data folder {vault.root}; "
                          "put it on another disk or a share (nothing was written)",
                          pl=f"Katalog kopii {dest} leży w katalogu danych {vault.root}; "
                             "wskaż inny dysk albo udział sieciowy (niczego nie zapisano).")
    check_empty_writable(dest, "backup folder", "Katalog kopii")
    if base is not None:
        base = Path(os.path.abspath(base))
    known = _base_index(base)
    journal.ship(vault)  # earlier backups' journals first: they must not miss a deletion
    existed = dest.exists()
    try:
        return _make(vault, dest, passphrase, base, known, actor, progress, now, with_media)
    except BaseException as exc:
        # An unfinished backup is no backup: the folder goes back to how it was (empty or
        # absent; checked above), so it never looks like one.
        if existed:
            for child in list(dest.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    remove_tree(child)
                else:
                    child.unlink(missing_ok=True)
        else:
            remove_tree(dest)
        if isinstance(exc, OSError | sqlite3.Error | DBAPIError):
            if isinstance(exc, OSError):
                why = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
            else:
                why = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
            raise BackupError(f"the backup into {dest} failed ({why}); nothing was kept",
                              pl=f"Kopia do {dest} nie powiodła się ({why}); niczego nie "
                                 "zachowano.") from None
        raise


def media_in(vault: Vault, with_media: bool) -> str | dict[str, str]:
    """Where a backup's media are: "backup" (copied into it), or the object store's bucket."""
    s3 = vault.config.s3
    if s3 is None or with_media:
        return "backup"
    where = {"kind": "s3", "endpoint": s3.endpoint, "bucket": s3.bucket}
    if s3.prefix:  # the office's part of a shared bucket (issue 67); absent: all of it
        where["prefix"] = s3.prefix
    return where


def bucket_place(where: dict[str, str]) -> str:
    """A manifest's media_in bucket as people read it: endpoint/bucket, and the office's
    prefix when it has one."""
    return f"{where['endpoint']}/{where['bucket']}" + \
        (f"/{where['prefix']}" if where.get("prefix") else "")


def _make(vault: Vault, dest: Path, passphrase: str, base: Path | None,
          known: dict[str, tuple[str, int]], actor: str, progress: Progress,
          now: datetime | None, with_media: bool = False) -> BackupReport:
    backup_id = str(uuid.uuid4())
    private_dir(dest)
    os.chmod(dest, 0o700)
    made_at = now or datetime.now(UTC)
    started = datetime.now(UTC)
    report = BackupReport(dest, {})
    files: dict[str, dict[str, Any]] = {}
    progress.start("baza danych / database", 1)  # one step: its size is not known before
    db, facts, media = _take_database(vault, dest, files)
    keys = _take_config_and_keys(vault, dest, passphrase, backup_id, files)

    listed = []
    where = media_in(vault, with_media)
    if where != "backup":
        # Named, not copied: the bucket's versioned, locked objects are the media's keeping.
        listed = [{"id": rid, "key": key, "size": size, "sha256": sha, "version_id": version}
                  for rid, key, size, sha, version in media]
        media = []
    progress.advance()
    listed += _take_media(vault, dest, media, base, known, report, progress)
    extra = _take_extra(vault, dest, base, known, report, progress)
    chain = _ship_journal(vault, dest, facts["deletions_after"], backup_id, report)

    manifest = {
        "format": FORMAT, "id": backup_id, "made_at": made_at.isoformat(),
        "finished_at": (made_at + (datetime.now(UTC) - started)).isoformat(),
        "vault": str(vault.root),
        "office": vault.policy.office_name, **db,
        # An installation's office: which one (None: a single office's vault, as every backup
        # made before installations). A restore into an installation checks it.
        "installation": _office(vault), "files": files, "media": listed,
        "media_in": where,
        "extra": extra, **facts,
        # The journal as it stands now, under the HMAC: a restore refuses one shorter.
        "journal": {"format": journal.CHAIN_FORMAT, "lines": chain.lines, "hash": chain.hash},
        "base": {"path": str(base)} if base is not None else None,
        "problems": report.problems,
    }
    _write_manifest(dest, manifest, keys)
    report.manifest = manifest
    _record_made(vault, dest, backup_id, manifest["finished_at"], listed, where, base, actor,
                 report)
    return report


def _take_database(vault: Vault, dest: Path, files: dict[str, dict[str, Any]]
                   ) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The database's snapshot into ``dest`` (listed in ``files``), with the facts and the
    stored media read in that very state."""
    with _snapshot(vault, dest) as (conn, db):
        facts = _facts(conn)
        media = list(conn.execute(select(Recording.id, Recording.storage_key, Recording.size,
                                         Recording.sha256, Recording.version_id)
                                  .where(Recording.state == RecordingState.STORED)
                                  .order_by(Recording.id)))
    digest, size = sha256_file(dest / db["database"])
    files[db["database"]] = {"sha256": digest, "size": size}
    return db, facts, media


def _take_config_and_keys(vault: Vault, dest: Path, passphrase: str, backup_id: str,
                          files: dict[str, dict[str, Any]]) -> BackupKeys:
    """kustosz.toml as it is, the keys sealed under the passphrase; the backup's own keys
    (its HMAC's) returned."""
    config = (vault.root / CONFIG_NAME).read_bytes()
    write_private(dest / CONFIG, config)
    files[CONFIG] = {"sha256": hashlib.sha256(config).hexdigest(), "size": len(config)}
    key_files = {p.name: p.read_bytes() for p in sorted((vault.root / "keys").iterdir())
                 if p.is_file()}
    sealed, keys = seal_keys(key_files, passphrase, backup_id)
    write_private(dest / KEYS, sealed)
    files[KEYS] = {"sha256": hashlib.sha256(sealed).hexdigest(), "size": len(sealed)}
    return keys


def _take_media(vault: Vault, dest: Path, media: list[Any], base: Path | None,
                known: dict[str, tuple[str, int]], report: BackupReport,
                progress: Progress) -> list[dict[str, Any]]:
    """The stored media the snapshot names, copied (or linked from ``base``) and hashed; one
    the sweep deleted meanwhile is left out (``report.gone``)."""
    listed = []
    progress.start("nagrania / media", len(media), sum(int(m[2] or 0) for m in media))
    for rid, key, _size, sha, version in media:
        try:
            # A local file to copy or hard-link from: the stored file itself on the local folder
            # (on an object store the index's version, not one put under the key since).
            with vault.storage.local_path(key, version=version) as src:
                got_sha, got_size = _take(src, dest, media_name(key), sha, base, known,
                                          report, progress)
        except FileNotFoundError:
            report.gone.append(rid)
            progress.advance(1, int(_size or 0))
            continue
        if sha is not None and got_sha != sha:
            report.problems.append(f"media/{key}: its content no longer matches the index "
                                   "(damaged in the vault)")
        listed.append({"id": rid, "key": key, "size": got_size, "sha256": got_sha,
                       "version_id": version})
    return listed


def _take_extra(vault: Vault, dest: Path, base: Path | None,
                known: dict[str, tuple[str, int]], report: BackupReport,
                progress: Progress) -> list[dict[str, Any]]:
    """The data folder's documents, copies and templates (not media)."""
    extra = []
    found: list[tuple[Path, int]] = []
    for folder in EXTRA_DIRS:
        top = vault.root / folder  # documents, copies, templates: not media
        if not top.is_dir():
            continue
        for dirpath, _dirs, names in os.walk(top):
            for name in sorted(names):
                path = Path(dirpath, name)
                try:
                    found.append((path, path.stat().st_size))
                except FileNotFoundError:
                    continue
    progress.start("dokumenty i kopie / documents and copies", len(found),
                   sum(size for _, size in found))
    for path, size in found:
        rel = path.relative_to(vault.root).as_posix()
        try:
            got_sha, got_size = _take(path, dest, f"{FILES}/{rel}", None, base, known,
                                      report, progress)
        except FileNotFoundError:
            progress.advance(1, size)
            continue
        extra.append({"path": rel, "size": got_size, "sha256": got_sha})
    return extra


def _ship_journal(vault: Vault, dest: Path, deletions_after: int, backup_id: str,
                  report: BackupReport) -> journal.Chain:
    """The deletions recorded since the snapshot, into the backup's journal and its head; a
    stored item whose file was gone is a problem of the vault."""
    with vault.reading() as s:
        after = journal.deletions_after(s, deletions_after)
        # A sweep unlinks first and records after: a row still "deleting" is being deleted
        # (its deletion reaches the journal at the next shipping); only a "stored" one whose
        # file is gone is a problem of the vault.
        vanished = set(s.execute(select(Recording.id).where(
            Recording.id.in_(report.gone or [-1]),
            Recording.state == RecordingState.STORED)).scalars())
    for rid in sorted(vanished):
        report.problems.append(f"recording {rid}: its file is missing from the vault")
    signer = office_key(vault.root)
    lines, chain = journal.chained(after, backup_id, signer, journal.anchor(backup_id))
    journal.append(dest, lines)
    journal.write_head(dest, backup_id, chain, signer)
    return chain


def _write_manifest(dest: Path, manifest: dict[str, Any], keys: BackupKeys) -> None:
    body = as_json(manifest)
    # The manifest last: a folder without it is an unfinished backup, never restored. So
    # everything it lists is on the disk first (copies are not flushed one by one: one
    # flush of the backup's disk for all of them).
    syncfs(dest)
    write_private(dest / MAC, (mac_of(body, keys) + "\n").encode())
    write_private(dest / MANIFEST, body)
    fsync_dir(dest)


def _record_made(vault: Vault, dest: Path, backup_id: str, finished_at: str,
                 listed: list[dict[str, Any]], where: str | dict[str, str], base: Path | None,
                 actor: str, report: BackupReport) -> None:
    """The backup in the audit log, and as the last good one (doctor, alerts, journals)."""
    total = sum(m["size"] for m in listed)
    with vault.transaction() as s:
        audit(s, actor, "backup.made", str(dest), {
            "id": backup_id, "media": len(listed), "bytes": total, "linked": report.linked,
            "media_in": where if isinstance(where, str) else bucket_place(where),
            "copied": report.copied, "base": str(base) if base else None,
            "problems": len(report.problems)})

    def note(state: dict[str, Any]) -> None:
        state["last_ok"] = {"at": finished_at, "path": str(dest), "id": backup_id}
        backup_state.remember(state, {"path": str(dest), "id": backup_id})

    backup_state.update(vault, note)


def note_failure(vault: Vault, dest: Path, why: str, now: datetime | None = None) -> None:
    def note(state: dict[str, Any]) -> None:
        state["last_failed"] = {"at": (now or datetime.now(UTC)).isoformat(), "path": str(dest),
                                "why": why[:300]}

    backup_state.update(vault, note)


def _office(vault: Vault) -> dict[str, str] | None:
    """Which installation's office the vault is: as its database knows it (a link to the
    folder, a copy of it, are the office too), else as its folder says."""
    with vault.reading() as s:
        known = office_identity.of(s)
    return known or office_of(vault.root.resolve())
