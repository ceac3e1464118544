"""MkDocs hook: the CLI reference (reference/cli.md) written at build time from the typer app
itself, so it can never drift from the program (issue 31 item 4: never hand-copied).

Each command's text is what `kustosz … --help` prints with a fixed terminal width and no
colour (WIDTH, ENV below); tests/test_docs_site.py compares the built page with real `--help`
runs."""

from __future__ import annotations

from typing import Any

import typer
from mkdocs.structure.files import File
from typer.testing import CliRunner

PAGE = "reference/cli.md"
WIDTH = 80
# What a plain terminal of WIDTH columns gives: no colour, no terminal features, no vault named
# by the environment (its value would show in the help as a default).
ENV = {
    "COLUMNS": str(WIDTH),
    "LINES": "50",
    "NO_COLOR": "1",
    "TERM": "dumb",
    "TERMINAL_WIDTH": None,
    "FORCE_COLOR": None,
    "PY_COLORS": None,
    "GITHUB_ACTIONS": None,
    "KUSTOSZ_DATA": None,
}


def commands() -> list[list[str]]:
    """Every command path of the CLI, in the order `--help` lists them, hidden ones left out."""
    from kustosz.cli import app

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        found.append(path)
        # typer ships its own copy of click: a group is whatever lists subcommands
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd, info_name=path[-1] if path else "kustosz")
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, [*path, name])

    walk(root, [])
    return found


def help_text(path: list[str]) -> str:
    """`kustosz PATH --help` as printed on a WIDTH-column terminal without colour; trailing
    spaces of each line dropped (the terminal pads with them, Markdown would keep them)."""
    from kustosz.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], prog_name="kustosz", env=ENV)
    if result.exit_code != 0:
        raise RuntimeError(f"kustosz {' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").split("\n"))


def render() -> str:
    out = [
        "# Wiersz poleceń: dokumentacja / CLI reference",
        "",
        "Generated from the program itself when the site is built: each section is what",
        f"`kustosz … --help` prints on a terminal {WIDTH} columns wide, without colour. How the",
        "commands fit together: [The command line](../cli.md).",
        "",
    ]
    for path in commands():
        title = " ".join(["kustosz", *path])
        out += [f"## {title}", "", "```text", help_text(path), "```", ""]
    return "\n".join(out)


def on_files(files, config):  # type: ignore[no-untyped-def]
    files.append(File.generated(config, PAGE, content=render()))
    return files
