"""`kustosz offices adopt NAME --vault DIR`: an existing single office's vault becomes an office
of the installation, without re-recording anything and without copying its media.

Order, and why:

1. The name, the folder and the installation are checked; the vault's folder is held with the
   lock `kustosz serve` holds (kustosz.vault.hold_folder) for the whole move, so a running
   serve refuses the adoption and no serve starts meanwhile.
2. The vault is opened where it is and its chains verified as `kustosz audit verify` verifies
   them; then its database kind, its media store, its disk and (PostgreSQL) its server,
   schema and owners. Any refusal changes nothing.
3. The move: on SQLite the folder is renamed to offices/<slug> (its kustosz.db inside) and the
   adoption written to the office's chain; on PostgreSQL the schema and role are made and the
   tables handed over in one transaction (kustosz.installation.adopt_pg) whose COMMIT comes
   after the folder's steps. A failure at any point undoes the folder's steps (and the
   database rolls back), leaving the vault as it was and usable.
4. The office opened at its new place and verified again.

Paths the vault keeps in its tables are relative to its folder (copies' bundles, reports'
PDFs, the media's storage keys), so they are right after the move; absolute paths in
kustosz.toml that lie inside the old folder are rewritten (adopt_checks.moved_config). The
audit log keeps the old folder where entries named it: it is the record of what happened then.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kustosz import office_identity
from kustosz.audit import log as audit
from kustosz.config import CONFIG_NAME
from kustosz.errors import InputError
from kustosz.installation import adopt_checks as checks
from kustosz.installation import adopt_pg, pg_scope
from kustosz.installation.add import check_new, installation_of
from kustosz.installation.adopt_move import FolderMove, interrupted, recover
from kustosz.installation.listing import scope_of
from kustosz.installation.pg_scope import PASSFILE
from kustosz.installation.slugs import check_slug
from kustosz.installation_layout import offices_folder, read
from kustosz.vault import LOCK_NAME, Vault, _absolute, hold_folder

_DB_URL_LINE = re.compile(r"^database_url\s*=.*$", re.MULTILINE)


@dataclass
class Adopted:
    slug: str
    source: Path
    folder: Path
    entries: int  # entries verified after the move (the adoption's own included)
    access_records: int
    scope: str  # where the office's database now lies
    moved: str  # how the tables moved (PostgreSQL), or that the file went with the folder
    left: list[str] = field(default_factory=list)  # objects of the schema not the vault's


def with_database_url(text: str, url: str) -> str:
    """kustosz.toml with ``database_url`` set as `offices add` writes it."""
    line = f"database_url = {json.dumps(url, ensure_ascii=False)}"
    changed, n = _DB_URL_LINE.subn(lambda _m: line, text, count=1)
    changed = changed if n else f"{line}\n{text}"
    if tomllib.loads(changed).get("database_url") != url:  # read back, as the vault will
        raise InputError("the vault's kustosz.toml has its database_url where it cannot be "
                         "rewritten safely; write it on a line of its own at the top",
                         pl="database_url w kustosz.toml skarbca jest zapisany tak, że nie da "
                            "się go bezpiecznie przepisać; zapisz go w osobnym wierszu na "
                            "początku pliku.")
    return changed


def adopt(root: Path, slug: str, vault_dir: Path, actor: str) -> Adopted:
    """Adopt the vault at ``vault_dir`` as the office ``slug`` of the installation ``root``;
    refused in words with nothing changed, or done whole. An earlier adoption of the same
    vault and office cut off by a crash is finished or undone first (adopt_move)."""
    source = _absolute(vault_dir)
    installation_of(root)
    target = offices_folder(root) / check_slug(slug)
    where = interrupted(source, target)
    if where is not None:
        with hold_folder(where, "offices adopt"):
            finished = recover(where, source, target, lambda t: _committed(root, slug, t))
        if finished:
            return _after(slug, source, target, actor, "finished after an interruption", [])
    folder = check_new(root, slug)
    checks.check_source(root, source)
    had_lock = (source / LOCK_NAME).exists()
    done = False
    with hold_folder(source, "offices adopt"):
        try:
            adopted = _held(root, slug, source, folder, actor)
            done = True
            return adopted
        finally:
            if not done and not had_lock:  # a refusal leaves no lock file behind
                (source / LOCK_NAME).unlink(missing_ok=True)


def _held(root: Path, slug: str, source: Path, folder: Path, actor: str) -> Adopted:
    installation = read(root)
    url = installation.installation.database_url
    # What the files say first: a vault whose store or disk rules it out is not opened.
    checks.check_storage(source, installation, slug)
    checks.check_pinned_identity(source)
    checks.check_filesystem(source, folder)
    vault = Vault.open(source, actor=actor)
    try:
        report = checks.verified(vault)
        checks.check_database_kind(vault, url)
        vault_url, scope_before = vault.config.database_url, scope_of(vault)
    finally:
        vault.close()
    text = (source / CONFIG_NAME).read_text("utf-8")
    new_text = checks.moved_config(text, source, folder)
    offices_folder(root).mkdir(mode=0o700, exist_ok=True)  # `offices init` makes it
    details: dict[str, Any] = {
        "from": str(source), "to": str(folder), "installation": installation.installation.name,
        "installation_folder": str(root),
        "verified_before": {"entries": report.entries,
                            "access_records": report.access_records},
        "database_from": scope_before}
    move = FolderMove(source, folder, text, new_text)
    if url:
        moved, left = _adopt_pg(url, vault_url, slug, move, details, actor)
    else:
        moved, left = "kustosz.db", []
        _adopt_sqlite(slug, move, details, actor)
    move.finished()
    return _after(slug, source, folder, actor, moved, left)


def _committed(root: Path, slug: str, target: Path) -> bool:
    """Whether an interrupted adoption's database step was committed: on PostgreSQL the
    office's schema exists (made in that transaction), on SQLite the office's chain ends
    with the adoption into ``target``."""
    url = read(root).installation.database_url
    if url:
        with pg_scope.connect(url) as conn:
            return all(pg_scope.exists(conn, slug))
    db = sqlite3.connect(f"file:{target / checks.SQLITE_FILE}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT action, details FROM audit_log ORDER BY seq DESC "
                         "LIMIT 1").fetchone()
    finally:
        db.close()
    return row is not None and row[0] == checks.ADOPTED and \
        json.loads(row[1]).get("to") == str(target)


def _adopt_sqlite(slug: str, move: FolderMove, details: dict[str, Any], actor: str) -> None:
    move.check()
    try:
        move.do()
        vault = Vault.open(move.target, actor=actor)
        try:
            with vault.transaction() as s:
                details["database_to"] = scope_of(vault)
                audit.append(s, actor, checks.ADOPTED, slug, details)
        finally:
            vault.close()
    except BaseException:
        move.undo()
        raise


def _adopt_pg(url: str, vault_url: str, slug: str, move: FolderMove, details: dict[str, Any],
              actor: str) -> tuple[str, list[str]]:
    source, folder = move.source, move.target
    if (source / "keys" / PASSFILE).exists():
        raise InputError(
            f"{source / 'keys' / PASSFILE} exists; the office's own passfile is written there. "
            "Move that file out of keys/ (and point the vault's database_url at its new "
            "place), then adopt again",
            pl=f"Istnieje już {source / 'keys' / PASSFILE}; tam zapisywany jest plik haseł "
               "urzędu. Przenieś ten plik poza keys/ (i wskaż jego nowe miejsce w "
               "database_url skarbca), a potem ponów przyjęcie.")
    plan = adopt_pg.examine(vault_url, url, slug)
    office_url = pg_scope.office_url(url, slug, folder / "keys" / PASSFILE)
    move.new_text = with_database_url(move.new_text, office_url)
    details["database_to"] = (f"PostgreSQL: schemat/schema {pg_scope.schema_name(slug)}, "
                              f"rola/role {pg_scope.role_name(slug)}")
    details["schema_from"] = plan.schema
    moved = f"schema {plan.schema} renamed" if plan.own else \
        f"{len(plan.tables)} tables, {len(plan.functions)} functions, {len(plan.types)} types " \
        f"moved from {plan.schema}"
    details["moved"] = moved
    entry = adopt_pg.Entry(actor, slug, details)
    move.check()

    def folder_steps(password: str) -> None:
        move.do(lambda path: pg_scope.write_passfile(path, url, pg_scope.role_name(slug),
                                                     password))

    try:
        adopt_pg.adopt(url, plan, slug, entry, folder_steps)
    except BaseException:
        move.undo()
        raise
    if entry.head is not None:
        audit.write_head(folder / "audit.head", *entry.head)
    return moved, plan.others


def _after(slug: str, source: Path, folder: Path, actor: str, moved: str,
           left: list[str]) -> Adopted:
    """The office opened at its new place (as its own role on PostgreSQL) and verified."""
    vault = Vault.open(folder, actor=actor)
    try:
        report = checks.verified(vault, after=True)
        office_identity.settle(vault)  # an office now, by any name (kustosz.office_identity)
        return Adopted(slug, source, folder, report.entries, report.access_records,
                       scope_of(vault), moved, left)
    finally:
        vault.close()
