"""kustosz config check / schema: the configuration file checked without starting anything,
and the JSON Schema editors validate it with (kustosz.config_schema)."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli.common import console, echo_or_write, emit_json, err_console, fails_cleanly, state
from kustosz.config_schema import CONFIG_NAME, Problem, check_file, json_schema_text
from kustosz.errors import InputError

config_app = typer.Typer(
    no_args_is_help=True, help="The configuration file kustosz.toml: check it, print its schema."
)


def _errors_pl(n: int) -> str:
    if n == 1:
        return "1 błąd"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} błędy"
    return f"{n} błędów"


def _file(config: Path | None) -> Path:
    if config is not None:
        return config
    if state.data is None:
        raise InputError(
            f"name the file: --config FILE, or --data DIR for the data folder's {CONFIG_NAME}",
            pl="Wskaż plik: --config PLIK albo --data KATALOG (plik "
            f"{CONFIG_NAME} katalogu danych).",
        )
    return state.data / CONFIG_NAME


@fails_cleanly
def config_check(
    config: Path = typer.Option(
        None, "--config", "-c", help="The file to check (default: kustosz.toml of --data)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Check a configuration file against the schema (every table and key, types, ranges,
    the policy's overrides) without starting anything. Exit 0 when it is valid, 1 when not,
    each problem named with its key's path (and the nearest valid name of a mistyped key)."""
    path = _file(config)
    # Relative paths in the file are the data folder's: the folder the file lies in.
    report(path, check_file(path, path.absolute().parent), as_json)


def report(path: Path, problems: list[Problem], as_json: bool) -> None:
    """Each problem in Polish, then in English (or as JSON); exit 1 when there is any."""
    if as_json:
        emit_json(
            {
                "file": str(path),
                "ok": not problems,
                "problems": [
                    {"key": p.where, "line": p.line, "pl": p.pl, "en": p.en} for p in problems
                ],
            }
        )
    elif not problems:
        console.print(
            f"{path}: plik jest poprawny / the file is valid", markup=False, soft_wrap=True
        )
    else:
        n = len(problems)
        err_console.print(
            f"{path}: {_errors_pl(n)} / {n} problem{'s' if n > 1 else ''}",
            markup=False,
            soft_wrap=True,
        )
        for p in problems:
            err_console.print(f"  {p.text('pl')}", markup=False, soft_wrap=True)
            err_console.print(f"    {p.text('en')}", markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@fails_cleanly
def config_schema(
    output: Path = typer.Option(
        None, "--output", "-o", help="Write it to this file (default: standard output)."
    ),
) -> None:
    """Print the JSON Schema of kustosz.toml (for editors: e.g. Taplo/Even Better TOML with
    `#:schema ./kustosz.schema.json` on the file's first line)."""
    echo_or_write(json_schema_text(), output)


def register(app: typer.Typer) -> None:
    config_app.command("check")(config_check)
    config_app.command("schema")(config_schema)
    app.add_typer(config_app, name="config")
