"""`kustosz serve` under systemd's notify protocol (issue 27 item 2): the real process with
$NOTIFY_SOCKET pointing at a datagram socket of the test's (what systemd reads; a transient
unit is not available in a container) and WATCHDOG_USEC as systemd sets it for
WatchdogSec=: READY=1 once it records, WATCHDOG=1 pings at half the interval while its loops
progress, STOPPING=1 at SIGTERM and no ping after it, exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.support.pg_outage import free_port
from tests.test_watchdog import FakeSystemd


def test_serve_says_ready_pings_while_it_progresses_and_says_stopping(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    start_simulated_camera(vault, segment_seconds=1.0, start=False)
    vault.close()
    systemd = FakeSystemd(str(tmp_path / "notify"))
    log = tmp_path / "serve.log"
    env = {**cli_env(), **systemd.env, "WATCHDOG_USEC": "4000000"}  # WatchdogSec=4s
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(cli.data),
                                 "serve", "--port", str(free_port())], env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        systemd.wait_for(lambda: "READY=1" in systemd.lines() or proc.poll() is not None, 120)
        assert proc.poll() is None, log.read_text()
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") >= 3, 60)
        lines = systemd.lines()
        assert lines.index("READY=1") < lines.index("WATCHDOG=1")
        assert not any("no progress" in x for x in lines), lines
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    systemd.wait_for(lambda: "STOPPING=1" in systemd.lines(), 10)
    systemd.close()
    after = systemd.lines()[systemd.lines().index("STOPPING=1"):]
    assert "WATCHDOG=1" not in after
    said = log.read_text()
    assert code == 0, said
    assert "Traceback" not in said, said


def cli_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items()
            if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
