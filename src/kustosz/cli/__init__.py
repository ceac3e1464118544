"""The `kustosz` command line (the commands: kustosz.cli.commands)."""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING

from kustosz.atrest.modes import private_umask
from kustosz.cli import commands

if TYPE_CHECKING:
    import typer


def __getattr__(name: str) -> typer.Typer:
    # `from kustosz.cli import app`: the whole program, built on first use, so that `main`
    # loads only the modules its command needs (kustosz.cli.commands).
    if name == "app":
        return commands.whole()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stopping_serve() -> bool:
    serve = sys.modules.get("kustosz.cli.serve")  # only a command that loaded it can be serve
    return serve is not None and bool(serve.ENDS_PROCESS.is_set())


def main() -> None:
    # Before anything is written: every file and folder of the vault is this account's
    # alone, ffmpeg's segments included (children inherit it). `python -m kustosz` and the
    # `kustosz` script both come through here.
    private_umask()
    app = commands.for_args(sys.argv[1:])
    try:
        app()
    except SystemExit as exc:
        if _stopping_serve():  # serve has stopped: the process ends at once
            sys.modules["kustosz.cli.serve"].end_process(exc.code)
        raise
    except BaseException:
        if not _stopping_serve():
            raise
        traceback.print_exc()
        sys.modules["kustosz.cli.serve"].end_process(1)


if __name__ == "__main__":
    main()
