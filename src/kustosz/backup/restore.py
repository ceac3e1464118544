"""`kustosz restore --from DIR --data NEW`: a vault rebuilt from a backup, in a new folder.

Everything is checked before anything is written: the passphrase (it opens the keys), the
manifest (its HMAC), every file against the manifest (size and SHA-256), the deletion journal
(the office's signature on each line, the chain of its lines against the manifest and its
signed head: a journal cut short is refused), and the new folder and database (empty). A problem is
named with its file and nothing is written. The vault is then built in a hidden folder beside
``--data`` and moved into place whole; the deletions recorded after the backup are applied
(material the sweep deleted does not come back), and `audit verify` and a hash check of every
stored item run on the result.

A backup of a vault on an object store names its media in the bucket (manifest ``media_in``:
see kustosz.backup.snapshot) instead of holding them: the restored vault reads them from that
bucket again, with the credentials its kustosz.toml names (which must be on the new machine:
the bucket and its credentials are checked before the vault is moved into place), and every
indexed version is hashed against the manifest. Media are never uploaded by a restore (a new
upload would get new version ids), also not from a backup made ``--with-media``: its copies
are checked with the rest and stay in the backup as a reserve. Deletions recorded after the
backup were made by the old vault's sweep in the same bucket; a version still there is deleted
with the sweep's credentials only ([storage] delete_credentials_file) — never with the
application's, which the lock exists to keep from deleting — or, without them, named as a
problem for the administrator.

The checks are kustosz.backup.restore_checks; what is done in the restored vault once it is in
place, kustosz.backup.restore_finish.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kustosz.backup.layout import (
    CONFIG,
    FILES,
    PG_DUMP,
    SQLITE_DB,
    NoProgress,
    Progress,
    check_empty_writable,
    copy_private,
    media_name,
    private_dir,
    remove_tree,
    write_private,
)
from kustosz.backup.restore_checks import Opened, damaged, for_people, open_backup, unchained
from kustosz.backup.restore_finish import RestoreReport, finish
from kustosz.backup.snapshot import BackupError, bucket_place, pg_env
from kustosz.config import CONFIG_NAME, read_config
from kustosz.db.engine import normalise_url
from kustosz.errors import InputError, KustoszError
from kustosz.fsutil import replace, syncfs
from kustosz.storage import Storage, data_folder_store
from kustosz.storage.s3 import S3Storage, object_store
from kustosz.words import count_pl

log = logging.getLogger(__name__)
_DB_URL_LINE = re.compile(r'^database_url\s*=.*$', re.MULTILINE)


def _pg_target(url: str, schema: str) -> tuple[sa.Engine, bool]:
    """The new database: it answers, its search path reaches the backup's schema, and that
    schema holds nothing. Returns the engine and whether the schema exists already."""
    url = normalise_url(url)
    if not url.startswith("postgresql"):
        raise InputError("--database must be a PostgreSQL URL for a backup of a PostgreSQL "
                         "vault", pl="--database musi być adresem bazy PostgreSQL (kopia "
                                     "pochodzi z bazy PostgreSQL).")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            path = conn.exec_driver_sql("SHOW search_path").scalar() or ""
            user = conn.exec_driver_sql("SELECT current_user").scalar()
            existing = set(conn.exec_driver_sql(
                "SELECT nspname FROM pg_namespace").scalars())
            tables = conn.execute(sa.text("SELECT count(*) FROM pg_tables "
                                          "WHERE schemaname = :s"), {"s": schema}).scalar()
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        why = " ".join(str(exc.orig).split())[:200]
        raise InputError(f"the database {make_safe(url)} does not answer: {why}",
                         pl=f"Baza {make_safe(url)} nie odpowiada: {why}") from None
    names = [n.strip().strip('"') for n in path.split(",") if n.strip()]
    names = [user if n == "$user" else n for n in names]
    effective = next((n for n in names if n == schema or n in existing), None)
    if effective != schema:
        engine.dispose()
        raise InputError(
            f"the database URL reaches schema {effective or '(none)'}, the backup's is "
            f"{schema}: add ?options=-csearch_path%3D{schema} to --database",
            pl=f"Adres bazy wskazuje schemat {effective or '(żaden)'}, a kopia pochodzi ze "
               f"schematu {schema}: dodaj ?options=-csearch_path%3D{schema} do --database.")
    if tables:
        engine.dispose()
        raise InputError(f"the database {make_safe(url)} is not empty (schema {schema} holds "
                         f"{tables} tables); give a new, empty database (nothing was written)",
                         pl=f"Baza {make_safe(url)} nie jest pusta (schemat {schema} ma "
                            f"{count_pl(tables, 'tabelę', 'tabele', 'tabel')}); podaj nową, "
                            "pustą bazę (niczego nie zapisano).")
    return engine, schema in existing


def make_safe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _pg_restore(dump: Path, url: str, schema_exists: bool, schema: str) -> None:
    env = pg_env(normalise_url(url).replace("+psycopg", ""))
    cmd = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
           "--single-transaction"]
    if schema_exists:  # e.g. public: its CREATE SCHEMA would fail
        listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True,
                                 text=True, env=env, check=True).stdout
        kept = [ln for ln in listing.splitlines()
                if not re.search(rf"\sSCHEMA\s+-\s+{re.escape(schema)}\s", ln + " ")]
        lst = Path("/tmp") / f"kustosz-restore-list-{secrets.token_hex(4)}"
        write_private(lst, "\n".join(kept).encode() + b"\n")
        cmd.append(f"--use-list={lst}")
    else:
        lst = None
    try:
        done = subprocess.run([*cmd, f"--dbname={env.get('PGDATABASE', '')}", str(dump)],
                              env=env, capture_output=True, text=True, check=False)
    finally:
        if lst is not None:
            lst.unlink(missing_ok=True)
    if done.returncode != 0:
        why = " ".join(done.stderr.split())[:400]
        raise BackupError(f"pg_restore failed: {why}", pl=f"pg_restore: błąd: {why}")


def check_backup(src: Path, passphrase: str,
                 progress: Progress | None = None) -> RestoreReport:
    """Everything a restore checks before it writes (`kustosz restore --check`): the
    passphrase, the manifest's HMAC, every file's size and hash, the deletion journal."""
    return restore(src, None, passphrase, progress=progress)



def restore(src: Path, data: Path | None, passphrase: str, database_url: str | None = None,
            actor: str = "system", progress: Progress | None = None,
            accept_unchained: bool = False) -> RestoreReport:
    """``data`` None: check the backup only, write nothing anywhere. ``accept_unchained``:
    restore a backup made before the deletion journal was chained (see kustosz.backup.journal),
    which is refused otherwise."""
    progress = progress or NoProgress()
    src = Path(os.path.abspath(src))
    # -- 1. everything checked, nothing written ---------------------------------------------
    if data is not None:
        data = _check_data_folder(src, data)
    opened = open_backup(src, passphrase, progress)
    if not opened.journal.chained and data is not None and not accept_unchained:
        raise unchained(src)
    if data is None:
        return _checked_only(src, opened)
    engine, schema_existed = _database_of(opened.manifest, database_url)
    # -- 2. built beside --data, moved into place whole ---------------------------------------
    _build(src, data, opened, database_url, engine, schema_existed, progress)
    # -- 3. deletions since the backup, then the checks ---------------------------------------
    return finish(src, data, opened, actor, progress)


def _check_data_folder(src: Path, data: Path) -> Path:
    """The new data folder, made absolute: outside the backup, absent or empty, writable."""
    data = Path(os.path.abspath(data))
    if data.resolve().is_relative_to(src.resolve()):
        raise InputError(f"the --data folder {data} is inside the backup {src}; give a "
                         "folder outside it (nothing was written)",
                         pl=f"Katalog --data {data} leży w katalogu kopii {src}; podaj "
                            "katalog poza nim (niczego nie zapisano).")
    check_empty_writable(data, "the --data folder", "Katalog --data")
    return data


def _checked_only(src: Path, opened: Opened) -> RestoreReport:
    """The report of `kustosz restore --check`: what the backup holds, as its manifest says."""
    manifest, where = opened.manifest, opened.where
    return RestoreReport(src, opened.backup_id, for_people(manifest["made_at"], src),
                         journal_note=opened.journal_note,
                         deletions_known=len(opened.journal.lines),
                         media_checked=len(opened.items),
                         holds_active=manifest["counts"]["holds_active"],
                         audit_entries=manifest["audit"]["entries"],
                         media_bucket=None if opened.in_backup
                         else bucket_place(where))


def _database_of(manifest: dict[str, Any],
                 database_url: str | None) -> tuple[sa.Engine | None, bool]:
    """The new, empty database of a PostgreSQL vault's backup and whether its schema exists
    already; (None, False) for a SQLite vault's, which gets its file in the new folder."""
    engine = None
    schema_existed = False
    if manifest["backend"] == "postgresql":
        if not database_url:
            raise InputError("this backup is of a PostgreSQL vault: give the new, empty "
                             "database with --database URL",
                             pl="To kopia skarbca w bazie PostgreSQL: podaj nową, pustą bazę "
                                "opcją --database ADRES.")
        engine, schema_existed = _pg_target(database_url, manifest["schema"])
    elif database_url:
        raise InputError("this backup is of a SQLite vault; --database is for PostgreSQL ones",
                         pl="To kopia skarbca w SQLite; opcja --database dotyczy tylko "
                            "PostgreSQL.")
    return engine, schema_existed


def _build(src: Path, data: Path, opened: Opened, database_url: str | None,
           engine: sa.Engine | None, schema_existed: bool, progress: Progress) -> None:
    """The vault built in a hidden folder beside ``data``, made durable and moved into place
    whole; on any failure the folder (and the restored schema) is removed."""
    manifest = opened.manifest
    pg = manifest["backend"] == "postgresql"
    staging = data.parent / f".{data.name}.restoring-{secrets.token_hex(4)}"
    private_dir(staging)
    try:
        _write_config_and_keys(src, staging, opened, database_url, pg)
        # Media go in through the restored vault's store, by key; on an object store they
        # are in its bucket already (see above), which must answer before anything moves.
        # Documents, copies and templates are files of the data folder itself.
        bucket = _bucket_of(staging)
        target = data_folder_store(staging)
        target.prepare()
        _copy_files(src, staging, target, opened, bucket, progress)
        if pg:
            _pg_restore(src / PG_DUMP, database_url or "", schema_existed, manifest["schema"])
        else:
            copy_private(src / SQLITE_DB, staging / "kustosz.db")
        # Durable before it is moved into place: the media with one flush of the store, the
        # folder's own files with one of its disk (the same disk for the local store, so
        # the second finds little left to write).
        target.sync()
        syncfs(staging)
        if data.exists():
            data.rmdir()  # checked empty above
        replace(staging, data, sync_source=False)
    except BaseException:
        remove_tree(staging)
        if pg and engine is not None:
            _drop_restored(engine, manifest["schema"], schema_existed)
        raise
    finally:
        if engine is not None:
            engine.dispose()


def _write_config_and_keys(src: Path, staging: Path, opened: Opened,
                           database_url: str | None, pg: bool) -> None:
    config = (src / CONFIG).read_text("utf-8")
    # PostgreSQL: the new database; SQLite: the file in the new folder, wherever the old
    # vault's database_url put it.
    line = f"database_url = {json.dumps(database_url or '')}"
    config, n = _DB_URL_LINE.subn(lambda _m: line, config, count=1)
    if not n and pg:
        config = f"{line}\n{config}"
    write_private(staging / CONFIG_NAME, config.encode("utf-8"))
    private_dir(staging / "keys")
    for name, body in opened.key_files.items():
        write_private(staging / "keys" / name, body)
    audit_head = opened.manifest["audit"]
    if audit_head["seq"]:
        write_private(staging / "audit.head",
                      f"{audit_head['seq']} {audit_head['hash']}\n".encode())


def _copy_files(src: Path, staging: Path, target: Storage, opened: Opened,
                bucket: S3Storage | None, progress: Progress) -> None:
    """The media held in the backup into the restored store (none when they are in the
    bucket), the documents, copies and templates into the folder."""
    manifest, items = opened.manifest, opened.items
    progress.start("odtwarzanie nagrań / restoring media", len(items),
                   sum(int(info["size"]) for _, info in items))
    for info in manifest["media"] if bucket is None else []:
        _put_media(target, src / media_name(info["key"]), info)
        progress.advance(1, int(info["size"]))
    for info in manifest["extra"]:
        dest = staging / info["path"]
        private_dir(dest.parent)
        copy_private(src / f"{FILES}/{info['path']}", dest)
        progress.advance(1, int(info["size"]))


def _bucket_of(staging: Path) -> S3Storage | None:
    """The object store the restored kustosz.toml names, checked as the vault will open it
    (its credentials, versioning and Object Lock); None for the data folder's media."""

    settings = read_config(staging).s3
    if settings is None:
        return None
    try:
        store = object_store(settings, staging)
        store.prepare()
    except KustoszError as exc:
        where = f"{settings.endpoint}/{settings.bucket}" + \
            (f"/{settings.prefix}" if settings.prefix else "")
        raise InputError(
            f"the backup's media are in the object store bucket {where}, which the restored "
            f"vault could not open: {exc} (nothing was written; put the credentials files "
            "its kustosz.toml names on this machine, or the KUSTOSZ_S3_* variables)",
            pl=f"Nagrania z kopii są w kubełku magazynu obiektów {where}, którego odtwarzany "
               f"skarbiec nie może otworzyć: {exc.pl or exc} (niczego nie zapisano; umieść na "
               "tym komputerze pliki z danymi dostępowymi wskazane w kustosz.toml albo ustaw "
               "zmienne KUSTOSZ_S3_*).") from None
    return store


def _put_media(target: Storage, path: Path, info: dict[str, Any]) -> None:
    """One backed-up media file into the restored store under its key, hashed on the way: a
    file changed since it was checked is refused like a damaged one."""
    stored = target.put(info["key"], path, durable=False)
    if (stored.size, stored.sha256) != (info["size"], info["sha256"]):
        raise damaged(path, "changed while it was being restored",
                      "zmienił się w trakcie odtwarzania")


def _drop_restored(engine: sa.Engine, schema: str, existed: bool) -> None:
    """Undo a failed pg_restore (--single-transaction leaves nothing but the schema)."""
    if existed:
        return
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except sa.exc.DBAPIError:
        log.warning("could not drop the schema %s after a failed restore", schema)
