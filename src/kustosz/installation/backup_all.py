"""One backup of a whole installation (issue 67 item 4): `kustosz offices backup --to DIR`
and `kustosz offices restore-all --from DIR` into a new installation.

    DIR/
      kustosz-installation.json   the list: installation, offices, each office backup's
                                  manifest digest; an HMAC of it under the passphrase
      installation.toml           as it was (it holds no secret)
      <slug>/                     each office's ordinary backup (kustosz.backup), its manifest
                                  naming its office: `offices restore SLUG --from DIR/<slug>`
                                  restores that office alone

The list is authenticated because the restore of the whole trusts it for *which* offices there
are: an office's backup dropped from the folder and from the list would otherwise be restored
as an installation without that office, with nothing said. Each office's backup is checked by
its own manifest and HMAC, as any backup; the list binds each manifest by its SHA-256, so one
office's backup swapped for an older one is refused too.

An office whose backup fails does not stop the others; the list names it as failed and the
whole is refused for `restore-all` (each office backed up can still be restored alone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kustosz.backup.crypto import b64, derive
from kustosz.backup.layout import MANIFEST, check_empty_writable, private_dir, write_private
from kustosz.errors import InputError, KustoszError
from kustosz.installation import pg_scope
from kustosz.installation.registry import slugs
from kustosz.installation_layout import (
    INSTALLATION_NAME,
    InstallationToml,
    is_installation,
    offices_folder,
    read,
    write_new,
)

LIST = "kustosz-installation.json"
FORMAT = "kustosz-installation-backup/1"


@dataclass
class WholeBackup:
    folder: Path
    made: list[str] = field(default_factory=list)  # the offices backed up
    failed: dict[str, str] = field(default_factory=dict)  # slug -> why


def _mac(body: dict[str, Any], passphrase: str, salt: bytes) -> str:
    data = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hmac.new(derive(passphrase, salt).mac, data, hashlib.sha256).hexdigest()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


OfficeBackup = Callable[[str, Path, Path | None], None]


def backup_installation(root: Path, dest: Path, passphrase: str, backup_office: OfficeBackup,
                        base: Path | None = None) -> WholeBackup:
    """Every office of ``root`` backed up into ``dest``/<slug> by ``backup_office(slug, to,
    base)`` (the CLI's: it opens the office's vault and shows progress), then the list."""
    if not is_installation(root):
        raise InputError(f"{root} is not an installation (no {INSTALLATION_NAME}): back a "
                         "single office's vault up with `kustosz backup`",
                         pl=f"{root} nie jest instalacją wielu urzędów (brak "
                            f"{INSTALLATION_NAME}): kopię skarbca jednego urzędu robi "
                            "`kustosz backup`.")
    installation = read(root)
    names = slugs(root)
    if not names:
        raise InputError(f"the installation {root} has no offices to back up",
                         pl=f"Instalacja {root} nie ma urzędów, których kopię można zrobić.")
    check_empty_writable(dest, "backup folder", "Katalog kopii")
    dest = Path(os.path.abspath(dest))
    private_dir(dest)
    done = WholeBackup(dest)
    offices = []
    for slug in names:
        earlier = base / slug if base is not None and (base / slug / MANIFEST).is_file() else None
        try:
            backup_office(slug, dest / slug, earlier)
        except KustoszError as exc:  # that office's trouble; the others are still backed up
            done.failed[slug] = str(exc)[:300]
            continue
        done.made.append(slug)
        offices.append({"slug": slug, "manifest_sha256": _digest(dest / slug / MANIFEST)})
    shutil.copyfile(root / INSTALLATION_NAME, dest / INSTALLATION_NAME)
    os.chmod(dest / INSTALLATION_NAME, 0o600)
    salt = os.urandom(16)
    body = {"format": FORMAT, "installation": installation.installation.name,
            "made_at": datetime.now(UTC).isoformat(), "offices": offices,
            "failed": sorted(done.failed),
            "database": "postgresql" if installation.installation.database_url else "sqlite",
            "installation_toml_sha256": _digest(dest / INSTALLATION_NAME)}
    whole = {**body, "salt": b64(salt), "mac": _mac(body, passphrase, salt)}
    write_private(dest / LIST, json.dumps(whole, ensure_ascii=False, indent=1).encode("utf-8"))
    return done


def _damaged(src: Path, why_en: str, why_pl: str) -> InputError:
    return InputError(f"{src / LIST}: {why_en}; the whole installation cannot be restored from "
                      "it (nothing was written)",
                      pl=f"{src / LIST}: {why_pl}; nie da się z niej odtworzyć całej instalacji "
                         "(niczego nie zapisano).")


def check_whole(src: Path, passphrase: str) -> dict[str, Any]:
    """The list of a whole backup, once its HMAC, its installation.toml and every office's
    manifest digest hold; refused in words otherwise."""
    try:
        whole = json.loads((src / LIST).read_text("utf-8"))
        if whole.get("format") != FORMAT:
            raise ValueError
        salt = base64.b64decode(whole["salt"])
        body = {k: v for k, v in whole.items() if k not in ("salt", "mac")}
    except FileNotFoundError:
        raise InputError(f"{src} is not a backup of a whole installation (no {LIST}); one "
                         "office's backup is restored with `offices restore`",
                         pl=f"{src} nie jest kopią całej instalacji (brak {LIST}); kopię "
                            "jednego urzędu odtwarza `offices restore`.") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise _damaged(src, "not a list of an installation's backup",
                       "to nie jest spis kopii instalacji") from None
    if not hmac.compare_digest(_mac(body, passphrase, salt), str(whole.get("mac", ""))):
        raise _damaged(src, "its HMAC does not match: a wrong passphrase, or the list was "
                       "changed", "jej HMAC się nie zgadza: złe hasło albo spis zmieniono")
    if body["failed"]:
        raise InputError(
            f"{src}: the backup of {', '.join(body['failed'])} failed when it was made; restore "
            "the offices backed up one by one with `offices restore` (nothing was written)",
            pl=f"{src}: kopia urzędów {', '.join(body['failed'])} nie powiodła się przy jej "
               "robieniu; urzędy, których kopia jest, odtwórz pojedynczo poleceniem `offices "
               "restore` (niczego nie zapisano).")
    if _digest(src / INSTALLATION_NAME) != body["installation_toml_sha256"]:
        raise _damaged(src, f"its {INSTALLATION_NAME} is not the one backed up",
                       f"jej {INSTALLATION_NAME} nie jest tym, który zapisano")
    for office in body["offices"]:
        manifest = src / office["slug"] / MANIFEST
        if not manifest.is_file() or _digest(manifest) != office["manifest_sha256"]:
            raise _damaged(src, f"office {office['slug']}'s backup is missing or not the one "
                           "made with it", f"kopia urzędu „{office['slug']}” jest brakująca "
                           "albo nie ta, którą z nią zrobiono")
    return body


def restore_installation(src: Path, root: Path, passphrase: str, database_url: str | None,
                         restore_office: Callable[[Path, str, Path], object]) -> list[str]:
    """A whole backup as a new installation in ``root`` (new or empty): installation.toml as
    it was (its database URL ``database_url`` when given: the new server), then every office
    by ``restore_office(root, slug, src/slug)`` (`offices restore`'s). On any failure nothing
    of the new installation remains — folders, and on PostgreSQL each office's schema and
    role."""
    body = check_whole(src, passphrase)
    check_empty_writable(root, "installation folder", "Katalog instalacji")
    was = InstallationToml.model_validate(
        _toml(src / INSTALLATION_NAME), context={"root": root})
    url = was.installation.database_url if database_url is None else database_url
    if bool(url) != (body["database"] == "postgresql"):
        raise InputError(
            f"the backup's offices are in {body['database']}: give --database for a "
            "PostgreSQL one, none for SQLite (nothing was written)",
            pl=f"Urzędy z kopii są w bazie {body['database']}: dla PostgreSQL podaj "
               "--database, dla SQLite nie podawaj (niczego nie zapisano).")
    if url:
        pg_scope.check_admin(url)
    made_root = not root.exists()
    restored: list[str] = []
    try:
        write_new(root, was.installation.name, url)
        if was.storage is not None:
            with (root / INSTALLATION_NAME).open("a", encoding="utf-8") as f:
                f.write("\n[storage]\n" + "".join(
                    f"{k} = {json.dumps(v, ensure_ascii=False)}\n"
                    for k, v in was.storage.model_dump(exclude_unset=True).items()))
        for office in body["offices"]:
            restore_office(root, office["slug"], src / office["slug"])
            restored.append(office["slug"])
    except BaseException:
        for slug in restored:
            if url:
                pg_scope.drop(pg_scope.Made(url, slug))
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for path in (root / INSTALLATION_NAME, offices_folder(root)):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise
    return restored


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text("utf-8"))
