"""kustosz policy check / schema: an office's regulation as a preset file, checked without a
vault, and the JSON Schema editors validate such a file with (issue 51 item 1)."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli.admin import policy_app
from kustosz.cli.common import echo_or_write, fails_cleanly
from kustosz.cli.config_cmd import report
from kustosz.config_schema.policy_file import check_preset_file, json_schema_text


@fails_cleanly
def policy_check(
    file: Path = typer.Argument(..., help="The preset file (TOML) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Check a preset file (an office's regulation as data: docs/policies.md) without a
    vault: every problem at once, each with its line and key, Polish then English. Exit 0
    when it is valid, 1 when not."""
    report(file, check_preset_file(file), as_json)


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
    policy_app.command("check")(policy_check)
    policy_app.command("schema")(policy_schema)
