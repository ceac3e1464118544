"""report: the accountability report (issue 53) — made as a signed bundle, verified offline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from kustosz.cli.common import console, data_dir, err_console, fails_cleanly, open_vault
from kustosz.custody.bundles import load_public, office_key
from kustosz.errors import InputError
from kustosz.report import build as report_build
from kustosz.report import bundle, period, verify

report_app = typer.Typer(no_args_is_help=True,
                         help="The accountability report: made, signed, verified offline.")


@fails_cleanly
def accountability(month: str = typer.Option(None, "--month", help="YYYY-MM"),
                   quarter: str = typer.Option(None, "--quarter", help="YYYY-QN, e.g. 2026-Q4"),
                   year: str = typer.Option(None, "--year", help="YYYY"),
                   out: Path = typer.Option(None, "--out", help="The bundle: a folder, or a "
                                            "ZIP when the name ends in .zip (default: "
                                            "reports/accountability-PERIOD in the data "
                                            "folder)."),
                   ) -> None:
    """Make the signed accountability report of a past month, quarter or year."""
    with open_vault() as vault:
        p = period.parse(month, quarter, year, vault.policy.timezone)
        now = datetime.now(UTC)
        report = report_build.build(vault, p, now)
        target = out or vault.root / "reports" / f"accountability-{p.label}"
        bundle.write(vault, report, target, now)
    if not report["integrity"]["verified"]:
        err_console.print("WARNING: the audit log does NOT verify; the report says so first")
    console.print(f"report {p.label} written to {target}: "
                  f"{len(report['findings'])} finding(s)")


def _vault_key_or_none() -> Path | None:
    try:
        root = data_dir()
    except InputError:
        return None
    return root if (root / "keys").is_dir() else None


@fails_cleanly
def report_verify(path: Path, key: Path = typer.Option(
        None, "--key", help="The office's public key (PEM); default: the vault's own, when "
        "--data names one, else the key inside the bundle.")) -> None:
    """Check a report bundle offline; names every altered, added or removed file."""
    public = None
    if key is not None:
        if not key.is_file():
            raise InputError(f"no such key file: {key}", pl=f"Nie ma pliku klucza {key}.")
        public = load_public(key.read_bytes(), str(key))
    elif (root := _vault_key_or_none()) is not None:
        public = office_key(root).public_key()
    verdict = verify.verify(path, public)
    if not verdict.ok:
        for problem in verdict.problems:
            err_console.print(f"FAILED: {problem}")
        err_console.print(f"report {path} does NOT verify")
        raise typer.Exit(1)
    console.print(f"report {path} verified: {verdict.files} files intact, signature valid "
                  f"({verdict.key_source or 'the vault own key'}; key {verdict.fingerprint})")


def register(app: typer.Typer) -> None:
    report_app.command("accountability")(accountability)
    report_app.command("verify")(report_verify)
    app.add_typer(report_app, name="report")

