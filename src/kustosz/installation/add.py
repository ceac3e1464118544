"""`kustosz offices add`: a new office (a vault) in an installation, all or nothing."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from kustosz import office_identity
from kustosz.errors import InputError
from kustosz.installation import pg_scope
from kustosz.installation.pg_scope import PASSFILE
from kustosz.installation.registry import slugs
from kustosz.installation.slugs import check_slug
from kustosz.installation_layout import (
    INSTALLATION_NAME,
    is_installation,
    offices_folder,
    read,
    storage_lines,
)
from kustosz.vault import Vault

log = logging.getLogger(__name__)


def installation_of(root: Path) -> None:
    """Refused unless ``root`` is an installation."""
    if not is_installation(root):
        raise InputError(
            f"{root} is not an installation (no {INSTALLATION_NAME}): make one with "
            "`kustosz --data FOLDER offices init --name NAME`",
            pl=f"{root} nie jest instalacją wielu urzędów (brak {INSTALLATION_NAME}): utwórz "
               "ją poleceniem `kustosz --data FOLDER offices init --name NAZWA`.")


def check_new(root: Path, slug: str) -> Path:
    """The new office's folder, once the name is valid and free; nothing is made."""
    installation_of(root)
    check_slug(slug)
    folder = offices_folder(root) / slug
    if slug in slugs(root) or folder.exists():
        raise InputError(
            f"the installation already has an office {slug!r} ({folder} exists); "
            "choose another name",
            pl=f"Instalacja ma już urząd „{slug}” (istnieje {folder}); wybierz inną nazwę.")
    return folder


def add_office(root: Path, slug: str, preset_text: str, actor: str) -> Vault:
    """The office ``slug``: its folder, its database scope, its vault made as `kustosz init
    --preset-file` makes one (``preset_text``: the preset file, already checked). On any
    refusal or failure nothing of it remains: neither the folder nor its schema and role."""
    folder = check_new(root, slug)
    installation = read(root)
    url = installation.installation.database_url
    storage = storage_lines(installation.storage, slug)
    offices_folder(root).mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700)  # not exist_ok: two at once, the second is refused here
    made: pg_scope.Made | None = None
    try:
        office_url = ""
        if url:
            passfile = folder.absolute() / "keys" / PASSFILE
            made = pg_scope.create(url, slug, passfile)
            office_url = pg_scope.office_url(url, slug, passfile)
        vault = Vault.init(folder, None, office_url, actor=actor, preset_file=preset_text,
                           storage_toml=storage)
        try:
            office_identity.settle(vault)  # the office by any name (kustosz.office_identity)
        except BaseException:
            vault.close()
            raise
        return vault
    except BaseException:
        _undo(folder, made)
        raise


def _undo(folder: Path, made: pg_scope.Made | None) -> None:
    if made is not None:
        try:
            pg_scope.drop(made)
        except Exception as exc:  # the refusal itself is what the caller must hear
            log.error("the office's schema and role %s could not be dropped: %s",
                      pg_scope.schema_name(made.slug), exc)
    shutil.rmtree(folder, ignore_errors=True)
