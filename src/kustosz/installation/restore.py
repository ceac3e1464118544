"""`kustosz offices restore NAME --from BACKUP`: one office's backup as a new office.

A backup of an installation's office names its office and installation in its manifest
("installation": {"installation", "slug"}; kustosz.installation_layout.office_of). It is
restored only as a NEW office of the same slug: never over an existing office (a restore
writes nothing into a folder or schema that holds an office), never under another slug (on
PostgreSQL its dump is of schema office_<slug>, and its kustosz.toml's object-store prefix is
"<slug>/"). A backup without that key is a single office's vault's: on SQLite it may become
any new office; on PostgreSQL only one whose schema was office_<NAME> (others: restore it as
a vault, then `offices adopt` it). Every refusal is said before anything is made.

On PostgreSQL the office's role and schema are made as `offices add` makes them
(kustosz.installation.pg_scope.create), the dump restored into that schema as that role by the
ordinary restore (kustosz.backup.restore: every file checked first, the audit chain verified
after), and the new role's passfile replaces the one the backup's keys held (the old
installation's role and password). On any failure nothing of the office remains.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kustosz import office_identity
from kustosz.access import support
from kustosz.backup.layout import Progress
from kustosz.backup.restore import restore as run_restore
from kustosz.backup.restore_checks import read_manifest
from kustosz.backup.restore_finish import RestoreReport
from kustosz.config import CONFIG_NAME
from kustosz.errors import InputError
from kustosz.fsutil import replace
from kustosz.installation import pg_scope
from kustosz.installation.add import _undo, installation_of
from kustosz.installation.adopt import with_database_url
from kustosz.installation.pg_scope import PASSFILE
from kustosz.installation.registry import slugs
from kustosz.installation.slugs import check_slug
from kustosz.installation_layout import offices_folder, read
from kustosz.vault import Vault


def check_restorable(root: Path, slug: str, src: Path) -> dict[str, Any]:
    """The backup's manifest, once restoring it as the new office ``slug`` is allowed; else
    refused in words, nothing made. (The manifest is read before its HMAC is checked: the
    restore checks it, and every file, before it writes anything, so a manifest edited to
    pass this check is refused there.)"""
    installation_of(root)
    check_slug(slug)
    manifest = read_manifest(src)
    came = manifest.get("installation")
    folder = offices_folder(root) / slug
    if slug in slugs(root) or folder.exists():
        source = f"urzędu „{came['slug']}”" if came else "skarbca jednego urzędu"
        raise InputError(
            f"the installation already has an office {slug!r}: a backup is never restored "
            f"over an existing office (this is a backup of "
            f"{repr(came['slug']) if came else 'a single office vault'}); restore it as a new "
            "office or into a new installation (nothing was changed)",
            pl=f"Instalacja ma już urząd „{slug}”: kopii nigdy nie odtwarza się na istniejący "
               f"urząd (to kopia {source}); odtwórz ją jako nowy urząd albo w nowej instalacji "
               "(niczego nie zmieniono).")
    if came and came["slug"] != slug:
        raise InputError(
            f"this is a backup of office {came['slug']!r} of the installation "
            f"{came['installation']!r}, not of {slug!r}: an office's backup is restored only "
            f"under its own name (`offices restore {came['slug']}`; nothing was changed)",
            pl=f"To kopia urzędu „{came['slug']}” instalacji „{came['installation']}”, nie "
               f"urzędu „{slug}”: kopię urzędu odtwarza się tylko pod jego własną nazwą "
               f"(`offices restore {came['slug']}`; niczego nie zmieniono).")
    _check_database(root, slug, manifest)
    return manifest


def _check_database(root: Path, slug: str, manifest: dict[str, Any]) -> None:
    pg_installation = bool(read(root).installation.database_url)
    pg_backup = manifest["backend"] == "postgresql"
    if pg_installation != pg_backup:
        kinds = {True: ("PostgreSQL", "PostgreSQL"), False: ("SQLite", "SQLite")}
        raise InputError(
            f"the backup is of a {kinds[pg_backup][0]} vault and the installation keeps its "
            f"offices in {kinds[pg_installation][0]} (nothing was changed)",
            pl=f"Kopia pochodzi ze skarbca w {kinds[pg_backup][1]}, a instalacja trzyma urzędy "
               f"w {kinds[pg_installation][1]} (niczego nie zmieniono).")
    if pg_backup and manifest["schema"] != pg_scope.schema_name(slug):
        raise InputError(
            f"the backup is of schema {manifest['schema']}, an office {slug!r} has "
            f"{pg_scope.schema_name(slug)}: restore it as a vault (`kustosz restore`) and "
            "adopt that (`offices adopt`) (nothing was changed)",
            pl=f"Kopia pochodzi ze schematu {manifest['schema']}, a urząd „{slug}” ma schemat "
               f"{pg_scope.schema_name(slug)}: odtwórz ją jako skarbiec (`kustosz restore`) i "
               "przyjmij go (`offices adopt`) (niczego nie zmieniono).")


def restore_office(root: Path, slug: str, src: Path, passphrase: str, actor: str,
                   progress: Progress | None = None,
                   accept_unchained: bool = False) -> RestoreReport:
    """The backup ``src`` restored as the new office ``slug`` of the installation ``root``."""
    src = Path(os.path.abspath(src))
    check_restorable(root, slug, src)
    folder = offices_folder(root) / slug
    url = read(root).installation.database_url
    made: pg_scope.Made | None = None
    # The new role's passfile waits beside the office's folder: the restore wants that folder
    # empty, and writes into keys/ the backup's (the old role's) pgpass.
    waiting = offices_folder(root).absolute() / f".{slug}.{PASSFILE}.restore"
    try:
        office_url = None
        if url:
            made = pg_scope.create(url, slug, waiting)
            office_url = pg_scope.office_url(url, slug, waiting)
        report = run_restore(src, folder, passphrase, office_url, actor=actor,
                             progress=progress, accept_unchained=accept_unchained)
        if made is not None:
            final = folder.absolute() / "keys" / PASSFILE
            replace(waiting, final)
            config = folder / CONFIG_NAME
            text = with_database_url(config.read_text("utf-8"),
                                     pg_scope.office_url(url, slug, final))
            tmp = config.with_name(config.name + ".new")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            replace(tmp, config)
        _end_grants(folder, actor)
        return report
    except BaseException:
        _undo(folder, made)
        raise
    finally:
        waiting.unlink(missing_ok=True)


def _end_grants(folder: Path, actor: str) -> None:
    """The support grants the backup holds end now: one revoked since the backup was made
    must not come back with it (kustosz.access.support)."""
    vault = Vault.open(folder, actor=actor)
    try:
        with vault.transaction() as s:
            office_identity.learn(s, vault.root)  # this installation's office now
            support.end_all(s, actor)
    finally:
        vault.close()
