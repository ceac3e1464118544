"""DESIGN invariant 6 for the core verbs: bad input gets a one-line error, exit != 0, and
nothing changes in the index, the storage or the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from kustosz.vault import Vault
from tests.conftest import Cli, snapshot
from tests.support.cli_words import polish_first


@pytest.fixture
def ready(tmp_path: Path, cli: Cli) -> tuple[Cli, Vault, Path]:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hall", "--kind", "camera")
    sample = tmp_path / "seg.ts"
    sample.write_bytes(b"\x47" * 188 * 10)
    cli("ingest", "file", "hall", str(sample), "--start", "2026-11-01T10:00:00+01:00",
        "--end", "2026-11-01T10:00:10+01:00")
    cli("holds", "place", "--source", "hall", "--from", "2026-11-01T09:00:00Z",
        "--to", "2026-11-01T11:00:00Z", "--basis", "pismo KMP")
    return cli, Vault.open(cli.data), sample


BAD = {
    "time without zone": ("ingest", "file", "hall", "{sample}", "--start", "2026-11-01T10:00:00"),
    "not a time": ("ingest", "file", "hall", "{sample}", "--start", "yesterday"),
    "end before start": ("ingest", "file", "hall", "{sample}", "--start",
                         "2026-11-01T10:00:00Z", "--end", "2026-11-01T09:59:59Z"),
    "missing file": ("ingest", "file", "hall", "{missing}", "--start", "2026-11-01T10:00:00Z"),
    "unknown source on ingest": ("ingest", "file", "gate", "{sample}", "--start",
                                 "2026-11-01T10:00:00Z"),
    "hold on unknown source": ("holds", "place", "--source", "gate", "--from",
                               "2026-11-01T10:00:00Z", "--to", "2026-11-01T11:00:00Z",
                               "--basis", "x"),
    "hold ends before it starts": ("holds", "place", "--source", "hall", "--from",
                                   "2026-11-01T10:00:00Z", "--to", "2026-11-01T09:00:00Z",
                                   "--basis", "x"),
    "hold without zone": ("holds", "place", "--source", "hall", "--from", "2026-11-01T10:00",
                          "--to", "2026-11-01T11:00:00Z", "--basis", "x"),
    "hold with empty basis": ("holds", "place", "--source", "hall", "--from",
                              "2026-11-01T10:00:00Z", "--to", "2026-11-01T11:00:00Z",
                              "--basis", "  "),
    "hold on unknown item": ("holds", "place", "--item", "999", "--basis", "x"),
    "release unknown hold": ("holds", "release", "42", "--reason", "x"),
    "release without reason": ("holds", "release", "1", "--reason", " "),
    "source of unknown kind": ("sources", "add", "fax1", "--kind", "fax"),
    "source of unregulated kind": ("sources", "add", "line1", "--kind", "phone"),
    "duplicate source": ("sources", "add", "hall", "--kind", "camera"),
    "source longer than rule": ("sources", "add", "gate", "--kind", "camera",
                                "--retention", "2 months"),
    "bad source name": ("sources", "add", "../etc", "--kind", "camera"),
    "retention --now without zone": ("retention", "run", "--now", "2026-12-31T00:00:00"),
    "second init": ("init", "--preset", "pleszew"),
    "recordings of unknown source": ("recordings", "list", "--source", "gate"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_changes_nothing(case: str, ready: tuple[Cli, Vault, Path],
                                   tmp_path: Path) -> None:
    cli, vault, sample = ready
    before = snapshot(vault)
    args = [a.format(sample=sample, missing=tmp_path / "nope.ts") for a in BAD[case]]
    result = cli(*args, ok=False)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and polish_first(lines), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert snapshot(vault) == before


def test_unknown_preset_creates_nothing(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "fresh")
    result = cli("init", "--preset", "gdansk", ok=False)
    assert result.exit_code == 2
    assert "unknown preset 'gdansk'" in result.output
    assert not (tmp_path / "fresh").exists()


def test_not_a_vault(tmp_path: Path) -> None:
    result = Cli(tmp_path / "empty")("sources", "list", ok=False)
    assert result.exit_code == 2
    assert "is not a Kustosz data folder" in result.output


def test_dry_run_changes_nothing(ready: tuple[Cli, Vault, Path]) -> None:
    cli, vault, _ = ready
    before = snapshot(vault)
    out = cli("retention", "run", "--now", "2027-06-01T00:00:00Z", "--dry-run", "--json").stdout
    assert '"kept_by_hold_count": 1' in out
    assert snapshot(vault) == before
