"""A source whose kind the office's regulation gives no retention period (`events add` on the
pleszew preset): the error gives the exact kustosz.toml lines, and those lines, added as
given, let the same command through (issue 14 review)."""

from __future__ import annotations

import re

from tests.conftest import Cli


def test_the_error_gives_lines_that_work(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    refused = cli("events", "add", "zapora", "--syslog-udp", "127.0.0.1:5514", ok=False)
    assert refused.exit_code == 2
    polish, english = refused.output.splitlines()[:2]
    assert polish.startswith("błąd:") and english.startswith("error:")
    lines = re.search(r"\[policy\.retention\]  (endpoint = \"[^\"]+\")", english)
    assert lines, english
    assert "[policy.retention]  " + lines.group(1) in polish
    assert not cli("sources", "list", ok=False).output.count("zapora")  # nothing added

    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + f"\n[policy.retention]\n{lines.group(1)}\n",
                      "utf-8")
    cli("events", "add", "zapora", "--syslog-udp", "127.0.0.1:5514")


def test_common_input_errors_have_their_polish_line(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`błąd:` then `error:` for the errors every verb shares (no --data, a bad time)."""
    from typer.testing import CliRunner

    from kustosz.cli import app

    cli("init", "--preset", "pleszew")
    for args in (["holds", "place", "--basis", "x", "--from", "wczoraj", "--to",
                  "2026-11-21T10:00:00Z"],
                 ["holds", "place", "--basis", "x", "--from", "2026-11-21T10:00:00",
                  "--to", "2026-11-21T11:00:00Z"]):
        result = cli(*args, ok=False)
        polish, english = result.output.splitlines()[:2]
        assert result.exit_code == 2 and english.startswith("error:"), result.output
        assert polish.startswith("błąd: --from: „2026-11-21T10:00:00” nie ma strefy") or \
            polish.startswith("błąd: --from: „wczoraj” nie jest czasem"), result.output
    bare = CliRunner().invoke(app, ["holds", "list"], env={"KUSTOSZ_DATA": "",
                                                           "COLUMNS": "200"})
    assert bare.exit_code == 2
    assert bare.output.splitlines()[0] == ("błąd: Nie podano folderu danych: dodaj --data "
                                           "FOLDER albo ustaw KUSTOSZ_DATA.")
