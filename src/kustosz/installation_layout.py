"""The installation's folder: installation.toml and offices/<slug>/.

    INSTALL/                    (--data / KUSTOSZ_DATA)
      installation.toml         [installation] name, database_url; optional [storage]
      offices/<slug>/           one office's vault folder, exactly as a single office's

installation.toml is checked by a schema as strict as kustosz.toml's (kustosz.config_schema):
an unknown key is refused with its path, never dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from kustosz.config_schema import ConfigProblems, _problem, parse
from kustosz.config_schema.base import Table, problem
from kustosz.config_schema.storage import Storage
from kustosz.errors import ConfigError, InputError

INSTALLATION_NAME = "installation.toml"
OFFICES = "offices"
NAME_MAX = 200


class InstallationTable(Table):
    """[installation]: what the offices share."""

    name: str = Field(description="The installation's name, free text (e.g. \"Gmina "
                                  "Przykładowa\"); each office's own name is its preset's.")
    database_url: str = Field(
        "", description="Empty: each office's SQLite file in its folder; or the URL of a "
                        "PostgreSQL role that may CREATE ROLE and CREATE SCHEMA (used only "
                        "by `kustosz offices add` and `offices adopt`).")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or len(value) > NAME_MAX or any(c in value for c in "\r\n"):
            raise problem(f"must be a name of 1 to {NAME_MAX} characters on one line",
                          f"musi być nazwą od 1 do {NAME_MAX} znaków w jednym wierszu")
        return value


SHARE_MAX = 1000


class InstallationToml(Table):
    """The installation's installation.toml."""

    installation: InstallationTable
    storage: Storage | None = Field(
        None, description='The shared object store ([storage] kind = "s3" with its keys); each '
                          'office stores under the prefix "<slug>/".')
    disk_shares: dict[str, int] = Field(
        default_factory=dict,
        description="Each office's share of the shared data disk, as a weight (slug = 1 to "
                    f"{SHARE_MAX}); an office not named weighs 1. Under disk pressure only an "
                    "office over its share deletes its oldest material "
                    "(kustosz.retention.office_share).")

    @field_validator("disk_shares")
    @classmethod
    def _shares(cls, value: dict[str, int]) -> dict[str, int]:
        for slug, weight in value.items():
            if not slug or not all(c.islower() or c.isdigit() or c == "-" for c in slug):
                raise problem(f"{slug!r} is no office's short name (a-z, digits, hyphens)",
                              f"„{slug}” nie jest krótką nazwą urzędu (a-z, cyfry, łączniki)")
            if not 1 <= weight <= SHARE_MAX:
                raise problem(f"{slug}: a share is a whole number from 1 to {SHARE_MAX}",
                              f"{slug}: udział to liczba całkowita od 1 do {SHARE_MAX}")
        return value


def is_installation(root: Path) -> bool:
    return (root / INSTALLATION_NAME).is_file()


def offices_folder(root: Path) -> Path:
    return root / OFFICES


def office_slugs(root: Path, config_name: str) -> list[str]:
    """The installation's offices, by slug: the folders of offices/ that hold a vault (its
    ``config_name``, kustosz.config's: this module is below it)."""
    folder = offices_folder(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and (p / config_name).is_file())


def read(root: Path) -> InstallationToml:
    """installation.toml checked; a ConfigProblems naming every problem."""
    path = root / INSTALLATION_NAME
    data = parse(path)
    try:
        return InstallationToml.model_validate(data, context={"root": root})
    except ValidationError as exc:
        raise ConfigProblems(path, [_problem(e) for e in exc.errors(include_url=False)]) \
            from None


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string (the same escapes), Polish letters and emoji kept.
    return json.dumps(text, ensure_ascii=False)


HEADER = """\
# Kustosz — an installation: several offices (controllers) on one service.
# Each office is a vault of its own in offices/<slug>/ (kustosz offices add / list); every
# command names one with --office NAME (or KUSTOSZ_OFFICE).
"""


def render(name: str, database_url: str) -> str:
    return (f"{HEADER}\n[installation]\nname = {_toml_string(name)}\n"
            "# Empty: each office's SQLite file in its own folder. PostgreSQL: a role that may\n"
            "# CREATE ROLE and CREATE SCHEMA; each office gets a schema and a role of its own.\n"
            f"database_url = {_toml_string(database_url)}\n")


def write_new(root: Path, name: str, database_url: str) -> Path:
    """installation.toml in ``root`` (made 0700 if absent); refused when it exists."""
    text = render(name, database_url)
    try:
        InstallationToml.model_validate({"installation": {"name": name,
                                                          "database_url": database_url}})
    except ValidationError:
        raise InputError(f"the installation's name must be 1 to {NAME_MAX} characters on one "
                         "line",
                         pl=f"Nazwa instalacji musi mieć od 1 do {NAME_MAX} znaków w jednym "
                            "wierszu.") from None
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # as a vault's folder: the service account's alone
    path = root / INSTALLATION_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    offices_folder(root).mkdir(mode=0o700, exist_ok=True)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _toml_string(str(value))


def storage_lines(storage: Storage | None, slug: str) -> str:
    """The office's [storage] keys when the installation shares an object store: the shared
    settings and its own prefix "<slug>/"; nothing for local storage (media/ in the office's
    folder)."""
    if storage is None or storage.kind != "s3":
        return ""
    shared = {**storage.model_dump(exclude_unset=True), "prefix": f"{slug}/"}
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in shared.items())


def installation_holding(folder: Path) -> Path | None:
    """The installation ``folder`` is an office folder of (offices/<slug>/ beside an
    installation.toml), whether or not that office exists yet; None elsewhere."""
    folder = folder.absolute()
    root = folder.parent.parent
    return root if folder.parent.name == OFFICES and is_installation(root) else None


def office_of(folder: Path) -> dict[str, str] | None:
    """Which installation's office a vault folder is — {"installation": its name, "slug": the
    office's} — or None for a single office's vault. A backup records it in its manifest so
    that it can never be restored over another office (kustosz.installation.restore)."""
    root = installation_holding(folder)
    if root is None:
        return None
    return {"installation": read(root).installation.name, "slug": folder.absolute().name}


def check_office_store(folder: Path, endpoint: str, bucket: str, prefix: str) -> None:
    """An office of an installation whose object store is shared keeps its media under its
    own "<slug>/" in that bucket, and nowhere else there: a prefix edited to another office's
    (or to none, the whole bucket) would let it read, list and sweep another controller's
    recordings. Refused when its folder is opened; a bucket of its own is its own affair."""
    root = installation_holding(folder)
    if root is None:
        return
    shared = read(root).storage
    if shared is None or shared.kind != "s3" or (shared.endpoint, shared.bucket) != (
            endpoint, bucket):
        return
    own = f"{folder.absolute().name}/"
    if prefix != own:
        raise ConfigError(
            f"{folder}: this office stores into the installation's shared bucket {bucket} "
            f"under prefix {prefix!r}; an office's prefix there is its own, {own!r} (set "
            "[storage] prefix back; nothing was opened)",
            pl=f"{folder}: ten urząd zapisuje do wspólnego kubełka instalacji {bucket} z "
               f"prefiksem „{prefix}”, a prefiks urzędu jest w nim tylko jego własny: „{own}” "
               "(przywróć [storage] prefix; niczego nie otwarto).")

