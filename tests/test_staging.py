"""Staging folders named after their maker (kustosz.staging, issue 64): what a process that is
gone left is removed; what a running process fills, or another machine's, is left alone —
judged by real processes: one that made its folder and exited, one that made it and waits,
and a PID's start time as /proc gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kustosz import staging

PREFIX = ".kustosz-report-"
MAKE = ("import sys; from pathlib import Path; from kustosz import staging; "
        "print(staging.make(Path(sys.argv[1]), sys.argv[2]), flush=True); sys.stdin.read()")


def _made_by_child(parent: Path, prefix: str = PREFIX) -> tuple[subprocess.Popen[str], Path]:
    """A process that makes a staging folder and waits until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", MAKE, str(parent), prefix],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=os.environ)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # the folder, once made (the child then waits)
    assert line, proc.communicate()
    return proc, Path(line)


def test_a_dead_makers_folder_goes_a_running_ones_stays(tmp_path: Path) -> None:
    proc, live = _made_by_child(tmp_path)
    (live / "bundle").mkdir()
    (live / "bundle" / "manifest.sig").write_text("podpis")
    gone_proc, gone = _made_by_child(tmp_path)
    assert gone_proc.communicate("", timeout=60)[1] is None and gone_proc.returncode == 0
    assert staging.clean(tmp_path, PREFIX) == [gone]
    assert live.is_dir() and not gone.exists()
    proc.communicate("", timeout=60)
    assert staging.clean(tmp_path, PREFIX) == [live]
    assert list(tmp_path.iterdir()) == []


def test_the_name_tells_machine_boot_pid_and_start(tmp_path: Path) -> None:
    mine = staging.make(tmp_path, PREFIX)
    host, boot, pid, started, _random = mine.name[len(PREFIX):].rsplit("-", 4)
    assert int(pid) == os.getpid()
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    assert started == stat.rsplit(")", 1)[1].split()[19]
    # The same PID with another start time (the PID used again), another boot, the old form
    # without a maker: gone. Another machine's: left to it.
    reused = tmp_path / f"{PREFIX}{host}-{boot}-{pid}-{int(started) + 1}-abc"
    # another boot: its first character changed (to "1" where this boot's is "0" already)
    other_boot = ("1" if boot[0] == "0" else "0") + boot[1:]
    rebooted = tmp_path / f"{PREFIX}{host}-{other_boot}-{pid}-{started}-abc"
    old = tmp_path / f"{PREFIX}x1y2z3w4"
    other = tmp_path / f"{PREFIX}rejestrator2-{boot}-{pid}-{started}-abc"
    for folder in (reused, rebooted, old, other):
        folder.mkdir()
    assert sorted(staging.clean(tmp_path, PREFIX)) == sorted([reused, rebooted, old])
    assert mine.is_dir() and other.is_dir()


def test_a_link_named_as_a_staging_folder_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "cenne"
    target.mkdir()
    (target / "plik").write_text("zostaje")
    shelf = tmp_path / "reports"
    shelf.mkdir()
    (shelf / f"{PREFIX}x1y2z3w4").symlink_to(target)
    assert staging.clean(shelf, PREFIX) == []
    assert (target / "plik").read_text() == "zostaje"
