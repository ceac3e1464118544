"""What `kustosz offices adopt` checks before anything of a vault moves.

Each check refuses in words (Polish first) and changes nothing: the vault's folder, its
database and the installation stay as they were. The audit chain is checked as `kustosz audit
verify` checks it with no options (kustosz.audit.verifier.vault_report: the main chain, the
access records, the viewing sessions and the witness the vault or root names), not by a copy
of that code.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from kustosz.audit import identity
from kustosz.audit.polish import problem_pl
from kustosz.audit.verifier import Report, vault_report
from kustosz.config import CONFIG_NAME
from kustosz.errors import InputError, KustoszError
from kustosz.installation.pg_scope import is_postgresql
from kustosz.installation_layout import INSTALLATION_NAME, InstallationToml
from kustosz.vault import Vault

SQLITE_FILE = "kustosz.db"
# The audit entry that records an adoption in the office's own chain: who, when, from where.
ADOPTED = "vault.adopted"


def check_source(root: Path, source: Path) -> None:
    """``source`` is a single office's vault folder, apart from the installation."""
    if (source / INSTALLATION_NAME).exists():
        raise InputError(
            f"{source} is an installation ({INSTALLATION_NAME}), not a single office's vault; "
            "an installation is not adopted into another",
            pl=f"{source} jest instalacją wielu urzędów (ma {INSTALLATION_NAME}), a nie "
               "skarbcem jednego urzędu; instalacji nie przyjmuje się do innej.")
    if source.is_symlink():
        raise InputError(
            f"{source} is a link to {source.resolve()}; renaming it would move the link, not "
            "the vault: give the vault's folder itself with --vault",
            pl=f"{source} jest dowiązaniem do {source.resolve()}; zmiana jego nazwy "
               "przeniosłaby dowiązanie, a nie skarbiec: wskaż w --vault sam folder skarbca.")
    if not (source / CONFIG_NAME).is_file():
        raise InputError(
            f"{source} is not a vault (no {CONFIG_NAME}); give the data folder of the vault "
            "to adopt with --vault",
            pl=f"{source} nie jest skarbcem (brak pliku {CONFIG_NAME}); wskaż w --vault folder "
               "danych skarbca, który ma zostać przyjęty.")
    real_root, real_source = root.resolve(), source.resolve()
    if real_source.is_relative_to(real_root) or real_root.is_relative_to(real_source):
        raise InputError(
            f"{source} lies inside the installation {root} (or holds it); adopt a vault "
            "kept outside it",
            pl=f"{source} leży wewnątrz instalacji {root} (albo ją zawiera); przyjąć można "
               "tylko skarbiec spoza niej.")


def verified(vault: Vault, after: bool = False) -> Report:
    """The vault's chains as `kustosz audit verify` finds them; refused when they do not
    verify, every problem named. ``after``: the office once adopted (said as such)."""
    with vault.reading() as s:
        report = vault_report(s, vault.head_file)
    if not report.problems:
        return report
    shown = [str(p) for p in report.problems[:10]]
    more = len(report.problems) - len(shown)
    found_en = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    found_pl = "; ".join(problem_pl(p) for p in shown) + (f"; i jeszcze {more}" if more > 0
                                                          else "")
    verify = f"`kustosz --data {vault.root} audit verify`"
    if after:
        raise KustoszError(
            f"the office was adopted into {vault.root}, but its audit log does not verify "
            f"there: {found_en}. Run {verify} and explain what it finds",
            pl=f"Urząd przyjęto do {vault.root}, ale jego dziennik zdarzeń nie przechodzi tam "
               f"weryfikacji: {found_pl}. Uruchom {verify} i wyjaśnij, co wykaże.")
    raise InputError(
        f"the vault's audit log does not verify, so it is not adopted (nothing was moved): "
        f"{found_en}. Run {verify} and explain or repair what it finds first",
        pl=f"Dziennik zdarzeń skarbca nie przechodzi weryfikacji, więc skarbiec nie zostanie "
           f"przyjęty (niczego nie przeniesiono): {found_pl}. Najpierw uruchom {verify} i "
           "wyjaśnij lub napraw to, co wykaże.")


def check_database_kind(vault: Vault, installation_url: str) -> None:
    """The vault's database is of the installation's kind: its own kustosz.db in a SQLite
    installation, a PostgreSQL schema in a PostgreSQL one. Nothing in Kustosz moves a vault
    between database kinds (`kustosz backup`/`restore` keep the kind), so neither does this."""
    url = vault.config.database_url
    if installation_url and not url:
        raise InputError(
            "the vault keeps its database in SQLite (kustosz.db) and the installation's "
            "offices are on PostgreSQL; moving a SQLite database to PostgreSQL is not done by "
            "`offices adopt`. Keep the vault as it is, or adopt it into an installation on "
            "SQLite (`kustosz --data NEW offices init --name NAME`, without --database)",
            pl="Skarbiec trzyma bazę w SQLite (kustosz.db), a urzędy tej instalacji są w "
               "PostgreSQL; `offices adopt` nie przenosi bazy z SQLite do PostgreSQL. Zostaw "
               "skarbiec jak jest albo przyjmij go do instalacji na SQLite (`kustosz --data "
               "NOWY offices init --name NAZWA`, bez --database).")
    if url and not installation_url:
        raise InputError(
            "the vault keeps its database in PostgreSQL and the installation's offices are "
            "on SQLite; adopt it into an installation on the same PostgreSQL database "
            "(`offices init --database URL`)",
            pl="Skarbiec trzyma bazę w PostgreSQL, a urzędy tej instalacji są w SQLite; "
               "przyjmij go do instalacji na tej samej bazie PostgreSQL (`offices init "
               "--database ADRES`).")
    if url and not is_postgresql(url):
        raise InputError(
            f"the vault's database_url names a SQLite file ({url}); only a vault whose "
            f"database is its folder's own {SQLITE_FILE} (database_url empty) is adopted",
            pl=f"database_url skarbca wskazuje plik SQLite ({url}); przyjąć można tylko "
               f"skarbiec, którego baza to {SQLITE_FILE} w jego własnym folderze (pusty "
               "database_url).")


def raw_storage(source: Path) -> dict[str, Any]:
    table = tomllib.loads((source / CONFIG_NAME).read_text("utf-8")).get("storage", {})
    return table if isinstance(table, dict) else {}


def check_storage(source: Path, installation: InstallationToml, slug: str) -> None:
    """Media on an object store without a prefix of its own are refused while the
    installation shares a store: each office there keeps its objects under "<slug>/", and
    objects under Object Lock cannot be renamed (a key is changed only by copying the object,
    and the locked original stays until its retain-until date). A vault with its own bucket
    joins an installation without a store as it is, its [storage] unchanged."""
    storage = raw_storage(source)
    shared = installation.storage is not None and installation.storage.kind == "s3"
    if storage.get("kind") == "s3" and not storage.get("prefix") and shared:
        raise InputError(
            "the vault's media are in an object store without a prefix, and the installation "
            "keeps each office's media under its own prefix in a shared store; objects under "
            "Object Lock cannot be moved under a prefix without copying them (the originals "
            "stay locked until their retain-until date), so such a vault is not adopted yet. "
            "Keep it as a vault of its own",
            pl="Nagrania skarbca są w magazynie obiektów bez prefiksu, a instalacja trzyma "
               "nagrania każdego urzędu pod jego własnym prefiksem we wspólnym magazynie; "
               "obiektów objętych blokadą (Object Lock) nie da się przenieść pod prefiks bez "
               "ich skopiowania (oryginały pozostają zablokowane do końca okresu blokady), "
               "więc taki skarbiec nie jest na razie przyjmowany. Pozostaw go jako osobny "
               "skarbiec.")
    same = shared and installation.storage is not None and (
        storage.get("endpoint"), storage.get("bucket")) == (installation.storage.endpoint,
                                                            installation.storage.bucket)
    if storage.get("kind") == "s3" and same and storage.get("prefix") != f"{slug}/":
        raise InputError(
            f"the vault's media are in the installation's shared bucket under the prefix "
            f"{storage.get('prefix')!r}, and an office {slug!r} keeps its own there under "
            f"{slug + '/'!r}; adopt it under the name its prefix gives, or keep it as a vault "
            "of its own (nothing was changed)",
            pl=f"Nagrania skarbca są we wspólnym kubełku instalacji pod prefiksem "
               f"„{storage.get('prefix')}”, a urząd „{slug}” trzyma w nim swoje pod „{slug}/”; "
               "przyjmij go pod nazwą, którą daje jego prefiks, albo pozostaw jako osobny "
               "skarbiec (niczego nie zmieniono).")


def same_filesystem(source: Path, target_parent: Path) -> bool:
    return os.stat(source).st_dev == os.stat(target_parent).st_dev


def check_filesystem(source: Path, target: Path) -> None:
    """The folder is renamed, never copied: a vault's media may be terabytes. (offices/ is
    made by `offices init`; its installation folder stands in where it is missing.)"""
    parent = target.parent if target.parent.is_dir() else target.parent.parent
    if not same_filesystem(source, parent):
        raise InputError(
            f"{source} is on another file system than the installation's {target.parent}; "
            "the vault is moved by renaming its folder, never by copying its media. Stop "
            "`kustosz serve`, copy the folder onto the installation's disk yourself (e.g. "
            f"`rsync -aHAX {source}/ {target.parent}/.incoming-{target.name}/`), check the "
            "copy, then adopt it from there with --vault",
            pl=f"{source} leży na innym systemie plików niż {target.parent} instalacji; "
               "skarbiec jest przenoszony przez zmianę nazwy folderu, nigdy przez kopiowanie "
               "nagrań. Zatrzymaj `kustosz serve`, skopiuj folder na dysk instalacji "
               f"samodzielnie (np. `rsync -aHAX {source}/ {target.parent}/.incoming-"
               f"{target.name}/`), sprawdź kopię i przyjmij skarbiec stamtąd (--vault).")


def check_pinned_identity(source: Path) -> None:
    """A witness identity root pinned for this folder names it by its path: once moved, every
    verify would fail against it. Root pins it again for the new folder."""
    path = identity.find()
    if path is None:
        return
    try:
        pinned = identity.read(path)
    except InputError:
        return  # damaged: `audit verify` (in `verified`) has said so already
    if pinned.data.resolve() == source.resolve():
        raise InputError(
            f"the witness identity {path} pinned by root names this folder {source}; after "
            "the move every verification would fail against it. As root: move the identity "
            "aside, adopt the vault, then pin it anew with `kustosz --data INSTALL --office "
            "NAME audit pin-witness`",
            pl=f"Tożsamość świadka {path} zapisana przez roota wskazuje ten folder {source}; "
               "po przeniesieniu każda weryfikacja by się nie powiodła. Jako root: odsuń plik "
               "tożsamości, przyjmij skarbiec, a potem zapisz tożsamość na nowo poleceniem "
               "`kustosz --data INSTALACJA --office NAZWA audit pin-witness`.")


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _strings(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _strings(v, f"{path}[{i}]")]
    return []


def _moved(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value[len(old):] if value == old or value.startswith(old + "/") \
            else value
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    return value


def moved_config(text: str, source: Path, target: Path) -> str:
    """kustosz.toml with every absolute path inside the old folder naming the new one
    (relative paths are the data folder's and need nothing). Only those values change: the
    file read back must say exactly what it said with the new folder; refused if not."""
    old, new = str(source), str(target)
    data = tomllib.loads(text)
    inside = [key for key, value in _strings(data) if value == old or
              value.startswith(old + "/")]
    if not inside:
        return text
    changed = text.replace(old + "/", new + "/").replace(f'"{old}"', f'"{new}"') \
        .replace(f"'{old}'", f"'{new}'")
    if tomllib.loads(changed) != _moved(data, old, new):
        raise InputError(
            f"kustosz.toml names paths inside the vault's folder ({', '.join(inside)}) in a "
            "way that cannot be rewritten safely; write them relative to the data folder "
            "first",
            pl=f"kustosz.toml podaje ścieżki wewnątrz folderu skarbca ({', '.join(inside)}) w "
               "sposób, którego nie da się bezpiecznie przepisać; najpierw zapisz je względem "
               "folderu danych.")
    return changed
