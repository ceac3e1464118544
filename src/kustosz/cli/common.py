"""What every CLI verb shares: the vault from --data, time parsing, output, one-line errors."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from kustosz.db.outage import is_database_away
from kustosz.errors import InputError, KustoszError
from kustosz.vault import Vault

_SPACE_BEFORE_ZONE = re.compile(r"\s+(?=(?:[+-]\d{2}(?::?\d{2})?|Z)$)")
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


class State:
    data: Path | None = None
    office: str | None = None  # --office: one office of an installation (issue 67)
    admitted: Path | None = None  # the office folder this command was let into (office_gate)


state = State()


def actor() -> str:
    return os.environ.get("KUSTOSZ_ACTOR") or f"cli:{getpass.getuser()}"


def data_dir() -> Path:
    """The vault the command acts on: --data, or in an installation (a folder holding
    installation.toml) the office --office names, or its only one; several offices and no
    --office are refused, never a default (kustosz.installation.registry.resolve). A command
    that is not the infrastructure's needs the office's head's grant there (cli.office_gate)."""
    from kustosz.installation.registry import resolve

    if state.data is None:
        raise InputError("no data folder: pass --data DIR or set KUSTOSZ_DATA",
                         pl="Nie podano folderu danych: dodaj --data FOLDER albo ustaw "
                            "KUSTOSZ_DATA.")
    folder = resolve(state.data, state.office)
    if state.admitted != folder:  # asked once a command: each check is an audit entry
        from kustosz.cli.office_gate import check

        check(folder, actor())
        state.admitted = folder
    return folder


def installation_root() -> Path:
    """An installation's folder (--data) as the `offices` commands take it, whatever it
    holds yet (no office is resolved: they act on the installation)."""
    if state.data is None:
        raise InputError("no installation folder: pass --data DIR or set KUSTOSZ_DATA",
                         pl="Nie podano folderu instalacji: dodaj --data FOLDER albo ustaw "
                            "KUSTOSZ_DATA.")
    return state.data.absolute()


@contextmanager
def open_vault(offline: bool = False, fallback: bool = False) -> Iterator[Vault]:
    """``offline``: the vault's files only (Vault.offline, with its ``fallback``: serve's
    start); the caller connects it."""
    vault = Vault.offline(data_dir(), fallback) if offline else \
        Vault.open(data_dir(), actor=actor())
    try:
        yield vault
    finally:
        vault.close()


def _pl(what: str) -> str:
    return "czas" if what == "time" else what


def parse_time(text: str, what: str = "time") -> datetime:
    # A time as `local` shows it ("2026-11-21 10:00:00 +01:00") is taken back as it is.
    given = _SPACE_BEFORE_ZONE.sub("", text.strip())
    try:
        value = datetime.fromisoformat(given.replace("Z", "+00:00") if given.endswith("Z")
                                       else given)
    except ValueError:
        raise InputError(f"{what} {text!r} is not an ISO 8601 time "
                         "(e.g. 2026-11-21T10:00:00+01:00)",
                         pl=f"{_pl(what)}: „{text}” nie jest czasem w formacie ISO 8601 "
                            "(np. 2026-11-21T10:00:00+01:00).") from None
    if value.tzinfo is None:
        raise InputError(f"{what} {text!r} has no zone; add one, e.g. +01:00 or Z",
                         pl=f"{_pl(what)}: „{text}” nie ma strefy czasowej; dopisz ją, np. "
                            "+01:00 albo Z.")
    return value


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def refused(exc: KustoszError) -> NoReturn:
    """A refusal of something brought from outside (a bundle's ZIP, kustosz.zipread): the
    Polish words first, for the person who received it, then the English; exit status 2."""
    err_console.print(f"[bold red]odrzucono:[/] {escape(exc.pl or str(exc))}", markup=True,
                      soft_wrap=True)
    err_console.print(f"[bold red]refused:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
    raise typer.Exit(2)


def fails_cleanly(fn: F) -> F:
    """Turn our errors into the Polish words on stderr, then the English on a second line
    (one line where the error has no Polish of its own), and exit status 2. The texts are
    escaped: a message naming "[backup]" or a folder "kopia [1]" is shown as it is, not read
    as rich markup."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KustoszError as exc:
            # Polish first: the office's people read the first line (the standard for every
            # text they read); the English follows for the maintainer and the log.
            if exc.pl and exc.pl != str(exc):
                err_console.print(f"[bold red]błąd:[/] {escape(exc.pl)}", markup=True,
                                  soft_wrap=True)
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            if not is_database_away(exc):
                raise
            # Issue 27: a database away is no crash of ours; one line, and the exit status a
            # supervisor reads as "try again later" (systemd restarts serve with back-off).
            reason = str(getattr(exc, "orig", exc) or type(exc).__name__).splitlines()[0]
            err_console.print("[bold red]błąd:[/] baza danych jest niedostępna; spróbuj "
                              "ponownie później.", markup=True, soft_wrap=True)
            err_console.print(f"[bold red]error:[/] the database is not reachable: "
                              f"{escape(reason)}", markup=True, soft_wrap=True)
            raise typer.Exit(DATABASE_AWAY_EXIT) from None

    return wrapper  # type: ignore[return-value]


DATABASE_AWAY_EXIT = 75  # EX_TEMPFAIL (sysexits.h): a temporary failure, try again later


def local(value: datetime | str | None, vault: Vault) -> str:
    """A time for people, the one way every verb shows it (`--json` stays ISO 8601 UTC):
    the office's zone, whole seconds, and the offset — an hour repeated when summer time
    ends is told apart, and the text can be given back to --from/--to as it is. The space
    before the offset lets a narrow table cell wrap there instead of cutting the offset off.
    ``value`` may be an ISO 8601 text with a zone, as reports carry times."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # times are kept in UTC; never read one as this machine's zone
        value = value.replace(tzinfo=UTC)
    shown = value.astimezone(vault.policy.timezone).replace(microsecond=0)
    return f"{shown:%Y-%m-%d %H:%M:%S} {shown.isoformat()[19:]}"


def echo_or_write(text: str, output: Path | None) -> None:
    """A generated text (a JSON Schema) to standard output, or into ``output``."""
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
