"""offices backup|restore-all: one backup of a whole installation (issue 67 item 4;
kustosz.installation.backup_all)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from kustosz.cli.common import (
    actor,
    console,
    err_console,
    fails_cleanly,
    installation_root,
)
from kustosz.errors import KustoszError
from kustosz.words import count_pl

PASSPHRASE = ("A file (chmod 600) holding the backup's passphrase; or "
              "KUSTOSZ_BACKUP_PASSPHRASE. Never given on the command line.")


@fails_cleanly
def offices_backup(
        to: Path = typer.Option(..., "--to", help="A new or empty folder for the backup."),
        base: Path = typer.Option(None, "--base", help="The previous whole backup: each "
                                  "office's media it holds are hard-linked, not copied."),
        passphrase_file: Path = typer.Option(None, "--passphrase-file", help=PASSPHRASE),
        with_media: bool = typer.Option(False, "--with-media", help="As `kustosz backup`: "
                                        "media on an object store copied too.")) -> None:
    """Back up every office of the installation into one folder: each office's own backup
    in <folder>/<office> (restorable alone with `offices restore`), installation.toml, and
    a list of them under the passphrase's HMAC (`offices restore-all`)."""
    from kustosz.backup.crypto import read_passphrase
    from kustosz.backup.snapshot import make_backup, note_failure
    from kustosz.cli.backup import _bar
    from kustosz.installation.backup_all import backup_installation
    from kustosz.installation_layout import offices_folder
    from kustosz.vault import Vault

    root = installation_root()
    passphrase = read_passphrase(passphrase_file)

    def one(slug: str, dest: Path, earlier: Path | None) -> None:
        console.print(f"urząd / office {escape(slug)}: …")
        vault = Vault.open(offices_folder(root) / slug, actor=actor())
        try:
            with _bar() as bar:
                report = make_backup(vault, dest, passphrase, base=earlier,
                                     actor=actor(), progress=bar, with_media=with_media)
        except KustoszError as exc:
            note_failure(vault, dest, str(exc))
            raise
        finally:
            vault.close()
        media = len(report.manifest["media"])
        console.print(f"  kopia zapisana / backup written: {escape(str(dest))} "
                      f"({count_pl(media, 'nagranie', 'nagrania', 'nagrań')})")

    done = backup_installation(root, to, passphrase, one, base=base)
    for slug, why in done.failed.items():
        err_console.print(f"[red]urząd / office {escape(slug)}: kopia NIE POWIODŁA SIĘ / "
                          f"backup FAILED:[/] {escape(why)}")
    console.print(f"Kopia instalacji / installation backup: {escape(str(done.folder))}: "
                  f"{count_pl(len(done.made), 'urząd', 'urzędy', 'urzędów')}")
    if done.failed:
        raise typer.Exit(1)


@fails_cleanly
def offices_restore_all(
        source: Path = typer.Option(..., "--from", help="The whole installation's backup."),
        database: str = typer.Option(None, "--database", help="PostgreSQL: the new server's "
                                     "installation role (as `offices init --database`); "
                                     "left out: the URL the backup's installation.toml had."),
        passphrase_file: Path = typer.Option(None, "--passphrase-file", help=PASSPHRASE)
        ) -> None:
    """Restore a whole installation's backup into a new, empty folder (--data): its
    installation.toml, then every office as `offices restore` does. The list's HMAC and each
    office's manifest are checked first; on any failure nothing of it remains."""
    from kustosz.backup.crypto import read_passphrase
    from kustosz.cli.backup import _bar, report_restore
    from kustosz.installation.backup_all import restore_installation
    from kustosz.installation.restore import restore_office

    root = installation_root()
    passphrase = read_passphrase(passphrase_file)

    checks_failed: list[str] = []

    def one(into: Path, slug: str, src: Path) -> object:
        console.print(f"urząd / office {escape(slug)}: …")
        with _bar() as bar:
            report = restore_office(into, slug, src, passphrase, actor(), progress=bar)
        try:  # what its checks found, said; a failed check keeps the office to look into
            report_restore(report)
        except typer.Exit:
            checks_failed.append(slug)
        return report

    restored = restore_installation(source, root, passphrase, database, one)
    console.print(f"Instalacja odtworzona / installation restored: {escape(str(root))}: "
                  f"{count_pl(len(restored), 'urząd', 'urzędy', 'urzędów')} "
                  f"({escape(', '.join(restored))})")
    if checks_failed:
        err_console.print(f"[red]kontrole po odtworzeniu nie przeszły / the checks after the "
                          f"restore failed:[/] {escape(', '.join(checks_failed))}")
        raise typer.Exit(1)
