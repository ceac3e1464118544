"""The restart policy emulation the reliability tests run serve under (unit.py) does what
systemd does with the same settings: restarts, gives up at the start limit, kills a process
whose watchdog ran out, and reads the shipped unit."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from tests.reliability.unit import Policy, ServiceUnit, parse_span, read_unit

# A service of a few lines: $1 = "fail" (exit 1 at once), "silent" (READY=1, then never a
# WATCHDOG=1) or "pinging" (READY=1, then WATCHDOG=1 every 0.2 s).
SERVICE = """
import os, socket, sys, time
def say(text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(os.environ["NOTIFY_SOCKET"]); s.send(text.encode()); s.close()
mode = sys.argv[1]
if mode == "fail":
    sys.exit(1)
say("READY=1\\nSTATUS=up")
while True:
    time.sleep(0.2)
    if mode == "pinging":
        say("WATCHDOG=1")
"""


def _unit(tmp_path: Path, mode: str, policy: Policy) -> ServiceUnit:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    return ServiceUnit([sys.executable, str(script), mode], tmp_path, policy=policy)


def test_a_failing_service_is_restarted_until_the_start_limit(tmp_path: Path) -> None:
    unit = _unit(tmp_path, "fail", Policy(restart="on-failure", restart_s=0.2,
                                          start_limit_interval_s=60, start_limit_burst=3))
    try:
        unit.start()
        assert unit.wait_state(lambda: unit.state == "failed", 20), unit.history()
        assert unit.restarts == 2  # three starts in all
        assert [r.result for r in unit.runs] == ["exit-code"] * 3
        assert "repeated too quickly" in unit.history()
    finally:
        unit.close()


def test_without_a_start_limit_it_keeps_restarting(tmp_path: Path) -> None:
    unit = _unit(tmp_path, "fail", Policy(restart="always", restart_s=0.1,
                                          start_limit_interval_s=0))
    try:
        unit.start()
        assert unit.wait_state(lambda: unit.restarts >= 6, 20), unit.history()
        assert unit.state != "failed"
    finally:
        unit.close()


def test_a_service_that_stops_pinging_is_aborted_and_restarted(tmp_path: Path) -> None:
    unit = _unit(tmp_path, "silent", Policy(type="notify", restart="on-failure", restart_s=0.2,
                                            watchdog_s=1.0, abort_timeout_s=5))
    try:
        unit.start()
        assert unit.wait_state(lambda: unit.restarts >= 1, 20), unit.history()
        assert unit.runs[0].result == "watchdog"
        assert unit.runs[0].code == -signal.SIGABRT
        assert "READY=1" in unit.history() and "STATUS=up" in unit.history()
    finally:
        unit.close()


def test_a_pinging_service_runs_on_and_stops_on_sigterm(tmp_path: Path) -> None:
    unit = _unit(tmp_path, "pinging", Policy(type="notify", restart="always", watchdog_s=1.0,
                                             stop_timeout_s=5))
    try:
        unit.start()
        assert unit.wait_state(lambda: unit.state == "active", 10), unit.history()
        began = time.monotonic()
        # Three watchdog periods with nothing to wait for but time passing.
        assert not unit.wait_state(lambda: unit.restarts > 0, 3.0)
        assert time.monotonic() - began >= 3.0 and unit.alive()
        took, code = unit.stop()
        assert code == -signal.SIGTERM and took < 5
        assert unit.restarts == 0 and unit.state == "inactive"
    finally:
        unit.close()


def test_the_shipped_unit_is_read() -> None:
    settings = read_unit()
    policy = Policy.from_unit(settings)
    assert settings["Restart"] == policy.restart and policy.restart != "no"
    assert policy.restart_s == parse_span(settings.get("RestartSec", "100ms"))
    assert parse_span("1min 30s") == 90 and parse_span("250ms") == 0.25
    assert Policy(restart_s=5, restart_steps=5, restart_max_delay_s=120).restart_delay(5) \
        == 120
