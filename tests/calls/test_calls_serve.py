"""`kustosz serve` takes in the recordings of phone lines, including a line added and enabled
while it runs (each intake pass reads the enabled lines anew)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from calls_pbx import Pbx, add_line, day_of_calls, stored_calls
from tests.conftest import make_vault

from kustosz.cli import serve as serve_mod
from kustosz.cli.serve import run_serve
from kustosz.vault import Vault


def test_serve_takes_in_a_line_added_while_it_runs(tmp_path: Path, backend_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_mod, "PHONE_PASS_S", 0.2)
    vault: Vault = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    pbx = Pbx(tmp_path / "pbx")
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=run_serve, args=(vault, stop),
                         kwargs={"web": None, "on_ready": lambda _pool: ready.set()})
    t.start()
    try:
        assert ready.wait(30), "serve did not get ready"
        calls = day_of_calls(pbx)
        add_line(vault, pbx)
        deadline = time.monotonic() + 30
        while len(stored_calls(vault)) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(stored_calls(vault)) == {c.uniqueid for c in calls.values()}, \
            "serve did not take in the calls of the line added while it ran"
    finally:
        stop.set()
        t.join(60)
        vault.close()
    assert not t.is_alive()
