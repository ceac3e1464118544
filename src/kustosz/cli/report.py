"""report: the accountability report (issue 53) — made as a signed bundle, verified offline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.markup import escape

from kustosz.cli.common import (
    console,
    data_dir,
    err_console,
    fails_cleanly,
    local,
    open_vault,
    refused,
)
from kustosz.custody.bundles import load_public, office_key
from kustosz.errors import InputError
from kustosz.report import build as report_build
from kustosz.report import bundle, period, store, verify
from kustosz.vault import Vault
from kustosz.zipread import ZipRefused

report_app = typer.Typer(no_args_is_help=True,
                         help="The accountability report: made, signed, verified offline.")


def _polish_first(exc: InputError) -> NoReturn:
    """A period refused: the Polish words first, for the office's people, then the English;
    exit status 2, as every refusal of input."""
    err_console.print(f"[bold red]błąd:[/] {escape(exc.pl or str(exc))}", markup=True,
                      soft_wrap=True)
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
    raise typer.Exit(2)


def _with_hint(exc: InputError, p: period.ReportPeriod) -> InputError:
    """A running period refused as a final report: how to have the part gone by."""
    hint = f"kustosz report accountability --{p.kind} {p.label} --so-far"
    return InputError(f"{exc}; a draft of the part gone by: {hint}",
                      pl=f"{exc.pl} Sprawozdanie wstępne za część, która już minęła: {hint}")


def _made(vault: Vault, p: period.ReportPeriod, so_far: bool,
          now: datetime) -> dict[str, Any]:
    try:
        return report_build.build(vault, p, now, draft=so_far)
    except InputError as exc:
        _polish_first(_with_hint(exc, p) if not so_far and period.running(p, now) else exc)


@fails_cleanly
def accountability(month: str = typer.Option(None, "--month", help="YYYY-MM"),
                   quarter: str = typer.Option(None, "--quarter", help="YYYY-QN, e.g. 2026-Q4"),
                   year: str = typer.Option(None, "--year", help="YYYY"),
                   so_far: bool = typer.Option(False, "--so-far", help="A draft of the period "
                                               "still running (default: this month), as of "
                                               "now: marked as a draft on every page, never "
                                               "verified as a final report."),
                   out: Path = typer.Option(None, "--out", help="The bundle: a folder, or a "
                                            "ZIP when the name ends in .zip (default: "
                                            "reports/accountability-PERIOD in the data "
                                            "folder; a draft: reports/drafts/)."),
                   ) -> None:
    """Make the signed accountability report of a past month, quarter or year (or, with
    --so-far, a draft of the one still running)."""
    with open_vault() as vault:
        tz = vault.policy.timezone
        now = datetime.now(UTC)
        if so_far and not (month or quarter or year):
            month = f"{now.astimezone(tz):%Y-%m}"
        try:
            p = period.parse(month, quarter, year, tz)
        except InputError as exc:
            _polish_first(exc)
        report = _made(vault, p, so_far, now)
        target = out or (store.draft_folder(vault, p.label, now) if so_far
                         else vault.root / "reports" / f"accountability-{p.label}")
        target.parent.mkdir(parents=True, exist_ok=True)
        bundle.write(vault, report, target, now)
        as_of = local(now, vault)
    if not report["integrity"]["verified"]:
        err_console.print("WARNING: the audit log does NOT verify; the report says so first")
    if so_far:
        console.print(f"Sprawozdanie WSTĘPNE {p.label} (stan na {as_of}) zapisano w {target}; "
                      "nie jest sprawozdaniem końcowym.", soft_wrap=True)
        console.print(f"draft report {p.label} (so far, as of {as_of}) written to {target}: "
                      f"{len(report['findings'])} finding(s); NOT a final report",
                      soft_wrap=True)
        return
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
        "--data names one, else the key inside the bundle."),
        draft: bool = typer.Option(False, "--draft", help="Check a draft (--so-far) as a "
                                   "draft: its files and signature; it stays a draft.")) -> None:
    """Check a report bundle offline; names every altered, added or removed file. A draft
    never verifies as a report."""
    public = None
    if key is not None:
        if not key.is_file():
            raise InputError(f"no such key file: {key}", pl=f"Nie ma pliku klucza {key}.")
        public = load_public(key.read_bytes(), str(key))
    elif (root := _vault_key_or_none()) is not None:
        public = office_key(root).public_key()
    try:
        verdict = verify.verify(path, public, draft=draft)
    except ZipRefused as exc:
        refused(exc)
    is_draft = verdict.kind == bundle.DRAFT_KIND
    if is_draft and not draft:
        err_console.print("NIE ZWERYFIKOWANO: to sprawozdanie WSTĘPNE (niepełne, za część "
                          "okresu), a nie sprawozdanie końcowe.", soft_wrap=True)
    if not verdict.ok:
        for problem in verdict.problems:
            err_console.print(f"FAILED: {problem}", soft_wrap=True)
        err_console.print(f"report {path} does NOT verify")
        raise typer.Exit(1)
    what = "DRAFT report (not a final report)" if is_draft else "report"
    if is_draft:
        console.print("Sprawozdanie WSTĘPNE: pliki nienaruszone, podpis prawidłowy; nie jest "
                      "sprawozdaniem końcowym.", soft_wrap=True)
    console.print(f"{what} {path} verified: {verdict.files} files intact, signature valid "
                  f"({verdict.key_source or 'the vault own key'}; key {verdict.fingerprint})",
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    report_app.command("accountability")(accountability)
    report_app.command("verify")(report_verify)
    app.add_typer(report_app, name="report")

