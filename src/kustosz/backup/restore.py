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
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import subprocess
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, func, insert, select

from kustosz.audit import append as audit
from kustosz.audit import identity
from kustosz.audit.verifier import check
from kustosz.audit.witness import checkpoint, public_key_of
from kustosz.backup import journal
from kustosz.backup import state as backup_state
from kustosz.backup.crypto import mac_ok, open_keys, sha256_file
from kustosz.backup.layout import (
    CONFIG,
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
    media_name,
    private_dir,
    remove_tree,
    write_private,
)
from kustosz.backup.snapshot import BackupError, pg_env
from kustosz.config import CONFIG_NAME, read_config
from kustosz.db.engine import normalise_url
from kustosz.db.models import Deletion, Hold, Recording, Setting, Sweep
from kustosz.errors import InputError, KustoszError
from kustosz.fsutil import replace, syncfs, write_atomic
from kustosz.keys import KEY_FILE as OFFICE_KEY
from kustosz.policy import load_policy
from kustosz.states import RecordingState
from kustosz.storage import Storage, data_folder_store
from kustosz.storage.base import delete_content
from kustosz.storage.s3 import S3Storage, object_store
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)
_DB_URL_LINE = re.compile(r'^database_url\s*=.*$', re.MULTILINE)


@dataclass
class RestoreReport:
    data: Path
    backup_id: str
    made_at: str
    deletions_applied: int = 0
    deletions_known: int = 0
    audit_entries: int = 0
    audit_problems: list[str] = field(default_factory=list)
    witness_note: str | None = None
    media_checked: int = 0
    media_problems: list[str] = field(default_factory=list)
    holds_active: int = 0
    media_bucket: str | None = None  # the media are in this bucket, not in the backup
    journal_note: tuple[str, str] | None = None  # (Polish, English): what the journal proves

    @property
    def ok(self) -> bool:
        return not self.audit_problems and not self.media_problems


def _damaged(path: Path, why_en: str, why_pl: str) -> InputError:
    return InputError(f"the backup is damaged: {path} {why_en} (nothing was written)",
                      pl=f"Kopia jest uszkodzona: {path} {why_pl} (niczego nie zapisano).")


def _check_file(path: Path, sha: str, size: int) -> None:
    try:
        got_sha, got_size = sha256_file(path)
    except FileNotFoundError:
        raise _damaged(path, "is missing", "— brak pliku") from None
    except OSError as exc:
        raise _damaged(path, f"cannot be read ({exc.strerror})",
                       f"— nie można odczytać ({exc.strerror})") from None
    if got_size != size:
        raise _damaged(path, f"has {got_size} bytes where the manifest says {size}",
                       f"ma {got_size} B, a według spisu powinien mieć {size} B")
    if got_sha != sha:
        raise _damaged(path, "differs from the manifest (SHA-256)",
                       "różni się od spisu (SHA-256)")


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError
    except FileNotFoundError:
        raise InputError(f"{src} is not a finished Kustosz backup: {MANIFEST} is missing "
                         "(nothing was written)",
                         pl=f"{src} nie jest ukończoną kopią Kustosza: brak pliku {MANIFEST} "
                            "(niczego nie zapisano).") from None
    except (OSError, ValueError, UnicodeError):
        raise _damaged(path, "is not a Kustosz backup manifest",
                       "nie jest spisem kopii Kustosza") from None
    return manifest


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
        data = Path(os.path.abspath(data))
        if data.resolve().is_relative_to(src.resolve()):
            raise InputError(f"the --data folder {data} is inside the backup {src}; give a "
                             "folder outside it (nothing was written)",
                             pl=f"Katalog --data {data} leży w katalogu kopii {src}; podaj "
                                "katalog poza nim (niczego nie zapisano).")
        check_empty_writable(data, "the --data folder", "Katalog --data")
    manifest = read_manifest(src)
    backup_id = manifest["id"]
    try:
        sealed = (src / KEYS).read_bytes()
    except FileNotFoundError:
        raise _damaged(src / KEYS, "is missing", "— brak pliku") from None
    key_files, keys = open_keys(sealed, passphrase, backup_id, src / KEYS)
    try:
        mac = (src / MAC).read_text("ascii")
    except (OSError, UnicodeError):
        raise _damaged(src / MAC, "is missing or unreadable", "— brak pliku albo nieczytelny") \
            from None
    if not mac_ok((src / MANIFEST).read_bytes(), mac, keys):
        raise _damaged(src / MANIFEST, "was changed after the backup was made (its HMAC does "
                       "not match)", "zmieniono po wykonaniu kopii (HMAC się nie zgadza)")
    for name, info in sorted(manifest["files"].items()):
        _check_file(src / name, info["sha256"], info["size"])
    where = manifest.get("media_in", "backup")
    in_backup = where == "backup"
    items = [(media_name(m["key"]), m) for m in manifest["media"] if in_backup] + \
            [(f"{FILES}/{m['path']}", m) for m in manifest["extra"]]
    progress.start("sprawdzanie kopii / checking the backup", len(items),
                   sum(int(info["size"]) for _, info in items))
    for rel, info in items:
        _check_file(src / rel, info["sha256"], info["size"])
        progress.advance(1, int(info["size"]))
    public = _office_public(key_files, src)
    checked = journal.read(src, backup_id, public, manifest)
    deletions = checked.lines
    journal_note = _journal_note(checked, src)
    if not checked.chained and data is not None and not accept_unchained:
        raise InputError(
            f"the backup {src} was made by an earlier Kustosz: its deletion journal is not "
            "chained, so a journal with lines removed cannot be told from a whole one, and "
            "material deleted after the backup could come back. If this is the backup you "
            "mean to restore, give --accept-unchained-journal and compare the deletions "
            "applied with the old vault's records (nothing was written)",
            pl=f"Kopię {src} wykonała wcześniejsza wersja Kustosza: jej dziennik usunięć nie "
               "jest łańcuchem, więc dziennika z usuniętymi wierszami nie da się odróżnić od "
               "całego, a materiał usunięty po kopii mógłby wrócić. Jeśli to właśnie tę "
               "kopię chcesz odtworzyć, dodaj --accept-unchained-journal i porównaj "
               "zastosowane usunięcia z zapisami starego skarbca (niczego nie zapisano).")
    if data is None:
        return RestoreReport(src, backup_id, _for_people(manifest["made_at"], src),
                             journal_note=journal_note,
                             deletions_known=len(deletions), media_checked=len(items),
                             holds_active=manifest["counts"]["holds_active"],
                             audit_entries=manifest["audit"]["entries"],
                             media_bucket=None if in_backup
                             else f"{where['endpoint']}/{where['bucket']}")
    pg = manifest["backend"] == "postgresql"
    engine = None
    schema_existed = False
    if pg:
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

    # -- 2. built beside --data, moved into place whole ---------------------------------------
    staging = data.parent / f".{data.name}.restoring-{secrets.token_hex(4)}"
    private_dir(staging)
    try:
        config = (src / CONFIG).read_text("utf-8")
        # PostgreSQL: the new database; SQLite: the file in the new folder, wherever the old
        # vault's database_url put it.
        line = f"database_url = {json.dumps(database_url or '')}"
        config, n = _DB_URL_LINE.subn(lambda _m: line, config, count=1)
        if not n and pg:
            config = f"{line}\n{config}"
        write_private(staging / CONFIG_NAME, config.encode("utf-8"))
        private_dir(staging / "keys")
        for name, body in key_files.items():
            write_private(staging / "keys" / name, body)
        audit_head = manifest["audit"]
        if audit_head["seq"]:
            write_private(staging / "audit.head",
                          f"{audit_head['seq']} {audit_head['hash']}\n".encode())
        # Media go in through the restored vault's store, by key; on an object store they
        # are in its bucket already (see above), which must answer before anything moves.
        # Documents, copies and templates are files of the data folder itself.
        bucket = _bucket_of(staging)
        target = data_folder_store(staging)
        target.prepare()
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

    # -- 3. deletions since the backup, then the checks ---------------------------------------
    report = RestoreReport(data, backup_id, manifest["made_at"],
                           deletions_known=len(deletions), journal_note=journal_note)
    vault = Vault.open(data, actor=actor)
    try:
        made = datetime.fromisoformat(manifest["made_at"]).astimezone(
            vault.policy.timezone).replace(microsecond=0)
        report.made_at = f"{made:%Y-%m-%d %H:%M:%S} {made.isoformat()[19:]}"  # for people
        report.witness_note = _check_witness(vault, manifest, report)
        if vault.config.audit.witness is not None:
            vault = _new_witness(vault, data, report, actor)
        report.deletions_applied = _apply_deletions(vault, deletions, backup_id, actor,
                                                    report)
        with vault.transaction() as s:
            # The old vault's backups are not this one's: their deletion journals must not
            # get this vault's deletions, and its backup age starts afresh (doctor, alerts).
            s.execute(delete(Setting).where(Setting.key == backup_state.KEY))
            audit(s, actor, "backup.restored", str(data), {
                "backup": backup_id, "made_at": manifest["made_at"], "from": str(src),
                "deletions_applied": report.deletions_applied})
        if vault.config.audit.witness is not None:
            outcome = checkpoint(vault, actor, force=True)  # the new witness: whole history
            if outcome.problem:
                report.audit_problems.append(f"witness: {outcome.problem}")
        _verify_audit(vault, report)
        _verify_media(vault, report, progress)
        with vault.reading() as s:
            report.holds_active = s.execute(select(func.count()).select_from(Hold).where(
                Hold.released_at.is_(None))).scalar() or 0
    finally:
        vault.close()
    return report


_WITNESS_LINE = re.compile(r'^(\s*witness\s*=\s*)(".*?"|\'.*?\')\s*$', re.MULTILINE)


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
        where = f"{settings.endpoint}/{settings.bucket}"
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
        raise _damaged(path, "changed while it was being restored",
                       "zmienił się w trakcie odtwarzania")


def _new_witness(vault: Vault, data: Path, report: RestoreReport, actor: str) -> Vault:
    """Point the restored vault at a new witness file beside the old one.

    The restored log goes on from the backup's last entry: its next checkpoints would carry
    numbers the old witness already holds for entries of the old vault (lost with it), and
    appended there they would make both lines of history unverifiable. The new file is
    filled with the whole history at the restore's checkpoint (lines up to the backup are
    the very ones the old witness holds); the old one stays as the record of the old vault.
    """
    old = vault.config.audit.witness
    assert old is not None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    new = old.with_name(f"{old.stem}.restored-{stamp}{old.suffix or '.jsonl'}")
    n = 1
    while new.exists():  # another restore of the same moment: never share a witness
        n += 1
        new = old.with_name(f"{old.stem}.restored-{stamp}-{n}{old.suffix or '.jsonl'}")
    path = data / CONFIG_NAME
    text = path.read_text("utf-8")
    changed, n = _WITNESS_LINE.subn(lambda m: f"{m.group(1)}{json.dumps(str(new))}", text,
                                    count=1)
    if not n:
        report.audit_problems.append(f"witness: {old} could not be replaced in {path}; set "
                                     "[audit] witness to a new file by hand")
        return vault
    write_atomic(path, changed.encode("utf-8"))
    vault.close()
    note = f"the restored vault's checkpoints now go to a new witness file {new}; the old " \
           f"one {old} stays as the record of the old vault"

    if identity.find() is not None:  # pinned by root for the old vault: verify fails until
        note += (f"; pin the new witness as root: kustosz --data {data} audit pin-witness "
                 f"(the identity {identity.DEFAULT_PATH} names the old one)")
    report.witness_note = f"{report.witness_note}; {note}" if report.witness_note else note
    return Vault.open(data, actor=actor)


def _journal_note(checked: journal.Checked, src: Path) -> tuple[str, str]:
    """What the deletion journal proves, for the administrator (Polish, English)."""
    if not checked.chained:
        return ("UWAGA: kopia z wcześniejszej wersji Kustosza — jej dziennik usunięć nie jest "
                "łańcuchem, więc nie da się wykryć usuniętych z niego wierszy; materiał "
                "usunięty po kopii mógł wrócić. Porównaj zastosowane usunięcia z zapisami "
                "starego skarbca.",
                "WARNING: a backup made by an earlier Kustosz — its deletion journal is not "
                "chained, so lines removed from it cannot be detected; material deleted after "
                "the backup may have come back. Compare the deletions applied with the old "
                "vault's records.")
    if checked.confirmed_at is None:
        return ("dziennik usunięć jest cały", "the deletion journal is whole")
    when = _for_people(checked.confirmed_at, src)
    return (f"dziennik usunięć jest cały; stary skarbiec potwierdził go ostatnio {when} — "
            "usunięcia z późniejszego czasu w nim nie figurują",
            f"the deletion journal is whole; the old vault last confirmed it at {when} — "
            "deletions after that time are not in it")


def _for_people(at: str, src: Path) -> str:
    """The backup's time in the office's zone (its policy, from the backed-up kustosz.toml)."""

    when = datetime.fromisoformat(at).replace(microsecond=0)
    try:
        cfg = tomllib.loads((src / CONFIG).read_text("utf-8"))
        when = when.astimezone(load_policy(cfg.get("preset"), cfg.get("policy", {})).timezone)
    except Exception:  # shown in UTC then; the check itself does not depend on it
        return f"{when:%Y-%m-%d %H:%M:%S} UTC"
    return f"{when:%Y-%m-%d %H:%M:%S} {when.isoformat()[19:]}"


def _office_public(key_files: dict[str, bytes], src: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_private_key(key_files[OFFICE_KEY], password=None)
    except (KeyError, ValueError):
        raise _damaged(src / KEYS, "holds no office key", "nie zawiera klucza urzędu") \
            from None
    public = key.public_key()
    assert isinstance(public, Ed25519PublicKey)
    return public


def _drop_restored(engine: sa.Engine, schema: str, existed: bool) -> None:
    """Undo a failed pg_restore (--single-transaction leaves nothing but the schema)."""
    if existed:
        return
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except sa.exc.DBAPIError:
        log.warning("could not drop the schema %s after a failed restore", schema)


def _apply_deletions(vault: Vault, lines: list[dict[str, Any]], backup_id: str,
                     actor: str, report: RestoreReport | None = None) -> int:
    """Delete, in the restored vault, what the old one deleted after the backup; recorded
    as a sweep of mode "restore" with the original rule and time of each deletion."""
    if not lines:
        return 0
    wanted = {int(d["recording_id"]): d for d in lines}
    now = datetime.now(UTC)
    with vault.transaction() as s:
        present = {r.id: r for r in s.execute(select(Recording).where(
            Recording.id.in_(list(wanted)))).scalars()}
        if not present:
            return 0
        sweep = Sweep(started_at=now, as_of=now, mode="restore", finished_at=now,
                      deleted=len(present))
        s.add(sweep)
        s.flush()
        keys = []
        versions = []
        digest = hashlib.sha256()
        for rid in sorted(present):
            rec, d = present[rid], wanted[rid]
            keys.append(rec.storage_key)
            versions.append((rec.storage_key, rec.version_id))
            s.execute(insert(Deletion).values(
                sweep_id=sweep.id, recording_id=rid, source_id=rec.source_id,
                start_at=rec.start_at, end_at=rec.end_at, size=rec.size, sha256=rec.sha256,
                rule=f"{d['rule']} (applied by the restore of backup {backup_id})"[:200],
                deleted_at=datetime.fromisoformat(d["deleted_at"]).astimezone(UTC)))
            digest.update(f"{rid}:{rec.sha256}\n".encode())
        s.execute(delete(Recording).where(Recording.id.in_(list(present))))
        audit(s, actor, "sweep.restore", f"sweep {sweep.id}", {
            "backup": backup_id, "deleted": len(present), "deletions_sha256": digest.hexdigest()})
    if vault.config.s3 is None:
        vault.storage.delete_many(keys)
    else:
        _deleted_in_bucket(vault, versions, report)
    return len(present)


def _deleted_in_bucket(vault: Vault, versions: list[tuple[str, str | None]],
                       report: RestoreReport | None) -> None:
    """The old vault's sweep deleted these versions from the same bucket; one still there is
    deleted with the sweep's credentials, never the application's (the lock exists to keep
    those from deleting), or named as a problem."""

    left = []
    for key, version in versions:
        try:
            vault.storage.stat(key, version=version)
        except FileNotFoundError:
            continue  # deleted by the old vault's sweep, as the journal says
        left.append((key, version))
    if not left:
        return
    try:
        store = vault.deleting_storage()
        for key, version in left:
            delete_content(store, key, version)
    except KustoszError as exc:
        log.error("deletions after the backup not applied in the bucket: %s", exc)
        if report is not None:
            report.media_problems += [
                f"media/{key} (version {version}): deleted by the old vault after the backup "
                f"but still in the bucket; the sweep's credentials could not delete it ({exc})"
                for key, version in left]


def _check_witness(vault: Vault, manifest: dict[str, Any], report: RestoreReport) -> str | None:
    """Before anything is appended: the restored log against the witness, if the vault has
    one. Checkpoints made after the backup cannot match (those entries were lost with the old
    vault); everything up to the backup must."""

    path = vault.config.audit.witness
    if path is None or not path.exists():
        return None
    last = manifest["audit"]["seq"]
    with vault.reading() as s:
        try:
            checked = check(s, vault.head_file, path, public_key_of(vault.root))
        except InputError as exc:
            return f"witness {path} not checked: {exc}"
    later = [p for p in checked.problems if p.seq > last and "cut off" in p.problem]
    report.audit_problems.extend(str(p) for p in checked.problems if p not in later)
    if later:
        return (f"the witness {path} holds checkpoints made after the backup (entries after "
                f"no. {last} were lost with the old vault); give the restored vault a new "
                "witness file ([audit] witness) and keep the old one as the record")
    return None


def _verify_audit(vault: Vault, report: RestoreReport) -> None:
    witness = vault.config.audit.witness
    with vault.reading() as s:
        try:
            checked = check(s, vault.head_file, witness, public_key_of(vault.root))
        except InputError as exc:  # the new witness could not be written (said above)
            report.audit_problems.append(f"witness: {exc}")
            checked = check(s, vault.head_file, None, public_key_of(vault.root))
    report.audit_entries = checked.entries
    report.audit_problems.extend(str(p) for p in checked.problems
                                 if witness is not None or p.where != "witness")


def _verify_media(vault: Vault, report: RestoreReport, progress: Progress) -> None:
    with vault.reading() as s:
        rows = list(s.execute(select(Recording.id, Recording.storage_key, Recording.size,
                                     Recording.sha256, Recording.version_id)
                              .where(Recording.state == RecordingState.STORED)))
    progress.start("kontrola skrótów / hash check", len(rows), sum(int(r[2] or 0) for r in rows))
    for _rid, key, size, sha, version in rows:
        try:
            stored = vault.storage.checksum(key, version=version)
            got_sha, got_size = stored.sha256, stored.size
        except FileNotFoundError:
            report.media_problems.append(f"media/{key}: missing")
        else:
            if got_size != size or (sha is not None and got_sha != sha):
                report.media_problems.append(f"media/{key}: differs from the index")
        report.media_checked += 1
        progress.advance(1, int(size or 0))
