"""kustosz policy check / schema: an office's regulation as a preset file, checked without a
vault, and the JSON Schema editors validate such a file with (issue 51 item 1)."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli.admin import policy_app
from kustosz.cli.common import echo_or_write, fails_cleanly
from kustosz.cli.config_cmd import report
from kustosz.cli.policy_show import policy_show
from kustosz.config_schema import Problem, parse
from kustosz.config_schema.policy_file import check_preset_file, json_schema_text
from kustosz.config_schema.problems import _with_line, key_lines
from kustosz.documents.gaps import blanks, unused
from kustosz.policy.model import build_policy


@fails_cleanly
def policy_check(
    file: Path = typer.Argument(..., help="The preset file (TOML) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Check a preset file (an office's regulation as data: docs/policies.md) without a
    vault: every problem at once, each with its line and key, Polish then English. Exit 0
    when it is valid, 1 when not. A valid file's documents that will print a dotted line
    where the office's own text belongs are warned of, with the key to fill in."""
    problems = check_preset_file(file)
    report(file, problems, as_json, [] if problems else blanks_of(file))


def blanks_of(file: Path) -> list[Problem]:
    """The warnings of a sound preset file: each document's text it does not give."""
    lines = key_lines(file.read_text("utf-8-sig"))
    policy = build_policy(parse(file))
    return [_with_line(p, lines) for p in [
        *(Problem(b.gap.where, b.en, b.pl) for b in blanks(policy)),
        *(Problem(*u) for u in unused(policy))]]


@fails_cleanly
def policy_schema(
    output: Path = typer.Option(
        None, "--output", "-o", help="Write it to this file (default: standard output)."
    ),
) -> None:
    """Print the JSON Schema of a preset file (also the schema of kustosz.toml's [policy]),
    for editors: e.g. `#:schema ./policy.schema.json` on the file's first line."""
    echo_or_write(json_schema_text(), output)


def register(app: typer.Typer) -> None:
    policy_app.command("show")(policy_show)
    policy_app.command("check")(policy_check)
    policy_app.command("schema")(policy_schema)
