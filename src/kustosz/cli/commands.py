"""The `kustosz` command line, built from its command modules.

Each module under kustosz.cli adds its commands with ``register(app)``. Importing all of them
costs a command's start ~0.6 s of CPU more than the one it runs needs (sqlalchemy's ORM, the
web app, the documents, onnx's wrappers: ~1.9 s against ~1.3 s on the 2-core test machine),
in every command an administrator types, every timer and every test that runs the program
(issue 52 item 7). So a command loads only the modules that make its first word
(`WORDS`); `kustosz`, `kustosz --help` and a word no module makes load them all, so that the
list of commands and click's "No such command" are the whole program's.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import typer

from kustosz import __version__

# The command modules, in the order their commands are listed in `kustosz --help`.
MODULES = ("admin", "material", "custody", "retention", "demo_cmd", "phones", "cameras",
           "custody_docs", "monitoring", "endpoints", "secrets_cmd", "accounts", "tls",
           "doctor", "config_cmd", "policy_cmd", "backup", "report", "offices")
# A command's first word -> the modules that make it or add to it (their order as in MODULES).
# tests/test_cli_words.py builds every word from these alone and compares it, command by
# command and option by option, with the whole program: a module that starts making or
# adding to a word fails it until it is named here.
WORDS: dict[str, tuple[str, ...]] = {
    "init": ("admin",), "policy": ("admin", "policy_cmd"), "audit": ("admin",),
    "sources": ("material",), "ingest": ("material",), "recordings": ("material",),
    "holds": ("custody",),
    "sweeper": ("retention",), "recover": ("retention",), "storage": ("retention",),
    "clock": ("retention",), "retention": ("retention",),
    "demo": ("demo_cmd",),
    "capture": ("phones",), "phones": ("phones",), "calls": ("phones",),
    "serve": ("cameras",), "nodes": ("cameras",), "sites": ("cameras",), "zones": ("cameras",),
    "cameras": ("cameras",), "recorders": ("cameras",),
    "users": ("custody_docs", "accounts"), "requests": ("custody_docs",),
    "copies": ("custody_docs",), "bundle": ("custody_docs",),
    "registers": ("custody_docs",), "documents": ("custody_docs",),
    "mail": ("monitoring",), "events": ("monitoring", "endpoints"),
    "secrets": ("secrets_cmd",), "commission": ("accounts",), "tokens": ("accounts",),
    "tls": ("tls",), "doctor": ("doctor",), "config": ("config_cmd",),
    "backup": ("backup",), "restore": ("backup",), "report": ("report",),
    "offices": ("offices",),
}
# The global options before the first word, and whether each takes a value.
_GLOBAL = {"--data": True, "--office": True, "--verbose": False, "-v": False,
           "--version": False, "--help": False}


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kustosz {__version__}")
        raise typer.Exit()


def build(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """A `kustosz` program with the commands of ``modules``."""
    app = typer.Typer(no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False,
                      help="Kustosz — the monitoring vault of a public office.")

    @app.callback()
    def _global(
        data: Path = typer.Option(None, "--data", envvar="KUSTOSZ_DATA",
                                  help="The vault's data folder (or KUSTOSZ_DATA); or an "
                                       "installation's folder, with --office."),
        office: str = typer.Option(None, "--office", envvar="KUSTOSZ_OFFICE",
                                   help="The office of an installation that every command "
                                        "acts for (or KUSTOSZ_OFFICE); needed where it has "
                                        "several (kustosz offices list)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
        version: bool = typer.Option(False, "--version", is_eager=True,
                                     callback=_print_version,
                                     help="Print the version and stop."),
    ) -> None:
        from kustosz.cli.common import state
        from kustosz.logs import setup_cli

        state.data, state.office, state.admitted = data, office, None
        setup_cli(verbose)  # text on stderr, secrets and phone numbers masked (kustosz.logs)

    for name in modules:
        importlib.import_module(f"kustosz.cli.{name}").register(app)
    return app


@cache
def whole() -> typer.Typer:
    """Every command (what `from kustosz.cli import app` gives)."""
    return build()


def _scan(args: list[str]) -> tuple[list[str], str | None]:
    """The global options before the command's first word, and that word (None when there
    is none, or an option the program does not know comes first)."""
    seen: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, _value = arg.partition("=")
        if name in _GLOBAL:
            seen.append(name)
            i += 2 if _GLOBAL[name] and not eq else 1
            continue
        return seen, None if arg.startswith("-") else arg
    return seen, None


def first_word(args: list[str]) -> str | None:
    """The command's first word: the first argument that is not a global option or its
    value (None when there is none, or an option the program does not know comes first)."""
    return _scan(args)[1]


def for_args(args: list[str]) -> typer.Typer:
    """The program for this command line: only its word's modules when it names one, none
    for `kustosz --version` (an eager option: it answers before any command is looked up)."""
    seen, word = _scan(args)
    if word is None and "--version" in seen and "--help" not in seen:
        return build(())
    modules = WORDS.get(word) if word is not None else None
    return whole() if modules is None else build(modules)
