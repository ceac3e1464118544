"""kustosz storage check: the object store's bucket compared with the index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from kustosz.cli.common import actor, console, emit_json, fails_cleanly, open_vault

if TYPE_CHECKING:
    from kustosz.maintenance.key_repeats import Repeat
    from kustosz.vault import Vault

storage_app = typer.Typer(no_args_is_help=True, help="The object store (S3) of the media.")


@fails_cleanly
def storage_check(as_json: bool = typer.Option(False, "--json")) -> None:
    """List every version in the bucket and name those the index does not know (raises or
    clears the storage_unknown_objects alert; one audit entry), and every indexed version the
    bucket lacks or holds changed (its recording marked missing; the storage_missing_versions
    alert). On the local folder: every stored file hashed again against the index, those
    changed or gone marked missing (the same alert). Both name the storage keys more than
    one recording holds (a fault of the index). Exit 1 when any is found, or any recording
    is marked missing."""
    from kustosz.maintenance.store_check import run_check
    from kustosz.storage.s3 import S3Storage

    with open_vault() as vault:
        if not isinstance(vault.storage, S3Storage):
            _check_folder(vault, as_json)
            return
        report = run_check(vault, actor=actor())
        # Only the store's policy keeps the app's credentials from deleting: ask it (a
        # made-up version of a made-up key; nothing created). Review of issue 16, F9.
        app_deletes = isinstance(vault.storage, S3Storage) and not vault.storage.deleting \
            and vault.storage.may_delete_versions()
    if as_json:
        emit_json({**report.as_json(), "app_can_delete": app_deletes})
    else:
        console.print(f"bucket {report.bucket}: {report.versions} version(s) listed, "
                      f"{report.known} indexed, {report.unverified} not yet verifiable "
                      f"(intake under way), {report.unknown_count} unknown, "
                      f"{len(report.size_differs)} of another size than indexed")
        console.print(f"kubełek {report.bucket}: wersje obiektów: {report.versions}, "
                      f"znane rejestrowi: {report.known}, nieznane rejestrowi: "
                      f"{report.problems}")
        for line in report.examples():
            console.print(f"  {line}")
        console.print(f"nagrania z rejestru brakujące w magazynie lub zmienione: "
                      f"{report.lost_count} (sprawdzono {report.indexed}; oznaczone w "
                      f"rejestrze jako brakujące: {report.marked_missing})")
        console.print(f"{report.lost_count} indexed version(s) missing from the store or "
                      f"changed ({report.indexed} looked up; {report.marked_missing} "
                      "recording(s) marked missing in the index)")
        for lost in report.lost[:20]:
            console.print(f"  {lost.line_pl()}", markup=False)
            console.print(f"  {lost.line()}", markup=False)
        earlier = [m for m in report.marked if m.id not in {x.id for x in report.lost}]
        if earlier:
            console.print("oznaczone jako brakujące wcześniej / marked missing earlier:")
        for marked in earlier:
            console.print(f"  {marked.line_pl(earlier=True)}", markup=False)
            console.print(f"  {marked.line(earlier=True)}", markup=False)
        if report.found_again:
            console.print(f"ponownie w magazynie (znów przechowywane): {report.found_again}"
                          f" / back in the store (stored again): {report.found_again}")
        _print_repeated(report.repeated, report.repeated_count)
        if app_deletes:
            console.print("the app's credentials can delete object versions: give "
                          "credentials_file the app's own key, whose policy grants no delete "
                          "nor governance bypass (kustosz doctor says more)")
            console.print("dane dostępowe aplikacji pozwalają usuwać wersje obiektów: w "
                          "credentials_file wpisz własny klucz aplikacji, bez prawa usuwania "
                          "ani pomijania blokady (więcej mówi kustosz doctor)")
    if report.problems or app_deletes or report.lost_count or report.marked_missing or \
            report.repeated_count:
        raise typer.Exit(1)


def _print_repeated(repeated: list[Repeat], count: int) -> None:
    """Storage keys more than one recording holds (kustosz.maintenance.key_repeats)."""
    if not count:
        return
    console.print(f"klucze magazynu wspólne dla kilku nagrań (błąd rejestru; usunięcie "
                  f"jednego usunęłoby plik drugiego): {count}")
    console.print(f"storage keys held by more than one recording (a fault of the index; "
                  f"deleting one would delete the other's file): {count}")
    for r in repeated[:20]:
        console.print(f"  {r.line_pl()}", markup=False)
        console.print(f"  {r.line()}", markup=False)


def _check_folder(vault: Vault, as_json: bool) -> None:
    from kustosz.maintenance.files_check import run_files_check

    # by hand: as fast as the disk reads (the scheduled run keeps to files_check.RATE)
    report = run_files_check(vault, actor=actor(), rate=float("inf"))
    if as_json:
        emit_json(report.as_json())
    else:
        console.print(f"pliki nagrań sprawdzone: {report.checked} ({report.bytes} B); "
                      f"zmienione lub brakujące: {report.lost_count}; oznaczone w rejestrze "
                      f"jako brakujące: {report.marked_missing}")
        console.print(f"media files checked: {report.checked} ({report.bytes} B); changed "
                      f"or missing: {report.lost_count}; recordings marked missing in the "
                      f"index: {report.marked_missing}")
        for lost in report.lost[:20]:
            console.print(f"  {lost.line_pl()}", markup=False)
            console.print(f"  {lost.line()}", markup=False)
        _print_repeated(report.repeated, report.repeated_count)
    if report.lost_count or report.marked_missing or report.repeated_count:
        raise typer.Exit(1)


@fails_cleanly
def storage_backfill_versions(
        batch: int = typer.Option(200, "--batch", min=1, max=10000,
                                  help="Rows read and committed at a time."),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Record the version id of material indexed before it was kept (migration 0019): the
    version whose content hashes to the index's SHA-256. Resumable; a row no version matches
    is named (and audited), never guessed. Exit 1 when any is."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from kustosz.cli.common import err_console
    from kustosz.maintenance.backfill import backfill_versions

    with open_vault() as vault, Progress(
            TextColumn("wersje / versions"), BarColumn(), MofNCompleteColumn(),
            console=err_console, transient=True) as bar:
        task = bar.add_task("versions", total=None)
        report = backfill_versions(
            vault, actor=actor(), batch=batch,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        emit_json(report.as_json())
    elif not report.applicable:
        console.print("the media are not on an object store: nothing to backfill")
        console.print("nagrania nie są w magazynie obiektów: nie ma czego uzupełniać")
    else:
        console.print(f"{report.filled} of {report.total} version id(s) recorded, "
                      f"{len(report.unmatched)} without matching content")
        console.print(f"uzupełniono wersje: {report.filled} z {report.total}, bez zgodnej "
                      f"treści: {len(report.unmatched)}")
        for u in report.unmatched:
            console.print(f"  {u.line()}")
            console.print(f"  {u.line_pl()}")
    if report.unmatched:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    storage_app.command("check")(storage_check)
    storage_app.command("backfill-versions")(storage_backfill_versions)
    app.add_typer(storage_app, name="storage")
