"""Every benchmark runs, in its smallest form (issue 68 item 7): `bench/NAME.py --smoke` as a
process of its own, through the product's path and its baseline tool, must exit 0 — its own
checks passed, its vault passed `audit verify` and the store check — and leave no process and
no file behind. bench/playback.py had stopped running for days (its witness was refused)
before anyone ran it; now the suite does. No figure is asserted: speed is the full run's.

The benchmarks are collected from the folder, so a new one cannot be forgotten. One that needs
a package or a service missing here exits with bench/_smoke.py's SKIPPED and says why; it is
skipped here with that reason, as the suite's own tests that need the same are (`make test`
installs the Debian packages when root)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from kustosz.vault import Vault
from tests.conftest import make_vault

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DEADLINE_S = 600  # a smoke takes seconds to a minute; a loaded machine, many times that
GONE_WITHIN_S = 30  # for the benchmark's own children to finish exiting after it
# Files a benchmark may leave in $TMPDIR: not its own. onnxruntime (bench/masking.py's
# detector) keeps its session id there, as it does for any program that loads it.
NOT_THEIRS = {".ses"}
# PulseAudio's client library (loaded by espeak-ng, which bench/capture.py's speech comes
# from) makes its runtime folder `pulse-<random>` in $TMPDIR when there is no
# XDG_RUNTIME_DIR, if the path is short enough for its socket: in this test's folder it is.
NOT_THEIRS_PREFIXES = ("pulse-",)


def benchmarks() -> list[str]:
    """Every benchmark: bench/*.py but the modules they share (`_name`)."""
    return sorted(p.stem for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def _shared() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_smoke", BENCH / "_smoke.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMOKE = _shared()


def _marked(marker: bytes) -> list[int]:
    """Processes whose environment carries ``marker``: the run's and its descendants'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_gone(marker: bytes, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_the_smallest_form_replaces_the_options_it_names() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=50)
    assert SMOKE.parse(parser, {"viewers": 2}, ["--viewers", "7"]).viewers == 7
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=50)
    assert SMOKE.parse(parser, {"viewers": 2}, ["--smoke", "--viewers", "7"]).viewers == 2


def test_a_smallest_form_naming_an_option_the_benchmark_lost_fails() -> None:
    """Renaming an option without its smallest form would run the smoke at full size."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=8)
    with pytest.raises(SystemExit, match="viewers"):
        SMOKE.parse(parser, {"viewers": 2}, ["--smoke"])


def test_the_vault_check_fails_on_a_changed_recording_and_a_changed_log(
        tmp_path: Path) -> None:
    """The check every benchmark's vault ends with finds what `kustosz storage check` and
    `audit verify` find: a stored file changed behind the vault's back, an entry rewritten."""
    from kustosz.index.sources import add_source
    from kustosz.ingest.files import ingest_file

    vault = make_vault(tmp_path / "v")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hol-glowny", "camera", "test")
        made = tmp_path / "nagranie-żółć-📹.ts"
        made.write_bytes(b"segment kamery " * 100)
        ingest_file(vault, "hol-glowny", made, datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
        assert SMOKE.vault_problems(vault) == []
        stored = next(p for p in (vault.root / "media").rglob("*") if p.is_file())
        stored.chmod(0o600)
        stored.write_bytes(b"podmieniony segment " * 100)
        with pytest.raises(SystemExit):
            SMOKE.check_vault(vault)
        assert any(p.startswith("store check:") for p in SMOKE.vault_problems(vault))
    finally:
        vault.close()
    with sqlite3.connect(vault.root / "kustosz.db") as db:
        db.execute("UPDATE audit_log SET subject = 'inny' WHERE seq = 2")
    vault = Vault.open(vault.root, actor="test")
    try:
        assert any(p.startswith("audit verify:") for p in SMOKE.vault_problems(vault))
    finally:
        vault.close()


def test_the_benchmarks_are_found() -> None:
    names = benchmarks()
    assert "playback" in names and "_smoke" not in names


@pytest.mark.parametrize("name", benchmarks())
def test_every_benchmark_takes_the_shared_smoke_flag(name: str) -> None:
    """One definition: the flag, its help and its checks come from bench/_smoke.py."""
    assert "_smoke.parse(" in (BENCH / f"{name}.py").read_text(encoding="utf-8")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="smoke-", dir="/tmp" if Path("/tmp").is_dir() else None))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("name", benchmarks())
def test_smoke(name: str, short_tmp: Path) -> None:
    """The benchmark's smallest form runs; its $TMPDIR is the test's own folder, a short
    path: bench/capture.py's vault holds a socket, SeaweedFS and Chromium make theirs there,
    and under pytest's own numbered folders (`/tmp/pytest-of-root/pytest-40/popen-gw0/…`)
    Chromium's passed the 107 bytes a socket's path may have and it died at start."""
    tmp = short_tmp
    token = f"KUSTOSZ_BENCH_SMOKE={uuid.uuid4().hex}"
    env = {**os.environ, "TMPDIR": str(tmp), token.split("=")[0]: token.split("=")[1],
           "PYTHONPATH": os.pathsep.join(
               [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(BENCH / f"{name}.py"), "--smoke"], cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    finally:
        left = _wait_gone(token.encode(), GONE_WITHIN_S if proc.poll() == 0 else 5)
        _kill(left)
    text = out.decode("utf-8", "replace")
    took = time.monotonic() - started
    if proc.returncode == SMOKE.SKIPPED:
        pytest.skip(f"bench/{name}.py cannot run here: "
                    + next((line.removeprefix("skipped: ") for line in text.splitlines()[::-1]
                            if line.startswith("skipped: ")), text[-300:]))
    assert proc.returncode == 0, (f"bench/{name}.py --smoke exited {proc.returncode} after "
                                  f"{took:.0f} s:\n{text[-4000:]}")
    assert not left, f"bench/{name}.py --smoke left processes behind: {left}"
    behind = sorted(p.name for p in tmp.iterdir()
                    if p.name not in NOT_THEIRS and not p.name.startswith(NOT_THEIRS_PREFIXES))
    assert not behind, f"bench/{name}.py --smoke left files in $TMPDIR: {behind}"
