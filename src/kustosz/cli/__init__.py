"""The `kustosz` command line."""

from __future__ import annotations

import traceback
from pathlib import Path

import typer

from kustosz import __version__
from kustosz.atrest.modes import private_umask
from kustosz.cli import (
    accounts,
    admin,
    backup,
    cameras,
    config_cmd,
    custody,
    custody_docs,
    demo,
    doctor,
    endpoints,
    material,
    monitoring,
    phones,
    policy_cmd,
    report,
    retention,
    secrets_cmd,
    tls,
)
from kustosz.cli import serve as serve_cmd
from kustosz.cli.common import state
from kustosz.logs import setup_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Kustosz — the monitoring vault of a public office.")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kustosz {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    data: Path = typer.Option(None, "--data", envvar="KUSTOSZ_DATA",
                              help="The vault's data folder (or KUSTOSZ_DATA)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and stop."),
) -> None:
    state.data = data
    setup_cli(verbose)  # text on stderr, secrets and phone numbers masked (kustosz.logs)


admin.register(app)
material.register(app)
custody.register(app)
retention.register(app)
demo.register(app)
phones.register(app)
cameras.register(app)
custody_docs.register(app)
monitoring.register(app)
endpoints.register(app)
secrets_cmd.register(app)
accounts.register(app)
tls.register(app)
doctor.register(app)
config_cmd.register(app)  # kustosz config check / schema
policy_cmd.register(app)  # kustosz policy check / schema
backup.register(app)
report.register(app)  # kustosz report accountability / verify


def main() -> None:
    # Before anything is written: every file and folder of the vault is this account's
    # alone, ffmpeg's segments included (children inherit it). `python -m kustosz` and the
    # `kustosz` script both come through here.
    private_umask()
    try:
        app()
    except SystemExit as exc:
        if serve_cmd.ENDS_PROCESS.is_set():  # serve has stopped: the process ends at once
            serve_cmd.end_process(exc.code)
        raise
    except BaseException:
        if not serve_cmd.ENDS_PROCESS.is_set():
            raise
        traceback.print_exc()
        serve_cmd.end_process(1)


if __name__ == "__main__":
    main()
