"""kustosz config check / schema: the configuration file checked without starting anything,
and the JSON Schema editors validate it with (kustosz.config_schema)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from kustosz.cli.common import (
    console,
    data_dir,
    echo_or_write,
    emit_json,
    err_console,
    fails_cleanly,
    state,
)
from kustosz.config_schema import CONFIG_NAME, Problem, check_file, json_schema_text
from kustosz.errors import ConfigError, InputError

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
    return data_dir() / CONFIG_NAME


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
    problems = check_file(path, path.absolute().parent)
    if not as_json and state.data is not None and (config is None or config.absolute() ==
                                                   (data_dir() / CONFIG_NAME).absolute()):
        said = in_force_words(data_dir().absolute(), problems)
        if said:
            (err_console if problems else console).print(said, markup=False, soft_wrap=True)
    report(path, problems, as_json)


@fails_cleanly
def config_keep_last_good(
    config: Path = typer.Option(
        None, "--config", "-c", help="The settings file (default: kustosz.toml of --data); "
        "as root it must be named."),
) -> None:
    """Keep the settings file as FILE.last-good when it passes the check a start makes: what
    `kustosz serve` starts on should the file be refused later. serve keeps it itself where
    the file is its own; where the file is root's (the Debian package's /etc/kustosz), root
    runs this before each start and reload of the service."""
    from kustosz.config_fallback import accept
    from kustosz.config_keep import NotOurs, keep, settings_file
    from kustosz.config_schema import read_file
    from kustosz.config_schema.refusal import located

    if config is None and os.geteuid() == 0:
        raise InputError("as root, name the file (--config /etc/kustosz/kustosz.toml): root "
                         "does not follow the data folder's kustosz.toml, the service's link",
                         pl="Jako root wskaż plik (--config /etc/kustosz/kustosz.toml): root "
                            "nie podąża za dowiązaniem kustosz.toml w katalogu danych, które "
                            "należy do konta usługi.")
    # relative paths in it are the folder's
    root = (data_dir() if state.data is not None else config.parent).absolute()
    file = Path(os.path.realpath(config)) if config is not None else settings_file(data_dir())
    raw = read_file(file)
    try:
        accept(raw, file, root)
    except ConfigError as exc:
        report(file, located(exc, raw.decode("utf-8", "replace")), False)
    try:
        written = keep(file, raw)
    except NotOurs as exc:
        raise InputError(f"not kept: {exc}", pl=f"Nie zapisano kopii: {exc}") from None
    if written is None:
        console.print(f"{file}.last-good: już ta sama / already the same", markup=False,
                      soft_wrap=True)
    else:
        console.print(f"{written}: zapisano / kept", markup=False, soft_wrap=True)


def report(path: Path, problems: list[Problem], as_json: bool,
           warnings: list[Problem] | None = None) -> None:
    """Each problem in Polish, then in English (or as JSON); exit 1 when there is any.
    ``warnings`` (a sound file's gaps: `kustosz policy check`) are told too and do not fail
    it."""
    if as_json:
        shown = {"file": str(path), "ok": not problems, "problems": [
            {"key": p.where, "line": p.line, "pl": p.pl, "en": p.en} for p in problems]}
        if warnings is not None:
            shown["warnings"] = [{"key": w.where, "line": w.line, "pl": w.pl, "en": w.en}
                                 for w in warnings]
        emit_json(shown)
    elif not problems:
        console.print(
            f"{path}: plik jest poprawny / the file is valid", markup=False, soft_wrap=True
        )
        for w in warnings or []:
            err_console.print(f"  uwaga / warning: {w.text('pl')}", markup=False,
                              soft_wrap=True)
            err_console.print(f"    {w.text('en')}", markup=False, soft_wrap=True)
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


def in_force_words(root: Path, problems: list[Problem]) -> str:
    """What a serve running on ``root`` runs on when that is not the file, and what a start
    now would take when the file is refused (kustosz.config_in_force)."""
    from kustosz.config_in_force import next_start, running_on

    running = running_on(root)
    said = []
    if running is not None and running.get("in_force") != "file":
        said.append(f"kustosz serve (PID {running.get('pid')}) nie działa według tego pliku "
                    f"/ does not run on this file (od / since {running.get('since')}): "
                    f"{running.get('pl')}\n{running.get('en')}")
    if problems and (running is None or running.get("in_force") == "file"):
        _kind, en, pl = next_start(root, problems)
        said.append(f"{pl}\n{en}")
    return "\n".join(said)


def register(app: typer.Typer) -> None:
    config_app.command("check")(config_check)
    config_app.command("keep-last-good")(config_keep_last_good)
    config_app.command("schema")(config_schema)
    app.add_typer(config_app, name="config")
