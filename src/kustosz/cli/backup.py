"""`kustosz backup` and `kustosz restore` (kustosz.backup)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.markup import escape

from kustosz.cli.common import actor, console, err_console, fails_cleanly, open_vault
from kustosz.cli.progress_bar import StepBar, step_bar
from kustosz.errors import KustoszError

if TYPE_CHECKING:
    from kustosz.backup.restore_finish import RestoreReport
from kustosz.words import count_pl

F = TypeVar("F", bound=Callable[..., Any])
PASSPHRASE_HELP = ("A file (chmod 600) holding the passphrase that encrypts the keys; "
                   "or set KUSTOSZ_BACKUP_PASSPHRASE. Never given on the command line.")


# One order for every command's errors: English first (scripts and tests look for `error:`
# at the start), the Polish words on the next line.
both_languages = fails_cleanly


@contextmanager
def _bar() -> Iterator[StepBar]:
    """The backup's or restore's steps as a bar on stderr: files, bytes, the time left."""
    with step_bar() as bar:
        yield bar


@both_languages
def backup(to: Path = typer.Option(..., "--to", help="A new or empty folder for the backup."),
           base: Path = typer.Option(None, "--base",
                                     help="The previous backup: media it already holds are "
                                          "hard-linked from it instead of copied."),
           passphrase_file: Path = typer.Option(None, "--passphrase-file",
                                                help=PASSPHRASE_HELP),
           with_media: bool = typer.Option(False, "--with-media",
                                           help="Media on an object store: copy them into "
                                                "the backup too (by default they are named, "
                                                "with version and SHA-256, and stay in the "
                                                "locked bucket).")) -> None:
    """Back up the vault while it runs: database, kustosz.toml, keys (encrypted), media and
    documents, with a manifest of SHA-256 hashes (media on an object store: listed by bucket,
    key, version and hash, copied only with --with-media)."""
    from kustosz.backup.crypto import read_passphrase
    from kustosz.backup.layout import check_empty_writable
    from kustosz.backup.snapshot import bucket_place, make_backup, note_failure

    passphrase = read_passphrase(passphrase_file)
    check_empty_writable(to, "backup folder", "Katalog kopii")
    with open_vault() as vault:
        try:
            with _bar() as bar:
                report = make_backup(vault, to, passphrase, base=base, actor=actor(),
                                     progress=bar, with_media=with_media)
        except KustoszError as exc:
            note_failure(vault, to, str(exc))
            raise
    m = report.manifest
    size = sum(x["size"] for x in m["media"])
    mb = f"{size / 1e6:.1f}".replace(".", ",")  # the Polish decimal comma: Polish comes first
    console.print(f"Kopia zapisana / backup written: {escape(str(report.folder))}")
    console.print(f"  nagrania / media: {len(m['media'])} ({mb} MB; skopiowano / "
                  f"copied {report.copied}, dowiązano z poprzedniej / linked from the base "
                  f"{report.linked}); wpisy dziennika / audit entries: {m['audit']['entries']}; "
                  f"aktywne zabezpieczenia / active holds: {m['counts']['holds_active']}")
    where = m.get("media_in", "backup")
    if where != "backup":
        place = bucket_place(where)
        console.print(f"  nagrania nie zostały skopiowane: pozostają w kubełku / media not "
                      f"copied, they stay in the bucket {escape(place)} (wersje i skróty "
                      "w spisie / versions and hashes in the manifest; --with-media: also "
                      "copy them)")
    if report.gone:
        console.print(f"  usunięte przez czyszczenie w trakcie kopii / deleted by the sweep "
                      f"during the backup: {len(report.gone)} (zapisane w / recorded in "
                      "deletions.jsonl)")
    for problem in report.problems:
        err_console.print(f"[yellow]uwaga / warning:[/] {escape(problem)}")


def _not_into_an_installation(new: Path) -> None:
    """A vault restored by hand into an installation would be an office without its own
    database role and schema, or bury the installation's file: `offices restore` makes both."""
    from kustosz.errors import InputError
    from kustosz.installation_layout import installation_holding, is_installation

    home: Path | None
    if is_installation(new):
        home, slug = new, None
        where_en, where_pl = "an installation", "instalacja wielu urzędów"
    elif (home := installation_holding(new)) is not None:
        slug = new.name
        where_en = f"an office folder of the installation {home}"
        where_pl = f"folder urzędu instalacji {home}"
    else:
        return
    raise InputError(
        f"{new} is {where_en}: an office's backup is restored with `kustosz --data {home} "
        f"offices restore {slug or 'NAME'} --from BACKUP` (nothing was changed)",
        pl=f"{new} to {where_pl}: kopię urzędu odtwarza się poleceniem `kustosz --data {home} "
           f"offices restore {slug or 'NAZWA'} --from KOPIA` (niczego nie zmieniono).")


def _not_an_office_outside(source: Path) -> None:
    """An office's backup becomes an office again, never a vault of its own: restored alone,
    the installation's administrator (who makes the backups) would hold every office's
    material outside the support gate (kustosz.cli.office_gate)."""
    from kustosz.backup.restore_checks import read_manifest
    from kustosz.errors import InputError

    office = read_manifest(source).get("installation")
    if not office:
        return
    slug, name = office.get("slug", "?"), office.get("installation", "?")
    raise InputError(
        f"this is the backup of the office {slug!r} of the installation {name!r}: it is "
        f"restored as an office, with `kustosz --data INSTALLATION offices restore {slug} "
        "--from BACKUP` (nothing was changed)",
        pl=f"To kopia urzędu „{slug}” instalacji „{name}”: odtwarza się ją jako urząd, "
           f"poleceniem `kustosz --data INSTALACJA offices restore {slug} --from KOPIA` "
           "(niczego nie zmieniono).")


@both_languages
def restore(source: Path = typer.Option(..., "--from", help="The backup folder."),
            new: Path = typer.Option(None, "--data", "--into",
                                     help="The new vault's folder (new or empty)."),
            check: bool = typer.Option(False, "--check",
                                       help="Only check the backup (passphrase, manifest, "
                                            "every file's hash, deletion journal); write "
                                            "nothing."),
            database: str = typer.Option(None, "--database",
                                         help="PostgreSQL backups: the new, empty database "
                                              "(URL; the password from ~/.pgpass or "
                                              "PGPASSWORD is better than in the URL)."),
            passphrase_file: Path = typer.Option(None, "--passphrase-file",
                                                 help=PASSPHRASE_HELP),
            accept_unchained: bool = typer.Option(
                False, "--accept-unchained-journal",
                help="Restore a backup made by a Kustosz before 2026-11 whose deletion "
                     "journal is not chained (a journal with lines removed cannot be "
                     "detected in it; the restore warns).")) -> None:
    """Rebuild a vault from a backup in a new folder, apply the deletions recorded after the
    backup, then verify the audit log and every stored item's hash (--check: only check the
    backup)."""
    from kustosz.backup.crypto import read_passphrase
    from kustosz.backup.restore import check_backup
    from kustosz.backup.restore import restore as run_restore
    from kustosz.errors import InputError

    passphrase = read_passphrase(passphrase_file)
    if check:
        with _bar() as bar:
            found = check_backup(source, passphrase, progress=bar)
        files = count_pl(found.media_checked, "plik", "pliki", "plików")
        console.print(f"Kopia jest cała / backup intact: {escape(str(source))} (z / of "
                      f"{found.made_at}): {files} / {_en(found.media_checked, 'file', 'files')}, "
                      f"wpisy dziennika / audit entries: {found.audit_entries}, usunięcia po "
                      f"kopii / deletions since: {found.deletions_known}")
        _journal_note(found.journal_note)
        if found.media_bucket:
            console.print("  nagrania są w kubełku, nie w kopii (sprawdzane przy odtwarzaniu) "
                          f"/ the media are in the bucket {escape(found.media_bucket)}, not in "
                          "the backup (checked by the restore)")
        return
    if new is None:
        raise InputError("give the new vault's folder with --data NEW (or --check to only "
                         "check the backup)",
                         pl="Podaj katalog nowego skarbca opcją --data NOWY (albo --check, "
                            "aby tylko sprawdzić kopię).")
    _not_into_an_installation(new)
    _not_an_office_outside(source)
    with _bar() as bar:
        report = run_restore(source, new, passphrase, database, actor=actor(), progress=bar,
                             accept_unchained=accept_unchained)
    console.print(f"Skarbiec odtworzony / vault restored: {escape(str(report.data))} "
                  f"(kopia / backup {report.backup_id} z / of {report.made_at})")
    report_restore(report)


def report_restore(report: RestoreReport) -> None:
    """What a restore did and what its checks found (exit 1 when they failed)."""
    console.print(f"  usunięcia zapisane po kopii / deletions recorded after the backup: "
                  f"{report.deletions_known}; zastosowane / applied: "
                  f"{report.deletions_applied} — materiał usunięty przez czyszczenie nie "
                  "wraca / material the sweep deleted does not come back")
    _journal_note(report.journal_note)
    console.print(f"  aktywne zabezpieczenia / active holds: {report.holds_active}")
    if report.witness_note:
        err_console.print(f"[yellow]uwaga / note:[/] {escape(report.witness_note)}")
    if report.audit_problems:
        for problem in report.audit_problems:
            err_console.print(f"audit verify: BŁĄD / BROKEN at {escape(problem)}")
    else:
        entries = count_pl(report.audit_entries, "wpis", "wpisy", "wpisów")
        en = _en(report.audit_entries, "entry", "entries")
        console.print(f"  audit verify: OK ({entries} / {en})")
    if report.media_problems:
        for problem in report.media_problems[:20]:
            err_console.print(f"kontrola skrótów / hash check: {escape(problem)}")
    else:
        items = count_pl(report.media_checked, "nagranie", "nagrania", "nagrań")
        console.print(f"  kontrola skrótów / hash check: OK ({items} / "
                      f"{_en(report.media_checked, 'item', 'items')})")
    if not report.ok:
        raise typer.Exit(1)


def _journal_note(note: tuple[str, str] | None) -> None:
    if note is None:
        return
    pl, en = note
    if pl.startswith("UWAGA"):  # an unchained journal: loud, on stderr, both languages
        err_console.print(f"[bold yellow]{escape(pl)}[/]")
        err_console.print(f"[bold yellow]{escape(en)}[/]")
    else:
        console.print(f"  {escape(pl)} / {escape(en)}")


def _en(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
