"""The vault's secrets key at opening: found (and checked against the fingerprint the
database remembers), or made for a vault that never had one; then any password still in
clear — written before migration 0009, which cannot reach the key — is sealed.

Every check runs before anything is written: a missing, unreadable or foreign key stops the
opening with a clear error and leaves the vault as it was.
"""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kustosz.atrest.sealing import (
    IMAP_PASSWORD,
    KEY_FILE,
    RTSP_PASSWORD,
    SecretBox,
    is_sealed,
    key_path,
    make_key,
)
from kustosz.audit import append as audit
from kustosz.db.cameras import Camera
from kustosz.db.models import Setting, Source
from kustosz.db.settings import put_setting
from kustosz.errors import ConfigError
from kustosz.kinds import SourceKind
from kustosz.vault_handle import VaultHandle

log = logging.getLogger(__name__)
FINGERPRINT = "secrets_key_fingerprint"


def open_secrets(vault: VaultHandle, box: SecretBox | None, actor: str,
                 forget_lost_key: bool = False) -> SecretBox:
    """``box``: the key file as `read_key` found it before the database was migrated.
    ``forget_lost_key``: a key that is gone for good is replaced, and the passwords sealed
    with it are forgotten (they must be given again); refused while a key file exists."""
    with vault.reading() as s:
        known = s.get(Setting, FINGERPRINT)
        expected = known.value if known is not None else None
        unsealed = _clear_values(s)
    if forget_lost_key:
        if box is not None:
            raise ConfigError(f"{key_path(vault.root)} exists; only a key that is lost for "
                              "good is replaced (nothing was changed)",
                              pl=f"{key_path(vault.root)} już istnieje; zastępuje się tylko klucz "
                                 "utracony bezpowrotnie (niczego nie zmieniono).")
        return _replace_lost_key(vault, actor)
    if box is None:
        if expected is not None:
            raise ConfigError(
                f"the vault's secrets key {key_path(vault.root)} is missing (the vault's "
                f"passwords were sealed with {expected}): restore keys/{KEY_FILE} from the "
                "backup; if it is lost for good, `kustosz secrets forget-lost-key` makes a "
                "new one and forgets the cameras' and mailboxes' passwords; nothing was "
                "changed",
                pl=f"Brak klucza haseł skarbca {key_path(vault.root)} (hasła skarbca zaszyfrowano "
                   f"kluczem {expected}): odtwórz keys/{KEY_FILE} z kopii zapasowej; jeśli klucz "
                   "utracono bezpowrotnie, polecenie `kustosz secrets forget-lost-key` utworzy "
                   "nowy i usunie zapisane hasła kamer i skrzynek pocztowych; niczego nie "
                   "zmieniono.")
        box = make_key(vault.root)
    elif expected is not None and box.fingerprint != expected:
        raise ConfigError(
            f"{key_path(vault.root)} is not this vault's secrets key (it is {box.fingerprint}, "
            f"the vault's passwords were sealed with {expected}): restore the right "
            "file from the backup; nothing was changed",
            pl=f"{key_path(vault.root)} nie jest kluczem haseł tego skarbca (to klucz "
               f"{box.fingerprint}, a hasła skarbca zaszyfrowano kluczem {expected}): odtwórz "
               "właściwy plik z kopii zapasowej; niczego nie zmieniono.")
    if expected is None or unsealed:
        with vault.transaction() as s:
            put_setting(s, FINGERPRINT, box.fingerprint)
            sealed = seal_clear_values(s, box)
            if any(sealed.values()):
                audit(s, actor, "secrets.sealed", "passwords at rest", sealed)
        if any(sealed.values()):
            scrub(vault.engine)
    return box


def _replace_lost_key(vault: VaultHandle, actor: str) -> SecretBox:
    """A new key, and every password sealed with the lost one forgotten, in one transaction
    with its audit entry (the key file is written before the commit: a failure leaves the
    old state)."""
    with vault.transaction() as s:
        cameras = []
        rows = s.execute(select(Camera, Source).join(Source, Source.id == Camera.source_id)
                         .where(Camera.rtsp_password.is_not(None))).all()
        for camera, source in rows:
            camera.rtsp_password = None
            cameras.append(source.name)
        mailboxes = []
        for source in _mailboxes(s):
            if (source.settings or {}).get("imap_password"):
                source.settings = {**source.settings, "imap_password": ""}
                mailboxes.append(source.name)
        forgotten = {"cameras": sorted(cameras), "mailboxes": sorted(mailboxes)}
        audit(s, actor, "secrets.key_replaced", "passwords at rest", {"forgotten": forgotten})
        box = make_key(vault.root)
        put_setting(s, FINGERPRINT, box.fingerprint)
    log.warning("a new secrets key was made; the passwords of these sources must be given "
                "again: %s", forgotten)
    return box


def scrub(engine: Engine) -> None:
    """Rewrite the storage that held the clear passwords, so no old copy of them stays in
    the database's files (SQLite: its free pages and WAL; PostgreSQL: dead row versions).
    Once per vault, when passwords from before 0009 are sealed; best effort: a database in
    use elsewhere keeps its old pages until its next compaction, and that is logged."""
    log.warning("passwords stored in clear were sealed; compacting the database so that no "
                "old copy of them remains (once; may take a while on a large index)")
    try:
        if engine.dialect.name == "sqlite":
            # The raw connection: the engine's "begin" hook would open a transaction, and
            # VACUUM cannot run inside one.
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("VACUUM")
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cur.close()
            finally:
                raw.close()
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM FULL cameras, sources")
    except (DBAPIError, sqlite3.Error) as exc:
        log.warning("the database could not be compacted (%s): old copies of the passwords "
                    "may remain in its files until it is; change those passwords",
                    exc)


def _clear_values(s: Session) -> bool:
    if s.execute(select(Camera.id).where(Camera.rtsp_password.is_not(None),
                                         Camera.rtsp_password.not_like("kustosz-sealed:%"))
                 ).first():
        return True
    return any(_clear_imap(source) for source in _mailboxes(s))


def _mailboxes(s: Session) -> list[Source]:
    return list(s.execute(select(Source).where(Source.kind == SourceKind.MAILBOX)).scalars())


def _clear_imap(source: Source) -> bool:
    value = (source.settings or {}).get("imap_password")
    return bool(value) and not is_sealed(value)


def seal_clear_values(s: Session, box: SecretBox) -> dict[str, list[str]]:
    """Seal every password still in clear; the names of the sources whose were sealed."""
    cameras = []
    rows = s.execute(select(Camera, Source).join(Source, Source.id == Camera.source_id)
                     .where(Camera.rtsp_password.is_not(None))).all()
    for camera, source in rows:
        if not is_sealed(camera.rtsp_password):
            camera.rtsp_password = box.seal(camera.rtsp_password, RTSP_PASSWORD)
            cameras.append(source.name)
    mailboxes = []
    for source in _mailboxes(s):
        if _clear_imap(source):
            settings = dict(source.settings)
            settings["imap_password"] = box.seal(settings["imap_password"], IMAP_PASSWORD)
            source.settings = settings
            mailboxes.append(source.name)
    return {"cameras": sorted(cameras), "mailboxes": sorted(mailboxes)}
