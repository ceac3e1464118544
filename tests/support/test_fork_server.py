"""The fork server's runs are the script's runs: its arguments, output, exit status and death
by a signal, each in a process of its own (tests/support/fork_server.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.support.fork_server import ForkServer

SCRIPT = '''
import os, signal, sys
STARTED = os.getpid()  # the server's: set once, at the import

def main():
    what = sys.argv[1]
    print("argv", sys.argv[1:], "pid", os.getpid(), "server", STARTED, flush=True)
    if what == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if what == "fail":
        raise ValueError("broken on purpose")
    if what == "exit":
        sys.exit(3)
    if what == "hang":
        signal.pause()
    print("to stderr", file=sys.stderr)
'''


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "helper.py"
    path.write_text(SCRIPT)
    return path


def test_each_run_is_a_process_of_its_own_with_the_scripts_outcome(script: Path) -> None:
    with ForkServer(script, dict(os.environ)) as forks:
        ok = forks.run(["ok", "x"])
        again = forks.run(["ok", "y"])
        killed = forks.run(["kill"])
        failed = forks.run(["fail"])
        exited = forks.run(["exit"])
    assert ok.returncode == 0 and again.returncode == 0
    assert "argv ['ok', 'x']" in ok.stdout and "argv ['ok', 'y']" in again.stdout
    assert ok.stderr == "to stderr\n"
    server = ok.stdout.split()[-1]
    assert _pid(ok.stdout) != _pid(again.stdout) != server  # forked anew each time
    assert again.stdout.split()[-1] == server  # imported once, by the server
    assert killed.returncode == -9 and "argv ['kill']" in killed.stdout
    assert failed.returncode == 1 and "ValueError: broken on purpose" in failed.stderr
    assert exited.returncode == 3


def test_a_child_that_hangs_is_a_timeout_and_leaves_no_process(script: Path) -> None:
    with ForkServer(script, dict(os.environ)) as forks:
        out = Path(forks._dir.name) / "1.out"
        with pytest.raises(TimeoutError):
            forks.run(["hang"], timeout=2)
        child = int(out.read_text().split()[-3])
        assert forks._proc.returncode == -9  # the server, killed with its child
        deadline = time.monotonic() + 10  # SIGKILL is delivered, not awaited
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)


def _pid(out: str) -> str:
    return out.split()[-3]


def _alive(pid: int) -> bool:
    """Running, not a zombie that no one reaps (a container's first process may not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
