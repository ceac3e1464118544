"""kustosz.diagnostics.tracemalloc_dump: nothing unless asked, never into the vault."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from kustosz.diagnostics import tracemalloc_dump as td


def test_nothing_without_the_variable(tmp_path: Path) -> None:
    assert td.start_from_env(tmp_path / "vault", env={}) is None
    assert td.start_from_env(tmp_path / "vault", env={td.DIR_ENV: "  "}) is None


def test_refuses_a_folder_inside_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    for inside in (vault, vault / "diag", vault / "a" / ".." / "b"):
        assert td.start_from_env(vault, env={td.DIR_ENV: str(inside)}) is None
    assert list(vault.iterdir()) == []


def test_dumps_snapshots_when_asked(tmp_path: Path) -> None:
    was = tracemalloc.is_tracing()
    out = tmp_path / "snaps"
    try:
        thread = td.start_from_env(tmp_path / "vault",
                                   env={td.DIR_ENV: str(out), td.EVERY_ENV: "0.05"})
        assert thread is not None and thread.daemon
        assert tracemalloc.is_tracing()
        deadline = time.monotonic() + 10
        while not list(out.glob("snapshot-*.pickle")) and time.monotonic() < deadline:
            time.sleep(0.05)
        first = sorted(out.glob("snapshot-*.pickle"))[0]
        assert tracemalloc.Snapshot.load(str(first)).traceback_limit == td.FRAMES
    finally:
        if not was:
            tracemalloc.stop()
