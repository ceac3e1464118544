"""One process recovers and records per data folder: `kustosz recover` and a second serve are
refused while a serve runs (recovery would undo serve's in-flight intakes; two serves would
record every camera twice), and nothing changes. After the serve stops, recover works."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kustosz.cli.serve import run_serve
from kustosz.db.models import Recording
from kustosz.errors import ConfigError
from kustosz.index.sources import add_source
from tests.conftest import Cli


def in_flight_intake(vault) -> int:  # type: ignore[no-untyped-def]
    """A `pending` row as serve has it while a file is being copied in."""
    from datetime import UTC, datetime

    with vault.transaction() as s:
        src = add_source(s, vault.policy, "hall", "camera", "test")
        now = datetime.now(UTC)
        rec = Recording(source_id=src.id, kind="camera", start_at=now, end_at=now,
                        storage_key="hall/in-flight.ts", meta={}, state="pending",
                        expires_at=now, ingested_at=now)
        s.add(rec)
        s.flush()
        return rec.id


def test_recover_and_second_serve_refused_while_serving(tmp_path: Path, cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    from kustosz.vault import Vault

    vault = Vault.open(cli.data)
    stop, ready = threading.Event(), threading.Event()
    serving = threading.Thread(target=run_serve, args=(vault, stop),
                               kwargs={"on_ready": lambda _pool: ready.set()})
    serving.start()
    try:
        assert ready.wait(30)
        pending = in_flight_intake(vault)
        result = cli("recover", ok=False)
        assert result.exit_code == 2
        assert "kustosz serve is already running" in result.output
        said = " ".join(result.output.split())
        assert f"(PID {os.getpid()})" in said  # serve runs in this process here
        assert "recovers by itself" not in said
        assert "błąd: Nie można uruchomić recover: inny proces kustosz serve" in said
        second = Vault.open(cli.data)
        with pytest.raises(ConfigError, match="already running"):
            run_serve(second, threading.Event())
        second.close()
        with vault.reading() as s:  # serve's in-flight intake was left alone
            assert s.get(Recording, pending).state == "pending"
    finally:
        stop.set()
        serving.join(30)
    assert "1 interrupted intake(s) undone" in cli("recover").output  # now it may
    vault.close()


def test_init_on_an_existing_vault_says_it_in_polish_too(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    result = cli("init", "--preset", "pleszew", ok=False)
    assert result.exit_code == 2
    polish, error = result.output.splitlines()[:2]
    assert error.startswith("error:") and "already holds a vault" in error
    assert polish.startswith("błąd:") and "już jest skarbiec" in polish
