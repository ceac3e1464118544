"""offices init|add|list|adopt|restore: an installation of several offices, each a vault
(issue 67); its whole backup and restore (backup|restore-all) in offices_backup.py."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    installation_root,
    local,
)
from kustosz.errors import InputError

offices_app = typer.Typer(no_args_is_help=True,
                          help="An installation's offices (controllers), each a vault of its own.")


def _refuse_occupied(root: Path) -> None:
    from kustosz.config import CONFIG_NAME
    from kustosz.installation_layout import INSTALLATION_NAME

    if (root / INSTALLATION_NAME).exists():
        raise InputError(f"{root} already holds an installation ({INSTALLATION_NAME} exists)",
                         pl=f"W {root} już jest instalacja (istnieje {INSTALLATION_NAME}).")
    if (root / CONFIG_NAME).exists():
        raise InputError(f"{root} holds a single office's vault ({CONFIG_NAME} exists); "
                         "make the installation in another folder",
                         pl=f"W {root} jest skarbiec jednego urzędu (istnieje {CONFIG_NAME}); "
                            "utwórz instalację w innym folderze.")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError(f"{root} is not an empty folder; make the installation in a new one",
                         pl=f"{root} nie jest pustym folderem; utwórz instalację w nowym.")


@fails_cleanly
def offices_init(
        name: str = typer.Option(..., "--name", help="The installation's name, free text "
                                                     "(e.g. \"Gmina Przykładowa\")."),
        database: str = typer.Option("", "--database", help="A PostgreSQL URL of a role that "
                                     "may CREATE ROLE and CREATE SCHEMA; empty: each office's "
                                     "SQLite file in its folder.")) -> None:
    """Make an installation in the data folder: installation.toml and offices/. Its offices
    are then added with `kustosz offices add`."""
    from kustosz.installation import pg_scope
    from kustosz.installation_layout import write_new

    root = installation_root()
    _refuse_occupied(root)
    if database:
        if not pg_scope.is_postgresql(database):
            raise InputError("--database must be a PostgreSQL URL naming its database "
                             "(postgresql://user@host:5432/db); leave it out for SQLite",
                             pl="--database musi być adresem bazy PostgreSQL z nazwą bazy "
                                "(postgresql://użytkownik@host:5432/baza); dla SQLite pomiń "
                                "tę opcję.")
        pg_scope.check_admin(database)
    write_new(root, name, database)
    console.print(f"Instalacja „{escape(name)}” utworzona w {escape(str(root))} / installation "
                  f"created; dodaj urząd / add an office: kustosz --data {escape(str(root))} "
                  "offices add NAZWA --preset-file PLIK")


@fails_cleanly
def offices_add(
        name: str = typer.Argument(..., help="The office's short name: its folder, and its "
                                             "--office (a-z, digits, hyphens; e.g. mops)."),
        preset_file: Path = typer.Option(..., "--preset-file", help="The office's preset file "
                                         "(docs/policies.md); it must pass `policy check`.")
        ) -> None:
    """Add an office to the installation: a vault of its own (its folder, its database schema
    and role or its SQLite file), made as `kustosz init --preset-file` makes one. Nothing of
    it remains when anything is refused."""
    from kustosz.cli.admin import checked_preset, told_created
    from kustosz.installation.add import add_office, check_new

    root = installation_root()
    check_new(root, name)  # before the preset's findings: a taken name is said first
    text = checked_preset(preset_file)
    vault = add_office(root, name, text, actor())
    try:
        told_created(vault, str(preset_file))
    finally:
        vault.close()
    console.print(f"Urząd „{escape(name)}” dodany / office added: kustosz --data "
                  f"{escape(str(root))} --office {escape(name)} …")


@fails_cleanly
def offices_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The installation's offices: short name, the office's name (its preset's), where its
    database lies, its users, when it was made."""
    from kustosz.installation.add import installation_of
    from kustosz.installation.listing import rows
    from kustosz.installation_layout import read

    root = installation_root()
    installation_of(root)
    title = read(root).installation.name
    found = rows(root, actor())
    if as_json:
        emit_json({"installation": title, "offices": [
            {"slug": r.slug, "name": r.name, "scope": r.scope, "users": r.users,
             "created_at": r.created_at.isoformat() if r.created_at else None}
            for r in found]})
        return
    table = Table("urząd / office", "nazwa / name", "baza / database", "użytkownicy / users",
                  "utworzono / created", title=title)
    for r in found:
        table.add_row(r.slug, escape(r.name), escape(r.scope), str(r.users),
                      local(r.created_at, r.vault))
    console.print(table)


@fails_cleanly
def offices_adopt(
        name: str = typer.Argument(..., help="The office's short name in the installation "
                                             "(a-z, digits, hyphens; e.g. mops)."),
        vault: Path = typer.Option(..., "--vault", help="The data folder of the single "
                                   "office's vault to adopt (stop its `kustosz serve` first).")
        ) -> None:
    """Adopt an existing single office's vault as an office of the installation, without
    re-recording: its audit chain must verify before (else nothing moves) and verifies after;
    its folder is moved to offices/NAME (renamed, never copied) and, on PostgreSQL, its tables
    handed to the office's own schema and role. A failure leaves the vault as it was."""
    from kustosz.installation.adopt import adopt

    root = installation_root()
    done = adopt(root, name, vault, actor())
    console.print(
        f"Skarbiec {escape(str(done.source))} przyjęty jako urząd „{escape(name)}” / vault "
        f"adopted as office {escape(name)}: {escape(str(done.folder))}")
    console.print(f"Baza / database: {escape(done.scope)} ({escape(done.moved)})")
    if done.left:
        console.print("Pozostawione w dawnym schemacie (nie należą do skarbca) / left in the "
                      f"old schema (not the vault's): {escape(', '.join(done.left))}")
    console.print(f"audit log intact: {done.entries} entries verified, {done.access_records} "
                  "access records verified")
    console.print(f"Dalej / next: kustosz --data {escape(str(root))} --office {escape(name)} …")


@fails_cleanly
def offices_restore(
        name: str = typer.Argument(..., help="The new office's short name: the one the "
                                             "backup's office had."),
        source: Path = typer.Option(..., "--from", help="The office's backup folder."),
        passphrase_file: Path = typer.Option(None, "--passphrase-file",
                                             help="A file (chmod 600) holding the backup's "
                                                  "passphrase; or KUSTOSZ_BACKUP_PASSPHRASE."),
        accept_unchained: bool = typer.Option(
            False, "--accept-unchained-journal",
            help="As `kustosz restore`: a backup whose deletion journal is not chained.")
        ) -> None:
    """Restore one office's backup as a NEW office of this installation (e.g. a new
    installation after the old one was lost): its folder and, on PostgreSQL, its own role and
    schema made as `offices add` makes them; every file checked first, the audit chain
    verified after. Never over an existing office, never under another office's name."""
    from kustosz.backup.crypto import read_passphrase
    from kustosz.cli.backup import _bar, report_restore
    from kustosz.installation.restore import restore_office

    root = installation_root()
    passphrase = read_passphrase(passphrase_file)
    with _bar() as bar:
        report = restore_office(root, name, source, passphrase, actor(), progress=bar,
                                accept_unchained=accept_unchained)
    console.print(f"Urząd „{escape(name)}” odtworzony z kopii / office restored from the "
                  f"backup: {escape(str(report.data))}")
    report_restore(report)


def register(app: typer.Typer) -> None:
    from kustosz.cli.offices_backup import offices_backup, offices_restore_all

    offices_app.command("init")(offices_init)
    offices_app.command("add")(offices_add)
    offices_app.command("list")(offices_list)
    offices_app.command("adopt")(offices_adopt)
    offices_app.command("restore")(offices_restore)
    offices_app.command("backup")(offices_backup)
    offices_app.command("restore-all")(offices_restore_all)
    app.add_typer(offices_app, name="offices")
