"""kustosz storage check: the object store's bucket compared with the index."""

from __future__ import annotations

import typer

from kustosz.cli.common import actor, console, emit_json, fails_cleanly, open_vault

storage_app = typer.Typer(no_args_is_help=True, help="The object store (S3) of the media.")


@fails_cleanly
def storage_check(as_json: bool = typer.Option(False, "--json")) -> None:
    """List every version in the bucket and name those the index does not know (raises or
    clears the storage_unknown_objects alert; one audit entry). Exit 1 when any is found."""
    from kustosz.storage.check import run_check

    with open_vault() as vault:
        report = run_check(vault, actor=actor())
    if as_json:
        emit_json(report.as_json())
    else:
        console.print(f"bucket {report.bucket}: {report.versions} version(s) listed, "
                      f"{report.known} indexed, {report.unverified} not yet verifiable "
                      f"(intake under way), {len(report.unknown)} unknown, "
                      f"{len(report.size_differs)} of another size than indexed")
        console.print(f"kubełek {report.bucket}: wersji {report.versions}, w rejestrze "
                      f"{report.known}, nieznanych rejestrowi {report.problems}")
        for line in report.examples():
            console.print(f"  {line}")
    if report.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    storage_app.command("check")(storage_check)
    app.add_typer(storage_app, name="storage")
